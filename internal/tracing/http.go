package tracing

import (
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// EchoMiddleware starts a server span per request, named after the
// request's method and route pattern ("POST /v1/benchmarks/:id/runs"),
// never its path, query string or body, which may hold ids and filters
// that would make every name unique, or secrets. Install it only when t
// is Enabled.
//
// It is written here rather than taken from otelecho: that contrib
// package stopped at v0.60 (2025), and its attributes include the raw
// request target, query string included.
//
// Incoming trace headers are not honoured: a run's trace starts at SABE's
// API, so a client cannot join its runs to traces of its own or choose
// whether they are sampled.
func EchoMiddleware(t *Tracing) echo.MiddlewareFunc {
	tracer := t.Tracer()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			name := req.Method
			if route := c.Path(); route != "" {
				name += " " + route
			}
			ctx, span := tracer.Start(req.Context(), name, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("http.route", c.Path())))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			// The error becomes its response here, inside the span, so
			// that the status is known and the error handler's log line
			// carries the trace id.
			if err := next(c); err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, "")
			}
			return nil
		}
	}
}

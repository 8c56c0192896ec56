package tracing

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/sabe-dev/sabe/internal/envconf"
)

// InstrumentationName names SABE's tracer in every span it starts.
const InstrumentationName = "github.com/sabe-dev/sabe"

// Tracing is one process's tracer provider. The zero value and nil are
// off: every method works on them and does nothing.
type Tracing struct {
	provider trace.TracerProvider
	// sdk is the provider to flush at Shutdown; nil when tracing is off.
	sdk *sdktrace.TracerProvider
}

// Off is tracing switched off: OpenTelemetry's no-op provider.
func Off() *Tracing { return &Tracing{provider: noop.NewTracerProvider()} }

// New is tracing through tp, for tests that record spans in memory
// (go.opentelemetry.io/otel/sdk/trace/tracetest). Shutdown shuts tp down.
func New(tp *sdktrace.TracerProvider) *Tracing { return &Tracing{provider: tp, sdk: tp} }

// Config is where a process sends its spans.
type Config struct {
	// Endpoint is the OTLP/HTTP traces URL
	// ("http://otel-collector:4318/v1/traces"); empty is off.
	Endpoint string
	// ServiceName is OTEL_SERVICE_NAME; empty takes the process's own
	// ("sabe-api", "sabe-worker").
	ServiceName string
}

// ReadConfig reads the standard OpenTelemetry variables: the traces
// endpoint as given (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), else the general
// endpoint with OTLP/HTTP's traces path added (OTEL_EXPORTER_OTLP_ENDPOINT),
// and OTEL_SERVICE_NAME. They are read through the process's getenv, like
// SABE's own variables, so that a caller that configures a process itself
// (tests, `sabe dev`) decides whether it traces.
func ReadConfig(r *envconf.Reader) Config {
	c := Config{ServiceName: r.String("OTEL_SERVICE_NAME", "")}
	name, traces := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", true
	raw := r.String(name, "")
	if raw == "" {
		name, traces = "OTEL_EXPORTER_OTLP_ENDPOINT", false
		raw = r.String(name, "")
	}
	if raw == "" {
		return c
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.Fail(name, "must be an http(s) URL such as http://otel-collector:4318, got %q", raw)
		return c
	}
	if !traces {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	c.Endpoint = u.String()
	return c
}

// Setup returns the process's tracing: Off when c has no endpoint, else
// an OTLP/HTTP exporter behind a batching span processor. service is the
// service.name used when c.ServiceName is empty.
//
// OTLP over HTTP rather than gRPC: it is the protocol the specification
// makes the default, it passes through ordinary HTTP proxies and load
// balancers, and it keeps a gRPC client out of every SABE process. The
// exporter reads its other OTEL_EXPORTER_OTLP_* settings (headers, TLS,
// compression, timeout) from the process environment, and the SDK reads
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG; the default sampler
// follows the parent and samples every new trace.
func Setup(ctx context.Context, c Config, service string) (*Tracing, error) {
	if c.Endpoint == "" {
		return Off(), nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(c.Endpoint))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", c.Endpoint, err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", cmp.Or(c.ServiceName, service))))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	return New(sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))), nil
}

// Enabled says whether spans are recorded; when not, callers skip the
// work of building them.
func (t *Tracing) Enabled() bool { return t != nil && t.sdk != nil }

// Tracer is SABE's tracer; a no-op one when tracing is off.
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil || t.provider == nil {
		return noop.NewTracerProvider().Tracer(InstrumentationName)
	}
	return t.provider.Tracer(InstrumentationName)
}

// Shutdown exports the spans still buffered and stops the exporter; ctx
// bounds how long that may take. Safe on Off, and to call twice.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: flush spans: %w", err)
	}
	return nil
}

// FlushTimeout bounds how long Close waits for the exporter: a collector
// that is down must not hold a process's shutdown.
const FlushTimeout = 5 * time.Second

// Close flushes the spans still buffered and stops the exporter, within
// FlushTimeout; a failure is logged, for spans lost at exit are no reason
// to fail the shutdown. Services defer it right after Setup, so it runs
// last, once the server has stopped and the last tasks have ended.
func (t *Tracing) Close(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), FlushTimeout)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		log.Warn("spans not exported at shutdown", "err", err)
	}
}

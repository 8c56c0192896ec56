package tracing_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/internal/tracing"
	"github.com/sabe-dev/sabe/pkg/run"
)

func TestReadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		env      map[string]string
		endpoint string
		service  string
		err      string
	}{
		{name: "Off", env: map[string]string{"OTEL_SERVICE_NAME": "sabe-eu"}, service: "sabe-eu"},
		{name: "General", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"},
			endpoint: "http://collector:4318/v1/traces"},
		{name: "TracesWins", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://collector:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces.example.com/otlp/spans",
		}, endpoint: "https://traces.example.com/otlp/spans"},
		{name: "ErrNotURL", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"},
			err: "OTEL_EXPORTER_OTLP_ENDPOINT: must be an http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := envconf.New(func(k string) string { return tc.env[k] })
			c := tracing.ReadConfig(r)
			if err := r.Err(); tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if c.Endpoint != tc.endpoint || c.ServiceName != tc.service {
				t.Errorf("config = %+v, want endpoint %q service %q", c, tc.endpoint, tc.service)
			}
		})
	}
}

// TestSetup_Off: without an endpoint nothing is recorded, nothing is
// carried, and task payloads are what they were before tracing.
func TestSetup_Off(t *testing.T) {
	t.Parallel()
	tr, err := tracing.Setup(context.Background(), tracing.Config{ServiceName: "x"}, "sabe-test")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() {
		t.Fatal("tracing is on without an endpoint")
	}
	ctx, span := tr.Tracer().Start(context.Background(), "op")
	defer span.End()
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Errorf("off tracing made a real span: recording %v, context %v", span.IsRecording(), span.SpanContext())
	}
	if c := tracing.Inject(ctx); c != nil {
		t.Errorf("off tracing carries %v", c)
	}
	id := uuid.New()
	want := `{"run_id":"` + id.String() + `"}`
	if got := string(run.NewStartTask(ctx, id).Payload()); got != want {
		t.Errorf("run:start payload = %s, want %s", got, want)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	var nilTracing *tracing.Tracing
	if nilTracing.Enabled() || nilTracing.Tracer() == nil {
		t.Error("nil Tracing is not off")
	}
}

// TestSetup_Close: spans go to the OTLP/HTTP endpoint, and Close sends
// what is still buffered.
func TestSetup_Close(t *testing.T) {
	t.Parallel()
	var posts atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" {
			posts.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(collector.Close)
	tr, err := tracing.Setup(context.Background(), tracing.Config{Endpoint: collector.URL + "/v1/traces"}, "sabe-test")
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Enabled() {
		t.Fatal("tracing is off with an endpoint")
	}
	_, span := tr.Tracer().Start(context.Background(), "op")
	span.End()
	tr.Close(slog.New(slog.DiscardHandler))
	if posts.Load() == 0 {
		t.Error("Close exported nothing")
	}
}

// TestTaskMiddleware: a task's span is the child of the span that
// enqueued it; a payload without a trace (enqueued before tracing, or
// with it off) or that is not JSON starts a trace of its own.
func TestTaskMiddleware(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	id := uuid.New()
	parentCtx, parent := tr.Tracer().Start(context.Background(), "enqueuer")
	parent.End()

	for _, tc := range []struct {
		name   string
		task   *asynq.Task
		parent trace.SpanContext
	}{
		{name: "Carried", task: run.NewStartTask(parentCtx, id), parent: parent.SpanContext()},
		{name: "OldPayload", task: asynq.NewTask(run.TypeStart, []byte(`{"run_id":"`+id.String()+`"}`))},
		{name: "NotJSON", task: asynq.NewTask("notify:deliver", []byte(id.String()))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inner trace.SpanContext
			h := tracing.TaskMiddleware(tr)(asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
				inner = trace.SpanContextFromContext(ctx)
				return errors.New("provider said: sk-secret")
			}))
			if err := h.ProcessTask(context.Background(), tc.task); err == nil {
				t.Fatal("the handler's error was lost")
			}
			if !inner.IsValid() {
				t.Fatal("the handler ran outside a span")
			}
			var got tracetest.SpanStub
			for _, s := range exp.GetSpans() {
				if s.SpanContext.SpanID() == inner.SpanID() {
					got = s
				}
			}
			if got.Name != tc.task.Type() || got.SpanKind != trace.SpanKindConsumer {
				t.Errorf("span %q kind %v, want %q, consumer", got.Name, got.SpanKind, tc.task.Type())
			}
			if tc.parent.IsValid() {
				if got.Parent.SpanID() != tc.parent.SpanID() || inner.TraceID() != tc.parent.TraceID() {
					t.Errorf("span's parent %v, want %v", got.Parent, tc.parent)
				}
			} else if got.Parent.IsValid() {
				t.Errorf("span has parent %v, want a new trace", got.Parent)
			}
			if got.Status.Code != codes.Error || strings.Contains(got.Status.Description, "sk-secret") {
				t.Errorf("failed task's status = %+v: want an error without the error's text", got.Status)
			}
		})
	}
}

// TestTaskMiddleware_Unsampled: a run whose request was not sampled is not
// sampled in its tasks either, rather than starting traces of their own.
func TestTaskMiddleware_Unsampled(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0)))))
	ctx, root := tr.Tracer().Start(context.Background(), "POST /v1/benchmarks/:id/runs")
	root.End()
	var inner trace.SpanContext
	h := tracing.TaskMiddleware(tr)(asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		inner = trace.SpanContextFromContext(ctx)
		return nil
	}))
	if err := h.ProcessTask(context.Background(), run.NewStartTask(ctx, uuid.New())); err != nil {
		t.Fatal(err)
	}
	if inner.TraceID() != root.SpanContext().TraceID() || inner.IsSampled() {
		t.Errorf("task span %v: want unsampled, in the request's trace %s", inner, root.SpanContext().TraceID())
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans exported from an unsampled run", n)
	}
}

package tracing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sabe-dev/sabe/internal/logging"
	"github.com/sabe-dev/sabe/internal/tracing"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/taskserver"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// TestRunTrace starts a real run through the API and a worker serving the
// queues, both tracing into memory, and follows its trace: the POST is
// the root, run:start its child, every unit's execution:run a child of
// run:start with its provider call below it, and run:finalize a child of
// the unit that completed the run.
func TestRunTrace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const apiKey = "sk-trace-test-0123456789abcdef"
	models := []string{"mock-strong", "mock-weak"}
	const questions = 3

	st := store.New(testenv.Pool(t), testenv.Keyring(t))
	rdb := testenv.Redis(t)
	queue := asynq.NewClientFromRedisClient(rdb)
	mock, err := mockllm.Listen(ctx, "127.0.0.1:0", mockllm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mock.Stop() })
	world := testfactory.MockBenchmark(ctx, t, st, testfactory.MockBenchmarkOpts{
		BaseURL: mock.URL + "/v1", APIKey: apiKey, Models: models, Questions: questions,
	})

	exp := tracetest.NewInMemoryExporter()
	tr := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })

	var workerLog testenv.Buffer
	log, err := logging.New(&workerLog, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	clients := provider.NewClients(provider.ClientConfig{
		HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true}), Timeout: 10 * time.Second,
	})
	w := taskserver.New(taskserver.Deps{Store: st, Redis: rdb, Queue: queue, Log: log, Tracing: tr, Clients: clients}, taskserver.Config{Servers: taskserver.ServerConfig{
		Concurrency: 4, TaskCheckInterval: 20 * time.Millisecond, DelayedTaskCheckInterval: 50 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second,
	}})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	ro := rdb.Options()
	srv, err := httpapi.New(httpapi.Deps{
		Store: st, Queue: queue, Tracker: run.NewTracker(rdb), Redis: rdb,
		MonitorRedis: asynq.RedisClientOpt{Addr: ro.Addr, Username: ro.Username, Password: ro.Password, DB: ro.DB},
		Providers:    clients, Log: log, Tracing: tr,
		Config: httpapi.Config{AllowPrivateProviders: true, TokenCacheTTL: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	token, _, err := st.CreateToken(ctx, "trace", []string{apitoken.ScopeAdmin}, nil)
	if err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/benchmarks/"+world.Benchmark.ID.String()+"/runs", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&created)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST runs: %d %v", resp.StatusCode, err)
	}

	// The finalize span ends after the run is final in the database: wait
	// for the span itself.
	testenv.WaitFor(t, "run:finalize's span", 60*time.Second, func() bool {
		return len(named(exp.GetSpans(), run.TypeFinalize)) > 0
	})
	spans := exp.GetSpans()

	roots := named(spans, "POST /v1/benchmarks/:id/runs")
	if len(roots) != 1 {
		t.Fatalf("%d spans for the POST, want 1; spans: %v", len(roots), names(spans))
	}
	root := roots[0]
	traceID := root.SpanContext.TraceID()
	if root.SpanKind != trace.SpanKindServer || root.Parent.IsValid() {
		t.Errorf("POST span: kind %v, parent %v; want a server span that starts the trace", root.SpanKind, root.Parent)
	}
	if got := attr(root, "http.route"); got != "/v1/benchmarks/:id/runs" {
		t.Errorf("POST span http.route = %q", got)
	}
	if got := attr(root, "http.response.status_code"); got != "202" {
		t.Errorf("POST span status code = %q, want 202", got)
	}

	starts := named(spans, run.TypeStart)
	if len(starts) != 1 {
		t.Fatalf("%d run:start spans, want 1", len(starts))
	}
	start := starts[0]
	childOf(t, start, root)
	if got := attr(start, "messaging.message.id"); got != "run:"+created.ID {
		t.Errorf("run:start span's task id = %q, want run:%s", got, created.ID)
	}

	units := len(models) * questions
	execs := named(spans, run.TypeExecute)
	byID := map[trace.SpanID]tracetest.SpanStub{}
	taskIDs := map[string]bool{}
	for _, e := range execs {
		childOf(t, e, start)
		byID[e.SpanContext.SpanID()] = e
		taskIDs[attr(e, "messaging.message.id")] = true
	}
	if len(taskIDs) != units {
		t.Errorf("execution:run spans cover %d units, want %d", len(taskIDs), units)
	}

	var calls []tracetest.SpanStub
	for _, s := range spans {
		if strings.HasPrefix(s.Name, "chat ") {
			calls = append(calls, s)
		}
	}
	if len(calls) != units {
		t.Errorf("%d provider call spans, want %d", len(calls), units)
	}
	for _, c := range calls {
		if _, ok := byID[c.Parent.SpanID()]; !ok || c.SpanContext.TraceID() != traceID || c.SpanKind != trace.SpanKindClient {
			t.Errorf("call span %q is not a client span below an execution:run span of the run's trace", c.Name)
		}
		model := attr(c, "gen_ai.request.model")
		if c.Name != "chat "+model || (model != models[0] && model != models[1]) {
			t.Errorf("call span %q: model %q", c.Name, model)
		}
		if got := attr(c, "gen_ai.provider.name"); got != "openai" {
			t.Errorf("call span provider kind = %q, want openai", got)
		}
		if got := attr(c, "sabe.provider.id"); got != world.Provider.ID.String() {
			t.Errorf("call span provider id = %q, want %s", got, world.Provider.ID)
		}
		if got := attr(c, "sabe.call.status"); got != "ok" {
			t.Errorf("call span status = %q, want ok", got)
		}
		for _, k := range []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"} {
			if n := attr(c, k); n == "" || n == "0" {
				t.Errorf("call span %s = %q, want a count", k, n)
			}
		}
	}

	fins := named(spans, run.TypeFinalize)
	if len(fins) != 1 {
		t.Fatalf("%d run:finalize spans, want 1", len(fins))
	}
	if _, ok := byID[fins[0].Parent.SpanID()]; !ok || fins[0].SpanContext.TraceID() != traceID {
		t.Errorf("run:finalize is not the child of one of the run's execution:run spans")
	}

	// Nothing the run said or was told is in its spans.
	secrets := []string{apiKey, token}
	for _, q := range world.Questions {
		secrets = append(secrets, q.Prompt)
	}
	for _, s := range spans {
		if s.SpanContext.TraceID() != traceID {
			continue
		}
		text := s.Name + " " + s.Status.Description
		for _, a := range s.Attributes {
			text += " " + a.Value.String()
		}
		for _, ev := range s.Events {
			text += " " + ev.Name
			for _, a := range ev.Attributes {
				text += " " + a.Value.String()
			}
		}
		for _, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("span %q holds %q", s.Name, secret)
			}
		}
	}

	// The worker's log lines for the run carry its trace id.
	workerLog.WaitFor(t, `"msg":"run finished"`, 10*time.Second)
	if !strings.Contains(logLine(workerLog.String(), "run started"), `"trace_id":"`+traceID.String()+`"`) {
		t.Errorf("run started log line has no trace_id %s: %s", traceID, logLine(workerLog.String(), "run started"))
	}
}

// named returns the spans called name.
func named(spans tracetest.SpanStubs, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func names(spans tracetest.SpanStubs) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name
	}
	return out
}

// attr is the value of the span's attribute key, "" when it has none.
func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}

func childOf(t *testing.T, child, parent tracetest.SpanStub) {
	t.Helper()
	if child.SpanContext.TraceID() != parent.SpanContext.TraceID() || child.Parent.SpanID() != parent.SpanContext.SpanID() {
		t.Errorf("span %q (trace %s, parent %s) is not a child of %q (trace %s, span %s)", child.Name,
			child.SpanContext.TraceID(), child.Parent.SpanID(), parent.Name, parent.SpanContext.TraceID(), parent.SpanContext.SpanID())
	}
}

// logLine is the first JSON log line whose message is msg.
func logLine(log, msg string) string {
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, fmt.Sprintf(`"msg":%q`, msg)) {
			return line
		}
	}
	return ""
}

package run_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/metrics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/taskserver"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// bundle is what a run test needs: a store and Redis of its own, a mock
// provider, and workers over them. Each worker is what a worker process
// would hold (its own handlers, circuit breakers and metrics, its own asynq
// server), so two workers in one test behave like two processes sharing
// Redis.
type bundle struct {
	pool     *pgxpool.Pool
	store    *store.Store
	rdb      *redis.Client
	client   *asynq.Client
	mock     *mockllm.Instance
	settings settings
	// handlers belong to a worker without a server, for tests that call
	// the handlers directly.
	handlers *run.Handlers
}

// settings tune a test's workers.
type settings struct {
	run    run.Config
	fleet  resilience.Config
	client provider.ClientConfig
	// keys is the workers' keyring when it is not the one the providers'
	// keys were sealed with.
	keys *secrets.Keyring
	// unspoken are provider kinds the workers have no client for.
	unspoken []catalog.ProviderKind
}

// worker is one simulated worker process.
type worker struct {
	handlers *run.Handlers
	fleet    *resilience.Guard
	metrics  *metrics.Metrics
	log      *testenv.Buffer
}

func setup(t *testing.T, mockCfg mockllm.Config, cfg run.Config) *bundle {
	t.Helper()
	return setupWith(t, mockCfg, settings{run: cfg})
}

func setupWith(t *testing.T, mockCfg mockllm.Config, s settings) *bundle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pool := testenv.Pool(t)
	rdb := testenv.Redis(t)
	mock, err := mockllm.Listen(ctx, "127.0.0.1:0", mockCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mock.Stop() })
	if s.run.RetryBaseDelay == 0 {
		s.run.RetryBaseDelay = 10 * time.Millisecond
	}
	if s.fleet.Failures == 0 {
		// Tests that do not exercise the breaker must not trip it.
		s.fleet.Failures = 1000
	}
	if s.client.Timeout == 0 {
		s.client.Timeout = 10 * time.Second
	}
	s.client.HTTPClient = provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true})
	b := &bundle{pool: pool, store: store.New(pool, testenv.Keyring(t)), rdb: rdb, client: asynq.NewClientFromRedisClient(rdb), mock: mock, settings: s}
	b.handlers = b.newWorker(t).handlers
	return b
}

// newWorker builds a worker as a worker process builds it (pkg/taskserver)
// and starts its handlers without serving the queues; it stops when the
// test ends.
func (b *bundle) newWorker(t *testing.T) *worker {
	t.Helper()
	w, tw := b.buildWorker(t, 0)
	if err := tw.StartHandlers(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.Stop)
	return w
}

// startWorker starts one more worker, serving the queues with an asynq
// server configured as services/worker configures it, until the test ends.
func (b *bundle) startWorker(t *testing.T, concurrency int) *worker {
	t.Helper()
	w, tw := b.buildWorker(t, concurrency)
	if err := tw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tw.Stop)
	return w
}

// buildWorker assembles one worker with the test's settings, its own
// breakers, metrics and log.
func (b *bundle) buildWorker(t *testing.T, concurrency int) (*worker, *taskserver.Worker) {
	t.Helper()
	var buf testenv.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	m := metrics.New()
	st := b.store
	if b.settings.keys != nil {
		st = store.New(b.pool, b.settings.keys)
	}
	clients := provider.NewClients(b.settings.client)
	for _, k := range b.settings.unspoken {
		delete(clients, k)
	}
	tw := taskserver.New(taskserver.Deps{Store: st, Redis: b.rdb, Queue: b.client, Metrics: m, Log: log, Clients: clients},
		taskserver.Config{
			Servers: taskserver.ServerConfig{
				Concurrency: concurrency, TaskCheckInterval: 50 * time.Millisecond, DelayedTaskCheckInterval: 50 * time.Millisecond,
				ShutdownTimeout: 5 * time.Second,
			},
			Recorder: store.RecorderConfig{Linger: 2 * time.Millisecond},
			Guard:    b.settings.fleet,
			Run:      b.settings.run,
		})
	return &worker{handlers: tw.Handlers, fleet: tw.Guard, metrics: m, log: &buf}, tw
}

type fixture struct {
	providerID uuid.UUID
	models     []catalog.Model
	questions  []catalog.Question
	benchmark  *catalog.Benchmark
}

// seed registers a provider at baseURL, the named mock models, a suite of n
// arithmetic questions (easy and hard in turn) and a benchmark over them.
func (b *bundle) seed(t *testing.T, baseURL, apiKey string, models []string, n, samples int) fixture {
	t.Helper()
	return seed(t, b.store, baseURL, apiKey, models, n, samples)
}

// seed is bundle.seed on any store, for the benchmarks too.
func seed(tb testing.TB, st *store.Store, baseURL, apiKey string, models []string, n, samples int) fixture {
	tb.Helper()
	w := testfactory.MockBenchmark(context.Background(), tb, st, testfactory.MockBenchmarkOpts{
		BaseURL: baseURL, APIKey: apiKey, Models: models, Questions: n, Config: catalog.BenchmarkConfig{Samples: samples},
	})
	return fixture{providerID: w.Provider.ID, models: w.Models, questions: w.Questions, benchmark: w.Benchmark}
}

func (b *bundle) startRun(t *testing.T, f fixture) *run.Run {
	t.Helper()
	r := testfactory.Run(context.Background(), t, b.store, &testfactory.RunOpts{BenchmarkID: f.benchmark.ID})
	if err := run.Enqueue(context.Background(), b.client, run.NewStartTask(context.Background(), r.ID)); err != nil {
		t.Fatal(err)
	}
	return r
}

func (b *bundle) waitFinal(t *testing.T, id uuid.UUID) *run.Run {
	t.Helper()
	var r *run.Run
	testenv.WaitFor(t, "run "+id.String()+" to finish", 90*time.Second, func() bool {
		var err error
		if r, err = b.store.GetRun(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		return r.Status.Final()
	})
	return r
}

// rows counts executions and evaluations of a run, and distinct unit keys.
func (b *bundle) rows(t *testing.T, id uuid.UUID) (execs, distinct, evals int) {
	t.Helper()
	ctx := context.Background()
	err := b.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT (model_id, question_id, sample)) FROM executions WHERE run_id = $1`, id).Scan(&execs, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM evaluations WHERE run_id = $1`, id).Scan(&evals); err != nil {
		t.Fatal(err)
	}
	return execs, distinct, evals
}

// expectedCorrect is how many units the mock answers correctly for model.
func expectedCorrect(model string, questions []catalog.Question, samples int) int {
	n := 0
	for _, q := range questions {
		for s := range samples {
			if mockllm.Correct(model, q.Prompt, s) {
				n++
			}
		}
	}
	return n
}

func TestRun_EndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{}, run.Config{})
	models := []string{"mock-weak", "mock-strong", "mock-medium"}
	f := b.seed(t, b.mock.URL+"/v1", "sk-test", models, 30, 2)
	b.startWorker(t, 20)
	r := b.waitFinal(t, b.startRun(t, f).ID)

	if r.Status != run.StatusCompleted {
		t.Fatalf("status = %s (%s), want completed", r.Status, r.Error)
	}
	total := 3 * 30 * 2
	execs, distinct, evals := b.rows(t, r.ID)
	if execs != total || distinct != total || evals != total {
		t.Fatalf("executions=%d distinct=%d evaluations=%d, want %d each", execs, distinct, evals, total)
	}
	if r.Progress.Succeeded != total || r.CostUSD <= 0 || r.LatencyP50Ms == nil {
		t.Errorf("totals: progress %+v cost %v p50 %v", r.Progress, r.CostUSD, r.LatencyP50Ms)
	}
	rk, err := b.store.Rankings(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rk.Overall) != 3 {
		t.Fatalf("overall rankings: %d entries", len(rk.Overall))
	}
	for _, e := range rk.Overall {
		want := expectedCorrect(e.ModelName, f.questions, 2)
		if e.Correct != want || e.N != 60 {
			t.Errorf("%s: correct %d of %d, want %d of 60", e.ModelName, e.Correct, e.N, want)
		}
	}
	if rk.Overall[0].ModelName != "mock-strong" || rk.Overall[2].ModelName != "mock-weak" {
		t.Errorf("order: %s, %s, %s", rk.Overall[0].ModelName, rk.Overall[1].ModelName, rk.Overall[2].ModelName)
	}
	if len(rk.ByCategory["easy"]) != 3 || len(rk.ByCategory["hard"]) != 3 {
		t.Errorf("by category: %v", rk.ByCategory)
	}
	if calls := b.mock.Server.Requests(); calls != int64(total) {
		t.Errorf("provider calls = %d, want %d (no unit retried without a fault)", calls, total)
	}
}

func TestRun_DuplicateTasksRecordOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-perfect"}, 5, 1)
	r := testfactory.Run(context.Background(), t, b.store, &testfactory.RunOpts{BenchmarkID: f.benchmark.ID})
	ctx := context.Background()
	// Run every unit's handler twice, and run:start twice, as a crash or a
	// duplicated delivery would.
	for range 2 {
		if err := b.handlers.HandleStart(ctx, run.NewStartTask(ctx, r.ID)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		for i := range 5 {
			if err := b.handlers.HandleExecute(ctx, run.NewExecuteTask(ctx, r.ID, i, run.QueueInteractive)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.handlers.HandleFinalize(ctx, run.NewFinalizeTask(ctx, r.ID)); err != nil {
		t.Fatal(err)
	}
	if err := b.handlers.HandleFinalize(ctx, run.NewFinalizeTask(ctx, r.ID)); err != nil {
		t.Fatal(err)
	}
	execs, distinct, evals := b.rows(t, r.ID)
	if execs != 5 || distinct != 5 || evals != 5 {
		t.Fatalf("executions=%d distinct=%d evaluations=%d, want 5 each", execs, distinct, evals)
	}
	got, _ := b.store.GetRun(ctx, r.ID)
	if got.Status != run.StatusCompleted || got.Progress.Succeeded != 5 {
		t.Fatalf("run %s progress %+v", got.Status, got.Progress)
	}
	var rankings int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM rankings WHERE run_id = $1 AND category = ''`, r.ID).Scan(&rankings); err != nil {
		t.Fatal(err)
	}
	if rankings != 1 {
		t.Errorf("overall ranking rows = %d, want 1 (finalized once)", rankings)
	}
	// The recorded bit stops a redelivered task before the provider call.
	if calls := b.mock.Server.Requests(); calls != 5 {
		t.Errorf("provider calls = %d, want 5", calls)
	}
}

func TestRun_Cancel(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{Latency: 150 * time.Millisecond}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong", "mock-weak"}, 100, 1)
	b.startWorker(t, 4)
	r := b.startRun(t, f)
	testenv.WaitFor(t, "4 provider calls", 30*time.Second, func() bool { return b.mock.Server.Requests() >= 4 })
	ctx := context.Background()
	if _, err := b.store.RequestCancel(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := run.NewTracker(b.rdb).Cancel(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	// Calls already in flight (at most the concurrency) may still finish.
	atCancel := b.mock.Server.Requests()
	fin := b.waitFinal(t, r.ID)
	if fin.Status != run.StatusCancelled {
		t.Fatalf("status = %s, want cancelled", fin.Status)
	}
	if after := b.mock.Server.Requests(); after > atCancel+4 {
		t.Errorf("provider calls went from %d at cancel to %d; at most the 4 in flight may follow", atCancel, after)
	}
	if fin.Progress.Cancelled == 0 || fin.Progress.Done() != 200 {
		t.Errorf("progress %+v: want every unit recorded, some cancelled", fin.Progress)
	}
	execs, distinct, _ := b.rows(t, r.ID)
	if execs != 200 || distinct != 200 {
		t.Errorf("executions=%d distinct=%d, want 200", execs, distinct)
	}
}

func TestRun_FailuresArePartialAndScrubbed(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{}, run.Config{MaxRetry: 1})
	ctx := context.Background()
	good := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-perfect"}, 4, 1)
	// A second provider whose key the mock rejects, echoing a fragment of
	// it as real providers do; and one that always answers 500.
	badKey := "bad-key-abcdef0123456789"
	keyed := testfactory.Provider(ctx, t, b.store, &testfactory.ProviderOpts{Name: "keyed", BaseURL: b.mock.URL + "/faults/require_key=true/v1", APIKey: badKey})
	broken := testfactory.Provider(ctx, t, b.store, &testfactory.ProviderOpts{Name: "broken", BaseURL: b.mock.URL + "/faults/error_rate=1/v1"})
	m1 := testfactory.Model(ctx, t, b.store, &testfactory.ModelOpts{ProviderID: keyed.ID, Name: "keyed", ProviderModelID: "mock-strong"})
	m2 := testfactory.Model(ctx, t, b.store, &testfactory.ModelOpts{ProviderID: broken.ID, Name: "broken", ProviderModelID: "mock-strong"})
	ids := append([]uuid.UUID{good.models[0].ID}, m1.ID, m2.ID)
	if _, err := b.store.UpdateBenchmark(ctx, good.benchmark.ID, catalog.BenchmarkPatch{ModelIDs: ids}, 0); err != nil {
		t.Fatal(err)
	}
	b.startWorker(t, 8)
	fin := b.waitFinal(t, b.startRun(t, good).ID)
	if fin.Status != run.StatusPartial {
		t.Fatalf("status = %s, want partial", fin.Status)
	}
	if fin.Progress.Succeeded != 4 || fin.Progress.Failed != 8 {
		t.Errorf("progress %+v, want 4 succeeded, 8 failed", fin.Progress)
	}
	// The run's error names each provider whose units failed, and why.
	for _, want := range []string{"8 of 12 units failed", `provider "keyed" (` + keyed.ID.String() + "): the provider rejected the credentials (HTTP 401)",
		`provider "broken" (` + broken.ID.String() + "): mock internal error", "[4 units]"} {
		if !strings.Contains(fin.Error, want) {
			t.Errorf("run error %q does not say %q", fin.Error, want)
		}
	}
	if strings.Contains(fin.Error, badKey) {
		t.Errorf("run error %q contains the key", fin.Error)
	}
	rows, err := b.pool.Query(ctx, `SELECT model_id, coalesce(error, ''), coalesce(http_status, 0), attempts FROM executions WHERE run_id = $1 AND status = 'failed'`, fin.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var model uuid.UUID
		var msg string
		var status, attempts int
		if err := rows.Scan(&model, &msg, &status, &attempts); err != nil {
			t.Fatal(err)
		}
		if msg == "" {
			t.Error("failed execution without an error message")
		}
		for _, frag := range []string{badKey, "bad-k", "6789", "abcdef"} {
			if strings.Contains(msg, frag) {
				t.Errorf("stored error %q contains key material %q", msg, frag)
			}
		}
		switch model {
		case m1.ID:
			if status != 401 || attempts != 1 {
				t.Errorf("401 unit: status %d after %d attempts; a 4xx fails at once", status, attempts)
			}
		case m2.ID:
			if status != 500 || attempts != 2 {
				t.Errorf("500 unit: status %d after %d attempts; want retried once", status, attempts)
			}
		}
	}
	rk, err := b.store.Rankings(ctx, fin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rk.Overall[0].ModelName != "mock-perfect" || rk.Overall[0].Score != 1 || rk.Overall[2].ErrorRate != 1 {
		t.Errorf("rankings: %+v", rk.Overall)
	}
}

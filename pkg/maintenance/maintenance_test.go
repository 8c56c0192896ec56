package maintenance

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/taskserver"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// bundle is what a maintenance test needs: a store and Redis of its own, a
// mock provider, workers serving the queues as services/worker does, and
// reconcilers over them.
type bundle struct {
	pool    *pgxpool.Pool
	store   *store.Store
	rdb     *redis.Client
	client  *asynq.Client
	tracker *run.Tracker
	mock    *mockllm.Instance
}

func setup(t *testing.T, mockCfg mockllm.Config) *bundle {
	t.Helper()
	pool := testenv.Pool(t)
	rdb := testenv.Redis(t)
	mock, err := mockllm.Listen(t.Context(), "127.0.0.1:0", mockCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mock.Stop() })
	return &bundle{
		pool: pool, store: store.New(pool, testenv.Keyring(t)), rdb: rdb,
		client: asynq.NewClientFromRedisClient(rdb), tracker: run.NewTracker(rdb), mock: mock,
	}
}

// newHandlers returns the task handlers of a worker built as a worker
// process builds it (pkg/taskserver), started without serving the queues;
// they stop when the test ends.
func (b *bundle) newHandlers(t *testing.T) *run.Handlers {
	t.Helper()
	w := b.newWorker(t, 0)
	if err := w.StartHandlers(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w.Handlers
}

// startWorker serves the queues until the test ends, with the handlers,
// recorder, breakers and asynq settings of a worker process.
func (b *bundle) startWorker(t *testing.T, concurrency int) {
	t.Helper()
	w := b.newWorker(t, concurrency)
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// newWorker assembles a worker of the test, with short intervals and
// breakers that tests not about them never trip.
func (b *bundle) newWorker(t *testing.T, concurrency int) *taskserver.Worker {
	t.Helper()
	log := slog.New(slog.NewTextHandler(&testenv.Buffer{}, nil))
	return taskserver.New(taskserver.Deps{Store: b.store, Redis: b.rdb, Queue: b.client, Log: log}, taskserver.Config{
		Servers: taskserver.ServerConfig{
			Concurrency: concurrency, TaskCheckInterval: 50 * time.Millisecond, DelayedTaskCheckInterval: 50 * time.Millisecond,
			ShutdownTimeout: 5 * time.Second,
		},
		Recorder:              store.RecorderConfig{Linger: 2 * time.Millisecond},
		Guard:                 resilience.Config{Failures: 1000},
		Provider:              provider.ClientConfig{Timeout: 10 * time.Second},
		AllowPrivateProviders: true,
		Run:                   run.Config{RetryBaseDelay: 10 * time.Millisecond},
	})
}

// reconciler returns a reconciler of the test, not started, with short
// intervals unless o says otherwise.
func (b *bundle) reconciler(t *testing.T, o Config) (*Reconciler, *testenv.Buffer) {
	t.Helper()
	if o.Interval == 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.Stall == 0 {
		o.Stall = time.Second
	}
	if o.QueuedGrace == 0 {
		o.QueuedGrace = 100 * time.Millisecond
	}
	if o.DeadlineGrace == 0 {
		o.DeadlineGrace = time.Millisecond
	}
	var buf testenv.Buffer
	r := New(Deps{Store: b.store, Redis: b.rdb, Queue: b.client, Tracker: b.tracker, Log: slog.New(slog.NewTextHandler(&buf, nil))}, o)
	return r, &buf
}

func (b *bundle) startReconciler(t *testing.T, o Config) (*Reconciler, *testenv.Buffer) {
	t.Helper()
	r, buf := b.reconciler(t, o)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r, buf
}

type fixture struct {
	models    []catalog.Model
	questions []catalog.Question
	benchmark *catalog.Benchmark
}

// seed registers the mock provider, the named mock models, a suite of n
// arithmetic questions (easy and hard in turn) and a benchmark over them
// with cfg (Samples and MaxTokens take testfactory's defaults when zero).
func (b *bundle) seed(t *testing.T, models []string, n int, cfg catalog.BenchmarkConfig) fixture {
	t.Helper()
	w := testfactory.MockBenchmark(context.Background(), t, b.store, testfactory.MockBenchmarkOpts{
		BaseURL: b.mock.URL + "/v1", Models: models, Questions: n, Config: cfg,
	})
	return fixture{models: w.Models, questions: w.Questions, benchmark: w.Benchmark}
}

// commitRun creates a queued run and enqueues nothing: an api that died
// between its commit and its enqueue.
func (b *bundle) commitRun(t *testing.T, f fixture) *run.Run {
	t.Helper()
	return testfactory.Run(context.Background(), t, b.store, &testfactory.RunOpts{BenchmarkID: f.benchmark.ID})
}

func (b *bundle) waitFinal(t *testing.T, id uuid.UUID) *run.Run {
	t.Helper()
	var r *run.Run
	testenv.WaitFor(t, "run to finish", 60*time.Second, func() bool {
		var err error
		if r, err = b.store.GetRun(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		return r.Status.Final()
	})
	return r
}

// rows counts a run's executions, its distinct units, and its evaluations.
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

// statuses counts a run's executions by status.
func (b *bundle) statuses(t *testing.T, id uuid.UUID) map[string]int {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `SELECT status, count(*) FROM executions WHERE run_id = $1 GROUP BY status`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

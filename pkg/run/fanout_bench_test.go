package run_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
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
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// benchEnv is what the handler benchmarks need, wired as services/worker
// wires a worker: a database and a Redis database of their own, pools
// connected before timing starts, and an asynq client on that Redis.
type benchEnv struct {
	store  *store.Store
	rdb    *redis.Client
	client *asynq.Client
}

// benchPoolConns is the PostgreSQL pool size. A worker of concurrency 100
// opens 64; the test server is shared with other test processes and has
// max_connections 100 by default, so the benchmarks take fewer. The
// parallel benchmarks then queue on connections as a worker does.
const benchPoolConns = 24

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	pool, err := store.Open(ctx, testenv.DatabaseURL(b), benchPoolConns)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	// Connect the whole pool now: a backend's start-up takes milliseconds,
	// which would otherwise land in the first timed iterations.
	conns := make([]*pgxpool.Conn, benchPoolConns)
	for i := range conns {
		if conns[i], err = pool.Acquire(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range conns {
		c.Release()
	}
	opts, err := redis.ParseURL(testenv.RedisURL(b))
	if err != nil {
		b.Fatal(err)
	}
	opts.PoolSize = 100 + 16
	rdb := redis.NewClient(opts)
	b.Cleanup(func() { _ = rdb.Close() })
	return &benchEnv{store: store.New(pool, testenv.Keyring(b)), rdb: rdb, client: asynq.NewClientFromRedisClient(rdb)}
}

// handlers returns a worker's task handlers with its own fleet state, as
// one worker process holds them; logs are discarded.
func (e *benchEnv) handlers(b *testing.B, cfg run.Config) *run.Handlers {
	b.Helper()
	log := slog.New(slog.DiscardHandler)
	fleet := resilience.NewGuard(e.rdb, resilience.Config{Log: log})
	if err := fleet.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fleet.Stop)
	clients := provider.NewClients(provider.ClientConfig{HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true})})
	rec := store.NewRecorder(e.store, store.RecorderConfig{Linger: 2 * time.Millisecond})
	b.Cleanup(rec.Close)
	return run.NewHandlers(run.Deps{
		Store: rec, Queue: e.client, Tracker: run.NewTracker(e.rdb), Clients: clients, Guard: fleet, Redis: e.rdb, Log: log,
	}, cfg)
}

// benchmark registers a provider at baseURL, the named mock models, a suite
// of the mock's arithmetic questions and a benchmark of them with the given
// samples (seed); it has len(models)*questions*samples units.
func (e *benchEnv) benchmark(b *testing.B, baseURL string, models []string, questions, samples int) *catalog.Benchmark {
	b.Helper()
	return seed(b, e.store, baseURL, "", models, questions, samples).benchmark
}

func (e *benchEnv) newRun(b *testing.B, bm *catalog.Benchmark) *run.Run {
	b.Helper()
	return testfactory.Run(context.Background(), b, e.store, &testfactory.RunOpts{BenchmarkID: bm.ID})
}

// BenchmarkHandlers_Start times run:start of a 10,000-unit run: mark it
// running, load its snapshot, list its recorded units and enqueue one
// execution:run task per unit, in batches (asynqbatch.MaxBatch), at
// several numbers of batches in flight (4 is the default). Between iterations, untimed, the enqueued tasks are deleted
// so that every iteration enqueues into a queue of the same length.
func BenchmarkHandlers_Start(b *testing.B) {
	const units = 10_000
	e := newBenchEnv(b)
	bm := e.benchmark(b, "http://127.0.0.1:1/v1", []string{"m1", "m2", "m3", "m4"}, 2500, 1)
	insp := asynq.NewInspectorFromRedisClient(e.rdb)
	ctx := context.Background()
	for _, par := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("Parallelism%d", par), func(b *testing.B) {
			h := e.handlers(b, run.Config{EnqueueParallelism: par})
			var r *run.Run
			for b.Loop() {
				b.StopTimer()
				if r != nil {
					if _, err := insp.DeleteAllPendingTasks(run.UnitQueue(r)); err != nil {
						b.Fatal(err)
					}
				}
				r = e.newRun(b, bm)
				b.StartTimer()
				if err := h.HandleStart(ctx, run.NewStartTask(ctx, r.ID)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(units*b.N)/b.Elapsed().Seconds(), "units/s")
			q, err := insp.GetQueueInfo(run.UnitQueue(r))
			if err != nil {
				b.Fatal(err)
			}
			if q.Pending != units {
				b.Fatalf("%d tasks pending on %s after run:start, want %d", q.Pending, q.Queue, units)
			}
			// Every run of the benchmark enqueues on the same queue: the
			// next parallelism starts from an empty one too.
			if _, err := insp.DeleteAllPendingTasks(q.Queue); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkHandlers_Execute times execution:run of one unit against an
// in-process mock provider that answers at once: the snapshot cache hit,
// the tracker check, the fleet's permit, the HTTP call, scoring, the spend
// counter, the insert and the tracker record. It is the per-unit cost a
// worker adds to a provider's own latency. Sequential is one unit after
// another (the latency of a unit); Parallel keeps 64 in flight on the two
// cores, the rate one worker process can reach when nothing waits on the
// provider.
func BenchmarkHandlers_Execute(b *testing.B) {
	const (
		questions = 500
		samples   = 2
	)
	models := []string{"mock-strong", "mock-weak"}
	total := len(models) * questions * samples
	e := newBenchEnv(b)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	mock, err := mockllm.Listen(ctx, "127.0.0.1:0", mockllm.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = mock.Stop() })
	bm := e.benchmark(b, mock.URL+"/v1", models, questions, samples)
	h := e.handlers(b, run.Config{CallTimeout: 10 * time.Second})

	// startRun creates a run and executes its unit 0, untimed, so that the
	// worker's caches (the run's snapshot and compiled scorers, the
	// provider's connection) are warm as they are for all but a run's
	// first unit.
	startRun := func(b *testing.B) *run.Run {
		r := e.newRun(b, bm)
		if err := h.HandleExecute(ctx, run.NewExecuteTask(ctx, r.ID, 0, run.UnitQueue(r))); err != nil {
			b.Fatal(err)
		}
		return r
	}
	execute := func(b *testing.B, r *run.Run, unit int) bool {
		if err := h.HandleExecute(ctx, run.NewExecuteTask(ctx, r.ID, unit, run.UnitQueue(r))); err != nil {
			b.Error(err)
			return false
		}
		return true
	}

	b.Run("Sequential", func(b *testing.B) {
		r, unit := startRun(b), 1
		for b.Loop() {
			if unit == total {
				b.StopTimer()
				r, unit = startRun(b), 1
				b.StartTimer()
			}
			if !execute(b, r, unit) {
				b.FailNow()
			}
			unit++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "units/s")
	})
	b.Run("Parallel", func(b *testing.B) {
		// Enough runs for b.N units besides each run's unit 0.
		runs := make([]*run.Run, (b.N+total-2)/(total-1))
		for i := range runs {
			runs[i] = startRun(b)
		}
		var next atomic.Int64
		b.SetParallelism(32)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := int(next.Add(1) - 1)
				if !execute(b, runs[k/(total-1)], 1+k%(total-1)) {
					return
				}
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "units/s")
	})
}

// BenchmarkHandlers_ExecuteSteps times, one at a time, the round trips
// execution:run makes per unit besides the insert (timed by
// BenchmarkStore_RecordExecution in pkg/store): the tracker's check, the
// spend counter and the record in Redis, and the provider call through the
// OpenAI adapter to the mock answering at once. Set beside
// BenchmarkHandlers_Execute/Sequential they show where a unit's time goes.
func BenchmarkHandlers_ExecuteSteps(b *testing.B) {
	e := newBenchEnv(b)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	tr := run.NewTracker(e.rdb)
	id := uuid.Must(uuid.NewV7())

	b.Run("TrackerCheck", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := tr.Check(ctx, id, i%1000); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("TrackerAddSpend", func(b *testing.B) {
		for b.Loop() {
			if err := tr.AddSpend(ctx, id, 0.000125); err != nil {
				b.Fatal(err)
			}
		}
	})
	var recorded atomic.Int64
	b.Run("TrackerRecord", func(b *testing.B) {
		for b.Loop() {
			if _, first, err := tr.Record(ctx, id, int(recorded.Add(1)), run.ExecSucceeded); err != nil || !first {
				b.Fatalf("record: first=%v err=%v", first, err)
			}
		}
	})
	b.Run("ProviderCall", func(b *testing.B) {
		mock, err := mockllm.Listen(ctx, "127.0.0.1:0", mockllm.Config{})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = mock.Stop() }()
		client := provider.NewClients(provider.ClientConfig{HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true})})[catalog.KindOpenAI]
		prompt, ans := mockllm.Question(7)
		temp, seed := 0.0, int64(0)
		req := provider.Request{BaseURL: mock.URL + "/v1", Model: "mock-perfect", Prompt: prompt, Temperature: &temp, MaxTokens: 64, Seed: &seed}
		want := fmt.Sprintf("The answer is %d.", ans)
		for b.Loop() {
			resp, err := client.Complete(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			if resp.Text != want {
				b.Fatalf("answer %q, want %q", resp.Text, want)
			}
		}
	})
}

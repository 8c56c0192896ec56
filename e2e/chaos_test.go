package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// asynq v0.26.0 recovers the task of a worker that died in three fixed
// steps, none of them configurable. The crash test's waits are derived
// from them.
const (
	// asynqLease is how long a task's lease lasts (rdb.LeaseDuration); a
	// live worker extends it every 5 s, so a dead worker's lease ends at
	// most this long after it died.
	asynqLease = 30 * time.Second
	// asynqRecoverCutoff: the recoverer takes only tasks whose lease ended
	// at least this long ago, its allowance for clock skew
	// (recoverer.recoverLeaseExpiredTasks).
	asynqRecoverCutoff = 30 * time.Second
	// asynqRecoverEvery: each worker's recoverer runs when the worker
	// starts and then every minute.
	asynqRecoverEvery = time.Minute
	// forwardEvery is the worker's DelayedTaskCheckInterval: a retry that
	// is due waits up to this long to be moved back to its queue.
	forwardEvery = time.Second
)

// Settings every chaos cluster runs with.
const (
	chaosConcurrency = 8
	// chaosRetryBase is SABE_RETRY_BASE_DELAY: a unit that failed (a lost
	// lease, an unreachable database) comes back after at most
	// chaosRetryBase << attempts.
	chaosRetryBase = 100 * time.Millisecond
	// chaosShutdown is SABE_SHUTDOWN_TIMEOUT for the api and the workers.
	chaosShutdown = 10 * time.Second
	// stopGrace is what a process may take after its shutdown timeout to
	// close its pools and exit.
	stopGrace = 5 * time.Second
	// The maintenance loops at test speed (see the README's table).
	reconcileInterval = time.Second
	reconcileStall    = 3 * time.Second
	schedulerTick     = time.Second
	// reconcileGrace is how long the reconciler leaves a queued run with
	// no task alone (its api may be about to enqueue it) before it starts
	// it: maintenance.Config.QueuedGrace, whose default the worker keeps.
	reconcileGrace = 5 * time.Second
	// startupBound is the longest a process may take to start, and a run
	// to be picked up once its work exists; it covers a slow, loaded CI
	// machine, not an expected time.
	startupBound = 30 * time.Second
)

// cluster is SABE as separate processes: the api and the workers (and
// schedulers, where a test needs them) as the real binaries, mockllm
// in-process so the test can read its counters.
type cluster struct {
	*system
	env      map[string]string // the environment every process starts from
	dbURL    string
	redisURL string
	apiProc  *proc
	procs    []*proc // workers and schedulers, for stopAll
}

// startCluster starts mockllm (answering after latency) and the api binary
// on a fresh database and Redis database. Workers and schedulers are
// started by the test, which may give them a different environment.
func startCluster(t *testing.T, latency time.Duration, extraEnv map[string]string) *cluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dbURL, redisURL := testenv.DatabaseURL(t), testenv.RedisURL(t)
	mock, err := mockllm.Listen(ctx, "127.0.0.1:0", mockllm.Config{Latency: latency})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"SABE_DATABASE_URL": dbURL, "SABE_REDIS_URL": redisURL, "SABE_ENCRYPTION_KEY": testenv.KeyEnv(t),
		"SABE_HTTP_ADDR": "127.0.0.1:0", "SABE_ALLOW_PRIVATE_PROVIDERS": "true",
		"SABE_WORKER_CONCURRENCY": fmt.Sprint(chaosConcurrency), "SABE_METRICS_ADDR": "off",
		"SABE_RETRY_BASE_DELAY": chaosRetryBase.String(), "SABE_SHUTDOWN_TIMEOUT": chaosShutdown.String(),
		"SABE_RECONCILE_INTERVAL": reconcileInterval.String(), "SABE_RECONCILE_STALL": reconcileStall.String(),
		"SABE_SCHEDULER_TICK": schedulerTick.String(),
		// The schedules here tick every second and may overlap: the
		// spend controls' defaults would refuse or skip them.
		"SABE_MIN_SCHEDULE_INTERVAL": "1s", "SABE_MAX_RUNS_IN_FLIGHT": "0",
		// info, in text: the tests wait for "worker started" and read the logs.
		"SABE_LOG_FORMAT": "text", "SABE_LOG_LEVEL": "info",
	}
	maps.Copy(env, extraEnv)
	apiProc := startProc(t, "api", "api", env)
	apiProc.WaitFor(t, "api listening on ", startupBound)
	addr := apiProc.AddrAfter(t, "api listening on ")

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	tok, _, err := store.New(pool, nil).CreateToken(ctx, "chaos", []string{"admin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{
		system:   &system{api: addr, token: tok, mock: mock, pool: pool, http: &http.Client{Timeout: 30 * time.Second}, c: client.New(addr, tok)},
		env:      env,
		dbURL:    dbURL,
		redisURL: redisURL,
		apiProc:  apiProc,
	}
}

// with returns the cluster's environment with overrides applied.
func (c *cluster) with(overrides map[string]string) map[string]string {
	env := maps.Clone(c.env)
	maps.Copy(env, overrides)
	return env
}

// worker starts a worker binary and waits until it serves.
func (c *cluster) worker(t *testing.T, name string, overrides map[string]string) *proc {
	t.Helper()
	p := startProc(t, name, "worker", c.with(overrides))
	p.WaitFor(t, "worker started", startupBound)
	return p
}

// scheduler starts a scheduler binary and waits until it runs.
func (c *cluster) scheduler(t *testing.T, name string) *proc {
	t.Helper()
	p := startProc(t, name, "scheduler", c.env)
	p.WaitFor(t, "scheduler started", startupBound)
	return p
}

// benchmark creates, through the API, a benchmark of models mock models
// (all mock-strong) × questions arithmetic questions × samples, with extra
// fields merged into its body, and returns its id and unit count.
func (c *cluster) benchmark(t *testing.T, models, questions, samples int, extra map[string]any) (string, int) {
	t.Helper()
	var prov idOnly
	c.call(t, "POST", "/v1/providers", "application/json", map[string]any{
		"name": "mock", "kind": "openai", "base_url": c.mock.URL + "/v1", "api_key": "sk-chaos",
	}, http.StatusCreated, &prov)
	var ids []string
	for i := range models {
		var m idOnly
		c.call(t, "POST", "/v1/models", "application/json", map[string]any{
			"provider_id": prov.ID, "name": fmt.Sprintf("model-%d", i), "provider_model_id": "mock-strong",
			"input_cost_per_mtok": 1, "output_cost_per_mtok": 2,
		}, http.StatusCreated, &m)
		ids = append(ids, m.ID)
	}
	var suite idOnly
	c.call(t, "POST", "/v1/suites", "application/json", map[string]any{"name": "chaos"}, http.StatusCreated, &suite)
	var jsonl strings.Builder
	for i := range questions {
		p, a := mockllm.Question(i)
		line, _ := json.Marshal(map[string]any{"prompt": p, "expected_answer": fmt.Sprint(a), "scoring": map[string]any{"method": "numeric"}})
		jsonl.Write(line)
		jsonl.WriteByte('\n')
	}
	c.call(t, "POST", "/v1/suites/"+suite.ID+"/questions:import", "application/x-ndjson", jsonl.String(), http.StatusCreated, nil)
	body := map[string]any{
		"name": "chaos", "suite_ids": []string{suite.ID}, "model_ids": ids,
		"config": map[string]any{"temperature": 0, "max_tokens": 32, "samples": samples},
	}
	maps.Copy(body, extra)
	var bench idOnly
	c.call(t, "POST", "/v1/benchmarks", "application/json", body, http.StatusCreated, &bench)
	return bench.ID, models * questions * samples
}

// startRun starts a run of a benchmark through the API.
func (c *cluster) startRun(t *testing.T, benchmarkID string) string {
	t.Helper()
	var r idOnly
	c.call(t, "POST", "/v1/benchmarks/"+benchmarkID+"/runs", "", nil, http.StatusAccepted, &r)
	return r.ID
}

// recorded is how many units of a run PostgreSQL holds, read past the api
// and any proxy.
func (c *cluster) recorded(t *testing.T, runID string) int {
	t.Helper()
	var n int
	if err := c.pool.QueryRow(context.Background(), `SELECT count(*) FROM executions WHERE run_id = $1`, runID).Scan(&n); err != nil {
		t.Fatalf("count executions: %v", err)
	}
	return n
}

// waitAt waits until at least frac of a run's total units are recorded.
func (c *cluster) waitAt(t *testing.T, runID string, total int, frac float64, timeout time.Duration) int {
	t.Helper()
	want := int(math.Ceil(frac * float64(total)))
	testenv.WaitFor(t, fmt.Sprintf("run %s: %d of %d units recorded", runID, want, total), timeout, func() bool {
		return c.recorded(t, runID) >= want
	})
	return want
}

// waitFinished waits for a run to reach a final status and returns it.
func (c *cluster) waitFinished(t *testing.T, runID string, timeout time.Duration) oapi.Run {
	t.Helper()
	testenv.WaitFor(t, "run "+runID+" finished", timeout, func() bool {
		var st string
		if err := c.pool.QueryRow(context.Background(), `SELECT status FROM runs WHERE id = $1`, runID).Scan(&st); err != nil {
			t.Fatalf("read run: %v", err)
		}
		return run.Status(st).Final()
	})
	r, err := c.c.GetRun(context.Background(), uuid.MustParse(runID))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkOnce checks that a run completed with every unit succeeded and
// recorded exactly once, with exactly one evaluation.
func (c *cluster) checkOnce(t *testing.T, r oapi.Run, total int) {
	t.Helper()
	if r.Status != oapi.RunStatusCompleted || r.Progress.Total != int64(total) || r.Progress.Succeeded != int64(total) {
		t.Errorf("run %+v, want completed with %d succeeded", r, total)
	}
	ctx := context.Background()
	var execs, distinct, succeeded, evals, evalUnits int
	if err := c.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT (model_id, question_id, sample)), count(*) FILTER (WHERE status = 'succeeded')
		FROM executions WHERE run_id = $1`, r.Id).Scan(&execs, &distinct, &succeeded); err != nil {
		t.Fatal(err)
	}
	if err := c.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT (model_id, question_id, sample)) FROM evaluations WHERE run_id = $1`, r.Id).Scan(&evals, &evalUnits); err != nil {
		t.Fatal(err)
	}
	if execs != total || distinct != total || succeeded != total || evals != total || evalUnits != total {
		t.Errorf("executions=%d (distinct units %d, succeeded %d) evaluations=%d (for %d units), want %d each",
			execs, distinct, succeeded, evals, evalUnits, total)
	}
}

// crashSeed fixes the moments and victims of TestChaos_CrashWorkers, so a
// failure reproduces the same kills (the run's timing still varies).
const crashSeed = 20260504

// TestChaos_CrashWorkers SIGKILLs workers at three seeded moments of one
// run, restarting each killed worker at once. The tasks they held come
// back through asynq's lease recovery; the run completes and every unit
// has exactly one execution and one evaluation.
func TestChaos_CrashWorkers(t *testing.T) {
	t.Parallel()
	const (
		models, questions, samples = 2, 50, 4
		latency                    = 150 * time.Millisecond
		workers                    = 2
	)
	// Kill i happens once a fraction in [killBands[i], killBands[i]+0.1)
	// of the units is recorded, chosen by the seed; the seed also orders
	// the victims, so each worker dies alone once and both die together
	// once.
	killBands := []float64{0.15, 0.40, 0.65}
	// One kill can leave a task's lease to run out, then wait for the
	// recoverer's cutoff and next pass, then for its retry delay (attempts
	// grow by one per kill) and the forwarder; the rest of the run may have
	// waited behind it, at the fleet's pace.
	work := time.Duration(models*questions*samples) * latency / (workers * chaosConcurrency)
	recovery := asynqLease + asynqRecoverCutoff + asynqRecoverEvery +
		chaosRetryBase<<len(killBands) + forwardEvery + work + startupBound

	c := startCluster(t, latency, nil)
	procs := make([]*proc, workers)
	for i := range procs {
		procs[i] = c.worker(t, fmt.Sprintf("worker-%d", i), nil)
	}
	bench, total := c.benchmark(t, models, questions, samples, nil)
	runID := c.startRun(t, bench)

	rng := rand.New(rand.NewPCG(crashSeed, crashSeed))
	started := time.Now()
	var lastKill time.Time
	victimSets := [][]int{{0}, {1}, {0, 1}}
	order := rng.Perm(len(victimSets))
	for k, band := range killBands {
		frac := band + 0.1*rng.Float64()
		victims := victimSets[order[k]]
		at := c.waitAt(t, runID, total, frac, recovery)
		for _, v := range victims {
			procs[v].Kill(t)
		}
		lastKill = time.Now()
		t.Logf("kill %d at %d/%d units recorded (%s in): workers %v", k+1, at, total, lastKill.Sub(started).Round(time.Millisecond), victims)
		for _, v := range victims {
			procs[v] = c.worker(t, fmt.Sprintf("worker-%d.%d", v, k+1), nil)
		}
	}
	r := c.waitFinished(t, runID, time.Until(lastKill.Add(recovery)))
	calls := c.mock.Server.Requests()
	t.Logf("run %s %s after the last kill; %d provider calls for %d units", r.Status,
		time.Since(lastKill).Round(time.Millisecond), calls, total)
	c.checkOnce(t, r, total)
	// A unit killed mid-call is called again after its recovery.
	if calls <= int64(total) {
		t.Errorf("%d provider calls for %d units: no kill caught a unit in flight, so nothing was recovered", calls, total)
	}
}

// TestChaos_PostgresOutage makes PostgreSQL unreachable to the workers for
// 20 s in the middle of a run, through a TCP proxy that cuts their
// connections and refuses new ones. Units fail and retry; once PostgreSQL
// is back the workers' pools reconnect and the run completes with every
// unit recorded once.
func TestChaos_PostgresOutage(t *testing.T) {
	t.Parallel()
	const (
		models, questions, samples = 2, 40, 4
		latency                    = 100 * time.Millisecond
		outage                     = 20 * time.Second
	)
	c := startCluster(t, latency, nil)
	proxy, proxied := newPGProxy(t, c.dbURL)
	// The api keeps its direct connection: the outage is the workers'.
	procs := []*proc{
		c.worker(t, "worker-0", map[string]string{"SABE_DATABASE_URL": proxied}),
		c.worker(t, "worker-1", map[string]string{"SABE_DATABASE_URL": proxied}),
	}
	bench, total := c.benchmark(t, models, questions, samples, nil)
	runID := c.startRun(t, bench)
	c.waitAt(t, runID, total, 0.3, startupBound)
	proxy.Disable()
	before := c.recorded(t, runID)
	if before >= total {
		t.Fatalf("the run finished (%d units) before the outage began", before)
	}
	time.Sleep(outage) // the outage itself, not a wait for something to happen
	during := c.recorded(t, runID)
	proxy.Enable(t)
	// A unit failing throughout the outage has drawn retry delays of
	// base·2ⁿ·[½, 1]; the last one drawn is at most twice the time failed
	// so far plus the base, so it comes back within 2·outage + 2·base of
	// the outage's end.
	bound := 2*outage + 2*chaosRetryBase + forwardEvery + time.Duration(total)*latency/(2*chaosConcurrency) + startupBound
	back := time.Now()
	r := c.waitFinished(t, runID, bound)
	t.Logf("%d/%d units recorded before the outage, %d during it; run %s %s after PostgreSQL came back",
		before, total, during-before, r.Status, time.Since(back).Round(time.Millisecond))
	c.checkOnce(t, r, total)
	failed := false
	for _, p := range procs {
		if p.exited() {
			t.Errorf("%s exited during the outage: %s", p.name, p.status())
		}
		failed = failed || strings.Contains(p.out.String(), "task failed")
	}
	if !failed {
		t.Error("no worker logged a failed task: the outage did not reach the workers")
	}
}

// TestChaos_Shutdown sends SIGTERM to a worker in the middle of a run: it
// finishes its in-flight units and exits 0 within its shutdown timeout,
// the other worker completes the run, and no unit is called or recorded
// twice. Then every other binary (worker, scheduler, api, mockllm) exits 0
// on SIGTERM too.
func TestChaos_Shutdown(t *testing.T) {
	t.Parallel()
	const (
		models, questions, samples = 2, 40, 4
		latency                    = 100 * time.Millisecond
	)
	c := startCluster(t, latency, nil)
	w0 := c.worker(t, "worker-0", nil)
	w1 := c.worker(t, "worker-1", nil)
	sched := c.scheduler(t, "scheduler")
	mock := startProc(t, "mockllm", "mockllm", map[string]string{"SABE_MOCK_ADDR": "127.0.0.1:0"})
	mock.WaitFor(t, "mockllm listening on ", startupBound)

	bench, total := c.benchmark(t, models, questions, samples, nil)
	runID := c.startRun(t, bench)
	c.waitAt(t, runID, total, 0.3, startupBound)
	w0.Terminate(t)
	sent := time.Now()
	if code := w0.Wait(t, chaosShutdown+stopGrace); code != 0 {
		t.Fatalf("worker-0 exited %d on SIGTERM, want 0", code)
	}
	t.Logf("worker-0 exited 0 %s after SIGTERM, at %d/%d units recorded", time.Since(sent).Round(time.Millisecond), c.recorded(t, runID), total)
	if !strings.Contains(w0.out.String(), "worker stopped") {
		t.Errorf("worker-0 exited without its clean stop:\n%s", tail(w0.out.String(), 4000))
	}
	r := c.waitFinished(t, runID, time.Duration(total)*latency/chaosConcurrency+startupBound)
	c.checkOnce(t, r, total)
	// A unit cut off mid-call would have been called again by worker-1.
	if got := c.mock.Server.Requests(); got != int64(total) {
		t.Errorf("provider calls = %d for %d units: in-flight work was not finished before the exit", got, total)
	}

	rest := []*proc{w1, sched, c.apiProc, mock}
	for _, p := range rest {
		p.Terminate(t)
	}
	sent = time.Now()
	for _, p := range rest {
		if code := p.Wait(t, chaosShutdown+stopGrace); code != 0 {
			t.Errorf("%s exited %d on SIGTERM, want 0:\n%s", p.name, code, tail(p.out.String(), 4000))
		}
	}
	t.Logf("worker-1, scheduler, api and mockllm exited 0 within %s of SIGTERM", time.Since(sent).Round(time.Millisecond))
}

// TestChaos_FlushRedis empties the test's Redis database (FLUSHDB: other
// tests share the server) in the middle of a run, losing every queued task
// and the run's live progress. The reconciler notices the run's progress is
// gone and starts it again from what PostgreSQL recorded: the run completes
// with nothing lost and nothing recorded twice.
func TestChaos_FlushRedis(t *testing.T) {
	t.Parallel()
	const (
		models, questions, samples = 2, 40, 4
		latency                    = 100 * time.Millisecond
	)
	c := startCluster(t, latency, nil)
	c.worker(t, "worker-0", nil)
	c.worker(t, "worker-1", nil)
	bench, total := c.benchmark(t, models, questions, samples, nil)
	runID := c.startRun(t, bench)
	c.waitAt(t, runID, total, 0.3, startupBound)

	opts, err := redis.ParseURL(c.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	before := c.recorded(t, runID)
	if before >= total {
		t.Fatalf("the run finished (%d units) before the flush", before)
	}
	// The reconciler's next pass finds Redis lost its state (at worst, it
	// finds the run's progress stalled) and starts the run again; then the
	// rest of the run.
	bound := reconcileStall + 2*reconcileInterval + time.Duration(total)*latency/(2*chaosConcurrency) + startupBound
	flushed := time.Now()
	r := c.waitFinished(t, runID, bound)
	t.Logf("flushed at %d/%d units; run %s %s later", before, total, r.Status, time.Since(flushed).Round(time.Millisecond))
	c.checkOnce(t, r, total)
}

// TestChaos_NoTask commits a run with no run:start task in Redis, standing
// in for an api that died between its commit and its enqueue: the
// reconciler starts it, and it completes.
func TestChaos_NoTask(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 5*time.Millisecond, nil)
	c.worker(t, "worker-0", nil)
	bench, total := c.benchmark(t, 1, 5, 2, nil)
	ctx := context.Background()
	r, err := store.New(c.pool, nil).CreateRun(ctx, store.NewRun{BenchmarkID: uuid.MustParse(bench), Trigger: run.TriggerAPI})
	if err != nil {
		t.Fatal(err)
	}
	opts, err := asynq.ParseRedisURI(c.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opts)
	defer insp.Close()
	if _, err := insp.GetTaskInfo(run.QueueControl, "run:"+r.ID.String()); !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Fatalf("run:start task of a run created in the store only: %v, want none", err)
	}
	// A queued run is left alone for a grace period (its api may be about
	// to enqueue it), then found at the reconciler's next pass.
	bound := reconcileGrace + 2*reconcileInterval + startupBound
	v := c.waitFinished(t, r.ID.String(), bound)
	c.checkOnce(t, v, total)
}

// TestChaos_TwoSchedulers runs two scheduler processes (and two workers,
// which run the ticks) on a benchmark scheduled @every 1s with every missed
// occurrence caught up, then stops them all so that the runs table is
// final.
//   - Allow: the runs' scheduled_for values are distinct and form an
//     unbroken series of seconds: each occurrence made exactly one run
//     however many replicas ticked.
//   - Skip: with runs slower than the schedule, no run is created while the
//     previous one is unfinished, and the occurrences in between are
//     skipped rather than queued.
func TestChaos_TwoSchedulers(t *testing.T) {
	t.Parallel()
	t.Run("Allow", func(t *testing.T) {
		t.Parallel()
		const occurrences = 5
		c, bench := scheduledCluster(t, 5*time.Millisecond, "allow")
		c.waitScheduled(t, bench, occurrences, startupBound+occurrences*(schedulerTick+time.Second))
		c.stopAll(t)
		runs := c.scheduledRuns(t, bench)
		first, last := runs[0].scheduledFor, runs[len(runs)-1].scheduledFor
		span := int(last.Sub(first)/time.Second) + 1
		seen := map[time.Time]bool{}
		for _, r := range runs {
			if seen[r.scheduledFor] || !r.scheduledFor.Equal(r.scheduledFor.Truncate(time.Second)) {
				t.Errorf("run for %s: a second run for one occurrence, or not on a whole second", r.scheduledFor)
			}
			seen[r.scheduledFor] = true
		}
		t.Logf("%d runs for the occurrences %s … %s", len(runs), first.Format(time.RFC3339), last.Format(time.RFC3339))
		if len(runs) < occurrences || span != len(runs) {
			t.Errorf("%d runs for %d occurrences from first to last, want one run per occurrence", len(runs), span)
		}
	})
	t.Run("Skip", func(t *testing.T) {
		t.Parallel()
		// One unit answered after unitTime: each run spans several
		// occurrences.
		const runs, unitTime = 3, 2500 * time.Millisecond
		c, bench := scheduledCluster(t, unitTime, "skip")
		c.waitScheduled(t, bench, runs, startupBound+runs*(unitTime+2*schedulerTick+startupBound/3))
		c.stopAll(t)
		got := c.scheduledRuns(t, bench)
		for i := 1; i < len(got); i++ {
			prev, next := got[i-1], got[i]
			if prev.finishedAt == nil || next.createdAt.Before(*prev.finishedAt) {
				t.Errorf("run for %s created at %s while the run for %s was unfinished (finished at %v)",
					next.scheduledFor.Format(time.RFC3339), next.createdAt.Format(time.RFC3339Nano), prev.scheduledFor.Format(time.RFC3339), prev.finishedAt)
			}
			if next.scheduledFor.Sub(prev.scheduledFor) < 2*time.Second {
				t.Errorf("runs for %s and %s: no occurrence skipped between them", prev.scheduledFor, next.scheduledFor)
			}
		}
		t.Logf("%d runs, for %v", len(got), got)
	})
}

// scheduledCluster starts a cluster with two workers and two schedulers
// and a one-unit benchmark scheduled @every 1s with the overlap policy.
func scheduledCluster(t *testing.T, latency time.Duration, overlap string) (*cluster, string) {
	t.Helper()
	c := startCluster(t, latency, map[string]string{"SABE_SCHEDULER_CATCHUP": "all"})
	c.procs = []*proc{
		c.worker(t, "worker-0", nil), c.worker(t, "worker-1", nil),
		c.scheduler(t, "scheduler-0"), c.scheduler(t, "scheduler-1"),
	}
	bench, _ := c.benchmark(t, 1, 1, 1, map[string]any{
		"schedule": map[string]any{"cron": "@every 1s", "timezone": "UTC", "enabled": true, "overlap": overlap},
	})
	return c, bench
}

// waitScheduled waits until a benchmark has n scheduled runs.
func (c *cluster) waitScheduled(t *testing.T, benchmarkID string, n int, timeout time.Duration) {
	t.Helper()
	testenv.WaitFor(t, fmt.Sprintf("%d scheduled runs", n), timeout, func() bool {
		var got int
		if err := c.pool.QueryRow(context.Background(), `SELECT count(*) FROM runs WHERE benchmark_id = $1 AND trigger = 'schedule'`, benchmarkID).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got >= n
	})
}

// stopAll sends SIGTERM to the cluster's workers and schedulers, each of
// which must exit 0. Stopped, they make no more runs.
func (c *cluster) stopAll(t *testing.T) {
	t.Helper()
	for _, p := range c.procs {
		p.Terminate(t)
	}
	for _, p := range c.procs {
		if code := p.Wait(t, chaosShutdown+stopGrace); code != 0 {
			t.Errorf("%s exited %d on SIGTERM, want 0", p.name, code)
		}
	}
}

type scheduledRun struct {
	scheduledFor, createdAt time.Time
	finishedAt              *time.Time
}

func (r scheduledRun) String() string { return r.scheduledFor.Format(time.TimeOnly) }

// scheduledRuns returns a benchmark's scheduled runs by occurrence.
func (c *cluster) scheduledRuns(t *testing.T, benchmarkID string) []scheduledRun {
	t.Helper()
	rows, err := c.pool.Query(context.Background(), `SELECT scheduled_for, created_at, finished_at FROM runs
		WHERE benchmark_id = $1 AND trigger = 'schedule' ORDER BY scheduled_for, created_at`, benchmarkID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []scheduledRun
	for rows.Next() {
		var r scheduledRun
		var sf *time.Time
		if err := rows.Scan(&sf, &r.createdAt, &r.finishedAt); err != nil {
			t.Fatal(err)
		}
		if sf == nil {
			t.Fatal("a scheduled run without scheduled_for")
		}
		r.scheduledFor = sf.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no scheduled runs")
	}
	return out
}

package run_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/metrics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// sortedLog is the mock's request log in arrival order.
func sortedLog(s *mockllm.Server) []mockllm.LogEntry {
	log := s.Log()
	slices.SortFunc(log, func(a, b mockllm.LogEntry) int { return a.Time.Compare(b.Time) })
	return log
}

// metricSum adds up every sample of a counter family in m's registry.
func metricSum(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			sum += s.GetCounter().GetValue()
		}
	}
	return sum
}

func (b *bundle) setBenchmarkConfig(t *testing.T, f fixture, change func(*catalog.BenchmarkConfig)) {
	t.Helper()
	cfg := f.benchmark.Config
	change(&cfg)
	if _, err := b.store.UpdateBenchmark(context.Background(), f.benchmark.ID, catalog.BenchmarkPatch{Config: &cfg}, 0); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) setLimits(t *testing.T, providerID uuid.UUID, l catalog.ProviderLimits) {
	t.Helper()
	if _, err := b.store.UpdateProvider(context.Background(), providerID, catalog.ProviderPatch{Limits: &l}); err != nil {
		t.Fatal(err)
	}
}

// addProvider registers one more provider at baseURL with one model, and
// adds the model to the fixture's benchmark.
func (b *bundle) addProvider(t *testing.T, f *fixture, name, baseURL string) catalog.Model {
	t.Helper()
	ctx := context.Background()
	p := testfactory.Provider(ctx, t, b.store, &testfactory.ProviderOpts{Name: name, BaseURL: baseURL})
	m := testfactory.Model(ctx, t, b.store, &testfactory.ModelOpts{
		ProviderID: p.ID, Name: name, ProviderModelID: "mock-strong", InputCostPerMTok: 1, OutputCostPerMTok: 2,
	})
	ids := []uuid.UUID{}
	for _, fm := range f.models {
		ids = append(ids, fm.ID)
	}
	f.models = append(f.models, *m)
	ids = append(ids, m.ID)
	var err error
	if f.benchmark, err = b.store.UpdateBenchmark(ctx, f.benchmark.ID, catalog.BenchmarkPatch{ModelIDs: ids}, 0); err != nil {
		t.Fatal(err)
	}
	return *m
}

type execRow struct {
	model    uuid.UUID
	status   string
	err      string
	attempts int
	cost     float64
}

func (b *bundle) executions(t *testing.T, id uuid.UUID) []execRow {
	t.Helper()
	rows, err := b.pool.Query(context.Background(),
		`SELECT model_id, status, coalesce(error, ''), attempts, cost_usd FROM executions WHERE run_id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []execRow
	for rows.Next() {
		var e execRow
		if err := rows.Scan(&e.model, &e.status, &e.err, &e.attempts, &e.cost); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRun_BreakerOpensFleetWide: a provider that starts failing trips the
// breaker of one of two workers; once both have seen the circuit open, from
// the mock's log, no call reaches it until the circuit half-opens but those
// already in flight, and once it recovers the run completes with every
// unit recorded once.
func TestRun_BreakerOpensFleetWide(t *testing.T) {
	t.Parallel()
	const (
		openFor     = 5 * time.Second
		concurrency = 4 // per worker; two workers
		units       = 60
	)
	healthy := mockllm.Config{Latency: 50 * time.Millisecond}
	b := setupWith(t, healthy, settings{
		run:   run.Config{MaxRetry: 20, RetryMaxDelay: 100 * time.Millisecond},
		fleet: resilience.Config{Failures: 3, OpenTimeout: openFor},
	})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong"}, units, 1)
	w1, w2 := b.startWorker(t, concurrency), b.startWorker(t, concurrency)
	workers := []*worker{w1, w2}
	pid := f.providerID.String()
	r := b.startRun(t, f)

	// Both workers must have called the provider before it fails, so that
	// both know it and follow its shared state.
	testenv.WaitFor(t, "both workers' first calls", 20*time.Second, func() bool {
		return metricSum(t, w1.metrics, "sabe_provider_calls_total") > 0 &&
			metricSum(t, w2.metrics, "sabe_provider_calls_total") > 0
	})
	failing := healthy
	failing.ErrorRate = 1
	b.mock.Server.SetConfig(failing)
	var rec resilience.SharedBreaker
	key := resilience.BreakerKey(pid)
	testenv.WaitFor(t, "the breaker to open", 20*time.Second, func() bool {
		v, err := b.rdb.Get(context.Background(), key).Result()
		if err != nil {
			return false
		}
		rec, err = resilience.ParseSharedBreaker(v)
		return err == nil
	})
	opened, halfOpen := time.UnixMilli(rec.OpenedAt), time.UnixMilli(rec.Until)
	// Every worker sees the circuit open, whichever of them tripped it.
	// From then on each lets no call out before the half-open time; the
	// calls it let out before may still be on their way to the provider,
	// at most one per slot.
	var seen time.Time
	testenv.WaitFor(t, "both workers to see the circuit", 20*time.Second, func() bool {
		for _, w := range workers {
			if w.fleet.State(pid) == resilience.StateClosed {
				return false
			}
		}
		seen = time.Now()
		return true
	})
	// The provider recovers while the circuit is open: the half-open probe
	// finds it healthy, and any call let through before then would succeed.
	b.mock.Server.SetConfig(healthy)
	fin := b.waitFinal(t, r.ID)

	if fin.Status != run.StatusCompleted || fin.Progress.Succeeded != units {
		t.Fatalf("run %s (%s), progress %+v: want completed with %d succeeded", fin.Status, fin.Error, fin.Progress, units)
	}
	execs, distinct, evals := b.rows(t, r.ID)
	if execs != units || distinct != units || evals != units {
		t.Fatalf("executions=%d distinct=%d evaluations=%d, want %d each", execs, distinct, evals, units)
	}
	if got := halfOpen.Sub(opened); got != openFor {
		t.Errorf("shared open period %s, want %s", got, openFor)
	}
	var whileOpen, afterwards int
	for _, e := range b.mock.Server.Log() {
		switch {
		case e.Time.Before(seen):
		case e.Time.Before(halfOpen):
			whileOpen++
		default:
			afterwards++
		}
	}
	t.Logf("calls: %d after both workers saw the circuit %s after the trip and before it half-opened, %d from half-open on; 500s: %d",
		whileOpen, seen.Sub(opened).Round(time.Millisecond), afterwards, b.mock.Server.StatusCount(500))
	if whileOpen > 2*concurrency {
		t.Errorf("%d calls reached the provider after both workers saw the circuit open and before it half-opened; only the %d in flight may", whileOpen, 2*concurrency)
	}
	if afterwards == 0 {
		t.Error("no call after the half-open time, yet the run completed")
	}
	if n := b.mock.Server.StatusCount(500); n == 0 {
		t.Error("the provider never answered 500")
	}
	// Units that met the open circuit were rescheduled, not failed, and
	// both workers saw it close again.
	rescheduled := 0.0
	for i, w := range workers {
		if st := w.fleet.State(pid); st != resilience.StateClosed {
			t.Errorf("worker %d: breaker %s after the run, want closed", i+1, st)
		}
		rescheduled += metricSum(t, w.metrics, "sabe_provider_rescheduled_total")
	}
	if rescheduled == 0 {
		t.Error("no unit was rescheduled while the circuit was open")
	}
}

// TestRun_RetryAfterHonoured: a 429's Retry-After delays the unit's next
// attempt at least that long.
func TestRun_RetryAfterHonoured(t *testing.T) {
	t.Parallel()
	const retryAfter = time.Second
	b := setup(t, mockllm.Config{RateLimitRate: 1, RetryAfter: retryAfter}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-perfect"}, 1, 1)
	b.startWorker(t, 2)
	r := b.startRun(t, f)
	testenv.WaitFor(t, "a 429", 20*time.Second, func() bool { return b.mock.Server.StatusCount(429) > 0 })
	b.mock.Server.SetConfig(mockllm.Config{})
	fin := b.waitFinal(t, r.ID)
	if fin.Status != run.StatusCompleted {
		t.Fatalf("status %s (%s), want completed", fin.Status, fin.Error)
	}
	log := sortedLog(b.mock.Server)
	if len(log) < 2 || log[0].Status != 429 || log[len(log)-1].Status != 200 {
		t.Fatalf("log %+v: want 429s, then a 200", log)
	}
	for i := 1; i < len(log); i++ {
		if gap := log[i].Time.Sub(log[i-1].Time); log[i-1].Status == 429 && gap < retryAfter {
			t.Errorf("attempt %d came %s after a 429 asking for %s", i+1, gap, retryAfter)
		}
	}
	ex := b.executions(t, r.ID)
	if len(ex) != 1 || ex[0].attempts != len(log) {
		t.Errorf("executions %+v: want one, with %d attempts", ex, len(log))
	}
}

// TestRun_QuotaPausesAndResumes: a quota answer pauses the provider until
// the reset time it gave, without failing units or using their retries,
// and the run completes once the quota is back.
func TestRun_QuotaPausesAndResumes(t *testing.T) {
	t.Parallel()
	const (
		units       = 6
		concurrency = 3
		reset       = 2 * time.Second
	)
	b := setup(t, mockllm.Config{Quota: true, QuotaReset: reset}, run.Config{MaxRetry: 1})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-perfect"}, units, 1)
	w := b.startWorker(t, concurrency)
	pid := f.providerID.String()
	r := b.startRun(t, f)
	var until time.Time
	testenv.WaitFor(t, "the pause", 20*time.Second, func() bool {
		ms, err := b.rdb.Get(context.Background(), resilience.PausedKey(pid)).Int64()
		until = time.UnixMilli(ms)
		return err == nil
	})
	// Once the worker's guard holds calls back for the pause, no call of
	// its goes out before the pause ends but those already on their way,
	// at most one per slot.
	var seen time.Time
	testenv.WaitFor(t, "the worker to see the pause", 20*time.Second, func() bool {
		p, err := w.fleet.Acquire(context.Background(), resilience.Call{Provider: pid})
		if err == nil {
			p.Done(resilience.Ignored)
			return false
		}
		var we *resilience.WaitError
		seen = time.Now()
		return errors.As(err, &we) && we.Reason == resilience.ReasonPaused
	})
	b.mock.Server.SetConfig(mockllm.Config{})
	fin := b.waitFinal(t, r.ID)
	if fin.Status != run.StatusCompleted || fin.Progress.Succeeded != units || fin.Progress.Failed != 0 {
		t.Fatalf("run %s (%s), progress %+v: want completed, %d succeeded", fin.Status, fin.Error, fin.Progress, units)
	}
	log := sortedLog(b.mock.Server)
	if log[0].Status != 429 {
		t.Fatalf("first call answered %d, want the quota's 429", log[0].Status)
	}
	// The provider said "in 2s" after the first call arrived, so the pause
	// lasts at least that long from then (less the Redis value's cut to
	// whole milliseconds).
	first := log[0].Time
	if until.Add(time.Millisecond).Before(first.Add(reset)) {
		t.Errorf("paused until %s after the first quota answer, want at least the %s the provider said", until.Sub(first), reset)
	}
	early := 0
	for _, e := range log {
		if !e.Time.Before(seen) && e.Time.Before(until) {
			early++
		}
	}
	if early > concurrency {
		t.Errorf("%d calls reached the provider after the worker saw the pause and before it ended (until %s); only the %d in flight may", early, until, concurrency)
	}
	for _, e := range b.executions(t, r.ID) {
		if e.attempts != 1 {
			t.Errorf("execution with %d attempts: waiting for a quota must not use retries", e.attempts)
		}
	}
}

// TestRun_IdleStreamCutAndRetried: a stream that hangs after its first
// token is cut at the idle timeout and retried; with the provider hanging
// every time, the unit ends failed once its retries are used up.
func TestRun_IdleStreamCutAndRetried(t *testing.T) {
	t.Parallel()
	const idle = 200 * time.Millisecond
	b := setupWith(t, mockllm.Config{}, settings{run: run.Config{MaxRetry: 2, IdleTimeout: idle}})
	f := b.seed(t, b.mock.URL+"/faults/hang_after_first_token=true/v1", "", []string{"mock-perfect"}, 1, 1)
	b.startWorker(t, 2)
	fin := b.waitFinal(t, b.startRun(t, f).ID)
	if fin.Status != run.StatusFailed {
		t.Fatalf("status %s (%s), want failed", fin.Status, fin.Error)
	}
	ex := b.executions(t, fin.ID)
	if len(ex) != 1 || ex[0].status != "failed" || ex[0].attempts != 3 || !strings.Contains(ex[0].err, "idle") {
		t.Fatalf("executions %+v: want one failed after 3 attempts, with the idle timeout as its error", ex)
	}
	if n := len(b.mock.Server.Log()); n != 3 {
		t.Errorf("provider calls = %d, want 3 (one try, two retries)", n)
	}
}

// TestRun_MalformedAndOversizedFailTheUnit: a body that is not JSON and a
// body over the size cap are errors on their units; the worker goes on.
func TestRun_MalformedAndOversizedFailTheUnit(t *testing.T) {
	t.Parallel()
	b := setupWith(t, mockllm.Config{}, settings{
		run:    run.Config{MaxRetry: 1},
		client: provider.ClientConfig{MaxResponseBytes: 64 << 10},
	})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-perfect"}, 2, 1)
	malformed := b.addProvider(t, &f, "malformed", b.mock.URL+"/faults/malformed_rate=1/v1")
	oversized := b.addProvider(t, &f, "oversized", b.mock.URL+"/faults/oversize_bytes=200000/v1")
	b.startWorker(t, 4)
	fin := b.waitFinal(t, b.startRun(t, f).ID)
	if fin.Status != run.StatusPartial || fin.Progress.Succeeded != 2 || fin.Progress.Failed != 4 {
		t.Fatalf("run %s (%s), progress %+v: want partial, 2 succeeded, 4 failed", fin.Status, fin.Error, fin.Progress)
	}
	for _, e := range b.executions(t, fin.ID) {
		if e.model != malformed.ID && e.model != oversized.ID {
			continue
		}
		if e.status != "failed" || e.err == "" || strings.Contains(e.err, "panic") {
			t.Errorf("unit of model %s: status %s, error %q; want failed with the provider's error", e.model, e.status, e.err)
		}
	}
}

// TestRun_RateLimitAcrossWorkers: two workers share a provider's requests
// per minute. Redis admits the k-th call no earlier than (k - burst)
// emission intervals after the first, and a call reaches the mock only
// after it was admitted, so from the mock's log the k-th call to arrive
// came at least that long after the run started, however slowly the
// machine runs. Two workers that each kept their own allowance would
// admit twice the burst at once and then two calls per interval.
func TestRun_RateLimitAcrossWorkers(t *testing.T) {
	t.Parallel()
	const (
		rpm      = 600
		burst    = rpm / 60 // one second's worth
		interval = time.Minute / rpm
		units    = 30
	)
	b := setup(t, mockllm.Config{}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong"}, units, 1)
	b.setLimits(t, f.providerID, catalog.ProviderLimits{RequestsPerMinute: rpm})
	w1, w2 := b.startWorker(t, 8), b.startWorker(t, 8)
	start := time.Now()
	fin := b.waitFinal(t, b.startRun(t, f).ID)
	if fin.Status != run.StatusCompleted || fin.Progress.Succeeded != units {
		t.Fatalf("run %s (%s), progress %+v", fin.Status, fin.Error, fin.Progress)
	}
	log := sortedLog(b.mock.Server)
	if len(log) != units {
		t.Fatalf("provider calls = %d, want %d", len(log), units)
	}
	// Redis and the mock read the same system clock; a few milliseconds
	// cover rounding in the limiter.
	const margin = 5 * time.Millisecond
	for k := burst + 1; k <= units; k++ {
		earliest := start.Add(time.Duration(k-burst)*interval - margin)
		if at := log[k-1].Time; at.Before(earliest) {
			t.Errorf("call %d arrived %s after the start; the limit admits it no earlier than %s", k, at.Sub(start), earliest.Sub(start))
		}
	}
	for i, w := range []*worker{w1, w2} {
		if n := metricSum(t, w.metrics, "sabe_provider_calls_total"); n == 0 {
			t.Errorf("worker %d made no call", i+1)
		}
	}
	if n := metricSum(t, w1.metrics, "sabe_provider_limit_waits_total") + metricSum(t, w2.metrics, "sabe_provider_limit_waits_total"); n == 0 {
		t.Error("no call waited on the rate limit")
	}
}

// TestRun_CallOverTokenLimitFails: a call whose estimated tokens exceed
// its provider's whole tokens per minute can never be admitted; each unit
// fails at once with an error that says so, and the provider is never
// called, instead of the task being archived for the reconciler to find.
func TestRun_CallOverTokenLimitFails(t *testing.T) {
	t.Parallel()
	const units = 3
	b := setup(t, mockllm.Config{}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong"}, units, 1)
	b.setLimits(t, f.providerID, catalog.ProviderLimits{TokensPerMinute: 10})
	b.startWorker(t, 2)
	fin := b.waitFinal(t, b.startRun(t, f).ID)
	if fin.Progress.Failed != units || fin.Progress.Succeeded != 0 {
		t.Fatalf("run %s (%s), progress %+v; want every unit failed", fin.Status, fin.Error, fin.Progress)
	}
	for _, e := range b.executions(t, fin.ID) {
		if e.status != string(run.ExecFailed) || !strings.Contains(e.err, "more than the provider's limit of 10 tokens a minute") {
			t.Errorf("execution %s: %q; want it failed for the token limit", e.status, e.err)
		}
	}
	if n := len(sortedLog(b.mock.Server)); n != 0 {
		t.Errorf("provider called %d times; a call over the limit must never go out", n)
	}
}

// TestRun_MaxCostStopsRun: once the run's spend reaches max_cost_usd no new
// unit is called; the run ends partial with skipped units, having spent at
// least the cap and at most the calls in flight over it.
func TestRun_MaxCostStopsRun(t *testing.T) {
	t.Parallel()
	const (
		units       = 40
		concurrency = 2 // per worker; two workers
	)
	b := setup(t, mockllm.Config{Latency: 30 * time.Millisecond}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong"}, units, 1)
	ctx := context.Background()
	capUSD := 0.0002
	r := testfactory.Run(ctx, t, b.store, &testfactory.RunOpts{BenchmarkID: f.benchmark.ID, MaxCostUSD: &capUSD})
	b.startWorker(t, concurrency)
	b.startWorker(t, concurrency)
	if err := run.Enqueue(ctx, b.client, run.NewStartTask(ctx, r.ID)); err != nil {
		t.Fatal(err)
	}
	fin := b.waitFinal(t, r.ID)
	if fin.Status != run.StatusPartial || fin.Progress.Skipped == 0 || fin.Progress.Succeeded == 0 ||
		fin.Progress.Succeeded+fin.Progress.Skipped != units || !strings.Contains(fin.Error, "max_cost_usd") {
		t.Fatalf("run %s (%q), progress %+v: want partial at the spend cap", fin.Status, fin.Error, fin.Progress)
	}
	most := 0.0
	for _, e := range b.executions(t, r.ID) {
		most = max(most, e.cost)
		if e.status == "skipped" && !strings.Contains(e.err, "max_cost_usd") {
			t.Errorf("skipped unit's error %q does not name the cap", e.err)
		}
	}
	t.Logf("spent %.6f USD with a cap of %.6f (one call costs up to %.6f); %d units called, %d skipped",
		fin.CostUSD, capUSD, most, fin.Progress.Succeeded, fin.Progress.Skipped)
	if fin.CostUSD < capUSD || fin.CostUSD > capUSD+2*concurrency*most+1e-12 {
		t.Errorf("spent %.6f with a cap of %.6f: want at least the cap, at most %d calls of %.6f over it", fin.CostUSD, capUSD, 2*concurrency, most)
	}
	if _, err := b.rdb.Get(ctx, run.SpendKey(r.ID)).Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("spend key after finalization: %v, want it gone", err)
	}
}

// TestRun_DeadlineEndsPartial: units not called by the run's deadline are
// skipped and the run ends partial, saying why.
func TestRun_DeadlineEndsPartial(t *testing.T) {
	t.Parallel()
	const units = 40
	b := setup(t, mockllm.Config{Latency: 100 * time.Millisecond}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong"}, units, 1)
	b.setBenchmarkConfig(t, f, func(c *catalog.BenchmarkConfig) { c.TimeoutSeconds = 1 })
	b.startWorker(t, 2)
	fin := b.waitFinal(t, b.startRun(t, f).ID)
	if fin.Status != run.StatusPartial || fin.Progress.Skipped == 0 || fin.Progress.Succeeded == 0 ||
		fin.Progress.Done() != units || !strings.Contains(fin.Error, "deadline") {
		t.Fatalf("run %s (%q), progress %+v: want partial, some units skipped at the deadline", fin.Status, fin.Error, fin.Progress)
	}
	t.Logf("deadline: %d succeeded, %d skipped (%s)", fin.Progress.Succeeded, fin.Progress.Skipped, fin.Error)
	if fin.DeadlineAt == nil || fin.FinishedAt == nil || fin.FinishedAt.Before(*fin.DeadlineAt) {
		t.Errorf("finished at %v with deadline %v", fin.FinishedAt, fin.DeadlineAt)
	}
	for _, e := range b.executions(t, fin.ID) {
		if e.status == "skipped" && !strings.Contains(e.err, "deadline") {
			t.Errorf("skipped unit's error %q does not name the deadline", e.err)
		}
	}
}

// TestRun_ProviderChangeDropsCachedConnection: a notice on
// sabe:provider-changed makes the next unit use the provider as it is now,
// not the worker's cached copy.
func TestRun_ProviderChangeDropsCachedConnection(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-perfect"}, 1, 1)
	w := b.startWorker(t, 2)
	if fin := b.waitFinal(t, b.startRun(t, f).ID); fin.Status != run.StatusCompleted {
		t.Fatalf("first run %s", fin.Status)
	}
	ctx := context.Background()
	moved := b.mock.URL + "/faults/latency=1ms/v1"
	if _, err := b.store.UpdateProvider(ctx, f.providerID, catalog.ProviderPatch{BaseURL: &moved}); err != nil {
		t.Fatal(err)
	}
	if err := b.rdb.Publish(ctx, run.ProviderChangedChannel, f.providerID.String()).Err(); err != nil {
		t.Fatal(err)
	}
	w.log.WaitFor(t, "provider changed", 10*time.Second)
	if fin := b.waitFinal(t, b.startRun(t, f).ID); fin.Status != run.StatusCompleted {
		t.Fatalf("second run %s", fin.Status)
	}
	log := sortedLog(b.mock.Server)
	if len(log) != 2 || strings.Contains(log[0].Path, "/faults/") || !strings.Contains(log[1].Path, "/faults/latency=1ms/") {
		t.Errorf("paths %v: want the second run to use the changed base URL", log)
	}
}

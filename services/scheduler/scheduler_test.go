package scheduler_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
	"github.com/sabe-dev/sabe/services/api"
	"github.com/sabe-dev/sabe/services/scheduler"
	"github.com/sabe-dev/sabe/services/worker"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	t.Run("Defaults", func(t *testing.T) {
		c, err := scheduler.LoadConfig(func(string) string { return "" })
		if err != nil || c.Tick != 10*time.Second || c.Catchup != schedule.CatchupLatest {
			t.Fatalf("defaults: %+v, %v; want a 10s tick and catch-up latest", c, err)
		}
	})
	t.Run("Settings", func(t *testing.T) {
		env := map[string]string{"SABE_SCHEDULER_TICK": "1s", "SABE_SCHEDULER_CATCHUP": "all"}
		c, err := scheduler.LoadConfig(func(k string) string { return env[k] })
		if err != nil || c.Tick != time.Second || c.Catchup != schedule.CatchupAll {
			t.Fatalf("settings: %+v, %v", c, err)
		}
	})
	for _, tc := range []struct{ name, variable, value string }{
		{"ErrTickTooShort", "SABE_SCHEDULER_TICK", "500ms"},
		{"ErrTickFraction", "SABE_SCHEDULER_TICK", "1500ms"},
		{"ErrTickGarbage", "SABE_SCHEDULER_TICK", "often"},
		{"ErrCatchup", "SABE_SCHEDULER_CATCHUP", "sometimes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{tc.variable: tc.value}
			_, err := scheduler.LoadConfig(func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.variable) {
				t.Fatalf("err = %v, want one naming %s", err, tc.variable)
			}
		})
	}
}

func TestRun_StartsAndStops(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SABE_DATABASE_URL": testenv.DatabaseURL(t), "SABE_REDIS_URL": testenv.RedisURL(t), "SABE_LOG_FORMAT": "text", "SABE_SCHEDULER_TICK": "1s",
	}
	var out *testenv.Buffer
	// Registered first, so it runs last: after the scheduler has stopped.
	t.Cleanup(func() {
		if strings.Contains(out.String(), "level=ERROR") {
			t.Errorf("scheduler logged an error:\n%s", out.String())
		}
	})
	out = testenv.StartService(t, "scheduler", scheduler.Run, env)
	out.WaitFor(t, "scheduler started", 20*time.Second)
	out.WaitFor(t, "schedule tick registered", 20*time.Second)
}

func TestRun_ErrUnreachableDatabase(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SABE_DATABASE_URL": "postgres://postgres@127.0.0.1:1/sabe?sslmode=disable&connect_timeout=2"}
	err := scheduler.Run(context.Background(), nil, func(k string) string { return env[k] }, &testenv.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "connect to database") {
		t.Fatalf("err = %v, want a connection error", err)
	}
}

// fleet is a database and Redis database with a benchmark ready to run on
// a mock provider, and the environment the services share.
type fleet struct {
	env   map[string]string
	st    *store.Store
	pool  *pgxpool.Pool
	bench *catalog.Benchmark
}

func setupFleet(t *testing.T, latency time.Duration, sc *catalog.Schedule) *fleet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	mock, err := mockllm.Listen(ctx, "127.0.0.1:0", mockllm.Config{Latency: latency})
	if err != nil {
		t.Fatal(err)
	}
	dbURL, key := testenv.DatabaseURL(t), testenv.KeyEnv(t)
	keys, err := secrets.ParseKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool, keys)
	p := testfactory.Provider(ctx, t, st, &testfactory.ProviderOpts{BaseURL: mock.URL + "/v1", APIKey: "sk-test"})
	m := testfactory.Model(ctx, t, st, &testfactory.ModelOpts{ProviderID: p.ID, ProviderModelID: "mock-strong"})
	su := testfactory.Suite(ctx, t, st, nil)
	testfactory.Questions(ctx, t, st, &testfactory.QuestionsOpts{SuiteID: su.ID, Questions: []catalog.QuestionInput{testfactory.Question(1, "")}})
	b := testfactory.Benchmark(ctx, t, st, &testfactory.BenchmarkOpts{
		SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: []uuid.UUID{m.ID},
		Config: catalog.BenchmarkConfig{MaxTokens: 16}, Schedule: sc,
	})
	env := map[string]string{
		"SABE_DATABASE_URL": dbURL, "SABE_REDIS_URL": testenv.RedisURL(t), "SABE_ENCRYPTION_KEY": key,
		"SABE_ALLOW_PRIVATE_PROVIDERS": "true", "SABE_METRICS_ADDR": "off", "SABE_WORKER_CONCURRENCY": "8",
		"SABE_SCHEDULER_TICK": "1s", "SABE_LOG_FORMAT": "text", "SABE_HTTP_ADDR": "127.0.0.1:0",
		// The benchmark's @every 1s schedule was set on the database, by
		// no token, and its runs may overlap: lift the spend controls
		// that would skip them.
		"SABE_MIN_SCHEDULE_INTERVAL": "1s", "SABE_MAX_RUNS_IN_FLIGHT": "0", "SABE_MAX_UNITS_PER_TOKEN_DAY": "0",
	}
	return &fleet{env: env, st: st, pool: pool, bench: b}
}

// scheduledRun is a run of the fleet's benchmark as the database has it.
type scheduledRun struct {
	scheduledFor, createdAt time.Time
	finishedAt              *time.Time
	trigger                 string
}

func (f *fleet) runs(t *testing.T) []scheduledRun {
	t.Helper()
	rows, err := f.pool.Query(context.Background(),
		`SELECT scheduled_for, created_at, finished_at, trigger FROM runs WHERE benchmark_id = $1 ORDER BY scheduled_for`, f.bench.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []scheduledRun
	for rows.Next() {
		var r scheduledRun
		var at *time.Time
		if err := rows.Scan(&at, &r.createdAt, &r.finishedAt, &r.trigger); err != nil {
			t.Fatal(err)
		}
		if at == nil {
			t.Fatalf("a run without scheduled_for: %+v", r)
		}
		r.scheduledFor = *at
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitRuns waits until ok accepts the benchmark's runs, failing the test
// after timeout, and returns the runs ok accepted.
func (f *fleet) waitRuns(t *testing.T, timeout time.Duration, what string, ok func([]scheduledRun) bool) []scheduledRun {
	t.Helper()
	var rs []scheduledRun
	testenv.WaitFor(t, what, timeout, func() bool {
		rs = f.runs(t)
		return ok(rs)
	})
	return rs
}

// disable turns the schedule off; the tick's compare-and-set checks it,
// so no run is made after this returns.
func (f *fleet) disable(t *testing.T) {
	t.Helper()
	off := false
	if _, err := f.st.UpdateBenchmark(context.Background(), f.bench.ID, catalog.BenchmarkPatch{Schedule: &catalog.SchedulePatch{Enabled: &off}}, 0); err != nil {
		t.Fatal(err)
	}
}

func noErrors(t *testing.T, name string, out *testenv.Buffer) {
	t.Helper()
	t.Cleanup(func() {
		if strings.Contains(out.String(), "level=ERROR") {
			t.Errorf("%s logged an error:\n%s", name, out.String())
		}
	})
}

// TestScheduler_TwoReplicas runs two schedulers and two workers (two tick
// handlers) on an @every 1s schedule: every occurrence in the observed
// window gets exactly one run.
func TestScheduler_TwoReplicas(t *testing.T) {
	t.Parallel()
	f := setupFleet(t, 300*time.Millisecond, &catalog.Schedule{Cron: "@every 1s", Enabled: true, Overlap: schedule.OverlapAllow})
	var outs []*testenv.Buffer
	for _, name := range []string{"worker-1", "worker-2"} {
		outs = append(outs, testenv.StartService(t, name, worker.Run, f.env))
	}
	for _, name := range []string{"scheduler-1", "scheduler-2"} {
		out := testenv.StartService(t, name, scheduler.Run, f.env)
		noErrors(t, name, out)
		outs = append(outs, out)
	}
	for _, out := range outs[2:] {
		out.WaitFor(t, "schedule tick registered", 20*time.Second)
	}
	f.waitRuns(t, 30*time.Second, "8 scheduled runs", func(rs []scheduledRun) bool { return len(rs) >= 8 })
	f.disable(t)

	rs := f.runs(t)
	first, last := rs[0].scheduledFor, rs[len(rs)-1].scheduledFor
	n := int(last.Sub(first)/time.Second) + 1
	seen := map[time.Time]bool{}
	for _, r := range rs {
		if seen[r.scheduledFor] || r.trigger != "schedule" || r.scheduledFor.Nanosecond() != 0 {
			t.Errorf("run %+v: duplicate, not a schedule run, or not on a whole second", r)
		}
		seen[r.scheduledFor] = true
	}
	if len(rs) != n {
		t.Errorf("%d runs for the %d occurrences from %v to %v; want one each", len(rs), n, first, last)
	}
	// The first occurrence is the first after the schedule was enabled.
	if !first.After(f.bench.CreatedAt) || first.Sub(f.bench.CreatedAt) > time.Minute {
		t.Errorf("first run for %v; the schedule was enabled at %v", first, f.bench.CreatedAt)
	}
}

// TestScheduler_OverlapSkip runs an @every 1s schedule whose runs take
// longer than a second: no scheduled run starts while another is
// unfinished, and the occurrences in between get none.
func TestScheduler_OverlapSkip(t *testing.T) {
	t.Parallel()
	f := setupFleet(t, 2500*time.Millisecond, &catalog.Schedule{Cron: "@every 1s", Enabled: true, Overlap: schedule.OverlapSkip})
	testenv.StartService(t, "worker-1", worker.Run, f.env)
	testenv.StartService(t, "worker-2", worker.Run, f.env)
	noErrors(t, "scheduler", testenv.StartService(t, "scheduler", scheduler.Run, f.env))
	f.waitRuns(t, 60*time.Second, "two finished runs", func(rs []scheduledRun) bool {
		return len(rs) >= 2 && rs[1].finishedAt != nil
	})
	f.disable(t)

	rs := f.runs(t)
	for i := 1; i < len(rs); i++ {
		prev, cur := rs[i-1], rs[i]
		if prev.finishedAt == nil || cur.createdAt.Before(*prev.finishedAt) {
			t.Errorf("run for %v was created at %v while the one for %v was unfinished (finished %v)",
				cur.scheduledFor, cur.createdAt, prev.scheduledFor, prev.finishedAt)
		}
		if cur.scheduledFor.Sub(prev.scheduledFor) < 2*time.Second {
			t.Errorf("runs for %v and %v: the occurrences between a 2.5 s run's start and end were not skipped", prev.scheduledFor, cur.scheduledFor)
		}
	}
}

// TestScheduler_EditAppliesWithoutRestart changes a schedule through the
// HTTP API while the scheduler runs: the next tick uses it.
func TestScheduler_EditAppliesWithoutRestart(t *testing.T) {
	t.Parallel()
	f := setupFleet(t, 10*time.Millisecond, &catalog.Schedule{Cron: "@yearly", Enabled: true})
	apiOut := testenv.StartService(t, "api", api.Run, f.env)
	apiOut.WaitFor(t, "api listening on ", 30*time.Second)
	testenv.StartService(t, "worker", worker.Run, f.env)
	sched := testenv.StartService(t, "scheduler", scheduler.Run, f.env)
	noErrors(t, "scheduler", sched)
	sched.WaitFor(t, "schedule tick registered", 20*time.Second)

	line := apiOut.String()
	addr := strings.TrimSpace(strings.SplitN(line[strings.Index(line, "api listening on ")+len("api listening on "):], "\n", 2)[0])
	token, _, err := f.st.CreateToken(context.Background(), "test", []string{"admin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PATCH", addr+"/v1/benchmarks/"+f.bench.ID.String(), bytes.NewReader([]byte(`{"schedule":{"cron":"@every 1s"}}`)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	edited := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"cron":"@every 1s"`) {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, body)
	}
	rs := f.waitRuns(t, 30*time.Second, "run after the edit", func(rs []scheduledRun) bool { return len(rs) >= 1 })
	if !rs[0].scheduledFor.After(edited.Add(-time.Second)) || rs[0].trigger != "schedule" {
		t.Errorf("first run %+v; want a scheduled run for an occurrence after the edit at %v", rs[0], edited)
	}
}

package alerting_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/alerting"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// queue records the tasks enqueued, in place of an asynq client.
type queue struct {
	mu    sync.Mutex
	tasks []*asynq.Task
}

var _ notify.Enqueuer = (*queue)(nil)

func (q *queue) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, t)
	return &asynq.TaskInfo{}, nil
}

func (q *queue) types() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]string, len(q.tasks))
	for i, t := range q.tasks {
		out[i] = t.Type() + ":" + string(t.Payload())
	}
	return out
}

// checkWorld is a benchmark with alerts on score and latency: two models,
// 30 questions, 2 samples.
type checkWorld struct {
	st        *store.Store
	pool      *pgxpool.Pool
	benchmark *catalog.Benchmark
	a, b      uuid.UUID
	q         *queue
	checker   *alerting.Checker
	now       time.Time
}

func newCheckWorld(t *testing.T, pool *pgxpool.Pool) *checkWorld {
	t.Helper()
	ctx := context.Background()
	st := store.New(pool, testenv.Keyring(t))
	p := testfactory.Provider(ctx, t, st, nil)
	w := &checkWorld{st: st, pool: pool, q: &queue{}, now: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}
	w.a = testfactory.Model(ctx, t, st, &testfactory.ModelOpts{ProviderID: p.ID, Name: "model-a"}).ID
	w.b = testfactory.Model(ctx, t, st, &testfactory.ModelOpts{ProviderID: p.ID, Name: "model-b"}).ID
	su := testfactory.Suite(ctx, t, st, nil)
	testfactory.Questions(ctx, t, st, &testfactory.QuestionsOpts{SuiteID: su.ID, Count: 30})
	settings := catalog.DefaultAlertSettings()
	settings.Metrics = []string{catalog.AlertScore, catalog.AlertLatencyP95}
	w.benchmark = testfactory.Benchmark(ctx, t, st, &testfactory.BenchmarkOpts{
		Name: "nightly", SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: []uuid.UUID{w.a, w.b},
		Config: catalog.BenchmarkConfig{Samples: 2}, Alerts: &settings,
	})
	w.checker = alerting.NewChecker(st, analytics.NewService(st), w.q, slog.New(slog.DiscardHandler))
	w.checker.Now = func() time.Time { return w.now }
	return w
}

// run records a finished run created days after the first of March.
func (w *checkWorld) run(t *testing.T, day int, outcome func(model uuid.UUID, q, sample int) testfactory.Unit) *run.Run {
	t.Helper()
	return testfactory.FinishedRun(context.Background(), t, w.st, testfactory.FinishedRunOpts{
		BenchmarkID: w.benchmark.ID, CreatedAt: time.Date(2026, 3, day, 6, 0, 0, 0, time.UTC), Outcome: outcome,
	})
}

// steady passes questions 0-19 and fails 20-29, every model, at a
// latency that depends on the question only.
func steady(_ uuid.UUID, q, _ int) testfactory.Unit {
	return testfactory.Unit{Passed: q < 20, LatencyMs: float64(100 + 10*q)}
}

func (w *checkWorld) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestChecker_Check(t *testing.T) {
	t.Parallel()
	testenv.OnEachStorage(t, testCheck)
}

func testCheck(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	w := newCheckWorld(t, pool)

	first := w.run(t, 1, steady)
	rec, err := w.checker.Check(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil || rec.BaselineRunID != nil || rec.Note == "" || len(rec.Alerts) != 0 {
		t.Fatalf("the first run's check = %+v, want a note that there is no baseline", rec)
	}
	check, err := w.st.GetAlertCheck(ctx, first.ID)
	if err != nil || check.Note != rec.Note || check.BaselineRunID != nil || !check.CheckedAt.Equal(w.now) {
		t.Fatalf("stored check %+v (%v), want the note %q at %s", check, err, rec.Note, w.now)
	}

	// Unchanged: compared, nothing raised.
	second := w.run(t, 2, steady)
	rec, err = w.checker.Check(ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil || rec.BaselineRunID == nil || *rec.BaselineRunID != first.ID || rec.Comparisons != 4 || len(rec.Alerts) != 0 || rec.Note != "" {
		t.Fatalf("an unchanged run's check = %+v, want 4 comparisons against %s and no alert", rec, first.ID)
	}

	// Model a fails questions 0-14 (passing before) in both samples: a
	// 50-point drop. Model b and latency stay.
	third := w.run(t, 3, func(m uuid.UUID, q, s int) testfactory.Unit {
		u := steady(m, q, s)
		if m == w.a && q < 15 {
			u.Passed = false
		}
		return u
	})
	if err := w.checker.HandleCheck(ctx, alerting.NewCheckTask(third.ID)); err != nil {
		t.Fatal(err)
	}
	alerts, err := w.st.ListAlerts(ctx, store.AlertFilter{RunID: &third.ID}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts.Items) != 1 {
		t.Fatalf("got %d alerts, want 1: %+v", len(alerts.Items), alerts.Items)
	}
	a := alerts.Items[0]
	if a.ModelID != w.a || a.ModelName != "model-a" || a.BenchmarkName != "nightly" || a.Metric != "score" ||
		a.BaselineRunID != second.ID || a.Previous != 20.0/30 || a.Current != 5.0/30 || a.Comparisons != 4 ||
		a.Questions != 30 || a.Regressed != 15 || a.Improved != 0 || len(a.Flipped) != 15 || a.Correction != "holm" ||
		a.PAdjusted >= 0.05 || a.PAdjusted < a.PValue || a.CIHigh >= 0 || a.MinEffect != 0.02 || !a.CreatedAt.Equal(w.now) {
		t.Errorf("alert %+v", a)
	}
	if a.RelativeChange == nil || *a.RelativeChange != a.Diff/a.Previous {
		t.Errorf("relative change %v, want diff/previous", a.RelativeChange)
	}
	if f := a.Flipped[0]; f.Change != "regressed" || f.PreviousPassRate != 1 || f.CurrentPassRate != 0 || f.PromptExcerpt == "" {
		t.Errorf("flipped question %+v", f)
	}
	if got, err := w.st.GetAlert(ctx, a.ID); err != nil || got.ID != a.ID || got.Diff != a.Diff {
		t.Errorf("GetAlert = %+v, %v", got, err)
	}

	// One event, with the alert as its payload, under the alert's dedup key.
	var payload []byte
	var typ string
	key := "regression.detected:" + third.ID.String() + ":" + w.a.String() + ":score"
	if err := pool.QueryRow(ctx, `SELECT type, payload FROM events WHERE dedup_key = $1`, key).Scan(&typ, &payload); err != nil {
		t.Fatalf("the event %s: %v", key, err)
	}
	var ev notify.Regression
	if err := json.Unmarshal(payload, &ev); err != nil || typ != notify.RegressionDetected || ev.ID != a.ID || ev.ModelName != "model-a" || len(ev.Flipped) != 15 {
		t.Errorf("event %s payload %s (%v)", typ, payload, err)
	}
	if n := w.count(t, `SELECT count(*) FROM events WHERE type = 'regression.detected'`); n != 1 {
		t.Errorf("%d regression events, want 1", n)
	}
	// The dispatch was kicked after the commit.
	if got := w.q.types(); len(got) != 1 || got[0] != notify.TypeDispatch+":" {
		t.Errorf("enqueued %v, want one dispatch", got)
	}

	// Checking again writes nothing.
	if rec, err := w.checker.Check(ctx, third.ID); err != nil || rec != nil {
		t.Errorf("a second check = %+v, %v; want nothing", rec, err)
	}
	if n := w.count(t, `SELECT count(*) FROM alerts`); n != 1 {
		t.Errorf("%d alerts after a second check, want 1", n)
	}
	if n := w.count(t, `SELECT count(*) FROM events WHERE type = 'regression.detected'`); n != 1 {
		t.Errorf("%d events after a second check, want 1", n)
	}

	// The sweep finds a finished run nobody checked, and only that one.
	fourth := w.run(t, 4, steady)
	w.q.tasks = nil
	n, err := alerting.Sweep(ctx, w.st, w.q, fourth.FinishedAt.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	if got := w.q.types(); len(got) != 1 || got[0] != alerting.TypeCheck+":"+fourth.ID.String() {
		t.Errorf("the sweep enqueued %v, want the check of %s", got, fourth.ID)
	}
	if n, _ := alerting.Sweep(ctx, w.st, w.q, fourth.FinishedAt.Add(alerting.SweepWindow+time.Hour)); n != 0 {
		t.Errorf("the sweep enqueued %d runs finished before its window", n)
	}
}

func TestChecker_NoAlerts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newCheckWorld(t, testenv.Pool(t))
	// Disabled alerts: nothing is checked or recorded.
	off := *w.benchmark.Alerts
	off.Enabled = false
	if _, err := w.st.UpdateBenchmark(ctx, w.benchmark.ID, catalog.BenchmarkPatch{Alerts: &off}, 0); err != nil {
		t.Fatal(err)
	}
	w.run(t, 1, steady)
	r := w.run(t, 2, func(uuid.UUID, int, int) testfactory.Unit { return testfactory.Unit{} })
	if rec, err := w.checker.Check(ctx, r.ID); err != nil || rec != nil {
		t.Fatalf("a check with alerts disabled = %+v, %v", rec, err)
	}
	if n := w.count(t, `SELECT count(*) FROM alert_checks`); n != 0 {
		t.Errorf("%d checks recorded with alerts disabled", n)
	}
	if n, err := alerting.Sweep(ctx, w.st, w.q, time.Now()); err != nil || n != 0 {
		t.Errorf("the sweep enqueued %d checks of a benchmark with alerts disabled (%v)", n, err)
	}
	// An unknown run is not retried.
	err := w.checker.HandleCheck(ctx, alerting.NewCheckTask(uuid.New()))
	if err == nil || !errorsIsSkipRetry(err) {
		t.Errorf("checking an unknown run: %v, want SkipRetry", err)
	}
}

func TestChecker_PreviousWeek(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newCheckWorld(t, testenv.Pool(t))
	week := *w.benchmark.Alerts
	week.CompareTo = catalog.ComparePreviousWeek
	if _, err := w.st.UpdateBenchmark(ctx, w.benchmark.ID, catalog.BenchmarkPatch{Alerts: &week}, 0); err != nil {
		t.Fatal(err)
	}
	weekAgo := w.run(t, 1, steady)
	w.run(t, 5, steady)
	r := w.run(t, 8, steady) // exactly 7 days after the first
	rec, err := w.checker.Check(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.BaselineRunID == nil || *rec.BaselineRunID != weekAgo.ID {
		t.Errorf("previous_week baseline %v, want the run of 7 days before, %s", rec.BaselineRunID, weekAgo.ID)
	}
}

func errorsIsSkipRetry(err error) bool { return errors.Is(err, asynq.SkipRetry) }

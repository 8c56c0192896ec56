package cli

import (
	"bytes"
	"context"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// seedEnd is a Wednesday noon: the newest week of a history ending then
// holds the runs from Monday 2026-03-02 on.
var seedEnd = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

func seedOpts(mod func(*seedOptions)) seedOptions {
	o := seedOptions{
		executions: 2000, weeks: 4, models: 2, questions: 100, samples: 1,
		benchmark: "synthetic", seed: 1, end: seedEnd, parallel: 2,
	}
	if mod != nil {
		mod(&o)
	}
	return o
}

func mustPlan(t *testing.T, o seedOptions) history {
	t.Helper()
	h, err := planHistory(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPlanHistory_RunTimes(t *testing.T) {
	t.Parallel()
	h := mustPlan(t, seedOpts(nil))
	// 2000 executions of 2 models × 100 questions × 1 sample: 10 runs, 4
	// weeks (672 h) apart / 10 = one every 67h12m, the newest at the end.
	if len(h.runTimes) != 10 {
		t.Fatalf("%d runs, want 10", len(h.runTimes))
	}
	every := 67*time.Hour + 12*time.Minute
	for k, at := range h.runTimes {
		if want := seedEnd.Add(-time.Duration(9-k) * every); !at.Equal(want) {
			t.Errorf("run %d at %s, want %s", k, at, want)
		}
	}
	if want := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC); !h.regressFrom.Equal(want) {
		t.Errorf("regression from %s, want the Monday of the newest run's week %s", h.regressFrom, want)
	}
	// Rounded down to whole runs.
	if h := mustPlan(t, seedOpts(func(o *seedOptions) { o.executions = 2199 })); len(h.runTimes) != 10 {
		t.Errorf("2199 executions of 200-unit runs made %d runs, want 10", len(h.runTimes))
	}
}

func TestPlanHistory_Deterministic(t *testing.T) {
	t.Parallel()
	a, b := mustPlan(t, seedOpts(nil)), mustPlan(t, seedOpts(nil))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two plans of the same options differ")
	}
	other := mustPlan(t, seedOpts(func(o *seedOptions) { o.seed = 2 }))
	if reflect.DeepEqual(a.questions, other.questions) {
		t.Error("seeds 1 and 2 drew the same questions")
	}
	// A unit's numbers depend on the unit, not on what was drawn before.
	sa, sb := newSampler(), newSampler()
	want := a.unit(sa, 3, 1, 42, 0)
	for q := range 10 {
		b.unit(sb, 0, 0, q, 0)
	}
	if got := b.unit(sb, 3, 1, 42, 0); got != want {
		t.Errorf("unit drawn after others = %+v, drawn first = %+v", got, want)
	}
	differ := 0
	for q := range 50 {
		if a.unit(sa, 3, 1, q, 0) != other.unit(sb, 3, 1, q, 0) {
			differ++
		}
	}
	if differ < 45 {
		t.Errorf("only %d of 50 units differ between seeds 1 and 2", differ)
	}
}

// TestPlanHistory_Model checks the synthetic world over many units: the
// regression is planted in the last model only, in the newest week only;
// latencies have the medians planned; outages fail units now and then.
func TestPlanHistory_Model(t *testing.T) {
	t.Parallel()
	o := seedOpts(func(o *seedOptions) { o.models, o.questions, o.samples, o.executions = 3, 2000, 2, 3*2000*2*10 })
	h := mustPlan(t, o)
	sm := newSampler()
	type tally struct{ passed, n float64 }
	before, newest := make([]tally, o.models), make([]tally, o.models)
	latencies := make([][]float64, o.models)
	failed, units := 0, 0
	for k := range h.runTimes {
		for m := range o.models {
			for q := range o.questions {
				for s := range o.samples {
					u := h.unit(sm, k, m, q, s)
					units++
					if u.failed {
						failed++
						if h.outage[k] != m {
							t.Fatalf("unit (%d, %d, %d, %d) failed outside an outage", k, m, q, s)
						}
						continue
					}
					tl := &before[m]
					if !h.runTimes[k].Before(h.regressFrom) {
						tl = &newest[m]
					}
					tl.n++
					if u.passed {
						tl.passed++
					}
					latencies[m] = append(latencies[m], u.latencyMs)
					if u.ttftMs <= 0 || u.ttftMs >= u.latencyMs || u.tokensPerS <= 0 || u.costUSD <= 0 {
						t.Fatalf("unit (%d, %d, %d, %d): implausible %+v", k, m, q, s, u)
					}
				}
			}
		}
	}
	for m := range o.models {
		if newest[m].n == 0 || before[m].n == 0 {
			t.Fatalf("model %d: %v units in the newest week, %v before", m, newest[m].n, before[m].n)
		}
		drop := before[m].passed/before[m].n - newest[m].passed/newest[m].n
		// 4000+ units a side: the standard error of the drop is under 0.015;
		// the model's own trend moves it by at most 0.02.
		want := 0.0
		if m == o.models-1 {
			want = 0.15 // the plan's 15 points
		}
		if math.Abs(drop-want) > 0.05 {
			t.Errorf("model %d: accuracy drops by %.3f in the newest week, want %.2f", m, drop, want)
		}
		slices.Sort(latencies[m])
		median := latencies[m][len(latencies[m])/2]
		if plan := h.models[m].latencyMs; math.Abs(median/plan-1) > 0.05 {
			t.Errorf("model %d: median latency %.0f ms, planned %.0f", m, median, plan)
		}
	}
	outages := 0
	for _, m := range h.outage {
		if m >= 0 {
			outages++
		}
	}
	if (outages == 0) != (failed == 0) {
		t.Errorf("%d outages but %d failed units", outages, failed)
	}
	if failed > units/50 {
		t.Errorf("%d of %d units failed: outages are meant to be rare", failed, units)
	}
}

func TestPlanHistory_ErrFlags(t *testing.T) {
	t.Parallel()
	for flag, mod := range map[string]func(*seedOptions){
		"--executions": func(o *seedOptions) { o.executions = 199 },
		"--models":     func(o *seedOptions) { o.models = 25 },
		"--questions":  func(o *seedOptions) { o.questions = 0 },
		"--samples":    func(o *seedOptions) { o.samples = 101 },
		"--weeks":      func(o *seedOptions) { o.weeks = 0 },
		"--benchmark":  func(o *seedOptions) { o.benchmark = " " },
		"--parallel":   func(o *seedOptions) { o.parallel = 0 },
	} {
		if _, err := planHistory(seedOpts(mod)); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("err = %v, want one naming %s", err, flag)
		}
	}
	if _, err := planHistory(seedOpts(func(o *seedOptions) { o.executions, o.questions = 1e9, 1 })); err == nil || !strings.Contains(err.Error(), "runs") {
		t.Errorf("a billion one-question runs: err = %v, want the run limit", err)
	}
}

// seedArgs is a small history: 10 runs of 2 models × 100 questions, one a
// sample, over 4 weeks ending seedEnd.
var seedArgs = []string{"seed-history", "--executions", "2000", "--weeks", "4", "--models", "2", "--questions", "100",
	"--samples", "1", "--end", seedEnd.Format(time.RFC3339)}

func seedDB(t *testing.T, args ...string) (*pgxpool.Pool, uuid.UUID, string) {
	t.Helper()
	pool := testenv.Pool(t)
	var out bytes.Buffer
	getenv := func(k string) string {
		if k == "SABE_DATABASE_URL" {
			return pool.Config().ConnString()
		}
		return ""
	}
	if err := Run(context.Background(), args, getenv, &out, Services{}); err != nil {
		t.Fatalf("seed-history: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`(?m)^benchmark ([0-9a-f-]{36}) synthetic$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output names no benchmark:\n%s", out.String())
	}
	return pool, uuid.MustParse(m[1]), out.String()
}

func TestSeedHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, benchID, out := seedDB(t, seedArgs...)
	h := mustPlan(t, seedOpts(nil))
	for _, want := range []string{"runs        10 from 2026-02-07T07:12:00Z to 2026-03-04T12:00:00Z", "executions  2000 ("} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	st := store.New(pool, nil)

	t.Run("Runs", func(t *testing.T) {
		rows, err := pool.Query(ctx, `SELECT id, status, created_at, started_at, finished_at, succeeded + failed FROM runs
			WHERE benchmark_id = $1 ORDER BY id`, benchID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		k := 0
		for rows.Next() {
			var id uuid.UUID
			var status string
			var created, started, finished time.Time
			var done int
			if err := rows.Scan(&id, &status, &created, &started, &finished, &done); err != nil {
				t.Fatal(err)
			}
			if k >= len(h.runTimes) {
				t.Fatalf("more runs than the %d planned", len(h.runTimes))
			}
			// Ids sort like creation times: runs were created oldest first.
			if !created.Equal(h.runTimes[k]) {
				t.Errorf("run %d created %s, planned %s", k, created, h.runTimes[k])
			}
			wantStatus := "completed"
			if h.outage[k] >= 0 {
				wantStatus = "partial"
			}
			if status != wantStatus || done != 200 {
				t.Errorf("run %d: %s with %d units done, want %s with 200", k, status, done, wantStatus)
			}
			if !started.After(created) || finished.Before(started) || finished.Sub(created) > time.Hour {
				t.Errorf("run %d dated created %s, started %s, finished %s", k, created, started, finished)
			}
			k++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if k != len(h.runTimes) {
			t.Errorf("%d runs, want %d", k, len(h.runTimes))
		}
	})

	t.Run("ExecutionsAndEvaluations", func(t *testing.T) {
		var execs, succeeded, scored, evals, mismatched int
		err := pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM executions WHERE benchmark_id = $1),
			(SELECT count(*) FROM executions WHERE benchmark_id = $1 AND status = 'succeeded'),
			(SELECT count(*) FROM executions WHERE benchmark_id = $1 AND score IS NOT NULL AND passed IS NOT NULL),
			(SELECT count(*) FROM evaluations ev JOIN runs r ON r.id = ev.run_id WHERE r.benchmark_id = $1),
			(SELECT count(*) FROM executions e JOIN evaluations ev USING (run_created_at, run_id, model_id, question_id, sample)
			  WHERE e.benchmark_id = $1 AND (e.status <> 'succeeded' OR e.passed IS DISTINCT FROM ev.passed
			     OR e.score IS DISTINCT FROM ev.score OR ev.score <> CASE WHEN ev.passed THEN 1 ELSE 0 END))`,
			benchID).Scan(&execs, &succeeded, &scored, &evals, &mismatched)
		if err != nil {
			t.Fatal(err)
		}
		if execs != 2000 || evals != succeeded || scored != succeeded || mismatched != 0 {
			t.Errorf("%d executions (want 2000), %d succeeded, %d scored, %d evaluations, %d disagreeing with their evaluation",
				execs, succeeded, scored, evals, mismatched)
		}
	})

	t.Run("FinalizedThroughTheStore", func(t *testing.T) {
		runs, err := st.ListRuns(ctx, store.RunFilter{BenchmarkID: &benchID}, 100, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs.Items {
			rk, err := st.Rankings(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(rk.Overall) != 2 || len(rk.ByCategory) != len(seedCategories) {
				t.Errorf("run %s: %d overall entries, %d categories; want 2 and %d", r.ID, len(rk.Overall), len(rk.ByCategory), len(seedCategories))
			}
		}
		var outcomes, statRuns, statN int
		err = pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM outcomes WHERE benchmark_id = $1),
			(SELECT coalesce(sum(runs), 0) FROM question_stats WHERE benchmark_id = $1 AND period = 'week'),
			(SELECT coalesce(sum(n), 0) FROM question_stats WHERE benchmark_id = $1 AND period = 'month')`,
			benchID).Scan(&outcomes, &statRuns, &statN)
		if err != nil {
			t.Fatal(err)
		}
		// One outcome per (run, model, question); every one counted once
		// in the weekly stats, every unit once in the monthly ones.
		if outcomes != 10*2*100 || statRuns != outcomes || statN != 2000 {
			t.Errorf("%d outcomes (want 2000), weekly question stats cover %d (want %d), monthly count %d units (want 2000)",
				outcomes, statRuns, outcomes, statN)
		}
	})

	t.Run("RollupsRefreshed", func(t *testing.T) {
		rows, err := st.Rollups(ctx, analytics.RollupQuery{
			BenchmarkID: benchID, Bucket: analytics.Week, From: h.runTimes[0].AddDate(0, 0, -7), To: seedEnd.AddDate(0, 0, 7),
		})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, r := range rows {
			n += r.N
		}
		if n != 2000 {
			t.Errorf("weekly rollups count %d units over %d rows, want 2000", n, len(rows))
		}
	})

	t.Run("RegressionPlanted", func(t *testing.T) {
		// The last model's score in the newest week against the weeks
		// before, from the question stats Finalize wrote; the first
		// model's is the control.
		var weakNow, weakBefore, strongNow, strongBefore float64
		err := pool.QueryRow(ctx, `
			WITH s AS (
				SELECT m.name, qs.bucket >= $2 AS newest, sum(qs.correct)::float8 / sum(qs.n) AS score
				FROM question_stats qs JOIN models m ON m.id = qs.model_id
				WHERE qs.benchmark_id = $1 AND qs.period = 'week'
				GROUP BY 1, 2)
			SELECT
				(SELECT score FROM s WHERE name = 'synthetic-bravo' AND newest),
				(SELECT score FROM s WHERE name = 'synthetic-bravo' AND NOT newest),
				(SELECT score FROM s WHERE name = 'synthetic-alpha' AND newest),
				(SELECT score FROM s WHERE name = 'synthetic-alpha' AND NOT newest)`,
			benchID, h.regressFrom).Scan(&weakNow, &weakBefore, &strongNow, &strongBefore)
		if err != nil {
			t.Fatal(err)
		}
		// 100 units in the newest week: its score's standard error is
		// about 0.05, and the numbers are fixed by the seed.
		if drop := weakBefore - weakNow; drop < 0.08 {
			t.Errorf("synthetic-bravo: %.3f before the newest week, %.3f in it; want a drop of about %.2f", weakBefore, weakNow, seedRegression)
		}
		if drop := strongBefore - strongNow; math.Abs(drop) > 0.1 {
			t.Errorf("synthetic-alpha: %.3f before the newest week, %.3f in it; want no planted change", strongBefore, strongNow)
		}
	})

	t.Run("ErrSameBenchmarkTwice", func(t *testing.T) {
		getenv := func(k string) string {
			if k == "SABE_DATABASE_URL" {
				return pool.Config().ConnString()
			}
			return ""
		}
		err := Run(ctx, seedArgs, getenv, &bytes.Buffer{}, Services{})
		if err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("err = %v, want a conflict", err)
		}
	})
}

// TestSeedHistory_SameSeedSameHistory seeds two databases alike and
// compares what they hold, ids aside.
func TestSeedHistory_SameSeedSameHistory(t *testing.T) {
	t.Parallel()
	fingerprint := func(args ...string) []string {
		pool, benchID, _ := seedDB(t, args...)
		rows, err := pool.Query(context.Background(), `
			SELECT concat_ws(' ', r.created_at, m.name, e.category, count(*), count(*) FILTER (WHERE e.passed),
			       count(*) FILTER (WHERE e.status = 'failed'), round(sum(e.latency_ms)::numeric, 3), round(sum(e.cost_usd)::numeric, 9))
			FROM executions e JOIN runs r ON r.id = e.run_id JOIN models m ON m.id = e.model_id
			WHERE e.benchmark_id = $1
			GROUP BY r.created_at, m.name, e.category ORDER BY r.created_at, m.name, e.category`, benchID)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := fingerprint(seedArgs...), fingerprint(seedArgs...)
	if len(a) != 10*2*len(seedCategories) {
		t.Fatalf("%d (run, model, category) groups, want %d", len(a), 10*2*len(seedCategories))
	}
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different histories:\n%v\n%v", a, b)
	}
	c := fingerprint(append(slices.Clone(seedArgs), "--seed", "2")...)
	if slices.Equal(a, c) {
		t.Error("seeds 1 and 2 wrote the same history")
	}
}

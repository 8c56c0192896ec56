package store_test

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// history is a benchmark of two models and four questions (q0, q1 in
// math, q2, q3 in geo), two samples each, with runs placed in time.
type history struct {
	s         *store.Store
	benchmark *catalog.Benchmark
	a, b      uuid.UUID // models
	questions []catalog.Question
}

func newHistory(t *testing.T, pool *pgxpool.Pool) *history {
	t.Helper()
	ctx := context.Background()
	s := store.New(pool, testenv.Keyring(t))
	p := testfactory.Provider(ctx, t, s, nil)
	h := &history{s: s}
	h.a = testfactory.Model(ctx, t, s, &testfactory.ModelOpts{ProviderID: p.ID, Name: "model-a", ProviderModelID: "model-a"}).ID
	h.b = testfactory.Model(ctx, t, s, &testfactory.ModelOpts{ProviderID: p.ID, Name: "model-b", ProviderModelID: "model-b"}).ID
	su := testfactory.Suite(ctx, t, s, nil)
	h.questions = testfactory.Questions(ctx, t, s, &testfactory.QuestionsOpts{
		SuiteID: su.ID, Count: 4, Categories: []string{"math", "math", "geo", "geo"},
	})
	h.benchmark = testfactory.Benchmark(ctx, t, s, &testfactory.BenchmarkOpts{
		SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: []uuid.UUID{h.a, h.b}, Config: catalog.BenchmarkConfig{MaxTokens: 10, Samples: 2},
	})
	return h
}

// unit is what one (model, question, sample) did in a test run.
type unit struct {
	failed    bool
	cancelled bool
	passed    bool
	latencyMs float64
}

// run records a finished run created at `at`; outcome says what each unit
// did. The run is finalized as completed (or partial when a unit failed).
func (h *history) run(t *testing.T, at time.Time, outcome func(model uuid.UUID, q, sample int) unit) *run.Run {
	t.Helper()
	return h.runAs(t, at, "", outcome)
}

// runAs is run finalized with the given status; "" picks completed or
// partial as run does.
func (h *history) runAs(t *testing.T, at time.Time, status run.Status, outcome func(model uuid.UUID, q, sample int) unit) *run.Run {
	t.Helper()
	ctx := context.Background()
	r := testfactory.Run(ctx, t, h.s, &testfactory.RunOpts{BenchmarkID: h.benchmark.ID})
	// A run is created now; history puts it in the past.
	if _, err := h.s.Pool().Exec(ctx, `UPDATE runs SET created_at = $2 WHERE id = $1`, r.ID, at); err != nil {
		t.Fatal(err)
	}
	r, err := h.s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := h.s.LoadSnapshot(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	failed := false
	for _, m := range []uuid.UUID{h.a, h.b} {
		for qi, q := range snap.Questions {
			for sample := range 2 {
				u := outcome(m, qi, sample)
				lat := u.latencyMs
				e := &run.Execution{
					RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: m, QuestionID: q.QuestionID,
					QuestionRevisionID: q.RevisionID, Sample: sample, Category: q.Category, Status: run.ExecSucceeded,
					LatencyMs: &lat, InputTokens: 10, OutputTokens: 20, CostUSD: 0.5, FinishedAt: at.Add(time.Minute),
				}
				switch {
				case u.cancelled:
					e.Status, e.LatencyMs, e.InputTokens, e.OutputTokens, e.CostUSD = run.ExecCancelled, nil, 0, 0, 0
				case u.failed:
					failed = true
					e.Status, e.Error, e.LatencyMs = run.ExecFailed, "500", nil
				default:
					score := 0.0
					if u.passed {
						score = 1
					}
					e.Evaluation = run.Scored("contains", u.passed, score, "")
				}
				if _, err := h.s.RecordExecution(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if status == "" {
		status = run.StatusCompleted
		if failed {
			status = run.StatusPartial
		}
	}
	fin, first, err := h.s.Finalize(ctx, r, status, "", analytics.RankRun)
	if err != nil || !first {
		t.Fatalf("finalize: first=%v err=%v", first, err)
	}
	return fin
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// TestStore_Analytics checks the rollups and question tallies against
// figures computed by hand from the units each run records.
func TestStore_Analytics(t *testing.T) {
	t.Parallel()
	testenv.OnEachStorage(t, testAnalytics)
}

func testAnalytics(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	h := newHistory(t, pool)
	week1 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)  // a Tuesday: week of Monday 2 November
	week2 := time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC) // week of Monday 9 November
	// Run 1: model a passes q0 and q2 (score 0.5), latencies 100..800 in
	// unit order; model b fails q0's first sample for good and passes the
	// other seven (score 7/8), latency 50.
	r1 := h.run(t, week1, func(m uuid.UUID, q, sample int) unit {
		if m == h.a {
			return unit{passed: q == 0 || q == 2, latencyMs: float64(100 * (q*2 + sample + 1))}
		}
		return unit{failed: q == 0 && sample == 0, passed: true, latencyMs: 50}
	})
	// Run 2: model a passes math (q0, q1) and fails geo on the answers;
	// model b passes everything. Latencies as in run 1.
	r2 := h.run(t, week2, func(m uuid.UUID, q, sample int) unit {
		if m == h.a {
			return unit{passed: q < 2, latencyMs: float64(100 * (q*2 + sample + 1))}
		}
		return unit{passed: true, latencyMs: 50}
	})

	weekQuery := analytics.RollupQuery{BenchmarkID: h.benchmark.ID, Bucket: analytics.Week,
		From: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	t.Run("RollupsWaitForTheRefresh", func(t *testing.T) {
		rows, err := h.s.Rollups(ctx, weekQuery)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 0 {
			t.Fatalf("%d rollup rows before any refresh, want 0", len(rows))
		}
	})
	res, err := h.s.RefreshRollups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != 2 || res.More {
		t.Fatalf("refresh %+v: want 2 runs, no more", res)
	}

	t.Run("Weekly", func(t *testing.T) {
		rows, err := h.s.Rollups(ctx, weekQuery)
		if err != nil {
			t.Fatal(err)
		}
		got := map[uuid.UUID][]analytics.Rollup{}
		for _, r := range rows {
			got[r.ModelID] = append(got[r.ModelID], r)
		}
		a, b := got[h.a], got[h.b]
		if len(a) != 2 || len(b) != 2 {
			t.Fatalf("weekly rows: a %d, b %d; want 2 each", len(a), len(b))
		}
		mon2, mon9 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)
		if !a[0].Bucket.Equal(mon2) || !a[1].Bucket.Equal(mon9) {
			t.Errorf("buckets %s, %s; want the Mondays %s, %s", a[0].Bucket, a[1].Bucket, mon2, mon9)
		}
		// Model a, run 1: 8 units, score 4/8; latencies 100..800, so
		// p50 = 450 and p95 = 100 + 0.95·7·100 = 765 (linear
		// interpolation); cost 8 × 0.5.
		if r := a[0]; r.N != 8 || r.Failed != 0 || !near(val(r.MeanScore), 0.5) || !near(val(r.LatencyP50Ms), 450) ||
			!near(val(r.LatencyP95Ms), 765) || !near(r.CostUSD, 4) || r.InputTokens != 80 || r.OutputTokens != 160 {
			t.Errorf("model a, week 1: %+v", r)
		}
		// Model b, run 1: one unit failed for good and scores 0: 7/8.
		if r := b[0]; r.N != 8 || r.Failed != 1 || !near(val(r.MeanScore), 7.0/8) || !near(val(r.LatencyP50Ms), 50) {
			t.Errorf("model b, week 1: %+v", r)
		}
		if r := b[1]; r.N != 8 || r.Failed != 0 || !near(val(r.MeanScore), 1) {
			t.Errorf("model b, week 2: %+v", r)
		}
	})
	t.Run("MonthlyAndCategory", func(t *testing.T) {
		q := weekQuery
		q.Bucket, q.ModelID = analytics.Month, &h.a
		rows, err := h.s.Rollups(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		// Both runs fall in November: 16 units, 8 passed; the latencies
		// are 100..800 twice, so p50 is still 450.
		if len(rows) != 1 || !rows[0].Bucket.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || rows[0].N != 16 ||
			!near(val(rows[0].MeanScore), 0.5) || !near(val(rows[0].LatencyP50Ms), 450) {
			t.Fatalf("model a, November: %+v", rows)
		}
		math := "math"
		q.Bucket, q.Category = analytics.Week, &math
		rows, err = h.s.Rollups(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		// Math is q0 and q1: model a passes half of it in run 1 and all of
		// it in run 2.
		if len(rows) != 2 || *rows[0].Category != "math" || rows[0].N != 4 || !near(val(rows[0].MeanScore), 0.5) ||
			!near(val(rows[1].MeanScore), 1) {
			t.Fatalf("model a, math, weekly: %+v", rows)
		}
	})
	t.Run("TimeseriesLatencyP95", func(t *testing.T) {
		// The 95th percentile reads from the same rollups as the median:
		// model a's weeks are 100..800 each (p95 765), its November the
		// same latencies twice (p95 800, where the median stays 450).
		svc := analytics.NewService(h.s)
		for _, tc := range []struct {
			bucket analytics.Bucket
			want   []float64
		}{{analytics.Week, []float64{765, 765}}, {analytics.Month, []float64{800}}} {
			ts, err := svc.Timeseries(ctx, analytics.TimeseriesQuery{BenchmarkID: h.benchmark.ID, ModelID: &h.a,
				Metric: analytics.MetricLatencyP95, Bucket: tc.bucket, From: &weekQuery.From, To: &weekQuery.To})
			if err != nil {
				t.Fatal(err)
			}
			if len(ts.Series) != 1 || len(ts.Series[0].Points) != len(tc.want) {
				t.Fatalf("%s p95 series %+v, want %d points of model a", tc.bucket, ts.Series, len(tc.want))
			}
			for i, p := range ts.Series[0].Points {
				if !near(val(p.Value), tc.want[i]) {
					t.Errorf("%s p95, point %d: %v, want %v", tc.bucket, i, val(p.Value), tc.want[i])
				}
			}
		}
	})
	t.Run("QuestionStats", func(t *testing.T) {
		latest, ok, err := h.s.LatestBucket(ctx, h.benchmark.ID, analytics.Week)
		if err != nil || !ok || !latest.Equal(time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("latest week = %s, %v, %v; want 9 November", latest, ok, err)
		}
		month, err := h.s.BucketQuestionStats(ctx, h.benchmark.ID, analytics.Month, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(month) != 8 {
			t.Fatalf("%d month tallies, want 2 models × 4 questions", len(month))
		}
		for _, qs := range month {
			if qs.Runs != 2 || qs.N != 4 || qs.Revision != 1 {
				t.Errorf("tally %+v: want 2 runs of 2 samples, revision 1", qs)
			}
			// Model a on q1: failed it in run 1, passed it in run 2.
			if qs.ModelID == h.a && qs.QuestionID == h.questions[1].ID && (qs.Correct != 2 || !near(qs.LatencySumMs, 2*(300+400))) {
				t.Errorf("model a, q1, November: %+v", qs)
			}
			// Model b on q0: one failed unit in run 1.
			if qs.ModelID == h.b && qs.QuestionID == h.questions[0].ID && (qs.Correct != 3 || qs.Failed != 1 || qs.LatencyN != 3) {
				t.Errorf("model b, q0, November: %+v", qs)
			}
		}
		geo := "geo"
		one, err := h.s.RunQuestionStats(ctx, r1.ID, nil, &geo)
		if err != nil {
			t.Fatal(err)
		}
		if len(one) != 4 {
			t.Fatalf("%d geo tallies of run 1, want 4", len(one))
		}
		for _, qs := range one {
			if qs.Category != "geo" || qs.Runs != 1 || qs.N != 2 {
				t.Errorf("run 1 geo tally %+v", qs)
			}
		}
		all, err := h.s.RunQuestionStats(ctx, r1.ID, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var wantA []analytics.QuestionStat
		for _, qs := range all {
			if qs.ModelID == h.a {
				wantA = append(wantA, qs)
			}
		}
		onlyA, err := h.s.RunQuestionStats(ctx, r1.ID, &h.a, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(wantA) == 0 || !reflect.DeepEqual(onlyA, wantA) {
			t.Errorf("model a's tallies of run 1: %+v, want %+v", onlyA, wantA)
		}
	})
	t.Run("RankingsCarryStatistics", func(t *testing.T) {
		rk, err := h.s.Rankings(ctx, r1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rk.Overall) != 2 {
			t.Fatalf("overall rankings %+v", rk.Overall)
		}
		b, a := rk.Overall[0], rk.Overall[1]
		// Per-question pass rates: model b {1/2, 1, 1, 1}, mean 7/8;
		// model a {1, 0, 1, 0}, mean 1/2.
		if b.ModelID != h.b || !near(b.Score, 7.0/8) || !near(a.Score, 0.5) || a.Questions != 4 {
			t.Fatalf("order/scores: %+v, %+v", b, a)
		}
		// sd({1,0,1,0}) = sqrt(1/3); over sqrt(4) questions.
		if !near(a.StdError, math.Sqrt(1.0/3)/2) {
			t.Errorf("model a std error %v", a.StdError)
		}
		// Resampling 4 questions of model a gives the mean 0 with
		// probability 1/16 > 2.5%, and 1 likewise: the interval is [0, 1],
		// which overlaps model b's, so both may rank 1st or 2nd.
		if a.CI.Low != 0 || a.CI.High != 1 || b.CI.High != 1 || b.CI.Low > b.Score || a.RankLow != 1 || a.RankHigh != 2 ||
			b.RankLow != 1 || b.RankHigh != 2 {
			t.Errorf("intervals and bands: a %+v, b %+v", a, b)
		}
		// Two samples per question: pass@1 is the mean pass rate; pass@2
		// is 1 for a question with at least one pass in two.
		if len(a.PassAtK) != 2 || a.PassAtK[0].K != 1 || !near(a.PassAtK[0].Value, 0.5) || !near(a.PassAtK[1].Value, 0.5) ||
			len(b.PassAtK) != 2 || !near(b.PassAtK[1].Value, 1) {
			t.Errorf("pass@k: a %+v, b %+v", a.PassAtK, b.PassAtK)
		}
		if cat := rk.ByCategory["math"]; len(cat) != 2 || cat[0].Questions != 2 {
			t.Errorf("math rankings %+v", cat)
		}
	})
	t.Run("LatestRuns", func(t *testing.T) {
		runs, err := h.s.LatestRuns(ctx, h.benchmark.ID, &h.b, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 2 || runs[0].ID != r2.ID || runs[1].ID != r1.ID || runs[1].Status != string(run.StatusPartial) {
			t.Fatalf("latest runs %+v: want run 2 then run 1 (partial)", runs)
		}
		other := uuid.New()
		if runs, err := h.s.LatestRuns(ctx, h.benchmark.ID, &other, 5); err != nil || len(runs) != 0 {
			t.Errorf("runs of a model not in the benchmark: %v, %v", runs, err)
		}
	})
	t.Run("OldBucketsOutliveRetention", func(t *testing.T) {
		// Retention takes run 1's raw rows; a third run in week 2 refreshes
		// week 2 only, and week 1 keeps what it had.
		cutoff := week1.Add(time.Hour)
		for {
			n, err := h.s.DeleteExpiredEvaluations(ctx, cutoff, 1000)
			if err != nil {
				t.Fatal(err)
			}
			m, err := h.s.DeleteExpiredExecutions(ctx, cutoff, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 && m == 0 {
				break
			}
		}
		h.run(t, week2.Add(time.Hour), func(uuid.UUID, int, int) unit { return unit{passed: false, latencyMs: 10} })
		if res, err := h.s.RefreshRollups(ctx); err != nil || res.Runs != 1 {
			t.Fatalf("refresh after a third run: %+v, %v", res, err)
		}
		q := weekQuery
		q.ModelID = &h.a
		rows, err := h.s.Rollups(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].N != 8 || !near(val(rows[0].MeanScore), 0.5) {
			t.Fatalf("week 1 after retention: %+v", rows)
		}
		// Week 2 now has run 2 (score 4/8) and run 3 (0/8).
		if rows[1].N != 16 || !near(val(rows[1].MeanScore), 0.25) {
			t.Errorf("week 2 with two runs: %+v", rows[1])
		}
	})
	t.Run("DropOldChunks", func(t *testing.T) {
		// Run 3 of week 2 is the newest; every chunk before it may go. On
		// plain PostgreSQL nothing is dropped (retention deletes rows).
		n, err := h.s.DropOldChunks(ctx, week2)
		if err != nil {
			t.Fatal(err)
		}
		if ts := testenv.UsesTimescaleDB(t, pool); (n > 0) != ts {
			t.Fatalf("DropOldChunks = %d with TimescaleDB %v", n, ts)
		}
	})
}

// TestStore_AnalyticsCountOneRule: every analytic route counts the same
// units (those of runs that finished completed or partial, answered or
// failed for good), so a cancelled run in a week moves none of them, and a
// failed run none either.
func TestStore_AnalyticsCountOneRule(t *testing.T) {
	t.Parallel()
	testenv.OnEachStorage(t, testAnalyticsCountOneRule)
}

func testAnalyticsCountOneRule(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	h := newHistory(t, pool)
	svc := analytics.NewService(h.s)
	week1 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	week2 := time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC)
	mon2, mon9 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)
	// Model a passes math (q0, q1) in both weeks' completed runs: score
	// 1/2 over 8 units a week. Model b passes everything.
	half := func(m uuid.UUID, q, _ int) unit { return unit{passed: m == h.b || q < 2, latencyMs: 100} }
	h.run(t, week1, half)
	done := h.run(t, week2, half)
	// Later in week 2: a cancelled run in which model a passed every unit
	// it answered and half of them were cancelled, and a failed run.
	h.runAs(t, week2.Add(time.Hour), run.StatusCancelled, func(_ uuid.UUID, _, sample int) unit {
		return unit{cancelled: sample == 1, passed: true, latencyMs: 5}
	})
	h.runAs(t, week2.Add(2*time.Hour), run.StatusFailed, func(uuid.UUID, int, int) unit { return unit{failed: true} })
	for {
		res, err := h.s.RefreshRollups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !res.More {
			break
		}
	}

	const wantN, wantScore = 8, 0.5
	t.Run("Timeseries", func(t *testing.T) {
		from, to := mon2, mon9.AddDate(0, 0, 7)
		for _, metric := range []analytics.Metric{analytics.MetricScore, analytics.MetricLatency} {
			ts, err := svc.Timeseries(ctx, analytics.TimeseriesQuery{BenchmarkID: h.benchmark.ID, ModelID: &h.a, Metric: metric,
				Bucket: analytics.Week, From: &from, To: &to})
			if err != nil {
				t.Fatal(err)
			}
			if len(ts.Series) != 1 || len(ts.Series[0].Points) != 2 {
				t.Fatalf("%s series %+v: want model a's two weeks", metric, ts.Series)
			}
			p := ts.Series[0].Points[1]
			if p.N != wantN {
				t.Errorf("%s, week 2: n %d, want %d", metric, p.N, wantN)
			}
			if want := map[analytics.Metric]float64{analytics.MetricScore: wantScore, analytics.MetricLatency: 100}[metric]; !near(val(p.Value), want) {
				t.Errorf("%s, week 2: %v, want %v", metric, val(p.Value), want)
			}
		}
	})
	t.Run("Leaderboard", func(t *testing.T) {
		lb, err := svc.Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: h.benchmark.ID, Bucket: analytics.Week, At: &week2})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range lb.Entries {
			if e.ModelID == h.a && (e.N != wantN || !near(e.Score, wantScore)) {
				t.Errorf("model a, week 2: n %d, score %v; want %d, %v", e.N, e.Score, wantN, wantScore)
			}
		}
		latest, err := svc.Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: h.benchmark.ID})
		if err != nil {
			t.Fatal(err)
		}
		if latest.Run == nil || latest.Run.ID != done.ID {
			t.Errorf("latest leaderboard run %+v, want the completed run %s", latest.Run, done.ID)
		}
	})
	t.Run("Compare", func(t *testing.T) {
		c, err := svc.Compare(ctx, analytics.CompareQuery{BenchmarkID: h.benchmark.ID, Bucket: analytics.Week, At: &week2})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range c.Models {
			if m.ModelID == h.a && (m.Score.Questions != 4 || !near(m.Score.Current, wantScore) || !near(m.Score.Previous, wantScore)) {
				t.Errorf("model a, week 2 over week 1: %+v", m.Score)
			}
		}
	})
	t.Run("Drift", func(t *testing.T) {
		d, err := svc.Drift(ctx, h.a, h.benchmark.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.CurrentRun.ID != done.ID || d.Regressed+d.Improved != 0 || d.Unchanged != 4 {
			t.Errorf("drift %+v: want the completed runs, nothing flipped", d)
		}
	})
}

// TestStore_RecordExecutionReportsInsert: the first record of a unit says
// it inserted; a duplicate says it did not and writes nothing.
func TestStore_RecordExecutionReportsInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHistory(t, testenv.Pool(t))
	r := testfactory.Run(ctx, t, h.s, &testfactory.RunOpts{BenchmarkID: h.benchmark.ID})
	snap, err := h.s.LoadSnapshot(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	q := snap.Questions[0]
	e := &run.Execution{
		RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: h.a, QuestionID: q.QuestionID,
		QuestionRevisionID: q.RevisionID, Category: q.Category, Status: run.ExecSucceeded, FinishedAt: time.Now(),
		Evaluation: run.Scored("contains", true, 1, ""),
	}
	for i, want := range []bool{true, false, false} {
		got, err := h.s.RecordExecution(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("record %d: inserted = %v, want %v", i+1, got, want)
		}
	}
	c, err := h.s.Counts(ctx, r)
	if err != nil || c.Succeeded != 1 {
		t.Fatalf("counts %+v, %v; want one unit recorded", c, err)
	}
}

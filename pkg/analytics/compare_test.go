package analytics_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
)

func TestService_Compare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := modelID(1)

	// periods serves cur for the bucket starting at curStart and prev for
	// any other.
	periods := func(curStart time.Time, cur, prev []analytics.QuestionStat) *fakeStore {
		return &fakeStore{
			latestBucket: func(analytics.Bucket) (time.Time, bool, error) { return curStart, true, nil },
			bucketStats: func(_ analytics.Bucket, start time.Time, _ *string) ([]analytics.QuestionStat, error) {
				if start.Equal(curStart) {
					return cur, nil
				}
				return prev, nil
			},
			names: map[uuid.UUID]string{m: "m"},
		}
	}
	week := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)

	t.Run("OKPlantedRegression", func(t *testing.T) {
		t.Parallel()
		// 200 questions: 60% passed last week, 40% this week; every
		// change is a loss, on 40 questions. Latency went from 100 to 120
		// ms everywhere; cost did not move.
		prev := binary(m, 200, func(i int) bool { return i%5 < 3 })
		cur := binary(m, 200, func(i int) bool { return i%5 < 2 })
		for i := range cur {
			cur[i].LatencySumMs = 120
		}
		c, err := analytics.NewService(periods(week, cur, prev)).Compare(ctx, analytics.CompareQuery{BenchmarkID: benchmarkID, Bucket: analytics.Week})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Models) != 1 || len(c.UnpairedModels) != 0 {
			t.Fatalf("models %+v, unpaired %v; want the one model paired", c.Models, c.UnpairedModels)
		}
		mc := c.Models[0]
		if mc.ModelName != "m" || mc.Questions != 200 {
			t.Errorf("model %q with %d questions, want m with 200", mc.ModelName, mc.Questions)
		}
		s := mc.Score
		if !near(s.Current, 0.4) || !near(s.Previous, 0.6) || !near(s.Diff, -0.2) || !s.Significant || s.CI.High >= 0 || s.CI.Low > -0.2 || s.CI.High < -0.2 {
			t.Errorf("score change = %+v; want .6 → .4, diff -.2 inside an interval wholly below 0", s)
		}
		if l := mc.LatencyMs; l == nil || !near(l.Diff, 20) || l.CI.Low != 20 || l.CI.High != 20 || !l.Significant || l.Questions != 200 {
			t.Errorf("latency change = %+v; want +20 ms exactly, significant", l)
		}
		if k := mc.CostUSD; k.Diff != 0 || k.CI.Low != 0 || k.CI.High != 0 || k.Significant {
			t.Errorf("cost change = %+v; want none", k)
		}
	})

	t.Run("OKIdentical", func(t *testing.T) {
		t.Parallel()
		// Both weeks drawn from the same Bernoulli(0.7), independently per
		// question, with a fixed seed.
		rng := rand.New(rand.NewPCG(6, 7))
		draw := func() []analytics.QuestionStat {
			return binary(m, 300, func(int) bool { return rng.Float64() < 0.7 })
		}
		prev, cur := draw(), draw()
		c, err := analytics.NewService(periods(week, cur, prev)).Compare(ctx, analytics.CompareQuery{BenchmarkID: benchmarkID, Bucket: analytics.Week})
		if err != nil {
			t.Fatal(err)
		}
		s := c.Models[0].Score
		if s.Significant || s.CI.Low >= 0 || s.CI.High <= 0 {
			t.Errorf("score change = %+v; want an interval containing 0, not significant", s)
		}
	})

	t.Run("OKPairing", func(t *testing.T) {
		t.Parallel()
		a, onlyCur, onlyPrev, edited := modelID(1), modelID(2), modelID(3), modelID(4)
		// a: questions 0 and 2 are the same revision on both sides;
		// question 1 was edited in between, so it is not compared.
		q1new := stat(a, 1, 1, 0)
		q1new.RevisionID, q1new.Revision = revisionID(1, 2), 2
		cur := []analytics.QuestionStat{stat(a, 0, 1, 1), q1new, stat(a, 2, 1, 0), stat(onlyCur, 0, 1, 1)}
		prev := []analytics.QuestionStat{stat(a, 0, 1, 0), stat(a, 1, 1, 1), stat(a, 2, 1, 0), stat(onlyPrev, 0, 1, 1)}
		e := stat(edited, 5, 1, 1)
		cur = append(cur, e)
		e.RevisionID = revisionID(5, 2)
		prev = append(prev, e)
		// Question 0 has no latency this week (its unit failed).
		prev[0].LatencySumMs, prev[0].LatencyN = 50, 1
		prev[2].LatencySumMs, prev[2].LatencyN = 70, 1
		cur[2].LatencySumMs, cur[2].LatencyN = 90, 1
		st := periods(week, cur, prev)
		st.names = map[uuid.UUID]string{a: "a", onlyCur: "only now", onlyPrev: "only before", edited: "edited"}
		st.prompts = map[uuid.UUID]string{revisionID(0, 1): "p0", revisionID(1, 2): "p1 new"}
		c, err := analytics.NewService(st).Compare(ctx, analytics.CompareQuery{BenchmarkID: benchmarkID, Bucket: analytics.Week})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Models) != 1 || c.Models[0].ModelID != a {
			t.Fatalf("models = %+v, want only a", c.Models)
		}
		mc := c.Models[0]
		if mc.Questions != 2 || !near(mc.Score.Current, 0.5) || !near(mc.Score.Previous, 0) || mc.Score.Questions != 2 {
			t.Errorf("a = %+v; want 2 paired questions, .5 now against 0", mc)
		}
		if l := mc.LatencyMs; l == nil || l.Questions != 1 || !near(l.Current, 90) || !near(l.Previous, 70) || !near(l.Diff, 20) {
			t.Errorf("latency = %+v; want the one question with latency on both sides, 70 → 90", l)
		}
		// Verdicts compare by question, as drift does: the edited
		// question 1 passed before and fails now, a regression, listed
		// before question 0's improvement; question 2 failed both times.
		wantChanged := []analytics.DriftQuestion{
			{QuestionID: questionID(1), Category: "math", CurrentRevisionID: revisionID(1, 2), Prompt: "p1 new", PreviousRevision: 1, CurrentRevision: 2, PreviousPassRate: 1, CurrentPassRate: 0, Regressed: true},
			{QuestionID: questionID(0), Category: "math", CurrentRevisionID: revisionID(0, 1), Prompt: "p0", PreviousRevision: 1, CurrentRevision: 1, PreviousPassRate: 0, CurrentPassRate: 1},
		}
		if ch := mc.Changed; ch.Regressed != 1 || ch.Improved != 1 || ch.Unchanged != 1 || !slices.Equal(ch.Questions, wantChanged) {
			t.Errorf("changed = %+v\nwant 1 regressed, 1 improved, 1 unchanged: %+v", ch, wantChanged)
		}
		want := []uuid.UUID{onlyCur, onlyPrev, edited}
		if !slices.Equal(c.UnpairedModels, want) {
			t.Errorf("unpaired = %v, want %v", c.UnpairedModels, want)
		}
		if names := []string{"only now", "only before", "edited"}; !slices.Equal(c.UnpairedModelNames, names) {
			t.Errorf("unpaired names = %v, want %v", c.UnpairedModelNames, names)
		}
	})

	t.Run("OKChangedQuestionsBounded", func(t *testing.T) {
		t.Parallel()
		// 250 questions regress, more than a comparison lists. Question
		// 300 had two revisions this week (one run each): its verdict is
		// over both, 1 of 4 units passed, so it regressed too.
		var cur, prev []analytics.QuestionStat
		for q := range 250 {
			cur, prev = append(cur, stat(m, q, 1, 0)), append(prev, stat(m, q, 1, 1))
		}
		q300new := stat(m, 300, 3, 0)
		q300new.RevisionID, q300new.Revision = revisionID(300, 2), 2
		cur, prev = append(cur, stat(m, 300, 1, 1), q300new), append(prev, stat(m, 300, 2, 2))
		c, err := analytics.NewService(periods(week, cur, prev)).Compare(ctx, analytics.CompareQuery{BenchmarkID: benchmarkID, Bucket: analytics.Week})
		if err != nil {
			t.Fatal(err)
		}
		ch := c.Models[0].Changed
		if ch.Regressed != 251 || ch.Improved != 0 || ch.Unchanged != 0 || len(ch.Questions) != analytics.MaxChangedQuestions {
			t.Fatalf("changed: %d regressed, %d improved, %d unchanged, %d listed; want 251, 0, 0 and %d listed",
				ch.Regressed, ch.Improved, ch.Unchanged, len(ch.Questions), analytics.MaxChangedQuestions)
		}
		if q := ch.Questions[0]; q.QuestionID != questionID(0) || !q.Regressed {
			t.Errorf("first changed question %+v, want question 0 regressed", q)
		}
	})

	t.Run("OKNoLatency", func(t *testing.T) {
		t.Parallel()
		cur, prev := []analytics.QuestionStat{stat(m, 0, 1, 0)}, []analytics.QuestionStat{stat(m, 0, 1, 1)}
		c, err := analytics.NewService(periods(week, cur, prev)).Compare(ctx, analytics.CompareQuery{BenchmarkID: benchmarkID, Bucket: analytics.Week})
		if err != nil {
			t.Fatal(err)
		}
		if mc := c.Models[0]; mc.LatencyMs != nil || !near(mc.Score.Diff, -1) {
			t.Errorf("change = %+v; want no latency and a score diff of -1", mc)
		}
	})

	t.Run("OKPeriods", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name       string
			bucket     analytics.Bucket
			at         time.Time
			start, end time.Time
			prevStart  time.Time
		}{
			{"Week", analytics.Week, time.Date(2026, 3, 22, 23, 59, 0, 0, time.UTC), week, week.AddDate(0, 0, 7), week.AddDate(0, 0, -7)},
			{"WeekAcrossYear", analytics.Week, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
				time.Date(2025, 12, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 22, 0, 0, 0, 0, time.UTC)},
			{"Month", analytics.Month, time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC),
				time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
			{"MonthAcrossYear", analytics.Month, time.Date(2026, 1, 10, 0, 0, 0, 0, time.FixedZone("x", -5*3600)),
				time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				var asked []time.Time
				st := &fakeStore{bucketStats: func(b analytics.Bucket, start time.Time, _ *string) ([]analytics.QuestionStat, error) {
					if b != tc.bucket {
						t.Errorf("bucket %s, want %s", b, tc.bucket)
					}
					asked = append(asked, start)
					return nil, nil
				}}
				c, err := analytics.NewService(st).Compare(ctx, analytics.CompareQuery{BenchmarkID: benchmarkID, Bucket: tc.bucket, At: &tc.at})
				if err != nil {
					t.Fatal(err)
				}
				cp, pp := c.Current.Period, c.Previous.Period
				if cp == nil || pp == nil || !cp.Start.Equal(tc.start) || !cp.End.Equal(tc.end) || !pp.Start.Equal(tc.prevStart) || !pp.End.Equal(tc.start) {
					t.Errorf("current %+v, previous %+v; want [%s, %s) after [%s, %s)", cp, pp, tc.start, tc.end, tc.prevStart, tc.start)
				}
				slices.SortFunc(asked, time.Time.Compare)
				if len(asked) != 2 || !asked[0].Equal(tc.prevStart) || !asked[1].Equal(tc.start) {
					t.Errorf("read buckets %v, want %s and %s", asked, tc.prevStart, tc.start)
				}
				if c.Bucket != tc.bucket || len(c.Models) != 0 || c.Models == nil || c.UnpairedModels == nil {
					t.Errorf("comparison = %+v; want bucket %s and empty (not nil) lists", c, tc.bucket)
				}
			})
		}
	})

	finished := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	runs := map[uuid.UUID]analytics.RunRef{
		runID(1): {ID: runID(1), BenchmarkID: benchmarkID, FinishedAt: &finished, Status: "completed"},
		runID(2): {ID: runID(2), BenchmarkID: benchmarkID, FinishedAt: &finished, Status: "partial"},
		runID(3): {ID: runID(3), BenchmarkID: benchmarkID, Status: "running"},
		runID(4): {ID: runID(4), BenchmarkID: uuid.UUID{0: 9}, FinishedAt: &finished, Status: "completed"},
		runID(5): {ID: runID(5), BenchmarkID: benchmarkID, FinishedAt: &finished, Status: "failed"},
	}
	runStore := func() *fakeStore {
		return &fakeStore{
			run: func(id uuid.UUID) (analytics.RunRef, error) {
				if r, ok := runs[id]; ok {
					return r, nil
				}
				return analytics.RunRef{}, fault.NotFound("run")
			},
			runStats: func(id uuid.UUID, _ *string) ([]analytics.QuestionStat, error) {
				if id == runID(1) {
					return binary(m, 10, func(int) bool { return true }), nil
				}
				return binary(m, 10, func(i int) bool { return i < 5 }), nil
			},
			names: map[uuid.UUID]string{m: "m"},
		}
	}

	t.Run("OKRuns", func(t *testing.T) {
		t.Parallel()
		c, err := analytics.NewService(runStore()).Compare(ctx, analytics.CompareQuery{
			BenchmarkID: benchmarkID, CurrentRunID: ptr(runID(1)), PreviousRunID: ptr(runID(2)), Seed: 7,
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.Current.Run == nil || c.Current.Run.ID != runID(1) || c.Previous.Run == nil || c.Previous.Run.ID != runID(2) || c.Bucket != "" || c.Seed != 7 {
			t.Fatalf("comparison = %+v; want runs 1 against 2, seed 7", c)
		}
		if s := c.Models[0].Score; !near(s.Current, 1) || !near(s.Previous, 0.5) || !near(s.Diff, 0.5) || !s.Significant {
			t.Errorf("score change = %+v; want .5 → 1, significant", s)
		}
	})

	t.Run("ErrRuns", func(t *testing.T) {
		t.Parallel()
		svc := analytics.NewService(runStore())
		for _, tc := range []struct {
			name      string
			cur, prev *uuid.UUID
			kind      fault.Kind
			field     string
		}{
			{"OnlyCurrent", ptr(runID(1)), nil, fault.KindBadRequest, "previous_run_id"},
			{"OnlyPrevious", nil, ptr(runID(1)), fault.KindBadRequest, "current_run_id"},
			{"Same", ptr(runID(1)), ptr(runID(1)), fault.KindInvalid, "previous_run_id"},
			{"Unknown", ptr(runID(9)), ptr(runID(1)), fault.KindNotFound, "current_run_id"},
			{"Unfinished", ptr(runID(1)), ptr(runID(3)), fault.KindConflict, "previous_run_id"},
			{"OtherBenchmark", ptr(runID(4)), ptr(runID(1)), fault.KindInvalid, "current_run_id"},
			{"Failed", ptr(runID(1)), ptr(runID(5)), fault.KindConflict, "previous_run_id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				_, err := svc.Compare(ctx, analytics.CompareQuery{BenchmarkID: benchmarkID, CurrentRunID: tc.cur, PreviousRunID: tc.prev})
				wantFault(t, err, tc.kind, tc.field)
			})
		}
	})

	t.Run("ErrNoFinishedRun", func(t *testing.T) {
		t.Parallel()
		_, err := analytics.NewService(&fakeStore{}).Compare(ctx, analytics.CompareQuery{BenchmarkID: benchmarkID, Bucket: analytics.Month})
		wantFault(t, err, fault.KindNotFound, "benchmark_id")
	})

	t.Run("ErrPeriod", func(t *testing.T) {
		t.Parallel()
		_, err := analytics.NewService(&fakeStore{}).Compare(ctx, analytics.CompareQuery{BenchmarkID: benchmarkID, Bucket: analytics.Day})
		wantFault(t, err, fault.KindInvalid, "period")
	})
}

func BenchmarkService_Compare(b *testing.B) {
	svc := analytics.NewService(bigPeriods())
	q := analytics.CompareQuery{BenchmarkID: benchmarkID, Bucket: analytics.Week}
	for b.Loop() {
		if _, err := svc.Compare(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}

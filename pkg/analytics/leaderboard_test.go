package analytics_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
)

func TestService_Leaderboard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		alpha := modelID(1)
		// Two samples per question. Pass rates 1, 1, 1/2, 0: score 0.625.
		in := []analytics.QuestionStat{stat(alpha, 0, 2, 2), stat(alpha, 1, 2, 2), stat(alpha, 2, 2, 1), stat(alpha, 3, 2, 0)}
		in[3].Failed = 1
		for i, lat := range [][2]float64{{200, 2}, {300, 2}, {400, 2}, {100, 1}} {
			in[i].LatencySumMs, in[i].LatencyN = lat[0], int(lat[1])
		}
		for i, c := range []float64{0.001, 0.002, 0.003, 0.002} {
			in[i].CostUSD = c
		}
		var gotCategory *string
		st := &fakeStore{
			latestRuns: func(_ *uuid.UUID, n int) ([]analytics.RunRef, error) {
				if n != 1 {
					t.Errorf("LatestRuns n = %d, want 1", n)
				}
				return []analytics.RunRef{{ID: runID(1), BenchmarkID: benchmarkID}}, nil
			},
			runStats: func(id uuid.UUID, category *string) ([]analytics.QuestionStat, error) {
				if id != runID(1) {
					t.Errorf("RunQuestionStats of %s, want the latest run", id)
				}
				gotCategory = category
				return in, nil
			},
			names: map[uuid.UUID]string{alpha: "alpha"},
		}
		lb, err := analytics.NewService(st).Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID, Category: ptr("math")})
		if err != nil {
			t.Fatal(err)
		}
		if gotCategory == nil || *gotCategory != "math" {
			t.Errorf("category passed to the store = %v, want math", gotCategory)
		}
		if lb.Run == nil || lb.Run.ID != runID(1) || lb.Period != nil || lb.Seed != 1 || lb.Resamples != 1000 {
			t.Errorf("leaderboard = %+v; want the latest run, seed 1, 1000 resamples", lb)
		}
		if len(lb.Entries) != 1 {
			t.Fatalf("%d entries, want 1", len(lb.Entries))
		}
		e := lb.Entries[0]
		// sd of {1, 1, .5, 0}: squared deviations from .625 sum to .6875;
		// sqrt(.6875/3) = .478714, over sqrt(4): .239357.
		if e.ModelName != "alpha" || e.Rank != 1 || e.RankLow != 1 || e.RankHigh != 1 || !near(e.Score, 0.625) ||
			math.Abs(e.StdError-0.2393567) > 1e-6 || e.Questions != 4 || e.N != 8 || !near(e.ErrorRate, 0.125) {
			t.Errorf("entry = %+v; want alpha, rank 1 [1,1], score .625, std error .239357, 4 questions, n 8, error rate 1/8", e)
		}
		// Latency: mean of 100, 150, 200, 100. Cost: 1000 × mean of the costs.
		if e.MeanLatencyMs == nil || !near(*e.MeanLatencyMs, 137.5) || !near(e.CostPer1kQuestions, 2) {
			t.Errorf("latency %v, cost per 1k %v; want 137.5 and 2", e.MeanLatencyMs, e.CostPer1kQuestions)
		}
		if e.CI.Low > e.Score || e.CI.High < e.Score || e.CI.Low < 0 || e.CI.High > 1 || e.CI.Low == e.CI.High {
			t.Errorf("CI %+v does not bracket the score %v within [0, 1]", e.CI, e.Score)
		}
		// pass@1 is the mean pass rate; pass@2 with n = 2 is 1 unless c = 0:
		// (1 + 1 + 1 + 0)/4. k = 5 is over the two samples.
		want := []analytics.PassAtK{{K: 1, Value: 0.625}, {K: 2, Value: 0.75}}
		if !slices.EqualFunc(e.PassAtK, want, func(a, b analytics.PassAtK) bool { return a.K == b.K && near(a.Value, b.Value) }) {
			t.Errorf("pass@k = %+v, want %+v", e.PassAtK, want)
		}
	})

	// Constant scores give degenerate intervals, so the bands are known:
	// [1,1] for the perfect model, [4,4] for the useless one, and the two
	// middling models, whose intervals overlap, share [2,3].
	bands := func(extra ...analytics.QuestionStat) *fakeStore {
		var in []analytics.QuestionStat
		in = append(in, binary(modelID(1), 30, func(int) bool { return true })...)
		in = append(in, binary(modelID(2), 30, func(i int) bool { return i%2 == 0 })...)
		in = append(in, binary(modelID(3), 30, func(i int) bool { return i%2 == 1 })...)
		in = append(in, binary(modelID(4), 30, func(int) bool { return false })...)
		in = append(in, extra...)
		return &fakeStore{
			latestRuns: func(*uuid.UUID, int) ([]analytics.RunRef, error) { return []analytics.RunRef{{ID: runID(1)}}, nil },
			runStats:   func(uuid.UUID, *string) ([]analytics.QuestionStat, error) { return in, nil },
			names:      map[uuid.UUID]string{modelID(1): "top", modelID(2): "mid-b", modelID(3): "mid-a", modelID(4): "bottom", modelID(5): "extra"},
		}
	}

	t.Run("OKRankBands", func(t *testing.T) {
		t.Parallel()
		lb, err := analytics.NewService(bands()).Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			name            string
			rank, low, high int
		}{{"top", 1, 1, 1}, {"mid-a", 2, 2, 3}, {"mid-b", 3, 2, 3}, {"bottom", 4, 4, 4}}
		if len(lb.Entries) != len(want) {
			t.Fatalf("%d entries, want %d", len(lb.Entries), len(want))
		}
		for i, w := range want {
			e := lb.Entries[i]
			if e.ModelName != w.name || e.Rank != w.rank || e.RankLow != w.low || e.RankHigh != w.high {
				t.Errorf("entry %d = %s rank %d [%d,%d]; want %s rank %d [%d,%d]", i, e.ModelName, e.Rank, e.RankLow, e.RankHigh, w.name, w.rank, w.low, w.high)
			}
			if len(e.PassAtK) != 0 {
				t.Errorf("%s: pass@k %+v with one sample per question", e.ModelName, e.PassAtK)
			}
		}
		if ci := lb.Entries[0].CI; ci.Low != 1 || ci.High != 1 {
			t.Errorf("perfect model's CI = %+v, want [1, 1]", ci)
		}
		if ci := lb.Entries[1].CI; !(ci.Low > 0 && ci.Low < 0.5 && ci.High > 0.5 && ci.High < 1) {
			t.Errorf("middling model's CI = %+v, want around 0.5 inside (0, 1)", ci)
		}
	})

	t.Run("OKReproducible", func(t *testing.T) {
		t.Parallel()
		svc := analytics.NewService(bands())
		ci := func(svc *analytics.Service, seed uint64) analytics.Entry {
			t.Helper()
			lb, err := svc.Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range lb.Entries {
				if e.ModelName == "mid-a" {
					return e
				}
			}
			t.Fatal("no mid-a entry")
			return analytics.Entry{}
		}
		first := ci(svc, 0)
		if again := ci(svc, 1); again.CI != first.CI {
			t.Errorf("seed 0 gave %+v, seed 1 %+v; 0 means the default seed 1", first.CI, again.CI)
		}
		if other := ci(svc, 2); other.CI == first.CI {
			t.Errorf("seeds 1 and 2 gave the same interval %+v", first.CI)
		}
		// The store's row order does not matter.
		shuffled := bands()
		rows, _ := shuffled.runStats(runID(1), nil)
		rows = slices.Clone(rows)
		rand.New(rand.NewPCG(3, 4)).Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		shuffled.runStats = func(uuid.UUID, *string) ([]analytics.QuestionStat, error) { return rows, nil }
		if got := ci(analytics.NewService(shuffled), 0); got.CI != first.CI || got.Score != first.Score {
			t.Errorf("shuffled rows gave %+v, want %+v", got.CI, first.CI)
		}
		// A new model leaves the others' intervals where they were.
		grown := analytics.NewService(bands(binary(modelID(5), 30, func(i int) bool { return i%3 == 0 })...))
		if got := ci(grown, 0); got.CI != first.CI {
			t.Errorf("adding a model moved mid-a's interval from %+v to %+v", first.CI, got.CI)
		}
	})

	t.Run("OKPassAtK", func(t *testing.T) {
		t.Parallel()
		// Ten samples of two questions, 3 and 10 passes. pass@k of the
		// first: 1 - C(7,k)/C(10,k): k=1 .3, k=2 1 - 21/45, k=5 1 - 21/252,
		// k=10 1 (any 10 of 10 include a pass). The second is 1 throughout.
		m := modelID(1)
		st := &fakeStore{
			latestRuns: func(*uuid.UUID, int) ([]analytics.RunRef, error) { return []analytics.RunRef{{ID: runID(1)}}, nil },
			runStats: func(uuid.UUID, *string) ([]analytics.QuestionStat, error) {
				return []analytics.QuestionStat{stat(m, 0, 10, 3), stat(m, 1, 10, 10)}, nil
			},
		}
		lb, err := analytics.NewService(st).Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID})
		if err != nil {
			t.Fatal(err)
		}
		want := []analytics.PassAtK{{K: 1, Value: 0.65}, {K: 2, Value: (1 - 21.0/45 + 1) / 2}, {K: 5, Value: (1 - 21.0/252 + 1) / 2}, {K: 10, Value: 1}}
		if got := lb.Entries[0].PassAtK; !slices.EqualFunc(got, want, func(a, b analytics.PassAtK) bool { return a.K == b.K && near(a.Value, b.Value) }) {
			t.Errorf("pass@k = %+v, want %+v", got, want)
		}
	})

	t.Run("OKMergesRows", func(t *testing.T) {
		t.Parallel()
		m := modelID(1)
		a, b := stat(m, 0, 2, 2), stat(m, 0, 2, 0)
		a.CostUSD, b.CostUSD = 0.004, 0.002
		st := &fakeStore{
			latestRuns: func(*uuid.UUID, int) ([]analytics.RunRef, error) { return []analytics.RunRef{{ID: runID(1)}}, nil },
			runStats:   func(uuid.UUID, *string) ([]analytics.QuestionStat, error) { return []analytics.QuestionStat{a, b}, nil },
		}
		lb, err := analytics.NewService(st).Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID})
		if err != nil {
			t.Fatal(err)
		}
		// One question: 2 of 4 units passed over 2 runs costing $0.006.
		e := lb.Entries[0]
		if e.Questions != 1 || e.N != 4 || !near(e.Score, 0.5) || !near(e.CostPer1kQuestions, 3) || e.MeanLatencyMs != nil {
			t.Errorf("entry = %+v; want 1 question, n 4, score .5, $3 per 1k, no latency", e)
		}
	})

	t.Run("OKWeek", func(t *testing.T) {
		t.Parallel()
		var asked []time.Time
		st := &fakeStore{
			latestBucket: func(b analytics.Bucket) (time.Time, bool, error) {
				if b != analytics.Month {
					t.Errorf("LatestBucket(%s), want month", b)
				}
				return time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), true, nil
			},
			bucketStats: func(_ analytics.Bucket, start time.Time, _ *string) ([]analytics.QuestionStat, error) {
				asked = append(asked, start)
				return binary(modelID(1), 3, func(int) bool { return true }), nil
			},
		}
		svc := analytics.NewService(st)
		// A Wednesday: its week starts on Monday the 16th.
		lb, err := svc.Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID, Bucket: analytics.Week, At: ptr(time.Date(2026, 3, 18, 15, 4, 5, 0, time.UTC))})
		if err != nil {
			t.Fatal(err)
		}
		monday := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
		if lb.Period == nil || !lb.Period.Start.Equal(monday) || !lb.Period.End.Equal(monday.AddDate(0, 0, 7)) || lb.Run != nil || len(lb.Entries) != 1 {
			t.Fatalf("leaderboard = %+v; want the week of %s", lb, monday)
		}
		lb, err = svc.Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID, Bucket: analytics.Month})
		if err != nil {
			t.Fatal(err)
		}
		feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		if !lb.Period.Start.Equal(feb) || !lb.Period.End.Equal(feb.AddDate(0, 1, 0)) {
			t.Errorf("period = %+v, want February", lb.Period)
		}
		if len(asked) != 2 || !asked[0].Equal(monday) || !asked[1].Equal(feb) {
			t.Errorf("buckets read = %v, want %s and %s", asked, monday, feb)
		}
	})

	t.Run("ErrNoFinishedRun", func(t *testing.T) {
		t.Parallel()
		svc := analytics.NewService(&fakeStore{})
		_, err := svc.Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID})
		wantFault(t, err, fault.KindNotFound, "benchmark_id")
		_, err = svc.Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID, Bucket: analytics.Week})
		wantFault(t, err, fault.KindNotFound, "benchmark_id")
	})

	t.Run("ErrBadQuery", func(t *testing.T) {
		t.Parallel()
		svc := analytics.NewService(&fakeStore{})
		_, err := svc.Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID, At: ptr(time.Now())})
		wantFault(t, err, fault.KindBadRequest, "at")
		_, err = svc.Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID, Bucket: analytics.Day})
		wantFault(t, err, fault.KindInvalid, "period")
	})
}

func BenchmarkService_Leaderboard(b *testing.B) {
	svc := analytics.NewService(bigPeriods())
	q := analytics.LeaderboardQuery{BenchmarkID: benchmarkID, Bucket: analytics.Week}
	for b.Loop() {
		if _, err := svc.Leaderboard(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}

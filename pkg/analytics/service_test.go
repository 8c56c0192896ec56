package analytics_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/fault"
)

// fakeStore answers the service's reads from the test's functions; a nil
// function answers with nothing.
type fakeStore struct {
	rollups      func(q analytics.RollupQuery) ([]analytics.Rollup, error)
	bucketStats  func(b analytics.Bucket, start time.Time, category *string) ([]analytics.QuestionStat, error)
	runStats     func(runID uuid.UUID, category *string) ([]analytics.QuestionStat, error)
	latestBucket func(b analytics.Bucket) (time.Time, bool, error)
	latestRuns   func(modelID *uuid.UUID, n int) ([]analytics.RunRef, error)
	run          func(id uuid.UUID) (analytics.RunRef, error)
	names        map[uuid.UUID]string
	// prompts are the prompt excerpts by revision id.
	prompts map[uuid.UUID]string
	// version is the data version; nil gives a new one on every call, so
	// that no answer is ever reused.
	version func() string
	calls   atomic.Int64
}

var _ analytics.Store = (*fakeStore)(nil)

func (f *fakeStore) DataVersion(context.Context, uuid.UUID) (string, error) {
	if f.version != nil {
		return f.version(), nil
	}
	return fmt.Sprint(f.calls.Add(1)), nil
}

func (f *fakeStore) Rollups(_ context.Context, q analytics.RollupQuery) ([]analytics.Rollup, error) {
	if f.rollups == nil {
		return nil, nil
	}
	return f.rollups(q)
}

func (f *fakeStore) BucketQuestionStats(_ context.Context, _ uuid.UUID, b analytics.Bucket, start time.Time, category *string) ([]analytics.QuestionStat, error) {
	if f.bucketStats == nil {
		return nil, nil
	}
	return f.bucketStats(b, start, category)
}

func (f *fakeStore) RunQuestionStats(_ context.Context, runID uuid.UUID, category *string) ([]analytics.QuestionStat, error) {
	if f.runStats == nil {
		return nil, nil
	}
	return f.runStats(runID, category)
}

func (f *fakeStore) LatestBucket(_ context.Context, _ uuid.UUID, b analytics.Bucket) (time.Time, bool, error) {
	if f.latestBucket == nil {
		return time.Time{}, false, nil
	}
	return f.latestBucket(b)
}

func (f *fakeStore) LatestRuns(_ context.Context, _ uuid.UUID, modelID *uuid.UUID, n int) ([]analytics.RunRef, error) {
	if f.latestRuns == nil {
		return nil, nil
	}
	return f.latestRuns(modelID, n)
}

func (f *fakeStore) Run(_ context.Context, id uuid.UUID) (analytics.RunRef, error) {
	if f.run == nil {
		return analytics.RunRef{}, fault.NotFound("run")
	}
	return f.run(id)
}

func (f *fakeStore) ModelNames(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := map[uuid.UUID]string{}
	for _, id := range ids {
		if n, ok := f.names[id]; ok {
			out[id] = n
		}
	}
	return out, nil
}

func (f *fakeStore) PromptExcerpts(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := map[uuid.UUID]string{}
	for _, id := range ids {
		if p, ok := f.prompts[id]; ok {
			out[id] = p
		}
	}
	return out, nil
}

// IDs that read well in failures: models 01…, questions 02…, revisions
// 03… with the revision number in byte 13, runs 04….
func modelID(n int) uuid.UUID { return uuid.UUID{0: 1, 15: byte(n)} }

func questionID(n int) uuid.UUID { return uuid.UUID{0: 2, 14: byte(n >> 8), 15: byte(n)} }

func revisionID(q, rev int) uuid.UUID {
	return uuid.UUID{0: 3, 13: byte(rev), 14: byte(q >> 8), 15: byte(q)}
}

func runID(n int) uuid.UUID { return uuid.UUID{0: 4, 15: byte(n)} }

var benchmarkID = uuid.UUID{0: 5}

// stat is one run's tally of a question (revision 1) for a model.
func stat(model uuid.UUID, q, n, correct int) analytics.QuestionStat {
	return analytics.QuestionStat{
		ModelID: model, QuestionID: questionID(q), RevisionID: revisionID(q, 1), Revision: 1,
		Category: "math", Runs: 1, N: n, Correct: correct,
	}
}

// binary is one sample per question, correct where pass says.
func binary(model uuid.UUID, questions int, pass func(i int) bool) []analytics.QuestionStat {
	out := make([]analytics.QuestionStat, questions)
	for i := range out {
		c := 0
		if pass(i) {
			c = 1
		}
		out[i] = stat(model, i, 1, c)
		out[i].LatencySumMs, out[i].LatencyN, out[i].CostUSD = 100, 1, 0.001
	}
	return out
}

func wantFault(t *testing.T, err error, kind fault.Kind, field string) {
	t.Helper()
	fe := fault.As(err)
	if fe == nil {
		t.Fatalf("error %v is not a fault", err)
	}
	if fe.Kind != kind || fe.Field != field {
		t.Fatalf("fault %s (%q): %q; want %s about %q", fe.Kind, fe.Field, fe.Message, kind, field)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func ptr[T any](v T) *T { return &v }

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
		want := []uuid.UUID{onlyCur, onlyPrev, edited}
		if !slices.Equal(c.UnpairedModels, want) {
			t.Errorf("unpaired = %v, want %v", c.UnpairedModels, want)
		}
		if names := []string{"only now", "only before", "edited"}; !slices.Equal(c.UnpairedModelNames, names) {
			t.Errorf("unpaired names = %v, want %v", c.UnpairedModelNames, names)
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

func TestService_Drift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, other := modelID(1), modelID(2)
	created := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	newer, older := analytics.RunRef{ID: runID(2), CreatedAt: created.AddDate(0, 0, 7)}, analytics.RunRef{ID: runID(1), CreatedAt: created}

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		// Pass rates before → after: q1 1 → 1/3 (regressed), q2 1/2 → 0
		// (regressed, and edited in between), q3 0 → 1/2 (improved), q4 1
		// → 1 and q5 0 → 0 (unchanged). q6 is new; the other model's rows
		// are not this model's drift.
		q2new := stat(m, 2, 2, 0)
		q2new.RevisionID, q2new.Revision = revisionID(2, 2), 2
		prev := []analytics.QuestionStat{stat(m, 1, 3, 3), stat(m, 2, 2, 1), stat(m, 3, 2, 0), stat(m, 4, 1, 1), stat(m, 5, 1, 0), stat(other, 4, 1, 1)}
		cur := []analytics.QuestionStat{stat(m, 5, 1, 0), stat(m, 3, 2, 1), q2new, stat(m, 1, 3, 1), stat(m, 4, 1, 1), stat(m, 6, 1, 1), stat(other, 4, 1, 0)}
		st := &fakeStore{
			latestRuns: func(model *uuid.UUID, n int) ([]analytics.RunRef, error) {
				if model == nil || *model != m || n != 2 {
					t.Errorf("LatestRuns(%v, %d), want the model's last 2", model, n)
				}
				return []analytics.RunRef{newer, older}, nil
			},
			runStats: func(id uuid.UUID, category *string) ([]analytics.QuestionStat, error) {
				if category != nil {
					t.Errorf("drift filtered by category %q", *category)
				}
				if id == newer.ID {
					return cur, nil
				}
				return prev, nil
			},
			names:   map[uuid.UUID]string{m: "alpha", other: "beta"},
			prompts: map[uuid.UUID]string{revisionID(1, 1): "p1", revisionID(2, 1): "p2 old", revisionID(2, 2): "p2 new", revisionID(3, 1): "p3"},
		}
		d, err := analytics.NewService(st).Drift(ctx, m, benchmarkID)
		if err != nil {
			t.Fatal(err)
		}
		if d.CurrentRun.ID != newer.ID || d.PreviousRun.ID != older.ID || d.Regressed != 2 || d.Improved != 1 || d.Unchanged != 2 {
			t.Fatalf("drift = %+v; want newer over older, 2 regressed, 1 improved, 2 unchanged", d)
		}
		if d.ModelName != "alpha" {
			t.Errorf("model name %q, want alpha", d.ModelName)
		}
		// Each question is named by its current revision's prompt.
		want := []analytics.DriftQuestion{
			{QuestionID: questionID(1), Category: "math", CurrentRevisionID: revisionID(1, 1), Prompt: "p1", PreviousRevision: 1, CurrentRevision: 1, PreviousPassRate: 1, CurrentPassRate: 1.0 / 3, Regressed: true},
			{QuestionID: questionID(2), Category: "math", CurrentRevisionID: revisionID(2, 2), Prompt: "p2 new", PreviousRevision: 1, CurrentRevision: 2, PreviousPassRate: 0.5, CurrentPassRate: 0, Regressed: true},
			{QuestionID: questionID(3), Category: "math", CurrentRevisionID: revisionID(3, 1), Prompt: "p3", PreviousRevision: 1, CurrentRevision: 1, PreviousPassRate: 0, CurrentPassRate: 0.5},
		}
		if !slices.Equal(d.Questions, want) {
			t.Errorf("questions = %+v\nwant %+v", d.Questions, want)
		}
	})

	t.Run("ErrOneRun", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{latestRuns: func(*uuid.UUID, int) ([]analytics.RunRef, error) { return []analytics.RunRef{newer}, nil }}
		_, err := analytics.NewService(st).Drift(ctx, m, benchmarkID)
		wantFault(t, err, fault.KindConflict, "")
	})

	t.Run("ErrUnknownModel", func(t *testing.T) {
		t.Parallel()
		st := &fakeStore{latestRuns: func(*uuid.UUID, int) ([]analytics.RunRef, error) { return nil, fault.NotFound("model") }}
		_, err := analytics.NewService(st).Drift(ctx, m, benchmarkID)
		wantFault(t, err, fault.KindNotFound, "")
	})
}

func TestService_Timeseries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	alpha, beta := modelID(1), modelID(2)
	mathCat := "math"
	rows := []analytics.Rollup{
		{Bucket: day(10), ModelID: beta, N: 4, MeanScore: ptr(0.25), LatencyP50Ms: ptr(120.0), TTFTP50Ms: ptr(30.0), TokensPerS: ptr(50.0), CostUSD: 0.5},
		{Bucket: day(12), ModelID: beta, N: 2, MeanScore: ptr(0.5), CostUSD: 0.25},
		{Bucket: day(11), ModelID: alpha, N: 6, MeanScore: ptr(1.0), LatencyP50Ms: ptr(80.0), CostUSD: 1},
		{Bucket: day(11), ModelID: alpha, Category: &mathCat, N: 3, MeanScore: ptr(1.0), CostUSD: 0.5},
	}

	// recorder serves rows and keeps the query it was asked.
	recorder := func() (*analytics.Service, *analytics.RollupQuery) {
		var got analytics.RollupQuery
		st := &fakeStore{
			rollups: func(q analytics.RollupQuery) ([]analytics.Rollup, error) { got = q; return rows, nil },
			names:   map[uuid.UUID]string{alpha: "alpha", beta: "beta"},
		}
		svc := analytics.NewService(st)
		svc.SetNow(func() time.Time { return now })
		return svc, &got
	}

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			metric analytics.Metric
			want   [3]*float64 // beta day 10, beta day 12, alpha day 11
		}{
			{analytics.MetricScore, [3]*float64{ptr(0.25), ptr(0.5), ptr(1.0)}},
			{analytics.MetricLatency, [3]*float64{ptr(120.0), nil, ptr(80.0)}},
			{analytics.MetricTTFT, [3]*float64{ptr(30.0), nil, nil}},
			{analytics.MetricTokensPerS, [3]*float64{ptr(50.0), nil, nil}},
			{analytics.MetricCost, [3]*float64{ptr(0.5), ptr(0.25), ptr(1.0)}},
		} {
			svc, _ := recorder()
			ts, err := svc.Timeseries(ctx, analytics.TimeseriesQuery{BenchmarkID: benchmarkID, Metric: tc.metric})
			if err != nil {
				t.Fatal(err)
			}
			if ts.Metric != tc.metric || ts.Bucket != analytics.Day || len(ts.Series) != 2 {
				t.Fatalf("%s: %+v; want day buckets and two series", tc.metric, ts)
			}
			a, b := ts.Series[0], ts.Series[1]
			if a.ModelName != "alpha" || b.ModelName != "beta" || len(a.Points) != 1 || len(b.Points) != 2 {
				t.Fatalf("%s: series %+v; want alpha with 1 point (the all-category row), beta with 2", tc.metric, ts.Series)
			}
			got := [3]analytics.Point{b.Points[0], b.Points[1], a.Points[0]}
			wantBuckets := [3]time.Time{day(10), day(12), day(11)}
			wantN := [3]int64{4, 2, 6}
			for i, p := range got {
				if !p.Bucket.Equal(wantBuckets[i]) || p.N != wantN[i] || !sameValue(p.Value, tc.want[i]) {
					t.Errorf("%s: point %d = %s n %d value %v; want %s n %d value %v", tc.metric, i, p.Bucket, p.N, deref(p.Value), wantBuckets[i], wantN[i], deref(tc.want[i]))
				}
			}
		}
	})

	t.Run("OKCategory", func(t *testing.T) {
		t.Parallel()
		svc, got := recorder()
		ts, err := svc.Timeseries(ctx, analytics.TimeseriesQuery{BenchmarkID: benchmarkID, Metric: analytics.MetricScore, Category: &mathCat, ModelID: &alpha})
		if err != nil {
			t.Fatal(err)
		}
		if got.Category == nil || *got.Category != "math" || got.ModelID == nil || *got.ModelID != alpha {
			t.Errorf("store asked for %+v; want alpha's math rows", got)
		}
		if len(ts.Series) != 1 || len(ts.Series[0].Points) != 1 || ts.Series[0].Points[0].N != 3 {
			t.Errorf("series = %+v; want alpha's math row only", ts.Series)
		}
	})

	t.Run("OKRanges", func(t *testing.T) {
		t.Parallel()
		date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
		for _, tc := range []struct {
			name     string
			bucket   analytics.Bucket
			from, to *time.Time
			want     [2]time.Time
		}{
			// now is Wednesday 2026-03-18 10:00: 90 days back is 12-18 10:00.
			{"DefaultDay", "", nil, nil, [2]time.Time{date(2025, 12, 18), date(2026, 3, 19)}},
			// 26 weeks back is Wednesday 2025-09-17; weeks start on Monday.
			{"DefaultWeek", analytics.Week, nil, nil, [2]time.Time{date(2025, 9, 15), date(2026, 3, 23)}},
			{"DefaultMonth", analytics.Month, nil, nil, [2]time.Time{date(2024, 3, 1), date(2026, 4, 1)}},
			{"Aligned", analytics.Day, ptr(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)), ptr(date(2026, 1, 3)), [2]time.Time{date(2026, 1, 1), date(2026, 1, 3)}},
			{"FromOnly", analytics.Month, ptr(date(2026, 1, 31)), nil, [2]time.Time{date(2026, 1, 1), date(2026, 4, 1)}},
			{"MaxBuckets", analytics.Day, ptr(date(2020, 1, 1)), ptr(date(2020, 1, 1).AddDate(0, 0, analytics.MaxBuckets)), [2]time.Time{date(2020, 1, 1), date(2020, 1, 1).AddDate(0, 0, analytics.MaxBuckets)}},
		} {
			svc, got := recorder()
			ts, err := svc.Timeseries(ctx, analytics.TimeseriesQuery{BenchmarkID: benchmarkID, Metric: analytics.MetricScore, Bucket: tc.bucket, From: tc.from, To: tc.to})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !got.From.Equal(tc.want[0]) || !got.To.Equal(tc.want[1]) || !ts.From.Equal(tc.want[0]) || !ts.To.Equal(tc.want[1]) {
				t.Errorf("%s: store asked for [%s, %s), answer [%s, %s); want [%s, %s)", tc.name, got.From, got.To, ts.From, ts.To, tc.want[0], tc.want[1])
			}
		}
	})

	t.Run("ErrBadQuery", func(t *testing.T) {
		t.Parallel()
		svc, _ := recorder()
		start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, tc := range []struct {
			name  string
			q     analytics.TimeseriesQuery
			field string
		}{
			{"TooManyBuckets", analytics.TimeseriesQuery{Metric: analytics.MetricScore, From: &start, To: ptr(start.AddDate(0, 0, analytics.MaxBuckets+1))}, "from"},
			{"TooManyBucketsUnaligned", analytics.TimeseriesQuery{Metric: analytics.MetricScore, From: ptr(start.Add(time.Hour)), To: ptr(start.AddDate(0, 0, analytics.MaxBuckets).Add(time.Hour))}, "from"},
			{"FromAfterTo", analytics.TimeseriesQuery{Metric: analytics.MetricScore, From: ptr(start.Add(time.Hour)), To: &start}, "from"},
			{"FromEqualsTo", analytics.TimeseriesQuery{Metric: analytics.MetricScore, From: &start, To: &start}, "from"},
			{"Metric", analytics.TimeseriesQuery{Metric: "accuracy"}, "metric"},
			{"Bucket", analytics.TimeseriesQuery{Metric: analytics.MetricScore, Bucket: "year"}, "bucket"},
		} {
			_, err := svc.Timeseries(ctx, tc.q)
			if fe := fault.As(err); fe == nil || fe.Kind != fault.KindInvalid || fe.Field != tc.field {
				t.Errorf("%s: error %v; want invalid %s", tc.name, err, tc.field)
			}
		}
	})
}

func sameValue(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return near(*a, *b)
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// bigPeriods is 4 models × 2,500 questions, 2 samples each, in two weeks
// with a planted regression on the last model: the size the analytics
// routes must answer in well under 50 ms.
func bigPeriods() *fakeStore {
	const models, questions = 4, 2500
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(drop float64) []analytics.QuestionStat {
		out := make([]analytics.QuestionStat, 0, models*questions)
		for m := range models {
			acc := 0.5 + 0.1*float64(m)
			if m == models-1 {
				acc -= drop
			}
			for q := range questions {
				st := stat(modelID(m), q, 2, 0)
				for range 2 {
					if rng.Float64() < acc {
						st.Correct++
					}
				}
				st.LatencySumMs, st.LatencyN, st.CostUSD = 2*(100+rng.Float64()*50), 2, 0.002
				out = append(out, st)
			}
		}
		return out
	}
	prev, cur := gen(0), gen(0.15)
	start := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
	return &fakeStore{
		latestBucket: func(analytics.Bucket) (time.Time, bool, error) { return start, true, nil },
		bucketStats: func(_ analytics.Bucket, s time.Time, _ *string) ([]analytics.QuestionStat, error) {
			if s.Equal(start) {
				return cur, nil
			}
			return prev, nil
		},
	}
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

func BenchmarkService_Leaderboard(b *testing.B) {
	svc := analytics.NewService(bigPeriods())
	q := analytics.LeaderboardQuery{BenchmarkID: benchmarkID, Bucket: analytics.Week}
	for b.Loop() {
		if _, err := svc.Leaderboard(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// TestService_CacheFollowsDataVersion: a leaderboard is computed once per
// data version; when a run finishes (the version moves) it is computed
// again from the new tallies.
func TestService_CacheFollowsDataVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	alpha := modelID(1)
	version, reads := "1", 0
	correct := 2
	st := &fakeStore{
		version: func() string { return version },
		latestRuns: func(*uuid.UUID, int) ([]analytics.RunRef, error) {
			return []analytics.RunRef{{ID: runID(1), BenchmarkID: benchmarkID}}, nil
		},
		runStats: func(uuid.UUID, *string) ([]analytics.QuestionStat, error) {
			reads++
			return []analytics.QuestionStat{stat(alpha, 0, 2, correct)}, nil
		},
		names: map[uuid.UUID]string{alpha: "alpha"},
	}
	s := analytics.NewService(st)
	q := analytics.LeaderboardQuery{BenchmarkID: benchmarkID}
	first, err := s.Leaderboard(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Leaderboard(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if reads != 1 || again != first {
		t.Fatalf("same version: %d reads, same answer %v; want 1 read and the cached answer", reads, again == first)
	}
	other := "math"
	if _, err := s.Leaderboard(ctx, analytics.LeaderboardQuery{BenchmarkID: benchmarkID, Category: &other}); err != nil || reads != 2 {
		t.Fatalf("another query: %d reads, %v; want it computed", reads, err)
	}
	version, correct = "2", 0
	moved, err := s.Leaderboard(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if reads != 3 || moved.Entries[0].Score != 0 || first.Entries[0].Score != 1 {
		t.Fatalf("after the version moved: %d reads, score %v (was %v)", reads, moved.Entries[0].Score, first.Entries[0].Score)
	}
}

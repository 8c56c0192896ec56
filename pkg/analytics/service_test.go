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

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
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

func (f *fakeStore) RunQuestionStats(_ context.Context, runID uuid.UUID, modelID *uuid.UUID, category *string) ([]analytics.QuestionStat, error) {
	if f.runStats == nil {
		return nil, nil
	}
	out, err := f.runStats(runID, category)
	if modelID != nil {
		out = slices.DeleteFunc(slices.Clone(out), func(st analytics.QuestionStat) bool { return st.ModelID != *modelID })
	}
	return out, err
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

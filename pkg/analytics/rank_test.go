package analytics_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/analytics"
)

// TestRankRun_ModelWithOnlyUnscoredUnits: a model none of whose units got
// a verdict (say, its judge kept failing to parse) still has a ranking
// entry, with n 0 and its unscored count, after the scored models, both
// overall and in its categories.
func TestRankRun_ModelWithOnlyUnscoredUnits(t *testing.T) {
	t.Parallel()
	scored, unscored := uuid.New(), uuid.New()
	q1, q2 := uuid.New(), uuid.New()
	names := map[uuid.UUID]string{scored: "scored", unscored: "unscored"}
	in := []analytics.QuestionStat{
		{ModelID: scored, QuestionID: q1, RevisionID: q1, Category: "math", Runs: 1, N: 2, Correct: 1, Unscored: 1, CostUSD: 0.5},
		{ModelID: scored, QuestionID: q2, RevisionID: q2, Category: "geo", Runs: 1, N: 3, Correct: 3},
		{ModelID: unscored, QuestionID: q1, RevisionID: q1, Category: "math", Runs: 1, N: 0, Unscored: 3, CostUSD: 0.25},
		{ModelID: unscored, QuestionID: q2, RevisionID: q2, Category: "geo", Runs: 1, N: 0, Unscored: 3, CostUSD: 0.25},
	}
	r := analytics.RankRun(in, names)

	check := func(where string, entries []analytics.Entry, wantUnscored int) {
		t.Helper()
		if len(entries) != 2 {
			t.Fatalf("%s: %d entries, want 2 (every model): %+v", where, len(entries), entries)
		}
		first, last := entries[0], entries[1]
		if first.ModelID != scored || first.Rank != 1 || first.N == 0 {
			t.Errorf("%s: first entry %+v, want the scored model at rank 1", where, first)
		}
		if last.ModelID != unscored || last.ModelName != "unscored" || last.Rank != 2 || last.RankLow != 2 || last.RankHigh != 2 {
			t.Errorf("%s: last entry %+v, want the unscored model, named, at rank 2", where, last)
		}
		if last.N != 0 || last.Questions != 0 || last.Correct != 0 || last.Unscored != wantUnscored {
			t.Errorf("%s: unscored model n %d questions %d correct %d unscored %d; want 0 0 0 %d",
				where, last.N, last.Questions, last.Correct, last.Unscored, wantUnscored)
		}
	}
	check("overall", r.Overall, 6)
	if r.Overall[1].CostUSD != 0.5 {
		t.Errorf("unscored model cost %g, want 0.5 (its calls were paid for)", r.Overall[1].CostUSD)
	}
	if r.Overall[0].Unscored != 1 {
		t.Errorf("scored model unscored %d, want 1", r.Overall[0].Unscored)
	}
	check("math", r.ByCategory["math"], 3)
	check("geo", r.ByCategory["geo"], 3)
}

// TestRankRun_AllScoredUnchanged: without unscored units nothing is added.
func TestRankRun_AllScoredUnchanged(t *testing.T) {
	t.Parallel()
	a, q := uuid.New(), uuid.New()
	r := analytics.RankRun([]analytics.QuestionStat{{ModelID: a, QuestionID: q, RevisionID: q, Runs: 1, N: 1, Correct: 1}}, map[uuid.UUID]string{a: "a"})
	if len(r.Overall) != 1 || r.Overall[0].Unscored != 0 || r.Overall[0].Rank != 1 {
		t.Fatalf("overall %+v, want the one scored entry", r.Overall)
	}
}

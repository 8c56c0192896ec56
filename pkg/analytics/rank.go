package analytics

import (
	"cmp"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/stats"
)

// Uncategorized is the category key for questions without a category: an
// empty JSON object key would be easy to miss and awkward to address.
const Uncategorized = "uncategorized"

// RunRanking is a run's rankings as finalization writes them: overall and
// per category, computed exactly as the leaderboard computes them.
type RunRanking struct {
	Overall    []Entry
	ByCategory map[string][]Entry
	// Totals holds each model's pooled counts and cost, overall ("") and
	// per category, for the columns the entries do not carry.
	Totals map[string]map[uuid.UUID]Totals
}

// Totals are a model's pooled counts over a set of questions.
type Totals struct {
	Correct, Failed int
	CostUSD         float64
}

// RankRun ranks one run's models from its per-question tallies, overall
// and within each category, with names[id] as the models' names. The
// bootstrap streams depend only on the seed and the model, so the run's
// rankings and GET /v1/leaderboard?period=latest agree.
func RankRun(in []QuestionStat, names map[uuid.UUID]string, boot stats.Bootstrap) RunRanking {
	out := RunRanking{ByCategory: map[string][]Entry{}, Totals: map[string]map[uuid.UUID]Totals{}}
	out.Overall = rankAll(in, names, boot)
	out.Totals[""] = totals(in)
	byCat := map[string][]QuestionStat{}
	for _, st := range in {
		c := cmp.Or(st.Category, Uncategorized)
		byCat[c] = append(byCat[c], st)
	}
	for c, qs := range byCat {
		out.ByCategory[c] = rankAll(qs, names, boot)
		out.Totals[c] = totals(qs)
	}
	return out
}

func rankAll(in []QuestionStat, names map[uuid.UUID]string, boot stats.Bootstrap) []Entry {
	return rankModels(byModel(in), names, boot, sequential)
}

// rankModels computes each model's entry, running them through each (which
// may run them at once), names them and ranks them.
func rankModels(models map[uuid.UUID][]question, names map[uuid.UUID]string, boot stats.Bootstrap, each func(n int, f func(i int))) []Entry {
	ids := make([]uuid.UUID, 0, len(models))
	for id := range models {
		ids = append(ids, id)
	}
	entries := make([]Entry, len(ids))
	each(len(ids), func(i int) {
		entries[i] = entry(ids[i], models[ids[i]], boot)
		entries[i].ModelName = names[ids[i]]
	})
	rank(entries)
	return entries
}

func sequential(n int, f func(i int)) {
	for i := range n {
		f(i)
	}
}

func totals(in []QuestionStat) map[uuid.UUID]Totals {
	out := map[uuid.UUID]Totals{}
	for _, st := range in {
		t := out[st.ModelID]
		t.Correct += st.Correct
		t.Failed += st.Failed
		t.CostUSD += st.CostUSD
		out[st.ModelID] = t
	}
	return out
}

package analytics

import (
	"cmp"
	"slices"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/stats"
)

// Uncategorized is the category key for questions without a category: an
// empty JSON object key would be easy to miss and awkward to address.
const Uncategorized = "uncategorized"

// RunRanking is a finished run's leaderboards, overall and per category,
// computed exactly as the leaderboard computes them: finalization stores
// them and GET /v1/runs/{id}/rankings returns them. Both fields are non-nil
// even when empty.
type RunRanking struct {
	Overall []Entry
	// ByCategory is keyed by category, Uncategorized for questions without
	// one.
	ByCategory map[string][]Entry
}

// RankRun ranks one run's models from its per-question tallies, overall
// and within each category, with names[id] as the models' names. It is
// the run.RankFunc that finalization is given. The bootstrap streams
// depend only on the seed and the model, so the run's rankings and
// GET /v1/leaderboard?period=latest agree.
func RankRun(in []QuestionStat, names map[uuid.UUID]string) RunRanking {
	boot := stats.Bootstrap{}
	out := RunRanking{ByCategory: map[string][]Entry{}}
	out.Overall = rankAll(in, names, boot)
	byCat := map[string][]QuestionStat{}
	for _, st := range in {
		c := cmp.Or(st.Category, Uncategorized)
		byCat[c] = append(byCat[c], st)
	}
	for c, qs := range byCat {
		out.ByCategory[c] = rankAll(qs, names, boot)
	}
	return out
}

func rankAll(in []QuestionStat, names map[uuid.UUID]string, boot stats.Bootstrap) []Entry {
	return withUnscored(rankModels(byModel(in), names, boot, sequential), in, names)
}

// withUnscored sets each entry's count of unscored units from the
// tallies (byModel drops a question whose units are all unscored, so the
// count is taken from the tallies themselves). A model whose every unit is
// unscored has no score to rank by, yet it is not left out: it gets an
// entry with N 0 and its unscored count, ranked after every scored model
// (by name), so that a run's rankings always name all its models.
func withUnscored(entries []Entry, in []QuestionStat, names map[uuid.UUID]string) []Entry {
	n := map[uuid.UUID]int{}
	cost := map[uuid.UUID]float64{}
	for i := range in {
		if in[i].Unscored > 0 {
			n[in[i].ModelID] += in[i].Unscored
		}
		cost[in[i].ModelID] += in[i].CostUSD
	}
	if len(n) == 0 {
		return entries
	}
	scored := make(map[uuid.UUID]bool, len(entries))
	for i := range entries {
		entries[i].Unscored = n[entries[i].ModelID]
		scored[entries[i].ModelID] = true
	}
	var only []Entry
	for id, u := range n {
		if !scored[id] {
			only = append(only, Entry{ModelID: id, ModelName: names[id], Unscored: u, CostUSD: cost[id]})
		}
	}
	slices.SortFunc(only, func(a, b Entry) int { return byName(a.ModelName, b.ModelName, a.ModelID, b.ModelID) })
	for i := range only {
		r := len(entries) + i + 1
		only[i].Rank, only[i].RankLow, only[i].RankHigh = r, r, r
	}
	return append(entries, only...)
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

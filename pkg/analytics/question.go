package analytics

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/google/uuid"
)

// question is one question revision's figures for one model over a
// period, runs and samples averaged.
type question struct {
	revisionID         uuid.UUID
	n, correct, failed int
	score              float64
	latency            float64
	hasLatency         bool
	// cost is what one run's samples of the question cost; totalCost
	// what all its units over the period cost.
	cost, totalCost float64
}

// byModel merges tallies per (model, question revision) and turns them
// into per-question figures, each model's questions in revision id order,
// so that the bootstrap draws the same questions whatever order the store
// returned them in. Tallies with no answered or failed unit say nothing
// and are dropped. The store already returns rows in that order (uuid
// order in PostgreSQL is byte order), and then no map or sort is needed:
// this runs before the bootstraps, on every request, over every row.
func byModel(in []QuestionStat) map[uuid.UUID][]question {
	rows := in
	for i := 1; i < len(in); i++ {
		if compareStat(&in[i-1], &in[i]) >= 0 {
			rows = slices.Clone(in)
			slices.SortFunc(rows, func(a, b QuestionStat) int { return compareStat(&a, &b) })
			break
		}
	}
	out := map[uuid.UUID][]question{}
	all := make([]question, 0, len(rows))
	for i := 0; i < len(rows); {
		st := rows[i]
		j := i + 1
		for ; j < len(rows) && compareStat(&rows[j], &st) == 0; j++ {
			r := &rows[j]
			st.Runs += r.Runs
			st.N += r.N
			st.Correct += r.Correct
			st.Failed += r.Failed
			st.LatencySumMs += r.LatencySumMs
			st.LatencyN += r.LatencyN
			st.CostUSD += r.CostUSD
		}
		i = j
		if st.N <= 0 {
			continue
		}
		q := question{
			revisionID: st.RevisionID, n: st.N, correct: st.Correct, failed: st.Failed,
			score: float64(st.Correct) / float64(st.N),
			cost:  st.CostUSD / float64(max(st.Runs, 1)), totalCost: st.CostUSD,
		}
		if st.LatencyN > 0 {
			q.latency, q.hasLatency = st.LatencySumMs/float64(st.LatencyN), true
		}
		// A model's questions are contiguous: its slice is a window of all.
		all = append(all, q)
		out[st.ModelID] = all[len(all)-len(out[st.ModelID])-1 : len(all) : len(all)]
	}
	return out
}

func compareStat(a, b *QuestionStat) int {
	return cmp.Or(bytes.Compare(a.ModelID[:], b.ModelID[:]), bytes.Compare(a.RevisionID[:], b.RevisionID[:]))
}

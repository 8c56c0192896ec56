// Package ranking turns per-(model, category) tallies of a run into the
// leaderboards a run reports: one overall and one per category.
//
// It is pure arithmetic: the caller counts units (usually in SQL) and this
// package decides scores, confidence intervals and order, so that every
// process ranks the same numbers the same way.
package ranking

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Uncategorized is the ByCategory key for questions without a category. An
// empty JSON object key would be easy to miss and awkward to address, so the
// empty category is reported under this name (and merged with a category
// literally named "uncategorized").
const Uncategorized = "uncategorized"

// z95 is the standard normal quantile for a two-sided 95% interval.
const z95 = 1.959963984540054

// Aggregate is what one model did on one category of a run. Cancelled units
// are left out by the caller; a unit that failed for good is counted in N and
// Failed but not Correct, so it scores as incorrect. The counts are expected
// to satisfy 0 <= Correct, Failed and Correct+Failed <= N.
type Aggregate struct {
	ModelID   string
	ModelName string
	Category  string
	// N is the number of units recorded: succeeded plus failed for good.
	N int
	// Correct is the number of succeeded units whose evaluation passed.
	Correct int
	// Failed is the number of units that failed for good.
	Failed int
	// LatencySumMs and LatencyCount cover succeeded units only, since a
	// failed call's latency measures the failure, not the model.
	LatencySumMs float64
	LatencyCount int
	CostUSD      float64
}

// Entry is one model's line in a leaderboard.
type Entry struct {
	// Position is 1 for the best model; positions are strictly 1..n even
	// when scores tie, so that a leaderboard always has one order.
	Position  int    `json:"position"`
	ModelID   string `json:"model_id"`
	ModelName string `json:"model_name"`
	// Score is Correct/N, or 0 when N is 0.
	Score   float64 `json:"score"`
	N       int     `json:"n"`
	Correct int     `json:"correct"`
	Failed  int     `json:"failed"`
	// ErrorRate is Failed/N, or 0 when N is 0.
	ErrorRate float64 `json:"error_rate"`
	// MeanLatencyMs is over succeeded units, 0 when there are none.
	MeanLatencyMs float64 `json:"mean_latency_ms"`
	CostUSD       float64 `json:"cost_usd"`
	// CILow and CIHigh bound Score with a 95% Wilson score interval, which
	// stays inside [0, 1] and is honest for small N and scores near 0 or 1
	// where the normal approximation is not. With N = 0 it is [0, 1]: nothing
	// is known.
	CILow  float64 `json:"ci_low"`
	CIHigh float64 `json:"ci_high"`
}

// Rankings are a run's leaderboards. Both fields are non-nil even when empty,
// so they encode as [] and {}.
type Rankings struct {
	Overall    []Entry            `json:"overall"`
	ByCategory map[string][]Entry `json:"by_category"`
}

// Compute ranks models overall (summing each model's categories) and within
// each category. Entries are ordered by score descending, then model name
// ascending, then model id ascending. Aggregates with the same model and
// category key are summed; a model's name is the first non-empty one seen.
func Compute(aggs []Aggregate) Rankings {
	overall := tally{}
	byCategory := map[string]tally{}
	for _, a := range aggs {
		overall.add(a)
		key := cmp.Or(a.Category, Uncategorized)
		t, ok := byCategory[key]
		if !ok {
			t = tally{}
			byCategory[key] = t
		}
		t.add(a)
	}

	r := Rankings{Overall: overall.rank(), ByCategory: make(map[string][]Entry, len(byCategory))}
	for key, t := range byCategory {
		r.ByCategory[key] = t.rank()
	}
	return r
}

// tally sums aggregates per model id.
type tally map[string]*Aggregate

func (t tally) add(a Aggregate) {
	sum, ok := t[a.ModelID]
	if !ok {
		a.Category = ""
		t[a.ModelID] = &a
		return
	}
	if sum.ModelName == "" {
		sum.ModelName = a.ModelName
	}
	sum.N += a.N
	sum.Correct += a.Correct
	sum.Failed += a.Failed
	sum.LatencySumMs += a.LatencySumMs
	sum.LatencyCount += a.LatencyCount
	sum.CostUSD += a.CostUSD
}

func (t tally) rank() []Entry {
	entries := make([]Entry, 0, len(t))
	for _, a := range t {
		e := Entry{
			ModelID:   a.ModelID,
			ModelName: a.ModelName,
			N:         a.N,
			Correct:   a.Correct,
			Failed:    a.Failed,
			CostUSD:   a.CostUSD,
		}
		if a.N > 0 {
			e.Score = float64(a.Correct) / float64(a.N)
			e.ErrorRate = float64(a.Failed) / float64(a.N)
		}
		if a.LatencyCount > 0 {
			e.MeanLatencyMs = a.LatencySumMs / float64(a.LatencyCount)
		}
		e.CILow, e.CIHigh = wilson(a.Correct, a.N)
		entries = append(entries, e)
	}
	// Equal fractions (1/2 and 2/4) divide to the same float64, because
	// division is correctly rounded, so ties on Score are exact.
	slices.SortFunc(entries, func(a, b Entry) int {
		return cmp.Or(
			cmp.Compare(b.Score, a.Score),
			strings.Compare(a.ModelName, b.ModelName),
			strings.Compare(a.ModelID, b.ModelID),
		)
	})
	for i := range entries {
		entries[i].Position = i + 1
	}
	return entries
}

// wilson returns the 95% Wilson score interval for correct successes out of
// n trials. Counts outside [0, n] are clamped so that bad input can never
// produce NaN, which JSON cannot encode.
func wilson(correct, n int) (low, high float64) {
	if n <= 0 {
		return 0, 1
	}
	c := min(max(correct, 0), n)
	nf := float64(n)
	p := float64(c) / nf
	z2 := z95 * z95
	denom := 1 + z2/nf
	center := (p + z2/(2*nf)) / denom
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / denom
	low, high = center-half, center+half
	// The bounds are exactly 0 and 1 at the extremes; floating point would
	// leave them a hair off.
	if c == 0 {
		low = 0
	}
	if c == n {
		high = 1
	}
	return max(low, 0), min(high, 1)
}

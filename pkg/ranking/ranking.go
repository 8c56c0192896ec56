// Package ranking is the shape of a run's rankings: one leaderboard
// overall and one per category, as finalization stores them and
// GET /v1/runs/{id}/rankings returns them. They are computed by
// analytics.RankRun, the same code as the leaderboards.
package ranking

import "github.com/sabe-dev/sabe/pkg/analytics"

// Uncategorized is the ByCategory key for questions without a category.
const Uncategorized = analytics.Uncategorized

// Entry is one model's line in a leaderboard.
type Entry struct {
	// Rank is 1 for the best model; ranks are strictly 1..n even when
	// scores tie, so that a leaderboard always has one order. It is the
	// leaderboard's Entry.Rank (the API's rank; its deprecated position
	// repeats it). RankLow and RankHigh are the band of ranks the
	// confidence intervals allow: 1 + the models whose interval lies
	// wholly above, and the models whose interval does not lie wholly
	// below.
	Rank      int    `json:"rank"`
	RankLow   int    `json:"rank_low"`
	RankHigh  int    `json:"rank_high"`
	ModelID   string `json:"model_id"`
	ModelName string `json:"model_name"`
	// Score is the mean over questions of each question's pass rate (a
	// unit that failed for good counts as not passed).
	Score float64 `json:"score"`
	// Questions is how many questions the score averages; N the units
	// answered or failed for good; Correct those that passed.
	Questions int `json:"questions"`
	N         int `json:"n"`
	Correct   int `json:"correct"`
	Failed    int `json:"failed"`
	// ErrorRate is Failed/N, or 0 when N is 0.
	ErrorRate float64 `json:"error_rate"`
	// MeanLatencyMs is over questions' mean latencies of succeeded units,
	// 0 when none succeeded.
	MeanLatencyMs float64 `json:"mean_latency_ms"`
	CostUSD       float64 `json:"cost_usd"`
	// CILow and CIHigh bound Score with a 95% percentile bootstrap over
	// questions (seeded, so the same data gives the same interval);
	// StdError is the standard error of the mean over questions.
	CILow    float64 `json:"ci_low"`
	CIHigh   float64 `json:"ci_high"`
	StdError float64 `json:"std_error"`
	// PassAtK holds the unbiased pass@k estimates when the run sampled
	// every question more than once; empty otherwise.
	PassAtK []PassAtK `json:"pass_at_k"`
}

// PassAtK is one pass@k estimate, averaged over questions.
type PassAtK struct {
	K     int     `json:"k"`
	Value float64 `json:"value"`
}

// Rankings are a run's leaderboards. Both fields are non-nil even when empty,
// so they encode as [] and {}.
type Rankings struct {
	Overall    []Entry            `json:"overall"`
	ByCategory map[string][]Entry `json:"by_category"`
}

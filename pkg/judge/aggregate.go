package judge

import (
	"github.com/google/uuid"
)

// The reasons an evaluation is unscored. The pipeline sets the first four
// on a judge's Result; Aggregate sets the panel ones on an Outcome.
const (
	// ReasonParseFailure: the judge's reply (after the one repair turn in
	// text mode) was not a valid verdict.
	ReasonParseFailure = "judge_parse_failure"
	// ReasonError: the judge call failed after its retries.
	ReasonError = "judge_error"
	// ReasonRefused: the judge refused to answer (a refusal or a
	// content filter).
	ReasonRefused = "judge_refused"
	// ReasonSkippedMaxCost: the run's max_cost_usd was reached before the
	// judge was called.
	ReasonSkippedMaxCost = "judge_skipped_max_cost"
	// ReasonTooFewJudges: fewer panel judges than min_judges gave a valid
	// verdict.
	ReasonTooFewJudges = "too_few_judges"
	// ReasonPanelTie: no verdict had a strict majority of the panel.
	ReasonPanelTie = "panel_tie"
	// ReasonNoJudges: the rule has no judge models.
	ReasonNoJudges = "no_judges"
)

// Result is one judge's answer on one unit, as stored with the evaluation.
type Result struct {
	ModelID   uuid.UUID `json:"model_id"`
	ModelName string    `json:"model_name,omitempty"`
	// Verdict is nil when the judge gave none.
	Verdict *Verdict `json:"verdict,omitempty"`
	// Reason says why Verdict is nil: ReasonParseFailure, ReasonError,
	// ReasonRefused, ReasonSkippedMaxCost.
	Reason string `json:"reason,omitempty"`
	// Error is the scrubbed provider error or the parse problem, short.
	Error        string  `json:"error,omitempty"`
	Attempts     int     `json:"attempts"`
	InputTokens  int     `json:"input_tokens"`
	OutputTokens int     `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
	LatencyMs    float64 `json:"latency_ms"`
}

// Outcome is the combined verdict of a rule's judges on one unit.
type Outcome struct {
	// Scored is false when no verdict could be reached; Reason says why.
	Scored    bool    `json:"scored"`
	Reason    string  `json:"reason,omitempty"`
	Passed    bool    `json:"passed"`
	Score     float64 `json:"score"`
	Label     string  `json:"label,omitempty"`
	Reasoning string  `json:"reasoning,omitempty"`
	// Judges are every judge's result in the order of the rule's
	// judge_model_ids, failed ones included.
	Judges []Result `json:"judges"`
}

// Aggregate combines results (one per judge, in the rule's order) by c's
// aggregate (see the package comment). threshold is the score at which a
// score or choice verdict passes (the rule's, DefaultThreshold when the
// rule has none).
func Aggregate(c Config, threshold float64, results []Result) Outcome {
	n := c.Normalized()
	out := Outcome{Judges: make([]Result, len(results))}
	var valid []int
	for i, r := range results {
		if r.Verdict != nil {
			v := *r.Verdict
			if n.Verdict.Kind != KindPassFail {
				v.Passed = v.Score >= threshold
			}
			r.Verdict = &v
			valid = append(valid, i)
		}
		out.Judges[i] = r
	}
	switch {
	case len(results) == 0:
		out.Reason = ReasonNoJudges
		return out
	case len(results) == 1:
		if len(valid) == 0 {
			out.Reason = results[0].Reason
			if out.Reason == "" {
				out.Reason = ReasonError
			}
			return out
		}
		return scored(out, *out.Judges[0].Verdict)
	}
	minJudges := min(c.MinJudges, len(results))
	if minJudges <= 0 {
		minJudges = defaultMinJudges(len(results))
	}
	if len(valid) < minJudges {
		out.Reason = ReasonTooFewJudges
		return out
	}
	switch n.Aggregate {
	case AggregateMean:
		sum := 0.0
		for _, i := range valid {
			sum += out.Judges[i].Verdict.Score
		}
		first := *out.Judges[valid[0]].Verdict
		v := Verdict{Score: sum / float64(len(valid)), Reasoning: first.Reasoning}
		v.Passed = v.Score >= threshold
		if n.Verdict.Kind == KindPassFail {
			v.Label = passLabel(v.Passed)
		}
		return scored(out, v)
	case AggregateMin:
		low := valid[0]
		for _, i := range valid[1:] {
			if out.Judges[i].Verdict.Score < out.Judges[low].Verdict.Score {
				low = i
			}
		}
		v := *out.Judges[low].Verdict
		v.Passed = v.Score >= threshold
		if n.Verdict.Kind == KindPassFail {
			v.Passed = v.Label == "pass"
		}
		return scored(out, v)
	default:
		return majority(out, n.Verdict.Kind, valid)
	}
}

// majority finds the vote with strictly more than half of the valid
// verdicts.
func majority(out Outcome, kind Kind, valid []int) Outcome {
	vote := func(v *Verdict) string {
		if kind == KindChoice {
			return v.Label
		}
		return passLabel(v.Passed)
	}
	counts := map[string]int{}
	for _, i := range valid {
		counts[vote(out.Judges[i].Verdict)]++
	}
	for _, i := range valid {
		win := vote(out.Judges[i].Verdict)
		if 2*counts[win] <= len(valid) {
			continue
		}
		v := *out.Judges[i].Verdict
		sum := 0.0
		for _, j := range valid {
			if vote(out.Judges[j].Verdict) == win {
				sum += out.Judges[j].Verdict.Score
			}
		}
		v.Score = sum / float64(counts[win])
		if kind != KindChoice {
			v.Label = win
		}
		return scored(out, v)
	}
	out.Reason = ReasonPanelTie
	return out
}

func scored(out Outcome, v Verdict) Outcome {
	out.Scored, out.Reason = true, ""
	out.Passed, out.Score, out.Label, out.Reasoning = v.Passed, v.Score, v.Label, v.Reasoning
	return out
}

func passLabel(passed bool) string {
	if passed {
		return "pass"
	}
	return "fail"
}

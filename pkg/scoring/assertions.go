package scoring

import (
	"fmt"
	"math"
	"strconv"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
	"github.com/sabe-dev/sabe/pkg/judge"
)

// MaxAssertions bounds the assertions of one rule.
const MaxAssertions = 20

// compileAssertions compiles a rule made of weighted assertions.
func compileAssertions(r Rule, q QuestionRef) (*Scorer, error) {
	switch {
	case r.Method != "":
		return nil, fault.Invalid("scoring.method", "must be left out when assertions are given")
	case len(r.Assertions) == 0:
		return nil, fault.Invalid("scoring.assertions", "must list at least one assertion")
	case len(r.Assertions) > MaxAssertions:
		return nil, fault.Invalid("scoring.assertions", "must list at most %d assertions, got %d", MaxAssertions, len(r.Assertions))
	}
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"pattern", r.Pattern != ""}, {"tolerance", r.Tolerance != nil}, {"case_sensitive", r.CaseSensitive != nil},
		{"value", r.Value != ""}, {"values", r.Values != nil}, {"schema", len(r.Schema) > 0},
		{"negate", r.Negate}, {"extract", r.Extract != ""}, {"max_distance", r.MaxDistance != nil}, {judgeField(r.Config), !r.Config.IsZero()},
	} {
		if c.set {
			return nil, fault.Invalid("scoring."+c.name, "belongs in each assertion, not beside assertions")
		}
	}
	t, err := checkThreshold(r.Threshold, "scoring.threshold", 1)
	if err != nil {
		return nil, err
	}
	s := &Scorer{threshold: t, assertions: make([]*Scorer, len(r.Assertions)), weights: make([]float64, len(r.Assertions))}
	for i, a := range r.Assertions {
		field := fmt.Sprintf("scoring.assertions[%d]", i)
		w := 1.0
		if a.Weight != nil {
			w = *a.Weight
			if !(w > 0) || math.IsInf(w, 0) {
				return nil, fault.Invalid(field+".weight", "must be a finite number greater than 0")
			}
		}
		sub, err := compileRule(a.Rule, q, field)
		if err != nil {
			return nil, err
		}
		if sub.method == MethodLLMJudge {
			sub.judgeIndex = len(s.judges)
			s.judges = append(s.judges, sub.judge)
		}
		s.assertions[i], s.weights[i] = sub, w
	}
	return s, nil
}

// scoreAssertions grades every assertion; the set's score is the weighted
// share of assertions that passed, and it passes when that reaches the
// threshold. An unscored assertion makes the set unscored.
func (s *Scorer) scoreAssertions(response string, outcomes []judge.Outcome) Result {
	var out Result
	out.Assertions = make([]AssertionResult, len(s.assertions))
	total, passed, npassed := 0.0, 0.0, 0
	for i, a := range s.assertions {
		r := a.score(response, outcomes)
		out.Assertions[i] = AssertionResult{
			Method: string(a.method), Weight: s.weights[i], Passed: r.Passed, Score: r.Score,
			Detail: r.Detail, Unscored: r.Unscored, Reason: r.Reason,
		}
		out.PrefixOnly = out.PrefixOnly || r.PrefixOnly
		if r.Judge != nil && out.Judge == nil {
			out.Judge = r.Judge
		}
		if r.Unscored && !out.Unscored {
			out.Unscored, out.Reason = true, r.Reason
			out.Detail = text.Clip("assertion "+strconv.Itoa(i+1)+" ("+string(a.method)+") unscored: "+r.Reason, MaxDetailLength)
		}
		total += s.weights[i]
		if r.Passed {
			passed += s.weights[i]
			npassed++
		}
	}
	if out.Unscored {
		return out
	}
	out.Score = passed / total
	// The weights are decimals: allow for their rounding, so that weights
	// 0.1, 0.2 and 0.7 all passing reach a threshold of 1.
	out.Passed = out.Score >= s.threshold-1e-9
	if out.Passed && out.Score > 1-1e-9 {
		out.Score = 1
	}
	out.Detail = text.Clip(fmt.Sprintf("%d of %d assertions passed, score %s (threshold %s)",
		npassed, len(s.assertions), formatNumber(math.Round(out.Score*1e6)/1e6), formatNumber(s.threshold)), MaxDetailLength)
	return out
}

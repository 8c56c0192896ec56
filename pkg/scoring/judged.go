package scoring

import (
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
	"github.com/sabe-dev/sabe/pkg/judge"
)

func (s *Scorer) compileJudge(r Rule, expected, wantField, field string) error {
	if err := r.Config.Validate(field); err != nil {
		return err
	}
	t, err := checkThreshold(r.Threshold, field+".threshold", judge.DefaultThreshold)
	if err != nil {
		return err
	}
	s.threshold = t
	s.judge = r.Config.Normalized()
	s.reference = strings.TrimSpace(expected)
	if s.judge.NeedsReference() && s.reference == "" {
		return fault.Invalid(wantField, "is required for llm_judge template %s", s.judge.Template)
	}
	return nil
}

// JudgeInput is what the i-th judge configuration of Judges() is asked
// about response to question. ok is false when the rule's extract pattern
// finds nothing in response: then the judge need not be called, the
// assertion fails whatever its outcome.
func (s *Scorer) JudgeInput(i int, question, response string) (in judge.Input, ok bool) {
	j := s.judgeScorer(i)
	if j == nil {
		return judge.Input{}, false
	}
	text, _, ok := j.extracted(response)
	if !ok {
		return judge.Input{}, false
	}
	return judge.Input{Question: question, Answer: text, Reference: j.reference}, true
}

// Threshold is the score at which the i-th judge configuration's verdicts
// pass, for judge.Aggregate.
func (s *Scorer) Threshold(i int) float64 {
	if j := s.judgeScorer(i); j != nil {
		return j.threshold
	}
	return judge.DefaultThreshold
}

// judgeScorer is the llm_judge scorer of the i-th entry of Judges().
func (s *Scorer) judgeScorer(i int) *Scorer {
	if s.assertions == nil {
		if i == 0 && s.method == MethodLLMJudge {
			return s
		}
		return nil
	}
	for _, a := range s.assertions {
		if a.method == MethodLLMJudge && a.judgeIndex == i {
			return a
		}
	}
	return nil
}

// judged turns the scorer's outcome into a Result.
func (s *Scorer) judged(outcomes []judge.Outcome) Result {
	if s.judgeIndex >= len(outcomes) {
		return Result{Unscored: true, Reason: ReasonNeedsJudge, Detail: "no judge outcome"}
	}
	o := outcomes[s.judgeIndex]
	r := Result{Judge: &o}
	if !o.Scored {
		r.Unscored, r.Reason = true, o.Reason
		r.Detail = text.Clip("unscored: "+o.Reason+judgeFailures(o), MaxDetailLength)
		return r
	}
	r.Passed, r.Score = o.Passed, o.Score
	r.Detail = text.Clip(judgeSummary(s.judge, o), MaxDetailLength)
	return r
}

// judgeSummary says what the judge or panel decided.
func judgeSummary(c judge.Config, o judge.Outcome) string {
	word := "fail"
	if o.Passed {
		word = "pass"
	}
	label := ""
	if o.Label != "" && o.Label != word {
		label = " (" + quote(o.Label) + ")"
	}
	if len(o.Judges) <= 1 {
		return "judge: " + word + label + ", score " + formatNumber(o.Score)
	}
	valid := 0
	for _, j := range o.Judges {
		if j.Verdict != nil {
			valid++
		}
	}
	return "panel of " + strconv.Itoa(len(o.Judges)) + " (" + strconv.Itoa(valid) + " valid, " + c.Aggregate + "): " +
		word + label + ", score " + formatNumber(o.Score)
}

// judgeFailures lists the reasons of the judges that gave no verdict.
func judgeFailures(o judge.Outcome) string {
	var parts []string
	for i, j := range o.Judges {
		if j.Verdict == nil {
			parts = append(parts, "judge "+strconv.Itoa(i+1)+" "+j.Reason)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// JudgeModelIDs returns every judge model the rule names, each once, in
// the order of Judges(): the models a run must snapshot.
func (s *Scorer) JudgeModelIDs() []uuid.UUID {
	var ids []uuid.UUID
	for _, c := range s.judges {
		for _, id := range c.ModelIDs {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// MissingJudges reports whether an llm_judge part of the rule has no
// judge models (the question left them to a benchmark that gives none).
// Such a rule cannot be judged: a run should refuse it rather than leave
// every unit unscored with judge.ReasonNoJudges.
func (s *Scorer) MissingJudges() bool {
	return slices.ContainsFunc(s.judges, func(c judge.Config) bool { return len(c.ModelIDs) == 0 })
}

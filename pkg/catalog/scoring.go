package catalog

import (
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// ValidateDefaultScoring checks a benchmark's default rule under field
// (config.scoring). The rule is checked as far as it can be without a
// question: what depends on one (the expected answer, the choices) is
// checked against each question that uses the default, by
// CheckDefaultFits.
func ValidateDefaultScoring(field string, r scoring.Rule) error {
	if !HasScoring(r) {
		return fault.Invalid(field, "must name a method or assertions (leave config.scoring out for no default)")
	}
	err := r.Validate(scoring.QuestionRef{})
	if fe := fault.As(err); fe != nil && questionField(fe.Field) {
		return nil
	}
	return Refield(field, "scoring", err)
}

// CheckDefaultFits checks that a benchmark's default rule compiles
// against a question that has no rule of its own. The error names field
// (config.scoring) and the question, since the question is what the user
// must change (or give its own scoring).
func CheckDefaultFits(field string, r scoring.Rule, q QuestionInput, questionID string) error {
	err := r.Validate(scoring.QuestionRef{Expected: q.ExpectedAnswer, Choices: q.Choices})
	if err == nil {
		return nil
	}
	fe := fault.As(err)
	if fe == nil {
		return err
	}
	return fault.Invalid(field, "does not fit question %s: %s: %s", questionID, fe.Field, fe.Message)
}

// questionField reports whether a scoring error is about the question
// rather than the rule.
func questionField(f string) bool {
	return f == "expected_answer" || f == "choices" || strings.HasPrefix(f, "choices[")
}

// Refield moves a validation error from under prefix (such as
// "scoring") to under field (such as "config.scoring"), so that a rule
// checked on its own is reported where the caller's body holds it.
// Other errors pass through.
func Refield(field, prefix string, err error) error {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return err
	}
	out := *fe
	switch {
	case fe.Field == prefix:
		out.Field = field
	case strings.HasPrefix(fe.Field, prefix+".") || strings.HasPrefix(fe.Field, prefix+"["):
		out.Field = field + fe.Field[len(prefix):]
	default:
		out.Field = field + "." + fe.Field
	}
	return &out
}

// JudgeRef is one llm_judge rule within a scoring rule: where it is
// (such as "scoring.assertions[1].judge_model_ids") and the judges it
// names, empty when it relies on the benchmark's config.judge_model_ids.
type JudgeRef struct {
	Field    string
	ModelIDs []uuid.UUID
}

// JudgeRefs lists the llm_judge rules of r (itself or its assertions),
// in order, with fields under prefix.
func JudgeRefs(prefix string, r scoring.Rule) []JudgeRef {
	return judgeRefs(prefix, r)
}

package judge

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
)

// Kind is the shape of a judge's verdict.
type Kind string

// The verdict kinds.
const (
	KindPassFail Kind = "pass_fail"
	KindScore    Kind = "score"
	KindChoice   Kind = "choice"
)

// The shipped prompt templates, and custom for a prompt of one's own.
const (
	TemplateRubric     = "rubric"
	TemplateClosedQA   = "closed_qa"
	TemplateFactuality = "factuality"
	TemplateCustom     = "custom"
)

// The ways a panel's verdicts are combined.
const (
	AggregateMajority = "majority"
	AggregateMean     = "mean"
	AggregateMin      = "min"
)

// Limits on a judge configuration, so that a rule stays small enough to
// store with every question revision and to send with every judge call.
const (
	MaxJudges        = 5
	MaxRubricLength  = 8000
	MaxPromptLength  = 16000
	MaxChoices       = 26
	MaxChoiceName    = 32
	MaxChoiceDesc    = 500
	MaxScoreBound    = 1000
	DefaultScoreMin  = 1
	DefaultScoreMax  = 5
	DefaultThreshold = 0.5
)

// Config is the judge part of an llm_judge scoring rule; scoring.Rule
// inlines it, so its fields appear beside "method" in a question's
// "scoring".
type Config struct {
	// ModelIDs are the judge models: one is a single judge, more a panel.
	// It may be empty in a question's rule when the benchmark's config
	// names the judges (scoring.Rule.WithDefaults fills it in).
	ModelIDs []uuid.UUID `json:"judge_model_ids,omitempty"`
	// Template is rubric (the default), closed_qa, factuality or custom.
	Template string `json:"template,omitempty"`
	// Prompt is the custom template's text.
	Prompt string `json:"prompt,omitempty"`
	// Rubric is the criteria text.
	Rubric  string      `json:"rubric,omitempty"`
	Verdict VerdictSpec `json:"verdict,omitzero"`
	// Aggregate is majority (the default), mean or min; panels only.
	Aggregate string `json:"aggregate,omitempty"`
	// MinJudges is the fewest valid verdicts a panel needs; 0 means the
	// default (all but one with three or more judges, else all).
	MinJudges int `json:"min_judges,omitempty"`
}

// VerdictSpec says what a judge answers.
type VerdictSpec struct {
	// Kind is pass_fail, score or choice; the default depends on the
	// template (choice for factuality, else pass_fail).
	Kind Kind `json:"kind,omitempty"`
	// Min and Max bound a score verdict (defaults 1 and 5).
	Min *int `json:"min,omitempty"`
	Max *int `json:"max,omitempty"`
	// Choices are the categories of a choice verdict.
	Choices []Choice `json:"choices,omitempty"`
}

// Choice is one category of a choice verdict.
type Choice struct {
	Name        string  `json:"name"`
	Score       float64 `json:"score"`
	Description string  `json:"description,omitempty"`
}

// factualityChoices are openai/evals' fact categories with SABE's default
// scores.
var factualityChoices = []Choice{
	{Name: "A", Score: 1, Description: "The submitted answer is a subset of the reference answer and is fully consistent with it."},
	{Name: "B", Score: 1, Description: "The submitted answer is a superset of the reference answer and is fully consistent with it."},
	{Name: "C", Score: 1, Description: "The submitted answer contains all the same details as the reference answer."},
	{Name: "D", Score: 0, Description: "There is a disagreement between the submitted answer and the reference answer."},
	{Name: "E", Score: 1, Description: "The answers differ, but these differences don't matter from the perspective of factuality."},
}

// placeholder matches a {name} in a custom prompt; braces around anything
// else (JSON examples) are left alone.
var placeholder = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Normalized returns c with every default applied: the template, the
// verdict kind, score bounds, factuality's choices (their descriptions
// filled in where left out), the aggregate and MinJudges for the number of
// ModelIDs. It does not validate.
func (c Config) Normalized() Config {
	if c.Template == "" {
		c.Template = TemplateRubric
	}
	v := c.Verdict
	if v.Kind == "" {
		v.Kind = KindPassFail
		if c.Template == TemplateFactuality {
			v.Kind = KindChoice
		}
	}
	if v.Kind == KindScore {
		if v.Min == nil {
			v.Min = ptr(DefaultScoreMin)
		}
		if v.Max == nil {
			v.Max = ptr(DefaultScoreMax)
		}
	}
	if c.Template == TemplateFactuality && v.Kind == KindChoice {
		if len(v.Choices) == 0 {
			v.Choices = slices.Clone(factualityChoices)
		} else {
			v.Choices = slices.Clone(v.Choices)
			for i := range v.Choices {
				for _, f := range factualityChoices {
					if v.Choices[i].Name == f.Name && v.Choices[i].Description == "" {
						v.Choices[i].Description = f.Description
					}
				}
			}
		}
	}
	c.Verdict = v
	if c.Aggregate == "" {
		c.Aggregate = AggregateMajority
	}
	if c.MinJudges == 0 {
		c.MinJudges = defaultMinJudges(len(c.ModelIDs))
	}
	return c
}

func defaultMinJudges(n int) int {
	if n >= 3 {
		return n - 1
	}
	return max(n, 1)
}

func ptr[T any](v T) *T { return &v }

// NeedsReference reports whether the template shows a reference answer
// that must exist: closed_qa, factuality, and a custom prompt with
// {reference}.
func (c Config) NeedsReference() bool {
	switch c.Template {
	case TemplateClosedQA, TemplateFactuality:
		return true
	case TemplateCustom:
		return strings.Contains(c.Prompt, "{reference}")
	}
	return false
}

// IsZero reports whether no judge field is set.
func (c Config) IsZero() bool {
	return len(c.ModelIDs) == 0 && c.Template == "" && c.Prompt == "" && c.Rubric == "" &&
		c.Verdict.Kind == "" && c.Verdict.Min == nil && c.Verdict.Max == nil && len(c.Verdict.Choices) == 0 &&
		c.Aggregate == "" && c.MinJudges == 0
}

// Validate checks c. field is the path of the rule that holds it, such as
// "scoring" or "scoring.assertions[2]"; errors are fault.Invalid naming
// field + "." + the JSON name, such as "scoring.verdict.max". ModelIDs may
// be empty (the benchmark may give them); a run must not start with an
// llm_judge rule without judges. The reference is checked by the caller
// (see NeedsReference).
func (c Config) Validate(field string) error {
	f := func(name string) string { return field + "." + name }
	if len(c.ModelIDs) > MaxJudges {
		return fault.Invalid(f("judge_model_ids"), "must list at most %d judges, got %d", MaxJudges, len(c.ModelIDs))
	}
	for i, id := range c.ModelIDs {
		if id == uuid.Nil {
			return fault.Invalid(fmt.Sprintf("%s[%d]", f("judge_model_ids"), i), "must not be the nil UUID")
		}
		if slices.Contains(c.ModelIDs[:i], id) {
			return fault.Invalid(fmt.Sprintf("%s[%d]", f("judge_model_ids"), i), "lists judge %s twice", id)
		}
	}
	switch c.Template {
	case "", TemplateRubric, TemplateClosedQA, TemplateFactuality, TemplateCustom:
	default:
		return fault.Invalid(f("template"), "must be one of rubric, closed_qa, factuality or custom")
	}
	if err := checkText(f("rubric"), c.Rubric, MaxRubricLength); err != nil {
		return err
	}
	if err := checkText(f("prompt"), c.Prompt, MaxPromptLength); err != nil {
		return err
	}
	n := c.Normalized()
	switch {
	case n.Template == TemplateRubric && strings.TrimSpace(c.Rubric) == "":
		return fault.Invalid(f("rubric"), "is required for template rubric")
	case n.Template != TemplateCustom && c.Prompt != "":
		return fault.Invalid(f("prompt"), "is only allowed with template custom")
	case n.Template == TemplateCustom:
		if err := checkCustom(f, c); err != nil {
			return err
		}
	}
	if err := n.Verdict.validate(f("verdict"), n.Template); err != nil {
		return err
	}
	switch c.Aggregate {
	case "", AggregateMajority, AggregateMean, AggregateMin:
	default:
		return fault.Invalid(f("aggregate"), "must be one of majority, mean or min")
	}
	if c.MinJudges < 0 || (len(c.ModelIDs) > 0 && c.MinJudges > len(c.ModelIDs)) {
		return fault.Invalid(f("min_judges"), "must be from 1 to the number of judges")
	}
	return nil
}

func checkText(field, s string, limit int) error {
	switch {
	case len(s) > limit:
		return fault.Invalid(field, "must be at most %d bytes, got %d", limit, len(s))
	case !utf8.ValidString(s):
		return fault.Invalid(field, "must be valid UTF-8")
	}
	return nil
}

func checkCustom(f func(string) string, c Config) error {
	if strings.TrimSpace(c.Prompt) == "" {
		return fault.Invalid(f("prompt"), "is required for template custom")
	}
	answer := false
	for _, m := range placeholder.FindAllStringSubmatch(c.Prompt, -1) {
		switch m[1] {
		case "answer":
			answer = true
		case "question", "reference":
		case "rubric":
			if strings.TrimSpace(c.Rubric) == "" {
				return fault.Invalid(f("rubric"), "is required when the prompt uses {rubric}")
			}
		default:
			return fault.Invalid(f("prompt"), "has unknown placeholder {%s}; use {question}, {answer}, {reference} or {rubric}", text.Clip(m[1], 40))
		}
	}
	if !answer {
		return fault.Invalid(f("prompt"), "must contain the {answer} placeholder")
	}
	return nil
}

func (v VerdictSpec) validate(field, template string) error {
	f := func(name string) string { return field + "." + name }
	switch v.Kind {
	case KindPassFail, KindScore, KindChoice:
	default:
		return fault.Invalid(f("kind"), "must be one of pass_fail, score or choice")
	}
	if template == TemplateFactuality && v.Kind != KindChoice {
		return fault.Invalid(f("kind"), "must be choice for template factuality")
	}
	if v.Kind != KindScore && (v.Min != nil || v.Max != nil) {
		name := "min"
		if v.Min == nil {
			name = "max"
		}
		return fault.Invalid(f(name), "is only allowed with kind score")
	}
	if v.Kind != KindChoice && len(v.Choices) > 0 {
		return fault.Invalid(f("choices"), "are only allowed with kind choice")
	}
	switch v.Kind {
	case KindScore:
		switch {
		case *v.Min < -MaxScoreBound || *v.Min > MaxScoreBound:
			return fault.Invalid(f("min"), "must be from %d to %d", -MaxScoreBound, MaxScoreBound)
		case *v.Max < -MaxScoreBound || *v.Max > MaxScoreBound:
			return fault.Invalid(f("max"), "must be from %d to %d", -MaxScoreBound, MaxScoreBound)
		case *v.Max <= *v.Min:
			return fault.Invalid(f("max"), "must be greater than min (%d)", *v.Min)
		}
	case KindChoice:
		return validateChoices(f("choices"), v.Choices, template)
	}
	return nil
}

func validateChoices(field string, choices []Choice, template string) error {
	if len(choices) < 2 || len(choices) > MaxChoices {
		return fault.Invalid(field, "must list from 2 to %d choices", MaxChoices)
	}
	for i, c := range choices {
		at := func(name string) string { return fmt.Sprintf("%s[%d].%s", field, i, name) }
		switch {
		case c.Name == "" || len(c.Name) > MaxChoiceName || strings.TrimSpace(c.Name) != c.Name || !utf8.ValidString(c.Name):
			return fault.Invalid(at("name"), "must be 1 to %d bytes of UTF-8 without surrounding spaces", MaxChoiceName)
		case slices.ContainsFunc(choices[:i], func(o Choice) bool { return o.Name == c.Name }):
			return fault.Invalid(at("name"), "%q is listed twice", c.Name)
		case !(c.Score >= 0 && c.Score <= 1):
			return fault.Invalid(at("score"), "must be from 0 to 1")
		}
		if err := checkText(at("description"), c.Description, MaxChoiceDesc); err != nil {
			return err
		}
	}
	if template == TemplateFactuality {
		if len(choices) != len(factualityChoices) {
			return fault.Invalid(field, "must name exactly the categories A, B, C, D and E for template factuality")
		}
		for i, c := range choices {
			if !slices.ContainsFunc(factualityChoices, func(f Choice) bool { return f.Name == c.Name }) {
				return fault.Invalid(fmt.Sprintf("%s[%d].name", field, i), "must be one of A, B, C, D or E for template factuality")
			}
		}
	}
	return nil
}

package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// fieldErr is a problem of one field of an item.
type fieldErr struct {
	field, msg string
}

// DefaultLevenshteinDistance is the distance promptfoo's levenshtein
// assertion allows when it gives no threshold.
const DefaultLevenshteinDistance = 5

// judgeScoreMax is the top of the 0–N score an llm-rubric assertion
// with a threshold asks its judges for (promptfoo's grader scores 0..1;
// SABE's verdicts are integers, normalised to 0..1).
const judgeScoreMax = 10

// promptfooTypes are promptfoo's assertion types (without the not-
// forms), as its schema lists them: a CSV __expected value that starts
// with one of them and a colon is that assertion, any other is equals.
var promptfooTypes = []string{
	"answer-relevance", "bleu", "classifier", "contains", "contains-all", "contains-any", "contains-html",
	"contains-json", "contains-sql", "contains-xml", "context-faithfulness", "context-recall", "context-relevance",
	"conversation-relevance", "cost", "equals", "factuality", "finish-reason", "g-eval", "gleu", "guardrails",
	"icontains", "icontains-all", "icontains-any", "is-html", "is-json", "is-refusal", "is-sql",
	"is-valid-function-call", "is-valid-openai-function-call", "is-valid-openai-tools-call", "is-xml",
	"javascript", "latency", "levenshtein", "llm-rubric", "meteor", "model-graded-closedqa",
	"model-graded-factuality", "moderation", "perplexity", "perplexity-score", "pi", "python", "regex",
	"rouge-n", "ruby", "similar", "starts-with", "webhook",
}

// textMethods are the assertions whose value is the text compared with
// (or judged against): the SABE method of each, and whether it compares
// case-sensitively, as promptfoo's does.
var textMethods = map[string]struct {
	method        string
	caseSensitive bool
}{
	"equals":                  {"exact_match", true},
	"contains":                {"contains", true},
	"icontains":               {"contains", false},
	"starts-with":             {"starts_with", true},
	"levenshtein":             {"similarity", true},
	"factuality":              {"llm_judge", false},
	"model-graded-factuality": {"llm_judge", false},
}

// assertNode reads one assertion of a YAML test; at is its field path
// (assert[2]).
func assertNode(n *yaml.Node, at string) (promptfooAssert, *fieldErr) {
	a := promptfooAssert{field: at}
	if n.Kind != yaml.MappingNode {
		return a, &fieldErr{at, "must be an assertion (a mapping with type and value)"}
	}
	for k, v := range pairs(n) {
		switch k.Value {
		case "type":
			a.typ = strings.TrimSpace(v.Value)
		case "value":
			a.value = v
		case "threshold":
			th, err := number(v)
			if err != nil {
				return a, &fieldErr{at + ".threshold", err.Error()}
			}
			a.threshold = &th
		case "weight":
			w, err := number(v)
			if err != nil {
				return a, &fieldErr{at + ".weight", err.Error()}
			}
			a.weight = &w
		case "transform", "rubricPrompt":
			a.unsupported = k.Value
		case "metric", "provider", "config":
			// A metric names the assertion in promptfoo's reports; the
			// grader provider is the benchmark's judge in SABE.
		default:
			return a, &fieldErr{at + "." + k.Value, fmt.Sprintf("unknown field of an assertion (known: %s)", strings.Join(promptfooAssertKeys, ", "))}
		}
	}
	if a.typ == "" {
		return a, &fieldErr{at + ".type", "is required"}
	}
	return a, nil
}

// promptfooScoring sets q's scoring from t's assertions: one assertion is
// the rule itself, several (or a test threshold) are weighted
// assertions. An assertion SABE cannot score fails the test, or with
// Options.SkipUnsupported is left out and listed in Result.Skipped.
func (p *parser) promptfooScoring(q *oapi.CreateQuestionRequest, t *promptfooTest) {
	var out []oapi.ScoringAssertion
	var expected string
	for _, a := range t.asserts {
		sa, ref, err := p.promptfooAssertion(a, t.vars)
		if err != nil {
			if err.unsupported && p.o.SkipUnsupported {
				p.skipped = append(p.skipped, LineError{Line: t.line, Field: err.field, Message: err.msg})
			} else {
				p.fail(t.line, err.field, "%s", err.msg)
			}
			continue
		}
		if expected == "" {
			expected = ref
		}
		out = append(out, sa)
	}
	q.ExpectedAnswer = expected
	switch {
	case len(out) == 0:
		// No rule of its own: the benchmark's default applies.
	case len(out) == 1 && t.threshold == nil:
		a := out[0]
		a.Weight = nil
		convertScoring(a, &q.Scoring)
		if q.Scoring.Value != nil && *q.Scoring.Value == q.ExpectedAnswer {
			q.Scoring.Value = nil
		}
	default:
		q.Scoring = oapi.Scoring{Assertions: &out, Threshold: t.threshold}
	}
}

// assertErr is why an assertion cannot be imported; unsupported ones may
// be skipped.
type assertErr struct {
	field, msg  string
	unsupported bool
}

func unsupported(field, format string, args ...any) *assertErr {
	return &assertErr{field: field, msg: fmt.Sprintf(format, args...), unsupported: true}
}

func invalid(field, format string, args ...any) *assertErr {
	return &assertErr{field: field, msg: fmt.Sprintf(format, args...)}
}

// promptfooAssertion maps one assertion to a SABE one, and returns the
// text that is the question's expected answer when it is the first (the
// value compared with, or the reference judged against).
func (p *parser) promptfooAssertion(a promptfooAssert, vars map[string]string) (oapi.ScoringAssertion, string, *assertErr) {
	var sa oapi.ScoringAssertion
	typ, negate := strings.CutPrefix(a.typ, "not-")
	if a.unsupported != "" {
		return sa, "", unsupported(a.at(a.unsupported), "assertion %q has a %s, which SABE cannot apply", a.typ, a.unsupported)
	}
	if a.weight != nil {
		switch w := *a.weight; {
		case w == 0:
			return sa, "", unsupported(a.at("weight"), "weight 0 (an assertion that does not count) cannot be scored by SABE")
		case !(w > 0) || math.IsInf(w, 0):
			return sa, "", invalid(a.at("weight"), "must be a number greater than 0")
		}
		sa.Weight = a.weight
	}
	if negate {
		sa.Negate = new(true)
	}
	yes := true
	method := func(m string) { sa.Method = new(oapi.ScoringMethod(m)) }
	valueField := a.at("value")
	var ref string
	switch typ {
	case "equals", "contains", "icontains", "starts-with", "levenshtein", "factuality", "model-graded-factuality":
		v, err := a.textValue(vars, valueField)
		if err != nil {
			return sa, "", err
		}
		sa.Value, ref = &v, v
		m := textMethods[typ]
		method(m.method)
		if m.caseSensitive {
			sa.CaseSensitive = &yes
		}
		switch m.method {
		case "similarity":
			d := DefaultLevenshteinDistance
			if a.threshold != nil {
				if *a.threshold < 0 {
					return sa, "", invalid(a.at("threshold"), "must be a distance of at least 0")
				}
				d = int(math.Floor(*a.threshold))
			}
			sa.MaxDistance = &d
		case "llm_judge":
			sa.Template = new(oapi.ScoringAssertionTemplate("factuality"))
		}
	case "contains-any", "contains-all", "icontains-any", "icontains-all":
		values, err := a.listValue(vars, valueField)
		if err != nil {
			return sa, "", err
		}
		sa.Values = &values
		method(strings.ReplaceAll(strings.TrimPrefix(typ, "i"), "-", "_"))
		if !strings.HasPrefix(typ, "i") {
			sa.CaseSensitive = &yes
		}
	case "regex":
		v, err := a.textValue(vars, valueField)
		if err != nil {
			return sa, "", err
		}
		method("regex")
		sa.Pattern = &v
	case "is-json":
		schema, err := a.schemaValue()
		if err != nil {
			return sa, "", err
		}
		if schema == nil {
			method("json_valid")
		} else {
			method("json_schema")
			sa.Schema = &schema
		}
	case "llm-rubric", "model-graded-closedqa":
		// promptfoo's closedqa asks whether the output meets a
		// criterion (no reference answer), which is SABE's rubric
		// template; SABE's closed_qa compares with a reference instead.
		v, err := a.textValue(vars, valueField)
		if err != nil {
			return sa, "", err
		}
		method("llm_judge")
		sa.Rubric = &v
		if typ == "llm-rubric" && a.threshold != nil {
			if !(*a.threshold > 0 && *a.threshold <= 1) {
				return sa, "", invalid(a.at("threshold"), "must be greater than 0 and at most 1")
			}
			sa.Threshold = a.threshold
			sa.Verdict = &oapi.JudgeVerdict{Kind: new(oapi.JudgeVerdictKind("score")), Min: new(0), Max: new(judgeScoreMax)}
		}
	default:
		return sa, "", unsupported(a.at("type"), "assertion type %q cannot be scored by SABE", a.typ)
	}
	return sa, ref, nil
}

// at is the path of the assertion's field name: in YAML, assert[2].name;
// in CSV, the cell's column, which holds the whole assertion.
func (a promptfooAssert) at(name string) string {
	if a.cell {
		return a.field
	}
	return a.field + "." + name
}

// textValue is the assertion's value as text, with {{var}} rendered
// from the test's vars as promptfoo renders it.
func (a promptfooAssert) textValue(vars map[string]string, field string) (string, *assertErr) {
	var s string
	switch {
	case a.text != nil:
		s = *a.text
	case a.value == nil:
		return "", invalid(field, "is required for assertion type %s", a.typ)
	default:
		v := deref(a.value)
		if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
			if a.typ == "equals" || a.typ == "not-equals" {
				return "", unsupported(field, "equals with a structured value (JSON equality) cannot be scored by SABE")
			}
			return "", invalid(field, "must be text")
		}
		s = v.Value
	}
	return renderValue(s, vars, field)
}

// renderValue renders an assertion's text with the test's vars; the
// result must not be blank.
func renderValue(s string, vars map[string]string, field string) (string, *assertErr) {
	out, missing := render(s, vars)
	if len(missing) > 0 {
		return "", invalid(field, "uses {{%s}}, which the test's vars do not give", missing[0])
	}
	if strings.TrimSpace(out) == "" {
		return "", invalid(field, "must not be empty")
	}
	return out, nil
}

// listValue is the values of contains-any and its kind: a list, or a
// comma-separated string (as promptfoo splits it).
func (a promptfooAssert) listValue(vars map[string]string, field string) ([]string, *assertErr) {
	var raw []string
	switch {
	case a.list != nil:
		raw = a.list
	case a.value == nil:
		return nil, invalid(field, "is required for assertion type %s", a.typ)
	default:
		v := deref(a.value)
		switch v.Kind {
		case yaml.SequenceNode:
			for i, e := range v.Content {
				e = deref(e)
				if e.Kind != yaml.ScalarNode {
					return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "must be text")
				}
				raw = append(raw, e.Value)
			}
		case yaml.ScalarNode:
			raw = splitComma(v.Value)
		default:
			return nil, invalid(field, "must be a list of strings")
		}
	}
	out := make([]string, 0, len(raw))
	for i, s := range raw {
		r, err := renderValue(s, vars, fmt.Sprintf("%s[%d]", field, i))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, invalid(field, "must list at least one string")
	}
	return out, nil
}

// schemaValue is is-json's optional JSON Schema: a mapping, or text
// holding one in JSON or YAML.
func (a promptfooAssert) schemaValue() (map[string]any, *assertErr) {
	field := a.at("value")
	var v any
	switch {
	case a.text != nil:
		if strings.TrimSpace(*a.text) == "" {
			return nil, nil
		}
		if err := yaml.Unmarshal([]byte(*a.text), &v); err != nil {
			return nil, invalid(field, "must be a JSON Schema: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
	case a.value == nil:
		return nil, nil
	default:
		n := deref(a.value)
		if n.Kind == yaml.ScalarNode {
			if strings.HasPrefix(n.Value, "file://") {
				return nil, unsupported(field, "a file:// schema is not imported: put the schema in the file")
			}
			if err := yaml.Unmarshal([]byte(n.Value), &v); err != nil {
				return nil, invalid(field, "must be a JSON Schema: %s", strings.TrimPrefix(err.Error(), "yaml: "))
			}
		} else if err := n.Decode(&v); err != nil {
			return nil, invalid(field, "must be a JSON Schema")
		}
	}
	schema, ok := jsonSafe(v).(map[string]any)
	if !ok {
		return nil, invalid(field, "must be a JSON Schema (a mapping)")
	}
	return schema, nil
}

// splitComma splits a comma-separated list, trimming each part.
func splitComma(s string) []string {
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return slices.DeleteFunc(parts, func(p string) bool { return p == "" })
}

// convertScoring copies an assertion into a rule: the two have one JSON
// shape but for the weight.
func convertScoring(a oapi.ScoringAssertion, to *oapi.Scoring) {
	b, err := json.Marshal(a)
	if err == nil {
		err = json.Unmarshal(b, to)
	}
	if err != nil {
		panic(errors.Join(errors.New("importer: convert an assertion to a rule"), err))
	}
}

package scoring_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/scoring"
)

// reasoning is a chain-of-thought answer of the length models typically
// give to a short question (about 700 bytes): scorers that scan the whole
// response (contains, regex, numeric) pay for every byte of it.
const reasoning = `Let me work through this step by step.

First, I need to multiply 17 by 23. Breaking it down:
- 17 × 20 = 340
- 17 × 3 = 51
- 340 + 51 = 391

To double-check, 23 × 17 = 23 × 10 + 23 × 7 = 230 + 161 = 391. Both ways agree.

The question also asks where the result would be written on the board in
the classroom in Paris, which is on the left side, next to the date
(2024-03-15) and the page number (p. 42). None of that changes the product.

A quick sanity check with rounding: 17 is close to 20 and 23 is close to 20,
so the product should be a bit under 400, and 391 fits that estimate well.

So the final result of the calculation is:

**The answer is 391.**`

// scoreBench is one realistic (rule, expected answer, response) a worker
// grades.
type scoreBench struct {
	name     string
	rule     scoring.Rule
	expected string
	response string
	pass     bool
	// q, when set, replaces expected (multiple_choice needs choices).
	q *scoring.QuestionRef
}

var scoreBenches = []scoreBench{
	{name: "exact_match", rule: scoring.Rule{Method: scoring.MethodExactMatch}, expected: "Paris", response: " paris\n", pass: true},
	{name: "exact_match/miss", rule: scoring.Rule{Method: scoring.MethodExactMatch}, expected: "Paris", response: "The capital of France is Paris.", pass: false},
	{name: "exact_match/case_sensitive", rule: scoring.Rule{Method: scoring.MethodExactMatch, CaseSensitive: new(true)}, expected: "Paris", response: "Paris", pass: true},
	{name: "contains", rule: scoring.Rule{Method: scoring.MethodContains}, expected: "the answer is 391", response: reasoning, pass: true},
	{name: "contains/miss", rule: scoring.Rule{Method: scoring.MethodContains}, expected: "the answer is 392", response: reasoning, pass: false},
	{name: "contains/case_sensitive", rule: scoring.Rule{Method: scoring.MethodContains, CaseSensitive: new(true)}, expected: "The answer is 391", response: reasoning, pass: true},
	{name: "regex", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `answer is\W*391\b`}, response: reasoning, pass: true},
	{name: "regex/miss", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `answer is\W*392\b`}, response: reasoning, pass: false},
	{name: "regex/case_sensitive", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `answer is\W*391\b`, CaseSensitive: new(true)}, response: reasoning, pass: true},
	{name: "numeric", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "391", response: reasoning, pass: true},
	{name: "numeric/short", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "391", response: "The answer is 391.", pass: true},
	{name: "numeric/tolerance", rule: scoring.Rule{Method: scoring.MethodNumeric, Tolerance: new(0.01)}, expected: "3.14159", response: "π is approximately 3.1416, so about 3.142.", pass: true},
	{name: "starts_with", rule: scoring.Rule{Method: scoring.MethodStartsWith}, expected: "let me work", response: reasoning, pass: true},
	{name: "contains_any", rule: scoring.Rule{Method: scoring.MethodContainsAny, Values: []string{"answer is 392", "answer is 391"}}, response: reasoning, pass: true},
	{name: "contains_all", rule: scoring.Rule{Method: scoring.MethodContainsAll, Values: []string{"17 × 20", "paris", "answer is 391"}}, response: reasoning, pass: true},
	{name: "json_valid", rule: scoring.Rule{Method: scoring.MethodJSONValid}, response: jsonAnswer, pass: true},
	{name: "json_schema", rule: scoring.Rule{Method: scoring.MethodJSONSchema, Schema: json.RawMessage(jsonAnswerSchema)}, response: jsonAnswer, pass: true},
	{name: "similarity", rule: scoring.Rule{Method: scoring.MethodSimilarity}, expected: "The capital of France is Paris.", response: "The capital of France is Paris", pass: true},
	{name: "similarity/long", rule: scoring.Rule{Method: scoring.MethodSimilarity, Threshold: new(0.05)}, expected: "The answer is 391 because 17 × 23 = 391.", response: reasoning, pass: true},
	{name: "multiple_choice", rule: scoring.Rule{Method: scoring.MethodMultipleChoice}, q: &scoring.QuestionRef{Expected: "C", Choices: []string{"381", "389", "391", "401"}}, response: reasoning + "\n\nAnswer: C", pass: true},
	{name: "extract", rule: scoring.Rule{Method: scoring.MethodExactMatch, Extract: `\*\*(.*)\*\*`}, expected: "the answer is 391.", response: reasoning, pass: true},
	{name: "assertions", rule: scoring.Rule{Assertions: []scoring.Assertion{
		{Rule: scoring.Rule{Method: scoring.MethodNumeric}, Weight: new(2.0)},
		{Rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `(?i)as an ai`, Negate: true}},
		{Rule: scoring.Rule{Method: scoring.MethodContainsAll, Values: []string{"17", "23"}}},
	}}, expected: "391", response: reasoning, pass: true},
}

// jsonAnswer is a structured answer of the size a JSON-output question
// gets, and jsonAnswerSchema a schema it satisfies.
const (
	jsonAnswer       = "```json\n{\"product\": 391, \"factors\": [17, 23], \"steps\": [\"17 × 20 = 340\", \"17 × 3 = 51\", \"340 + 51 = 391\"], \"confident\": true}\n```"
	jsonAnswerSchema = `{"type":"object","required":["product","factors"],"additionalProperties":false,
		"properties":{"product":{"type":"integer"},"factors":{"type":"array","items":{"type":"integer"},"minItems":2},
		"steps":{"type":"array","items":{"type":"string"}},"confident":{"type":"boolean"}}}`
)

// ref is the question a bench case is graded against.
func (bc scoreBench) ref() scoring.QuestionRef {
	if bc.q != nil {
		return *bc.q
	}
	return scoring.QuestionRef{Expected: bc.expected}
}

// BenchmarkScorer_ScoreCases grades one response per iteration, as a
// worker does for every unit it records. BenchmarkScorer_Score (in
// scoring_test.go) times each method's passing path on one answer; these
// add the misses, whose details quote more text, short answers and the
// case-sensitive variants, on a chain-of-thought answer.
func BenchmarkScorer_ScoreCases(b *testing.B) {
	for _, bc := range scoreBenches {
		b.Run(bc.name, func(b *testing.B) {
			s, err := scoring.Compile(bc.rule, bc.ref())
			if err != nil {
				b.Fatal(err)
			}
			// A benchmark of the wrong branch would measure nothing useful.
			if got := s.Score(bc.response); got.Passed != bc.pass {
				b.Fatalf("Score(%q).Passed = %v, want %v (%s)", bc.response, got.Passed, bc.pass, got.Detail)
			}
			b.SetBytes(int64(len(bc.response)))
			b.ReportAllocs()
			for b.Loop() {
				s.Score(bc.response)
			}
		})
	}
}

// BenchmarkScorer_ScoreLong grades a 16 KiB response (a model that rambles
// up to a large max_tokens), to show how each scan scales with length.
func BenchmarkScorer_ScoreLong(b *testing.B) {
	long := strings.Repeat(reasoning+"\n\n", 16384/len(reasoning))
	for _, bc := range scoreBenches {
		if bc.response != reasoning || strings.Contains(bc.name, "/") {
			continue
		}
		b.Run(bc.name, func(b *testing.B) {
			s, err := scoring.Compile(bc.rule, bc.ref())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(long)))
			b.ReportAllocs()
			for b.Loop() {
				s.Score(long)
			}
		})
	}
}

// BenchmarkCompile prepares one question's scorer, which a worker does
// once per question of every run it loads.
func BenchmarkCompile(b *testing.B) {
	for _, bc := range scoreBenches {
		if strings.Contains(bc.name, "/") {
			continue
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := scoring.Compile(bc.rule, bc.ref()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

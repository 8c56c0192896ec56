package importer_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/importer"
)

func TestParse_PromptfooYAML(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		// The file's one prompt is the template when the suite has none.
		res := parse(t, importer.FormatPromptfoo, "promptfoo.yaml", importer.Options{})
		wantRecords(t, res, []lineJSON{
			{12, `{"expected_answer":"paris","metadata":{"description":"capital of France","suite":"smoke"},"prompt":"Answer briefly: What is the capital of France?","scoring":{"method":"contains"}}`},
			{18, `{"expected_answer":"4","metadata":{"suite":"smoke"},"prompt":"Answer briefly: What is 2 + 2?","scoring":{"assertions":[{"case_sensitive":true,"method":"exact_match","value":"4","weight":2},{"case_sensitive":true,"method":"contains","negate":true,"value":"five"},{"case_sensitive":true,"max_distance":1,"method":"similarity","value":"4"}]}}`},
			{29, `{"expected_answer":"","metadata":{"suite":"smoke","topic":"landmarks"},"prompt":"Answer briefly: Describe the Eiffel Tower in one sentence.","scoring":{"assertions":[{"method":"llm_judge","rubric":"Mentions Paris and that it is made of iron","threshold":0.7,"verdict":{"kind":"score","max":10,"min":0}},{"case_sensitive":true,"method":"contains_any","values":["iron","steel"]}],"threshold":0.5}}`},
			{40, `{"expected_answer":"","metadata":{"suite":"smoke"},"prompt":"Answer briefly: Give the capital of Japan as JSON: {\"city\": ...}","scoring":{"assertions":[{"method":"json_schema","schema":{"required":["city"],"type":"object"}},{"method":"regex","pattern":"(?i)tokyo"}]}}`},
		})
	})
	t.Run("OKSuiteTemplateWins", func(t *testing.T) {
		t.Parallel()
		res := parse(t, importer.FormatPromptfoo, "promptfoo.yaml", importer.Options{PromptTemplate: "Q: {{question}}"})
		if got := res.Records[0].Question.Prompt; got != "Q: What is the capital of France?" {
			t.Errorf("prompt %q, want the suite's template rendered", got)
		}
	})
	t.Run("OKListOfTests", func(t *testing.T) {
		t.Parallel()
		body := `
- vars: {prompt: "Say hi"}
  assert:
    - {type: starts-with, value: Hi}
- vars: {prompt: "Name a colour"}
  assert:
    - {type: not-icontains-any, value: "black, white"}
    - {type: factuality, value: "Red is a colour"}
    - {type: model-graded-closedqa, value: "Names one colour"}
    - {type: is-json}
    - {type: levenshtein, value: red}
`
		res, err := importer.Parse(importer.FormatPromptfoo, []byte(body), importer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		wantRecords(t, res, []lineJSON{
			{2, `{"expected_answer":"Hi","prompt":"Say hi","scoring":{"case_sensitive":true,"method":"starts_with"}}`},
			{5, `{"expected_answer":"Red is a colour","prompt":"Name a colour","scoring":{"assertions":[{"method":"contains_any","negate":true,"values":["black","white"]},{"method":"llm_judge","template":"factuality","value":"Red is a colour"},{"method":"llm_judge","rubric":"Names one colour"},{"method":"json_valid"},{"case_sensitive":true,"max_distance":5,"method":"similarity","value":"red"}]}}`},
		})
	})
	t.Run("OKJSONAndQuotedKeys", func(t *testing.T) {
		t.Parallel()
		for _, body := range []string{
			`[{"vars": {"prompt": "Say hi"}, "assert": [{"type": "icontains", "value": "hi"}]}]`,
			"\"tests\":\n  - vars: {prompt: Say hi}\n    assert: [{type: icontains, value: hi}]\n",
		} {
			res, err := importer.Parse(importer.FormatPromptfoo, []byte(body), importer.Options{})
			if err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			wantRecords(t, res, []lineJSON{{1 + strings.Count(body[:strings.Index(body, "vars")], "\n"), `{"expected_answer":"hi","prompt":"Say hi","scoring":{"method":"contains"}}`}})
		}
	})
	t.Run("OKValueTemplate", func(t *testing.T) {
		t.Parallel()
		// promptfoo renders assertion values with the test's vars.
		body := "- vars: {city: Paris}\n  assert:\n    - {type: icontains, value: '{{ city }}'}\n"
		res, err := importer.Parse(importer.FormatPromptfoo, []byte(body), importer.Options{PromptTemplate: "Capital with {{city}}?"})
		if err != nil {
			t.Fatal(err)
		}
		wantRecords(t, res, []lineJSON{{1, `{"expected_answer":"Paris","prompt":"Capital with Paris?","scoring":{"method":"contains"}}`}})
	})
	// The javascript assertion is unsupported; the other problems are
	// mistakes, which skipping does not excuse.
	unsupported := lineErr(7, "assert[1].type", `assertion type "javascript" cannot be scored by SABE`)
	mistakes := []importer.LineError{
		lineErr(14, "vars.question", "is used by the suite's prompt_template ({{question}}) but not given"),
		lineErr(14, "assert[0].value", "is required for assertion type contains"),
		lineErr(18, "vars.question", "a list makes promptfoo run the test once per value; SABE imports one question per test: write one test per value"),
		lineErr(18, "asserts", "unknown field of a test case (known: description, vars, assert, options, threshold, metadata, provider, providers, prompts, providerOutput, assertScoringFunction)"),
	}
	for _, skip := range []bool{false, true} {
		want := mistakes
		if !skip {
			want = append([]importer.LineError{unsupported}, mistakes...)
		}
		_, err := importer.Parse(importer.FormatPromptfoo, example(t, "broken-promptfoo.yaml"), importer.Options{PromptTemplate: "Q: {{question}}", SkipUnsupported: skip})
		wantLineErrors(t, err, want)
	}
	t.Run("ErrNoPrompt", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatPromptfoo, []byte("- vars: {question: hi}\n"), importer.Options{})
		wantLineErrors(t, err, []importer.LineError{
			lineErr(1, "vars.prompt", "is empty, and the suite has no prompt_template to render the variables into"),
		})
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatPromptfoo, []byte("tests:\n  - vars:\n      a: b\n      c: d: e\n"), importer.Options{})
		wantLineErrors(t, err, []importer.LineError{lineErr(4, "", "malformed YAML: mapping values are not allowed in this context")})
	})
}

func TestParse_PromptfooCSV(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		res := parse(t, importer.FormatPromptfoo, "promptfoo.csv", importer.Options{PromptTemplate: "Answer briefly: {{question}}"})
		wantRecords(t, res, []lineJSON{
			{2, `{"expected_answer":"paris","metadata":{"description":"capital of France","topic":"geography"},"prompt":"Answer briefly: What is the capital of France?","scoring":{"method":"contains"}}`},
			{3, `{"expected_answer":"4","metadata":{"topic":"arithmetic"},"prompt":"Answer briefly: What is 2 + 2?","scoring":{"assertions":[{"case_sensitive":true,"method":"exact_match","value":"4"},{"case_sensitive":true,"method":"contains","negate":true,"value":"five"}]}}`},
			{4, `{"expected_answer":"","prompt":"Answer briefly: Name two primary colours.","scoring":{"assertions":[{"case_sensitive":true,"method":"contains_any","values":["red","blue","yellow"]},{"method":"llm_judge","rubric":"Names two primary colours"}],"threshold":0.5}}`},
		})
	})
	t.Run("ErrBroken", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatPromptfoo, example(t, "broken-promptfoo.csv"), importer.Options{PromptTemplate: "Q: {{question}}"})
		wantLineErrors(t, err, []importer.LineError{
			lineErr(3, "__expected2", `assertion type "javascript" cannot be scored by SABE`),
			lineErr(4, "__expected", `assertion type "similar" cannot be scored by SABE`),
		})
	})
	t.Run("OKSkipUnsupported", func(t *testing.T) {
		t.Parallel()
		res := parse(t, importer.FormatPromptfoo, "broken-promptfoo.csv", importer.Options{PromptTemplate: "Q: {{question}}", SkipUnsupported: true})
		wantRecords(t, res, []lineJSON{
			{2, `{"expected_answer":"4","prompt":"Q: What is 2 + 2?","scoring":{"case_sensitive":true,"method":"exact_match"}}`},
			{3, `{"expected_answer":"please","prompt":"Q: Is this polite?","scoring":{"case_sensitive":true,"method":"contains"}}`},
			{4, `{"expected_answer":"","prompt":"Q: Say hi","scoring":{}}`},
		})
		want := []importer.LineError{
			lineErr(3, "__expected2", `assertion type "javascript" cannot be scored by SABE`),
			lineErr(4, "__expected", `assertion type "similar" cannot be scored by SABE`),
		}
		if !reflect.DeepEqual(res.Skipped, want) {
			t.Errorf("Skipped = %v, want %v", res.Skipped, want)
		}
	})
}

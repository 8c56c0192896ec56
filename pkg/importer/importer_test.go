package importer_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/importer"
	"github.com/sabe-dev/sabe/pkg/store"
)

// example reads a file of testdata/import at the top of the repository.
func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "import", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parse parses an example file and fails the test on an error.
func parse(t *testing.T, f importer.Format, name string, o importer.Options) importer.Result {
	t.Helper()
	res, err := importer.Parse(f, example(t, name), o)
	if err != nil {
		t.Fatalf("Parse(%s, %s): %v", f, name, err)
	}
	return res
}

// asJSON renders v as compact JSON, for comparing records with what a
// line should become.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantRecords compares each record's line and question (as JSON) with
// want, a line number → JSON map.
func wantRecords(t *testing.T, res importer.Result, want []lineJSON) {
	t.Helper()
	if len(res.Records) != len(want) {
		for _, r := range res.Records {
			t.Logf("line %d: %s", r.Line, asJSON(t, r.Question))
		}
		t.Fatalf("got %d records, want %d", len(res.Records), len(want))
	}
	for i, w := range want {
		r := res.Records[i]
		if r.Line != w.line {
			t.Errorf("record %d: line %d, want %d", i, r.Line, w.line)
		}
		var got, exp any
		if err := json.Unmarshal([]byte(asJSON(t, r.Question)), &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(w.json), &exp); err != nil {
			t.Fatalf("want %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("line %d:\n got %s\nwant %s", r.Line, asJSON(t, got), asJSON(t, exp))
		}
	}
}

// examples are the example files of every format, with the suite
// prompt template each needs.
var examples = []struct {
	file string
	f    importer.Format
	tmpl string
}{
	{"sabe.jsonl", importer.FormatSabe, ""},
	{"openai-evals.jsonl", importer.FormatOpenAIEvals, ""},
	{"inspect.jsonl", importer.FormatInspect, ""},
	{"inspect.csv", importer.FormatInspect, ""},
	{"promptfoo.yaml", importer.FormatPromptfoo, ""},
	{"promptfoo.csv", importer.FormatPromptfoo, "Answer briefly: {{question}}"},
	{"questions.csv", importer.FormatCSV, ""},
	{"questions-template.csv", importer.FormatCSV, "What is the capital of {{country}}?"},
}

type lineJSON struct {
	line int
	json string
}

// wantLineErrors checks that err is an *importer.Error listing exactly
// want, in order.
func wantLineErrors(t *testing.T, err error, want []importer.LineError) {
	t.Helper()
	var ie *importer.Error
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T), want *importer.Error", err, err)
	}
	got := make([]string, len(ie.Lines))
	for i, le := range ie.Lines {
		got[i] = le.String()
	}
	exp := make([]string, len(want))
	for i, le := range want {
		exp[i] = le.String()
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("line errors:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(exp, "\n     "))
	}
}

// lineErr is a LineError whose message must contain msg (the test
// compares the whole message, so it is the whole message).
func lineErr(line int, field, msg string) importer.LineError {
	return importer.LineError{Line: line, Field: field, Message: msg}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for _, f := range importer.Formats {
		got, err := importer.ParseFormat(string(f))
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	_, err := importer.ParseFormat("jsonl")
	if err == nil || !strings.Contains(err.Error(), "sabe, openai-evals, inspect, promptfoo, csv") {
		t.Errorf("ParseFormat(jsonl) error %v, want one listing the formats", err)
	}
}

func TestError_Error(t *testing.T) {
	t.Parallel()
	e := &importer.Error{Lines: []importer.LineError{lineErr(3, "scoring.pattern", "bad"), lineErr(5, "", "worse"), lineErr(7, "x", "y")}}
	if got, want := e.Error(), "line 3: scoring.pattern: bad (and 2 more bad lines)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParse_Empty(t *testing.T) {
	t.Parallel()
	for _, f := range importer.Formats {
		_, err := importer.Parse(f, []byte("\n\n"), importer.Options{})
		var ie *importer.Error
		if !errors.As(err, &ie) || len(ie.Lines) != 1 || ie.Lines[0].Line != 1 {
			t.Errorf("%s: Parse(blank) error %v, want one line error on line 1", f, err)
		}
	}
}

func TestParse_BadTemplate(t *testing.T) {
	t.Parallel()
	_, err := importer.Parse(importer.FormatCSV, example(t, "questions-template.csv"), importer.Options{PromptTemplate: "{{ country | upper }}"})
	var ie *importer.Error
	if err == nil || errors.As(err, &ie) || !strings.Contains(err.Error(), "prompt_template") {
		t.Errorf("error %v, want one about the prompt_template", err)
	}
	if err := importer.CheckTemplate("Hello {{ name }} and {{other_1}}"); err != nil {
		t.Errorf("CheckTemplate: %v", err)
	}
}

func TestMaxQuestions(t *testing.T) {
	t.Parallel()
	if importer.MaxQuestions != store.MaxImportQuestions {
		t.Errorf("MaxQuestions %d, the store's MaxImportQuestions %d", importer.MaxQuestions, store.MaxImportQuestions)
	}
}

func TestParse_TooMany(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f          importer.Format
		head, item string
	}{
		{importer.FormatSabe, "", `{"prompt": "q", "expected_answer": "a"}` + "\n"},
		{importer.FormatOpenAIEvals, "", `{"input": "q", "ideal": "a"}` + "\n"},
		{importer.FormatInspect, "", `{"input": "q", "target": "a"}` + "\n"},
		{importer.FormatInspect, "input,target\n", "q,a\n"},
		{importer.FormatPromptfoo, "", "- vars: {prompt: q}\n"},
		{importer.FormatPromptfoo, "prompt,__expected\n", "q,a\n"},
		{importer.FormatCSV, "prompt,expected_answer\n", "q,a\n"},
	} {
		over := tc.head + strings.Repeat(tc.item, importer.MaxQuestions+1)
		if _, err := importer.Parse(tc.f, []byte(over), importer.Options{}); !errors.Is(err, importer.ErrTooMany) {
			t.Errorf("%s %q: Parse(%d items) error %v, want ErrTooMany", tc.f, tc.head, importer.MaxQuestions+1, err)
		}
		limit := tc.head + strings.Repeat(tc.item, importer.MaxQuestions)
		if res, err := importer.Parse(tc.f, []byte(limit), importer.Options{}); err != nil || len(res.Records) != importer.MaxQuestions {
			t.Errorf("%s %q: Parse(%d items) = %d records, %v", tc.f, tc.head, importer.MaxQuestions, len(res.Records), err)
		}
	}
}

package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// importFile reads a file of testdata/import at the top of the repository.
func importFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "import", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// templatedSuite creates a suite with a prompt template ("" for none).
func (b *bundle) templatedSuite(t *testing.T, tmpl string) oapi.Suite {
	t.Helper()
	return call[oapi.Suite](t, b, "POST", "/v1/suites", mustJSON(t, map[string]any{"name": t.Name(), "prompt_template": tmpl}), http.StatusCreated)
}

// importPath is the import endpoint of a suite with a query.
func importPath(su oapi.Suite, query string) string {
	return "/v1/suites/" + su.Id.String() + "/questions:import?" + query
}

// importErrors decodes a 422 import refusal into "line N: field" strings.
func importErrors(t *testing.T, resp response) []string {
	t.Helper()
	if resp.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", resp.status, resp.body)
	}
	var ie oapi.ImportError
	if err := json.Unmarshal(resp.body, &ie); err != nil {
		t.Fatalf("decode %s: %v", resp.body, err)
	}
	out := make([]string, len(ie.Errors))
	for i, e := range ie.Errors {
		out[i] = fmt.Sprintf("line %d: %s", e.Line, derefStr(e.Field))
		if e.Message == "" {
			t.Errorf("line %d has no message", e.Line)
		}
	}
	return out
}

func derefStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// questionCount reads a suite's number of active questions.
func (b *bundle) questionCount(t *testing.T, su oapi.Suite) int {
	t.Helper()
	return call[oapi.Suite](t, b, "GET", "/v1/suites/"+su.Id.String(), "", http.StatusOK).QuestionCount
}

// TestServer_ImportFormats imports the example file of every format
// through the API, as text/plain, and checks what each became.
func TestServer_ImportFormats(t *testing.T) {
	t.Parallel()
	b := setup(t)
	text := header("Content-Type", "text/plain")
	for _, tc := range []struct {
		file, format, tmpl string
		lines              []int
		check              func(t *testing.T, items []oapi.Question)
	}{
		{file: "sabe.jsonl", lines: []int{1, 2, 4}},
		{file: "openai-evals.jsonl", format: "openai-evals", lines: []int{1, 2, 3}, check: func(t *testing.T, items []oapi.Question) {
			if items[1].Messages == nil || items[1].Scoring.Method != "regex" || items[2].Metadata["source"] != "unit-conversion" {
				t.Errorf("openai-evals: %+v", items)
			}
		}},
		{file: "inspect.jsonl", format: "inspect", lines: []int{1, 2, 3}, check: func(t *testing.T, items []oapi.Question) {
			if derefStr(items[0].Key) != "capital-fr" || items[0].Metadata["difficulty"] != "easy" || items[2].Choices == nil {
				t.Errorf("inspect: %+v", items)
			}
		}},
		{file: "inspect.csv", format: "inspect", lines: []int{2, 3}},
		{file: "promptfoo.yaml", format: "promptfoo", lines: []int{12, 18, 29, 40}, check: func(t *testing.T, items []oapi.Question) {
			if items[0].Prompt != "Answer briefly: What is the capital of France?" || items[0].Metadata["description"] != "capital of France" ||
				items[1].Scoring.Assertions == nil || len(*items[1].Scoring.Assertions) != 3 {
				t.Errorf("promptfoo: %+v", items)
			}
		}},
		{file: "promptfoo.csv", format: "promptfoo", tmpl: "Answer briefly: {{question}}", lines: []int{2, 3, 4}},
		{file: "questions.csv", format: "csv", lines: []int{2, 3, 4}},
		{file: "questions-template.csv", format: "csv", tmpl: "What is the capital of {{country}}?", lines: []int{2, 3}, check: func(t *testing.T, items []oapi.Question) {
			if items[1].Prompt != "What is the capital of Italy?" || derefStr(items[1].Key) != "capital-it" {
				t.Errorf("csv with a template: %+v", items[1])
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			su := b.templatedSuite(t, tc.tmpl)
			query := ""
			if tc.format != "" {
				query = "format=" + tc.format
			}
			res := call[oapi.ImportQuestionsResult](t, b, "POST", importPath(su, query), importFile(t, tc.file), http.StatusCreated, text)
			if res.Imported != len(tc.lines) || len(res.Items) != len(tc.lines) || res.Skipped == nil || len(res.Skipped) != 0 {
				t.Fatalf("imported %d, %d items, skipped %v; want %d", res.Imported, len(res.Items), res.Skipped, len(tc.lines))
			}
			if n := b.questionCount(t, su); n != len(tc.lines) {
				t.Errorf("the suite has %d questions, want %d", n, len(tc.lines))
			}
			if tc.check != nil {
				tc.check(t, res.Items)
			}
		})
	}
}

// TestServer_ImportRefusals covers imports refused as a whole: every bad
// line listed with its field, and nothing written.
func TestServer_ImportRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	text := header("Content-Type", "text/plain")
	ndjson := header("Content-Type", "application/x-ndjson")

	t.Run("BrokenFiles", func(t *testing.T) {
		for _, tc := range []struct {
			file, format, tmpl string
			want               []string
		}{
			{"broken-sabe.jsonl", "sabe", "", []string{"line 2: expected_anwser", "line 3: prompt", "line 4: "}},
			{"broken-openai-evals.jsonl", "openai-evals", "", nil},
			{"broken-inspect.jsonl", "inspect", "", nil},
			{"broken-inspect.csv", "inspect", "", nil},
			{"broken-promptfoo.yaml", "promptfoo", "Q: {{question}}", nil},
			{"broken-promptfoo.csv", "promptfoo", "Q: {{question}}", []string{"line 3: __expected2", "line 4: __expected"}},
			{"broken-questions.csv", "csv", "", nil},
		} {
			t.Run(tc.file, func(t *testing.T) {
				su := b.templatedSuite(t, tc.tmpl)
				got := importErrors(t, b.do(t, "POST", importPath(su, "format="+tc.format), importFile(t, tc.file), text))
				if len(got) < 2 {
					t.Errorf("a file with several bad lines lists %v", got)
				}
				if tc.want != nil && strings.Join(got, "|") != strings.Join(tc.want, "|") {
					t.Errorf("errors %v, want %v", got, tc.want)
				}
				if n := b.questionCount(t, su); n != 0 {
					t.Errorf("a refused import wrote %d questions", n)
				}
			})
		}
	})

	t.Run("SkipUnsupported", func(t *testing.T) {
		su := b.templatedSuite(t, "Q: {{question}}")
		res := call[oapi.ImportQuestionsResult](t, b, "POST", importPath(su, "format=promptfoo&skip_unsupported=true"), importFile(t, "broken-promptfoo.csv"), http.StatusCreated, text)
		if res.Imported != 3 || len(res.Skipped) != 2 || res.Skipped[0].Line != 3 || derefStr(res.Skipped[0].Field) != "__expected2" ||
			!strings.Contains(res.Skipped[0].Message, "javascript") || res.Skipped[1].Line != 4 {
			t.Errorf("imported %d, skipped %+v", res.Imported, res.Skipped)
		}
	})

	t.Run("MappedQuestionsAreChecked", func(t *testing.T) {
		// The importer maps the rows; the server's own checks (here the
		// category's length and a regex that does not compile) refuse
		// them on their lines.
		su := b.templatedSuite(t, "")
		body := "prompt,expected,category,method\n" +
			"fine,4,math,numeric\n" +
			"too long a category,4," + strings.Repeat("c", 201) + ",numeric\n\n" +
			"bad regex,(,math,regex\n"
		got := importErrors(t, b.do(t, "POST", importPath(su, "format=csv"), body, text))
		if len(got) != 2 || got[0] != "line 3: category" || !strings.HasPrefix(got[1], "line 5: ") {
			t.Errorf("errors %v", got)
		}
		if n := b.questionCount(t, su); n != 0 {
			t.Errorf("a refused import wrote %d questions", n)
		}
	})

	t.Run("OneAnswerListsEveryProblem", func(t *testing.T) {
		// A row the importer cannot map (an unknown method) and a row it
		// maps but the server refuses (a regex that does not compile)
		// are refused together, in the file's order.
		su := b.templatedSuite(t, "")
		body := "prompt,expected,method\n" +
			"bad regex,(,regex\n" +
			"fine,4,numeric\n" +
			"unknown,4,telepathy\n"
		got := importErrors(t, b.do(t, "POST", importPath(su, "format=csv"), body, text))
		if len(got) != 2 || !strings.HasPrefix(got[0], "line 2: ") || !strings.HasPrefix(got[1], "line 4: method") {
			t.Errorf("errors %v, want line 2's regex and line 4's method", got)
		}
		if n := b.questionCount(t, su); n != 0 {
			t.Errorf("a refused import wrote %d questions", n)
		}
	})

	t.Run("DuplicateKeys", func(t *testing.T) {
		su := b.templatedSuite(t, "")
		call[oapi.Question](t, b, "POST", "/v1/suites/"+su.Id.String()+"/questions", `{"key":"taken","prompt":"p","expected_answer":"x"}`, http.StatusCreated)
		lines := `{"key":"a","prompt":"p","expected_answer":"x"}` + "\n" +
			`{"key":"taken","prompt":"p","expected_answer":"x"}` + "\n" +
			`{"key":"b","prompt":"p","expected_answer":"x"}` + "\n" +
			`{"key":"a","prompt":"p","expected_answer":"x"}`
		got := importErrors(t, b.do(t, "POST", importPath(su, ""), lines, ndjson))
		if strings.Join(got, "|") != "line 2: key|line 4: key" {
			t.Errorf("errors %v", got)
		}
		csv := "key,prompt,expected\nc,p,x\nc,q,y\n"
		if got := importErrors(t, b.do(t, "POST", importPath(su, "format=csv"), csv, text)); strings.Join(got, "|") != "line 3: key" {
			t.Errorf("csv errors %v", got)
		}
		if n := b.questionCount(t, su); n != 1 {
			t.Errorf("the suite has %d questions, want the 1 created before", n)
		}
	})

	t.Run("ErrTooMany", func(t *testing.T) {
		su := b.templatedSuite(t, "")
		var body strings.Builder
		body.WriteString("prompt,expected\n")
		for i := range 10001 {
			fmt.Fprintf(&body, "q%d,a\n", i)
		}
		wantError(t, b.do(t, "POST", importPath(su, "format=csv"), body.String(), text), http.StatusRequestEntityTooLarge, "body")
	})

	t.Run("ErrNoTemplate", func(t *testing.T) {
		su := b.templatedSuite(t, "")
		got := importErrors(t, b.do(t, "POST", importPath(su, "format=csv"), importFile(t, "questions-template.csv"), text))
		if len(got) == 0 {
			t.Errorf("rows without a prompt and a suite without a template: %v", got)
		}
	})

	t.Run("ErrFormat", func(t *testing.T) {
		su := b.templatedSuite(t, "")
		if resp := b.do(t, "POST", importPath(su, "format=excel"), "a,b\n", text); resp.status != http.StatusBadRequest || !strings.Contains(string(resp.body), "format") {
			t.Errorf("an unknown format: %d %s", resp.status, resp.body)
		}
	})
}

// TestClient_ImportFile drives the import through pkg/client as sabe
// suites import does: the result, and a refusal's every line.
func TestClient_ImportFile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := client.New(b.ts.URL, b.token)
	ctx := context.Background()
	su := b.templatedSuite(t, "Q: {{question}}")

	res, err := c.ImportFile(ctx, su.Id, "promptfoo", true, strings.NewReader(importFile(t, "broken-promptfoo.csv")))
	if err != nil || res.Imported != 3 || len(res.Skipped) != 2 {
		t.Fatalf("ImportFile: %+v, %v", res, err)
	}
	_, err = c.ImportFile(ctx, su.Id, "promptfoo", false, strings.NewReader(importFile(t, "broken-promptfoo.yaml")))
	ie, ok := errors.AsType[*client.ImportError](err)
	if !ok || len(ie.Lines) < 2 || client.StatusOf(err) != http.StatusUnprocessableEntity || ie.Lines[0].Line != 7 {
		t.Fatalf("ImportFile of a broken file: %v (%T)", err, err)
	}
	if !strings.Contains(err.Error(), "line 7") {
		t.Errorf("the error does not name the first line: %v", err)
	}
	// Other refusals are plain *client.Error.
	_, err = c.ImportFile(ctx, su.Id, "excel", false, strings.NewReader("a\n"))
	if _, isImport := errors.AsType[*client.ImportError](err); isImport || client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("ImportFile with an unknown format: %v", err)
	}
}

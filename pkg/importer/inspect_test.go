package importer_test

import (
	"testing"

	"github.com/sabe-dev/sabe/pkg/importer"
)

func TestParse_Inspect(t *testing.T) {
	t.Parallel()
	t.Run("OKJSONL", func(t *testing.T) {
		t.Parallel()
		res := parse(t, importer.FormatInspect, "inspect.jsonl", importer.Options{})
		wantRecords(t, res, []lineJSON{
			{1, `{"expected_answer":"Paris","key":"capital-fr","metadata":{"difficulty":"easy"},"prompt":"What is the capital of France?","scoring":{"method":"contains"}}`},
			{2, `{"expected_answer":"8","key":"2","messages":[{"content":"Answer with a number.","role":"system"},{"content":"How many legs has a spider?","role":"user"}],"scoring":{"method":"contains_any","values":["8","eight"]}}`},
			{3, `{"choices":["Venus","Mercury","Mars"],"expected_answer":"B","key":"3","metadata":{"source":"hand-written"},"prompt":"Which planet is closest to the Sun?","scoring":{"method":"multiple_choice"}}`},
		})
	})
	t.Run("OKJSONArray", func(t *testing.T) {
		t.Parallel()
		body := "[\n  {\"input\": \"One?\", \"target\": \"1\"},\n\n  {\n    \"input\": \"Two?\",\n    \"target\": 2\n  }\n]\n"
		res, err := importer.Parse(importer.FormatInspect, []byte(body), importer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		wantRecords(t, res, []lineJSON{
			{2, `{"expected_answer":"1","prompt":"One?","scoring":{"method":"contains"}}`},
			{4, `{"expected_answer":"2","prompt":"Two?","scoring":{"method":"contains"}}`},
		})
	})
	t.Run("OKNoTarget", func(t *testing.T) {
		t.Parallel()
		// A sample for a model-graded scorer: the benchmark's rule applies.
		res, err := importer.Parse(importer.FormatInspect, []byte(`{"input": "Write a haiku."}`), importer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		wantRecords(t, res, []lineJSON{{1, `{"expected_answer":"","prompt":"Write a haiku.","scoring":{}}`}})
	})
	t.Run("OKCSV", func(t *testing.T) {
		t.Parallel()
		res := parse(t, importer.FormatInspect, "inspect.csv", importer.Options{})
		wantRecords(t, res, []lineJSON{
			{2, `{"expected_answer":"Paris","key":"capital-fr","metadata":{"difficulty":"easy"},"prompt":"What is the capital of France?","scoring":{"method":"contains"}}`},
			{3, `{"choices":["Venus","Mercury","Mars"],"expected_answer":"B","key":"3","prompt":"Which planet is closest to the Sun?","scoring":{"method":"multiple_choice"}}`},
		})
	})
	t.Run("ErrBrokenJSONL", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatInspect, example(t, "broken-inspect.jsonl"), importer.Options{})
		wantLineErrors(t, err, []importer.LineError{
			lineErr(2, "input", "is required"),
			lineErr(3, "input[0].role", `must be system, user or assistant, not "tool"`),
			lineErr(4, "target", "a multiple-choice sample needs exactly one target (the correct letter), got 2"),
			lineErr(5, "id", "must be a string or an integer, not a boolean"),
			lineErr(5, "metadata", "must be a JSON object"),
		})
	})
	t.Run("ErrBrokenCSV", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatInspect, example(t, "broken-inspect.csv"), importer.Options{})
		wantLineErrors(t, err, []importer.LineError{
			lineErr(3, "input", "must not be empty"),
			lineErr(4, "", `malformed CSV: extraneous or missing " in quoted-field`),
		})
	})
	t.Run("ErrBrokenArray", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatInspect, []byte("[\n{\"input\": \"a\"},\n3,\n{\"input\": }\n]"), importer.Options{})
		wantLineErrors(t, err, []importer.LineError{
			lineErr(3, "", "must be a JSON object"),
			lineErr(4, "", "malformed JSON: invalid character '}' looking for beginning of value"),
		})
	})
}

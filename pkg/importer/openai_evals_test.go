package importer_test

import (
	"testing"

	"github.com/sabe-dev/sabe/pkg/importer"
)

func TestParse_OpenAIEvals(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		res := parse(t, importer.FormatOpenAIEvals, "openai-evals.jsonl", importer.Options{})
		wantRecords(t, res, []lineJSON{
			{1, `{"prompt":"What is the capital of France? Answer with the city only.","expected_answer":"Paris","scoring":{"method":"starts_with","case_sensitive":true}}`},
			{2, `{"messages":[{"role":"system","content":"Answer with a single word."},{"role":"user","content":"What colour is a clear daytime sky?"}],"expected_answer":"Blue","scoring":{"method":"regex","pattern":"\\A\\s*(?:Blue|blue)","case_sensitive":true}}`},
			{3, `{"messages":[{"role":"system","content":"You convert units. Answer with the number only."},{"role":"user","content":"1 km in m?"},{"role":"assistant","content":"1000"},{"role":"user","content":"2 km in m?"}],"expected_answer":"2000","scoring":{"method":"starts_with","case_sensitive":true},"metadata":{"source":"unit-conversion"}}`},
		})
	})
	t.Run("ErrBroken", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatOpenAIEvals, example(t, "broken-openai-evals.jsonl"), importer.Options{})
		wantLineErrors(t, err, []importer.LineError{
			lineErr(2, "ideal", "is required"),
			lineErr(3, "input[1].role", "the last message must be a user message"),
			lineErr(4, "", "malformed JSON: invalid character 'o' in literal null (expecting 'u')"),
			lineErr(5, "input", "must be a string or a list of chat messages, not a number"),
			lineErr(5, "ideal[1]", "must not be empty"),
		})
	})
}

package importer_test

import (
	"testing"

	"github.com/sabe-dev/sabe/pkg/importer"
)

func TestParse_Sabe(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		res := parse(t, importer.FormatSabe, "sabe.jsonl", importer.Options{})
		wantRecords(t, res, []lineJSON{
			{1, `{"prompt":"What is 2 + 2?","expected_answer":"4","scoring":{"method":"numeric"}}`},
			{2, `{"key":"capital-fr","prompt":"What is the capital of France?","category":"geography","expected_answer":"Paris","scoring":{"method":"contains"}}`},
			{4, `{"messages":[{"role":"system","content":"Answer with one word."},{"role":"user","content":"Which planet is known as the red planet?"}],"expected_answer":"Mars","metadata":{"source":"hand-written"},"scoring":{}}`},
		})
	})
	t.Run("ErrBroken", func(t *testing.T) {
		t.Parallel()
		_, err := importer.Parse(importer.FormatSabe, example(t, "broken-sabe.jsonl"), importer.Options{})
		wantLineErrors(t, err, []importer.LineError{
			lineErr(2, "expected_anwser", "unknown field"),
			lineErr(3, "prompt", "must be a string, not a JSON number"),
			lineErr(4, "", "must be a JSON object"),
		})
	})
}

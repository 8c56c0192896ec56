package importer_test

import (
	"testing"

	"github.com/sabe-dev/sabe/pkg/importer"
)

func TestGuess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		want importer.Format
	}{
		{"sabe.jsonl", importer.FormatSabe},
		{"openai-evals.jsonl", importer.FormatOpenAIEvals},
	} {
		got, err := importer.Guess(tc.file, example(t, tc.file))
		if err != nil || got != tc.want {
			t.Errorf("Guess(%s) = %q, %v; want %q", tc.file, got, err, tc.want)
		}
	}
	if _, err := importer.Guess("x.jsonl", []byte(`{"input": "q"}`)); err == nil {
		t.Error("Guess of a line with neither ideal, target nor expected_answer: no error")
	}
}

package importer_test

import (
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/importer"
)

func TestGuess(t *testing.T) {
	t.Parallel()
	t.Run("OKExamples", func(t *testing.T) {
		t.Parallel()
		// Each example file is guessed as the format it is.
		for _, tc := range examples {
			got, err := importer.Guess(tc.file, example(t, tc.file))
			if err != nil || got != tc.f {
				t.Errorf("Guess(%s) = %q, %v; want %q", tc.file, got, err, tc.f)
			}
			// What Guess says, Parse reads.
			if _, err := importer.Parse(got, example(t, tc.file), importer.Options{PromptTemplate: tc.tmpl}); err != nil {
				t.Errorf("Parse(Guess(%s)): %v", tc.file, err)
			}
		}
	})
	t.Run("OKContent", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			file, head string
			want       importer.Format
		}{
			{"tests.yml", "- vars: {q: x}\n", importer.FormatPromptfoo},
			{"data.json", "[{\"input\": \"q\", \"target\": \"a\"}]", importer.FormatInspect},
			{"tests.json", "[\n  {\"vars\": {\"q\": \"x\"}, \"assert\": []},", importer.FormatPromptfoo},
			{"evals.ndjson", "{\"input\": \"q\", \"ideal\": \"a\"}\n", importer.FormatOpenAIEvals},
			{"stdin", "{\"prompt\": \"q\", \"expected_answer\": \"a\"}\n", importer.FormatSabe},
			{"stdin", "# tests\ntests:\n  - vars: {q: x}\n", importer.FormatPromptfoo},
			{"vars.csv", "country,capital\nFrance,Paris\n", importer.FormatPromptfoo},
			{"BOM.CSV", "\xef\xbb\xbfinput,target\nq,a\n", importer.FormatInspect},
		} {
			got, err := importer.Guess(tc.file, []byte(tc.head))
			if err != nil || got != tc.want {
				t.Errorf("Guess(%s, %q) = %q, %v; want %q", tc.file, tc.head, got, err, tc.want)
			}
		}
	})
	t.Run("ErrAmbiguous", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ file, head string }{
			{"x.jsonl", `{"input": "q"}`},
			{"x.jsonl", `{"input": "q", "ideal": "a", "target": "a"}`},
			{"x.jsonl", `not json`},
			{"x.json", `[{"id": 1}]`},
			{"notes.txt", "question,answer\n"},
		} {
			_, err := importer.Guess(tc.file, []byte(tc.head))
			if err == nil || !strings.Contains(err.Error(), "--format") {
				t.Errorf("Guess(%s, %q) error %v, want one asking for --format", tc.file, tc.head, err)
			}
		}
	})
}

package importer_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sabe-dev/sabe/pkg/importer"
)

// FuzzParse feeds every format any bytes: Parse must not panic, and what
// it returns must be whole: records or an error, every line from 1.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "import", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, format := range importer.Formats {
			res, err := importer.Parse(format, body, importer.Options{PromptTemplate: "{{question}}"})
			var ie *importer.Error
			switch {
			case errors.As(err, &ie):
				if len(ie.Lines) == 0 {
					t.Fatalf("%s: an *Error with no lines", format)
				}
				for _, le := range ie.Lines {
					if le.Line < 1 {
						t.Fatalf("%s: line error %v before line 1", format, le)
					}
					// The records that come with it are the items that
					// could be mapped: never one of the bad lines.
					for _, r := range res.Records {
						if r.Line == le.Line && le.Field == "" {
							t.Fatalf("%s: line %d is both bad (%s) and a record", format, le.Line, le.Message)
						}
					}
				}
			case err == nil:
				for _, r := range res.Records {
					if r.Line < 1 {
						t.Fatalf("%s: record on line %d", format, r.Line)
					}
				}
			}
			if _, err := importer.Guess("f", body); err == nil && len(body) == 0 {
				t.Fatal("Guess of nothing: no error")
			}
		}
	})
}

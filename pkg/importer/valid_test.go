package importer_test

import (
	"encoding/json"
	"testing"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/importer"
)

// TestParse_ExamplesAreValidQuestions checks that every question of the
// example files meets the rules the server checks on import (the
// catalog's, through the API's JSON shape), so that what Parse maps is
// what SABE accepts.
func TestParse_ExamplesAreValidQuestions(t *testing.T) {
	t.Parallel()
	for _, tc := range examples {
		res := parse(t, tc.f, tc.file, importer.Options{PromptTemplate: tc.tmpl})
		for _, r := range res.Records {
			b, err := json.Marshal(r.Question)
			if err != nil {
				t.Fatal(err)
			}
			var in catalog.QuestionInput
			if err := json.Unmarshal(b, &in); err != nil {
				t.Fatalf("%s line %d: %v", tc.file, r.Line, err)
			}
			if err := in.Validate(); err != nil {
				t.Errorf("%s line %d: %v\n%s", tc.file, r.Line, err, b)
			}
		}
	}
}

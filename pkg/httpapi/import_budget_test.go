package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// TestServer_ImportClassBudget: the regex patterns of one import share a
// budget of character classes, each of which can take milliseconds to
// parse, so a body of thousands of such patterns is refused (413, nothing
// written) before most of them are compiled; the same patterns in smaller
// imports go in.
func TestServer_ImportClassBudget(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.suite(t)
	pattern := strings.Repeat(`[a-z]`, scoring.MaxPatternClasses)
	line := func(i int) string {
		return fmt.Sprintf(`{"prompt":"p%d","expected_answer":"","scoring":{"method":"regex","pattern":%q}}`, i, pattern)
	}
	perImport := scoring.MaxImportClasses / scoring.MaxPatternClasses
	var lines []string
	for i := range perImport + 1 {
		lines = append(lines, line(i))
	}
	path := "/v1/suites/" + s.Id.String() + "/questions:import"
	ndjson := header("Content-Type", "application/x-ndjson")
	wantError(t, b.do(t, "POST", path, strings.Join(lines, "\n"), ndjson), http.StatusRequestEntityTooLarge, "body")
	if page := call[oapi.QuestionList](t, b, "GET", "/v1/suites/"+s.Id.String()+"/questions", "", http.StatusOK); len(page.Items) != 0 {
		t.Errorf("a refused import wrote %d questions", len(page.Items))
	}
	res := call[oapi.ImportQuestionsResult](t, b, "POST", path, strings.Join(lines[:perImport], "\n"), http.StatusCreated, ndjson)
	if res.Imported != perImport {
		t.Errorf("imported %d, want %d", res.Imported, perImport)
	}
}

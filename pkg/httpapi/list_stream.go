package httpapi

import (
	"bufio"
	"encoding/json"
	"net/http"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// streamedPage is the 200 answer of a list whose items can be large
// (results with model answers; questions, runs and benchmarks with prompts
// of up to 32 KiB; models with request overrides), written one item at a time instead of through the
// generated response types, which encode the whole page into a buffer
// first. It also bounds the page by its encoded size, which can be up to
// six times the stored text (JSON escapes "<", ">", "&" and control
// characters as \u00XX): the page ends before the item that would take it
// past store.MaxPageBytes, and its cursor then points after the last item
// written. The first item is always written, so paging makes progress.
type streamedPage struct {
	n     int
	item  func(i int) any    // the i-th item as it is encoded
	after func(i int) string // the cursor of the page after item i
	next  string             // the store's cursor, for a page written whole
}

// streamBuffer is the write buffer between the encoder and the connection.
const streamBuffer = 32 << 10

func (p streamedPage) write(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, streamBuffer)
	_, _ = bw.WriteString(`{"items":[`)
	next, written := p.next, 0
	for i := range p.n {
		b, err := json.Marshal(p.item(i))
		if err != nil {
			return err
		}
		if i > 0 && written+len(b) > store.MaxPageBytes {
			next = p.after(i - 1)
			break
		}
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		_, _ = bw.Write(b)
		written += len(b) + 1
	}
	_, _ = bw.WriteString(`],"next_cursor":`)
	cur := []byte("null")
	if next != "" {
		cur, _ = json.Marshal(next)
	}
	_, _ = bw.Write(cur)
	_, _ = bw.WriteString("}\n")
	return bw.Flush()
}

// resultsPage streams a page of ListRunResults.
type resultsPage struct{ streamedPage }

// VisitListRunResultsResponse writes the page as an oapi.ExecutionList.
func (p resultsPage) VisitListRunResultsResponse(w http.ResponseWriter) error { return p.write(w) }

func newResultsPage(page store.Page[run.Result], scoringVersion int) resultsPage {
	return resultsPage{streamedPage{
		n: len(page.Items), next: page.Next,
		item:  func(i int) any { return toResult(&page.Items[i], scoringVersion) },
		after: func(i int) string { return store.ResultCursor(&page.Items[i]) },
	}}
}

// questionsPage streams a page of ListQuestions.
type questionsPage struct{ streamedPage }

// VisitListQuestionsResponse writes the page as an oapi.QuestionList.
func (p questionsPage) VisitListQuestionsResponse(w http.ResponseWriter) error { return p.write(w) }

// runsPage streams a page of ListRuns.
type runsPage struct{ streamedPage }

// VisitListRunsResponse writes the page as an oapi.RunList.
func (p runsPage) VisitListRunsResponse(w http.ResponseWriter) error { return p.write(w) }

// modelsPage streams a page of ListModels: a model's request overrides
// (extra_body) can be as large as a request body.
type modelsPage struct{ streamedPage }

// VisitListModelsResponse writes the page as an oapi.ModelList.
func (p modelsPage) VisitListModelsResponse(w http.ResponseWriter) error { return p.write(w) }

// benchmarksPage streams a page of ListBenchmarks.
type benchmarksPage struct{ streamedPage }

// VisitListBenchmarksResponse writes the page as an oapi.BenchmarkList.
func (p benchmarksPage) VisitListBenchmarksResponse(w http.ResponseWriter) error { return p.write(w) }

var (
	_ oapi.ListRunResultsResponseObject = resultsPage{}
	_ oapi.ListQuestionsResponseObject  = questionsPage{}
	_ oapi.ListRunsResponseObject       = runsPage{}
	_ oapi.ListModelsResponseObject     = modelsPage{}
	_ oapi.ListBenchmarksResponseObject = benchmarksPage{}
)

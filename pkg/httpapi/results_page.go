package httpapi

import (
	"bufio"
	"encoding/json"
	"net/http"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// resultsPage is the 200 answer of ListRunResults, written one result at
// a time instead of through the generated response type, which encodes
// the whole page into a buffer before writing it: the page's text would
// be held twice more. It also bounds the page by its encoded size, which
// can be up to six times the stored text (JSON escapes "<", ">", "&" and
// control characters as \u00XX): the page ends before the result that
// would pass store.MaxPageBytes, and its cursor points after the last
// result written.
type resultsPage struct {
	items []run.Result
	next  string
}

var _ oapi.ListRunResultsResponseObject = resultsPage{}

// streamBuffer is the write buffer between the encoder and the connection.
const streamBuffer = 32 << 10

// VisitListRunResultsResponse writes the page as an oapi.ExecutionList.
func (p resultsPage) VisitListRunResultsResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, streamBuffer)
	_, _ = bw.WriteString(`{"items":[`)
	next, written := p.next, 0
	for i := range p.items {
		b, err := json.Marshal(toResult(&p.items[i]))
		if err != nil {
			return err
		}
		if i > 0 && written+len(b) > store.MaxPageBytes {
			next = store.ResultCursor(&p.items[i-1])
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

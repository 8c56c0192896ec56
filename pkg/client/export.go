package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/google/uuid"
)

// Export formats of ExportResults.
const (
	ExportCSV   = "csv"
	ExportJSONL = "jsonl"
)

// exportMediaTypes are the Accept headers of the export formats.
var exportMediaTypes = map[string]string{ExportCSV: "text/csv", ExportJSONL: "application/x-ndjson"}

// ExportError is an export the API cut after it had started: the last
// line of the stream said so. What came before it was written to the
// caller's writer, and is not the whole run.
type ExportError struct {
	// Rows is how many whole rows came before the cut.
	Rows    int64
	Message string
}

func (e *ExportError) Error() string {
	return fmt.Sprintf("the export was cut after %d rows: %s", e.Rows, e.Message)
}

// ExportResults streams the export of a run's results (GET
// /v1/runs/{id}/results with Accept: text/csv or application/x-ndjson) into
// w as it arrives, narrowed by f, and returns how many rows it held (CSV:
// not counting the header). format is ExportCSV or ExportJSONL. Nothing is
// buffered beyond a line's start, and no client timeout applies to the
// body, which may take minutes for a large run: ctx bounds it. An export
// the API cut (its last line an export_error) is an *ExportError; a
// connection that ended early is an error too.
func (c *Client) ExportResults(ctx context.Context, runID uuid.UUID, format string, f ResultFilter, w io.Writer) (int64, error) {
	accept, ok := exportMediaTypes[format]
	if !ok {
		return 0, fmt.Errorf("export format %q: want %s or %s", format, ExportCSV, ExportJSONL)
	}
	path := withQuery("/v1/runs/"+runID.String()+"/results", f.query(url.Values{}))
	resp, err := c.stream(ctx, path, accept)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := &exportScanner{w: w, csv: format == ExportCSV}
	if _, err := io.Copy(sc, resp.Body); err != nil {
		return sc.rows(), fmt.Errorf("GET %s: after %d rows: %w", path, sc.rows(), err)
	}
	if sc.cut != "" {
		return sc.rows(), &ExportError{Rows: sc.rows(), Message: sc.cut}
	}
	if sc.open {
		return sc.rows(), fmt.Errorf("GET %s: the export ended in the middle of a row, after %d rows", path, sc.rows())
	}
	return sc.rows(), nil
}

// exportTrailers are how the API's last line starts when it cut an
// export, by format.
var (
	csvTrailer   = []byte("# export_error: ")
	jsonlTrailer = []byte(`{"export_error":`)
)

// maxTrailer bounds what is kept of a line that may be the trailer.
const maxTrailer = 4 << 10

// exportScanner passes an export through to w while it counts records
// and watches for the trailer. A CSV record ends at a line break outside
// quotes (a quoted field's quotes are doubled, so counting them tells);
// a JSON line at any line break. A record that starts like the trailer is
// kept (up to maxTrailer) to read its message.
type exportScanner struct {
	w   io.Writer
	csv bool
	// records is the records ended so far (the CSV header included).
	records int64
	quoted  bool
	// open: the current record has started.
	open bool
	head []byte
	cut  string
}

func (s *exportScanner) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		return n, err
	}
	for len(p) > 0 {
		var i int
		if s.csv {
			i = bytes.IndexAny(p, "\"\n")
		} else {
			i = bytes.IndexByte(p, '\n')
		}
		if i < 0 {
			s.take(p)
			break
		}
		s.take(p[:i])
		switch {
		case p[i] == '"':
			s.quoted = !s.quoted
			s.take(p[i : i+1])
		case s.quoted:
			s.take(p[i : i+1])
		default:
			s.endRecord()
		}
		p = p[i+1:]
	}
	return n, nil
}

// trailer is how the API's last line starts when it cut the export.
func (s *exportScanner) trailer() []byte {
	if s.csv {
		return csvTrailer
	}
	return jsonlTrailer
}

// take notes part of the current record; its start is kept while it may
// be the trailer.
func (s *exportScanner) take(seg []byte) {
	if len(seg) == 0 {
		return
	}
	s.open = true
	t := s.trailer()
	if len(s.head) >= maxTrailer || (len(s.head) >= len(t) && !bytes.HasPrefix(s.head, t)) {
		return
	}
	s.head = append(s.head, seg[:min(len(seg), maxTrailer-len(s.head))]...)
}

func (s *exportScanner) endRecord() {
	if !s.open {
		return
	}
	if bytes.HasPrefix(s.head, s.trailer()) {
		s.cut = trailerMessage(s.head, s.csv)
	} else {
		s.records++
	}
	s.open, s.head = false, s.head[:0]
}

// trailerMessage reads the message of a trailer line.
func trailerMessage(line []byte, csv bool) string {
	if !csv {
		var t struct {
			ExportError string `json:"export_error"`
		}
		if json.Unmarshal(line, &t) == nil {
			return t.ExportError
		}
	}
	return strings.TrimSpace(strings.TrimPrefix(string(line), string(csvTrailer)))
}

// rows is the rows of the export seen whole: the records, less CSV's
// header.
func (s *exportScanner) rows() int64 {
	if s.csv && s.records > 0 {
		return s.records - 1
	}
	return s.records
}

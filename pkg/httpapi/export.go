package httpapi

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// An export of a run's results (GET /v1/runs/{id}/results with Accept:
// text/csv or application/x-ndjson) is the whole run, read from PostgreSQL
// in keyset batches (store.ResultExport) and written and flushed batch by
// batch, so the api holds one batch whatever the run's size.
//
// Each NDJSON line is the unit as the JSON listing renders it (an
// Execution: ids, names, answer, verdict, every evaluation with its
// assertions and judges, figures, error, times) with the run's id first.
// CSV has the same fields flat, one column each (exportColumns), except
// the evaluations: a list of objects with lists inside does not flatten
// into a fixed set of columns, so the `evaluations` column holds them as
// the JSON array NDJSON has; the effective verdict is in its own columns
// (verdict, passed, score, scorer, unscored_reason) for spreadsheets.
//
// A failure after the first byte cannot change the status any more: the
// export then ends with a line that says so, `{"export_error": "..."}` or
// `# export_error: ...`, and a client must treat an export that ends so as
// failed. Every row of the CSV starts with the run's id, so a row can never
// start with "#".

// exportFormat is an export's media type, or "" for the JSON listing.
type exportFormat string

const (
	exportCSV    exportFormat = "text/csv"
	exportNDJSON exportFormat = "application/x-ndjson"
)

// exportWriteTimeout bounds the write of one batch to a client: the
// server's WriteTimeout bounds a whole response, which an export of a
// large run outlasts.
const exportWriteTimeout = time.Minute

// exportColumns is the CSV header, in the order of the row's cells.
var exportColumns = []string{
	"run_id", "id", "model_id", "model_name", "question_id", "question_key", "question_revision", "category", "prompt_excerpt", "sample",
	"status", "response", "verdict", "passed", "score", "scorer", "unscored_reason", "evaluations",
	"latency_ms", "ttft_ms", "output_tokens_per_s", "input_tokens", "output_tokens", "cost_usd", "error",
	"started_at", "finished_at",
}

// negotiateExport picks the answer's media type from an Accept header:
// the listed type with the highest quality among application/json,
// text/csv and application/x-ndjson, the first listed on a tie. Anything
// else (no header, */*) is the JSON listing.
func negotiateExport(accept string) exportFormat {
	best, bestQ := exportFormat(""), 0.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		var f exportFormat
		switch mt {
		case "application/json":
			f = ""
		case string(exportCSV):
			f = exportCSV
		case string(exportNDJSON):
			f = exportNDJSON
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = f, q
		}
	}
	return best
}

// exportResults answers an export: limit and cursor are refused (an
// export has no pages), and the first batch is read before anything is
// written, so that a failure to read it is an ordinary error answer.
func (a *api) exportResults(ctx context.Context, format exportFormat, r *run.Run, f store.ResultFilter, p oapi.ListRunResultsParams) (oapi.ListRunResultsResponseObject, error) {
	if p.Limit != nil {
		return nil, fault.BadRequest("limit", "an export (Accept: %s) is the whole run and has no pages: leave limit out", format)
	}
	if p.Cursor != nil {
		return nil, fault.BadRequest("cursor", "an export (Accept: %s) is the whole run and has no pages: leave cursor out", format)
	}
	x := a.s.store.ExportResults(r, f, a.s.cfg.ExportBatch)
	first, err := x.Next(ctx)
	if err != nil {
		return nil, err
	}
	return &resultExport{a: a, ctx: ctx, format: format, run: r, rows: x, first: first}, nil
}

// resultExport is the answer of an export: writing it is the export.
type resultExport struct {
	a      *api
	ctx    context.Context
	format exportFormat
	run    *run.Run
	rows   *store.ResultExport
	first  []run.Result
}

// VisitListRunResultsResponse writes the export batch by batch, flushing
// each, until the run's results are all written, the client goes away or
// the server shuts down.
func (e *resultExport) VisitListRunResultsResponse(w http.ResponseWriter) error {
	rc := http.NewResponseController(w)
	// The connection's read deadline (http.Server.ReadTimeout) would end
	// the request's context in the middle of a long export; a client that
	// goes away is noticed when a write fails instead.
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("clear the read deadline: %w", err)
	}
	extend := func() error {
		if err := rc.SetWriteDeadline(time.Now().Add(exportWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return fmt.Errorf("extend the write deadline: %w", err)
		}
		return nil
	}
	if err := extend(); err != nil {
		return err
	}
	ext := ".csv"
	if e.format == exportNDJSON {
		ext = ".jsonl"
	}
	h := w.Header()
	h.Set("Content-Type", string(e.format))
	h.Set("Content-Disposition", `attachment; filename="run-`+e.run.ID.String()+ext+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	bw := bufio.NewWriterSize(w, streamBuffer)
	enc := newRowEncoder(e.format, bw)
	if err := enc.header(); err != nil {
		return e.quiet(err)
	}
	stop := e.a.s.streams.wait()
	batch, written := e.first, 0
	for len(batch) > 0 {
		if err := extend(); err != nil {
			return err
		}
		for i := range batch {
			if err := enc.row(e.run.ID, toResult(&batch[i], e.run.ScoringVersion)); err != nil {
				return e.fail(enc, bw, w, written, err)
			}
			written++
		}
		if err := flushExport(enc, bw, rc); err != nil {
			return e.quiet(err)
		}
		select {
		case <-stop:
			return e.fail(enc, bw, w, written, errShuttingDown)
		default:
		}
		var err error
		if batch, err = e.rows.Next(e.ctx); err != nil {
			return e.fail(enc, bw, w, written, err)
		}
	}
	return e.quiet(flushExport(enc, bw, rc))
}

// errShuttingDown ends an export when the api stops.
var errShuttingDown = errors.New("the server is shutting down")

// fail ends an export cut by err with its last line, unless the client is
// gone. The cause is logged with the request id; the line names only what
// the client can act on.
func (e *resultExport) fail(enc rowEncoder, bw *bufio.Writer, w http.ResponseWriter, written int, err error) error {
	if e.ctx.Err() != nil {
		return nil
	}
	reqID := w.Header().Get(echo.HeaderXRequestID)
	msg := "internal error"
	if errors.Is(err, errShuttingDown) {
		msg = err.Error() + "; export again"
	} else {
		e.a.s.log.ErrorContext(e.ctx, "export of a run's results cut", "run_id", e.run.ID, "rows", written, "request_id", reqID, "err", err)
	}
	msg = fmt.Sprintf("%s after %d rows (request id %s)", msg, written, reqID)
	if werr := enc.trailer(msg); werr != nil {
		return e.quiet(werr)
	}
	return e.quiet(flushExport(enc, bw, http.NewResponseController(w)))
}

// quiet drops the errors of a client that went away.
func (e *resultExport) quiet(err error) error {
	if err == nil || e.ctx.Err() != nil {
		return nil
	}
	return err
}

// flushExport pushes what is encoded to the client.
func flushExport(enc rowEncoder, bw *bufio.Writer, rc *http.ResponseController) error {
	if err := enc.flush(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// rowEncoder writes an export's rows in one format.
type rowEncoder interface {
	header() error
	row(runID uuid.UUID, x oapi.Execution) error
	// trailer writes the export_error line.
	trailer(msg string) error
	flush() error
}

func newRowEncoder(f exportFormat, w *bufio.Writer) rowEncoder {
	if f == exportNDJSON {
		return &ndjsonRows{w: w, enc: json.NewEncoder(w)}
	}
	return &csvRows{w: w, cw: csv.NewWriter(w), cells: make([]string, len(exportColumns))}
}

// ndjsonRows writes one JSON object per line.
type ndjsonRows struct {
	w   io.Writer
	enc *json.Encoder
}

// exportRow is an NDJSON line: the unit as the JSON listing has it, with
// its run.
type exportRow struct {
	RunID uuid.UUID `json:"run_id"`
	oapi.Execution
}

func (n *ndjsonRows) header() error { return nil }

func (n *ndjsonRows) row(runID uuid.UUID, x oapi.Execution) error {
	return n.enc.Encode(exportRow{RunID: runID, Execution: x})
}

func (n *ndjsonRows) trailer(msg string) error {
	return n.enc.Encode(map[string]string{"export_error": msg})
}

func (n *ndjsonRows) flush() error { return nil }

// csvRows writes a header row, then one record per unit.
type csvRows struct {
	w     *bufio.Writer
	cw    *csv.Writer
	cells []string
}

func (c *csvRows) header() error { return c.cw.Write(exportColumns) }

func (c *csvRows) row(runID uuid.UUID, x oapi.Execution) error {
	evals, err := json.Marshal(x.Evaluations)
	if err != nil {
		return fmt.Errorf("encode the evaluations of %s: %w", x.Id, err)
	}
	v := x.Verdict
	scorer, reason := "", ""
	if v.Scorer != nil {
		scorer = *v.Scorer
	}
	if v.Reason != nil {
		reason = string(*v.Reason)
	}
	errText := ""
	if x.Error != nil {
		errText = *x.Error
	}
	cells := append(c.cells[:0],
		runID.String(), x.Id, x.ModelId.String(), x.ModelName, x.QuestionId.String(), optString(x.QuestionKey), strconv.Itoa(x.QuestionRevision),
		x.Category, x.PromptExcerpt, strconv.Itoa(x.Sample),
		string(x.Status), x.Response, string(v.Status), optBool(v.Passed), optFloat(v.Score), scorer, reason, string(evals),
		fmtFloat(x.LatencyMs), optFloat(x.TtftMs), optFloat(x.OutputTokensPerS),
		strconv.FormatInt(x.InputTokens, 10), strconv.FormatInt(x.OutputTokens, 10), fmtFloat(x.CostUsd), errText,
		x.StartedAt.Format(time.RFC3339Nano), x.FinishedAt.Format(time.RFC3339Nano),
	)
	return c.cw.Write(cells)
}

// trailer writes "# export_error: msg" as a line of its own, outside any
// record, after what the csv writer holds.
func (c *csvRows) trailer(msg string) error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	_, err := c.w.WriteString("# export_error: " + strings.Join(strings.Fields(msg), " ") + "\n")
	return err
}

func (c *csvRows) flush() error {
	c.cw.Flush()
	return c.cw.Error()
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// optFloat is an optional figure's cell: empty when absent.
func optFloat(p *float64) string {
	if p == nil {
		return ""
	}
	return fmtFloat(*p)
}

// optString is an optional text's cell: empty when absent.
func optString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// optBool is an optional verdict's cell: empty when absent.
func optBool(p *bool) string {
	if p == nil {
		return ""
	}
	return strconv.FormatBool(*p)
}

package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// exportRun is a run of 2 models × 3 questions × 1 sample with one unit
// of each kind an export must carry: judged by a panel (one judge failed),
// unscored, awaiting its judges, scored by a deterministic scorer (passed
// and not), and failed with the provider's error.
type exportRun struct {
	run    *run.Run
	models []uuid.UUID
}

const exportProviderError = "provider answered 503: upstream overloaded, \"retry\" later\nsecond line"

// newRun creates a run of a benchmark, queued, for a test to record its
// units, and returns it with its snapshot (models and questions).
func (b *bundle) newRun(t *testing.T, benchmarkID uuid.UUID) (*run.Run, *run.Snapshot) {
	t.Helper()
	ctx := context.Background()
	r, err := b.store.CreateRunAt(ctx, benchmarkID, time.Now().UTC().Truncate(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := b.store.LoadSnapshot(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r, snap
}

func (b *bundle) exportRun(t *testing.T) exportRun {
	t.Helper()
	ctx := context.Background()
	w := b.world(t, 2, 3, 1)
	r, snap := b.newRun(t, w.benchmark.Id)
	er := exportRun{run: r}
	for _, m := range snap.Models {
		er.models = append(er.models, m.ModelID)
	}
	latency, ttft := 420.5, 80.25
	var judgedUnits []run.UnitKey
	for mi, m := range snap.Models {
		for qi, q := range snap.Questions {
			e := &run.Execution{
				RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: m.ModelID,
				QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Category: q.Category,
				Status: run.ExecSucceeded, Response: fmt.Sprintf("answer, \"%d\"\nmore", qi), LatencyMs: &latency, TTFTMs: &ttft,
				InputTokens: 12, OutputTokens: 7, CostUSD: 0.000123, StartedAt: &r.CreatedAt, FinishedAt: r.CreatedAt.Add(time.Minute),
			}
			switch {
			case mi == 1 && qi == 1:
				e.Status, e.Response, e.Error, e.TTFTMs = run.ExecFailed, "", exportProviderError, nil
			case mi == 1:
				e.Evaluation = run.Scored("numeric", qi == 0, map[bool]float64{true: 1, false: 0}[qi == 0], "compared")
			}
			if ok, err := b.store.RecordExecution(ctx, e); err != nil || !ok {
				t.Fatalf("RecordExecution: %v, %v", ok, err)
			}
			if mi == 0 {
				judgedUnits = append(judgedUnits, run.UnitKey{ModelID: e.ModelID, QuestionID: e.QuestionID})
			}
		}
	}
	yes, one := true, 1.0
	judged := &run.Evaluation{
		Scorer: "llm_judge", Version: 1, Status: run.EvalScored, Passed: &yes, Score: &one, Detail: "panel: pass 1 of 1",
		Reasoning: "The reply states 4.", JudgeInputTokens: 200, JudgeOutputTokens: 30, JudgeCostUSD: 0.0012,
		Judges: []judge.Result{
			{ModelID: uuid.New(), ModelName: "judge-a", Verdict: &judge.Verdict{Label: "pass", Score: 1, Passed: true, Reasoning: "The reply states 4."},
				Attempts: 1, InputTokens: 100, OutputTokens: 30, CostUSD: 0.0012, LatencyMs: 812.5},
			{ModelID: uuid.New(), ModelName: "judge-b", Reason: judge.ReasonError, Error: "provider answered 500", Attempts: 3, InputTokens: 100},
		},
	}
	unscored := &run.Evaluation{Scorer: "llm_judge", Version: 1, Status: run.EvalUnscored, Reason: judge.ReasonParseFailure, Detail: "no verdict"}
	for i, ev := range []*run.Evaluation{judged, unscored} {
		if ok, err := b.store.RecordEvaluation(ctx, r, judgedUnits[i], ev); err != nil || !ok {
			t.Fatalf("RecordEvaluation %d: %v, %v", i, ok, err)
		}
	}
	return er
}

// ndjsonLines decodes an NDJSON export into its rows' run ids and units.
func ndjsonLines(t *testing.T, body []byte) ([]uuid.UUID, []oapi.Execution) {
	t.Helper()
	var runs []uuid.UUID
	var units []oapi.Execution
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var row struct {
			RunID *uuid.UUID `json:"run_id"`
		}
		var x oapi.Execution
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil || row.RunID == nil {
			t.Fatalf("line %d is not a row: %s (%v)", len(units)+1, sc.Bytes(), err)
		}
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			t.Fatal(err)
		}
		runs, units = append(runs, *row.RunID), append(units, x)
	}
	return runs, units
}

func TestServer_ExportResults(t *testing.T) {
	t.Parallel()
	// Two results a batch: the run's six span three.
	b := setup(t, func(d *httpapi.Deps) { d.Config.ExportBatch = 2 })
	er := b.exportRun(t)
	base := "/v1/runs/" + er.run.ID.String() + "/results"
	// A key given to a question after the run is its key in the export:
	// keys belong to the question, not to a revision.
	first := call[oapi.ExecutionList](t, b, "GET", base+"?limit=1", "", http.StatusOK).Items[0]
	call[oapi.Question](t, b, "PATCH", "/v1/questions/"+first.QuestionId.String(), `{"key": "exported-key"}`, http.StatusOK)
	listing := call[oapi.ExecutionList](t, b, "GET", base, "", http.StatusOK)
	if len(listing.Items) != 6 {
		t.Fatalf("listing has %d results, want 6", len(listing.Items))
	}
	if k := listing.Items[0].QuestionKey; k == nil || *k != "exported-key" {
		t.Fatalf("question_key = %v, want exported-key", k)
	}

	t.Run("NDJSON", func(t *testing.T) {
		res := b.do(t, "GET", base, "", header("Accept", "application/x-ndjson"))
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		if ct := res.header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := res.header.Get("Content-Disposition"); cd != `attachment; filename="run-`+er.run.ID.String()+`.jsonl"` {
			t.Errorf("Content-Disposition %q", cd)
		}
		runs, units := ndjsonLines(t, res.body)
		// Each line is the unit as the listing has it, in the same order.
		if !reflect.DeepEqual(units, listing.Items) {
			t.Errorf("export rows differ from the listing:\n%+v\nwant\n%+v", units, listing.Items)
		}
		for _, id := range runs {
			if id != er.run.ID {
				t.Errorf("run_id %s, want %s", id, er.run.ID)
			}
		}
		if bytes.Contains(res.body, []byte("export_error")) {
			t.Errorf("a whole export carries an export_error: %s", res.body)
		}
	})

	t.Run("CSV", func(t *testing.T) {
		res := b.do(t, "GET", base, "", header("Accept", "text/csv"))
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		if ct, cd := res.header.Get("Content-Type"), res.header.Get("Content-Disposition"); ct != "text/csv" || !strings.HasSuffix(cd, `.csv"`) {
			t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
		}
		recs, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 7 {
			t.Fatalf("%d records, want a header and 6 rows", len(recs))
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for _, h := range []string{"run_id", "model_name", "question_id", "question_key", "question_revision", "sample", "status", "response", "passed", "score",
			"evaluations", "latency_ms", "ttft_ms", "input_tokens", "output_tokens", "cost_usd", "error", "started_at", "finished_at"} {
			if _, ok := col[h]; !ok {
				t.Errorf("no column %q in %v", h, recs[0])
			}
		}
		for i, rec := range recs[1:] {
			x := listing.Items[i]
			get := func(h string) string { return rec[col[h]] }
			if x.QuestionKey != nil && get("question_key") != *x.QuestionKey || x.QuestionKey == nil && get("question_key") != "" {
				t.Errorf("row %d question_key %q, want %v", i, get("question_key"), x.QuestionKey)
			}
			if get("run_id") != er.run.ID.String() || get("id") != x.Id || get("model_name") != x.ModelName || get("response") != x.Response ||
				get("status") != string(x.Status) || get("verdict") != string(x.Verdict.Status) || get("latency_ms") != fmt.Sprint(x.LatencyMs) {
				t.Errorf("row %d = %q, want the unit %+v", i, rec, x)
			}
			var evals []oapi.Evaluation
			if err := json.Unmarshal([]byte(get("evaluations")), &evals); err != nil || !reflect.DeepEqual(evals, x.Evaluations) {
				t.Errorf("row %d evaluations %s (%v), want %+v", i, get("evaluations"), err, x.Evaluations)
			}
			switch {
			case x.Status == oapi.ExecutionStatusFailed:
				if get("error") != exportProviderError || get("verdict") != "none" || get("passed") != "" || get("ttft_ms") != "" {
					t.Errorf("failed unit row %q", rec)
				}
			case len(x.Evaluations) == 1 && x.Evaluations[0].Judges != nil:
				if get("passed") != "true" || get("score") != "1" || get("scorer") != "llm_judge" || len(*evals[0].Judges) != 2 {
					t.Errorf("judged unit row %q", rec)
				}
			case x.Verdict.Status == oapi.ExecutionVerdictStatusUnscored:
				if get("unscored_reason") != "judge_parse_failure" || get("passed") != "" || get("score") != "" {
					t.Errorf("unscored unit row %q", rec)
				}
			}
		}
	})

	t.Run("Filters", func(t *testing.T) {
		res := b.do(t, "GET", base+"?status=failed", "", header("Accept", "application/x-ndjson"))
		if _, units := ndjsonLines(t, res.body); len(units) != 1 || units[0].Error == nil || *units[0].Error != exportProviderError {
			t.Errorf("status=failed exported %+v, want the failed unit", units)
		}
		res = b.do(t, "GET", base+"?model_id="+er.models[0].String(), "", header("Accept", "text/csv"))
		if recs, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll(); err != nil || len(recs) != 4 {
			t.Errorf("model_id export: %d records (%v), want a header and 3 rows", len(recs), err)
		}
	})

	t.Run("ReadScope", func(t *testing.T) {
		res := b.do(t, "GET", base, "", header("Accept", "text/csv"), as(b.newToken(t, apitoken.ScopeRead)))
		if res.status != http.StatusOK {
			t.Errorf("read token: status %d: %s", res.status, res.body)
		}
		if res := b.do(t, "GET", base, "", header("Accept", "text/csv"), as("")); res.status != http.StatusUnauthorized {
			t.Errorf("no token: status %d", res.status)
		}
	})

	t.Run("Negotiation", func(t *testing.T) {
		for accept, want := range map[string]string{
			"":                                     "application/json",
			"*/*":                                  "application/json",
			"application/json, text/csv;q=0.5":     "application/json",
			"text/csv;q=0.9, application/x-ndjson": "application/x-ndjson",
			"text/csv; charset=utf-8":              "text/csv",
		} {
			res := b.do(t, "GET", base, "", header("Accept", accept))
			if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), want) {
				t.Errorf("Accept %q: status %d, Content-Type %q, want %s", accept, res.status, res.header.Get("Content-Type"), want)
			}
		}
	})

	t.Run("ErrPaging", func(t *testing.T) {
		wantError(t, b.do(t, "GET", base+"?limit=10", "", header("Accept", "text/csv")), http.StatusBadRequest, "limit")
		wantError(t, b.do(t, "GET", base+"?cursor=abc", "", header("Accept", "application/x-ndjson")), http.StatusBadRequest, "cursor")
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		wantError(t, b.do(t, "GET", "/v1/runs/"+uuid.NewString()+"/results", "", header("Accept", "text/csv")), http.StatusNotFound, "")
	})
}

// flushRecorder is a ResponseWriter that notes how much had been written
// at each flush, and calls onFlush then.
type flushRecorder struct {
	header  http.Header
	status  int
	body    bytes.Buffer
	flushes []int
	onFlush func()
}

func (f *flushRecorder) Header() http.Header { return f.header }
func (f *flushRecorder) WriteHeader(code int) {
	if f.status == 0 {
		f.status = code
	}
}
func (f *flushRecorder) Write(p []byte) (int, error) {
	f.WriteHeader(http.StatusOK)
	return f.body.Write(p)
}
func (f *flushRecorder) Flush() {
	f.flushes = append(f.flushes, f.body.Len())
	if f.onFlush != nil {
		f.onFlush()
	}
}

// serveExport sends an export request straight to the server's handler,
// writing into rec.
func serveExport(t *testing.T, b *bundle, path, accept string, rec *flushRecorder) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Accept", accept)
	b.srv.Handler().ServeHTTP(rec, req)
}

// TestServer_ExportStreams exports a run of 20,000 units with the default
// batch: the answer reaches the client in pieces of one batch each (one
// flush per batch), so the api never holds more than a batch of it.
func TestServer_ExportStreams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	const models, questions, samples = 4, 50, 100
	w := b.world(t, models, questions, samples)
	r, snap := b.newRun(t, w.benchmark.Id)
	var batch []*run.Execution
	for _, m := range snap.Models {
		for _, q := range snap.Questions {
			for s := range samples {
				batch = append(batch, &run.Execution{
					RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: m.ModelID,
					QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Sample: s, Category: q.Category,
					Status: run.ExecSucceeded, Response: "42", FinishedAt: r.CreatedAt.Add(time.Minute),
					Evaluation: run.Scored("numeric", true, 1, "42 = 42"),
				})
			}
			if len(batch) >= 1000 {
				if err := b.store.RecordExecutions(ctx, batch, make([]bool, len(batch))); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	const units = models * questions * samples
	rec := &flushRecorder{header: http.Header{}}
	serveExport(t, b, "/v1/runs/"+r.ID.String()+"/results", "application/x-ndjson", rec)
	if rec.status != http.StatusOK {
		t.Fatalf("status %d: %s", rec.status, rec.body.Bytes())
	}
	if n := bytes.Count(rec.body.Bytes(), []byte("\n")); n != units {
		t.Fatalf("%d lines, want %d", n, units)
	}
	batches := units / store.DefaultExportBatch
	if len(rec.flushes) < batches {
		t.Fatalf("%d flushes for %d batches: the export was not written batch by batch", len(rec.flushes), batches)
	}
	// Between two flushes there is at most a batch of rows.
	perRow := rec.body.Len() / units
	prev := 0
	for i, at := range rec.flushes {
		if rows := (at - prev) / perRow; rows > store.DefaultExportBatch+store.DefaultExportBatch/10 {
			t.Errorf("flush %d came after about %d rows, more than a batch of %d", i, rows, store.DefaultExportBatch)
		}
		prev = at
	}
}

// TestServer_ExportCut cuts an export after its first batch (the database
// goes away): the answer has started, so its last line says the export
// failed, in either format.
func TestServer_ExportCut(t *testing.T) {
	t.Parallel()
	for _, accept := range []string{"text/csv", "application/x-ndjson"} {
		t.Run(strings.ReplaceAll(accept, "/", "_"), func(t *testing.T) {
			t.Parallel()
			pool := testenv.Pool(t)
			b := setupOn(t, pool, func(d *httpapi.Deps) { d.Config.ExportBatch = 2 })
			er := b.exportRun(t)
			rec := &flushRecorder{header: http.Header{}}
			rec.onFlush = pool.Close
			serveExport(t, b, "/v1/runs/"+er.run.ID.String()+"/results", accept, rec)
			if rec.status != http.StatusOK {
				t.Fatalf("status %d: %s", rec.status, rec.body.Bytes())
			}
			body := strings.TrimRight(rec.body.String(), "\n")
			last := body[strings.LastIndex(body, "\n")+1:]
			want := `{"export_error":"internal error after 2 rows (request id `
			if accept == "text/csv" {
				want = "# export_error: internal error after 2 rows (request id "
			}
			if !strings.HasPrefix(last, want) || !strings.Contains(last, rec.header.Get("X-Request-Id")) {
				t.Errorf("last line %q, want it to start with %q and name the request id", last, want)
			}
		})
	}
}

// TestServer_ExportOutlivesWriteTimeout: an export of a large run outlasts
// the server's WriteTimeout, which bounds a whole response; the export
// extends the connection's deadline batch by batch. Under a WriteTimeout
// that has passed before the handler runs, the JSON listing fails and the
// export still arrives whole.
func TestServer_ExportOutlivesWriteTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *httpapi.Deps) { d.Config.ExportBatch = 2 })
	er := b.exportRun(t)
	ts := httptest.NewUnstartedServer(b.srv.Handler())
	ts.Config.WriteTimeout = time.Nanosecond
	ts.Start()
	defer ts.Close()
	get := func(accept string) (string, error) {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/runs/"+er.run.ID.String()+"/results", nil)
		req.Header.Set("Authorization", "Bearer "+b.token)
		req.Header.Set("Accept", accept)
		resp, err := b.client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		_, err = body.ReadFrom(resp.Body)
		return body.String(), err
	}
	if body, err := get("application/json"); err == nil && strings.Contains(body, `"items"`) {
		t.Fatalf("the listing came through a passed WriteTimeout: the test shows nothing")
	}
	body, err := get("application/x-ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if _, units := ndjsonLines(t, []byte(body)); len(units) != 6 {
		t.Errorf("%d rows, want 6", len(units))
	}
}

// TestServer_ExportShutdown: an export running when the server shuts down
// (EndStreams, on http.Server.Shutdown) ends after its batch with a line
// that says so, instead of holding the shutdown until it is done.
func TestServer_ExportShutdown(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *httpapi.Deps) { d.Config.ExportBatch = 2 })
	er := b.exportRun(t)
	rec := &flushRecorder{header: http.Header{}}
	rec.onFlush = b.srv.EndStreams
	serveExport(t, b, "/v1/runs/"+er.run.ID.String()+"/results", "application/x-ndjson", rec)
	body := strings.TrimRight(rec.body.String(), "\n")
	last := body[strings.LastIndex(body, "\n")+1:]
	if want := `{"export_error":"the server is shutting down; export again after 2 rows (request id `; !strings.HasPrefix(last, want) {
		t.Errorf("last line %q, want %q…", last, want)
	}
	if n := strings.Count(body, "\n"); n != 2 {
		t.Errorf("%d lines before the last, want the first batch's 2", n)
	}
}

package client_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// cannedExport is an API that answers every export with body, written in
// pieces of 7 bytes (so records and trailers straddle reads), and records
// the request.
func cannedExport(t *testing.T, status int, body string, got *http.Request) *client.Client {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*got = *r
		w.WriteHeader(status)
		for i := 0; i < len(body); i += 7 {
			_, _ = w.Write([]byte(body[i:min(i+7, len(body))]))
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(ts.Close)
	return client.New(ts.URL, "tok")
}

func TestClient_ExportResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	runID := uuid.New()
	// A quoted answer may hold line breaks and even a line that looks
	// like the trailer: it is inside a record.
	csvWhole := "run_id,response,score\n" +
		runID.String() + ",\"two\nlines, \"\"quoted\"\"\n# export_error: not one\",1\n" +
		runID.String() + ",plain,0\n"
	jsonlWhole := `{"run_id":"` + runID.String() + `","response":"a\nb"}` + "\n" + `{"run_id":"` + runID.String() + `","response":"{\"export_error\":1}"}` + "\n"

	tests := []struct {
		name, format, body string
		rows               int64
		cut                string
	}{
		{"CSV", client.ExportCSV, csvWhole, 2, ""},
		{"CSVCut", client.ExportCSV, csvWhole + "# export_error: internal error after 2 rows (request id r1)\n", 2, "internal error after 2 rows (request id r1)"},
		{"JSONL", client.ExportJSONL, jsonlWhole, 2, ""},
		{"JSONLCut", client.ExportJSONL, jsonlWhole + `{"export_error":"the server is shutting down; export again after 2 rows (request id r2)"}` + "\n", 2,
			"the server is shutting down; export again after 2 rows (request id r2)"},
		{"Empty", client.ExportJSONL, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var req http.Request
			c := cannedExport(t, http.StatusOK, tt.body, &req)
			failed := oapi.ExecutionStatusFailed
			var out bytes.Buffer
			rows, err := c.ExportResults(ctx, runID, tt.format, client.ResultFilter{Status: &failed}, &out)
			if out.String() != tt.body {
				t.Errorf("wrote %q, want the body as it came", out.String())
			}
			if rows != tt.rows {
				t.Errorf("rows = %d, want %d", rows, tt.rows)
			}
			var ee *client.ExportError
			switch {
			case tt.cut == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.cut != "" && (!errors.As(err, &ee) || ee.Message != tt.cut || ee.Rows != tt.rows):
				t.Errorf("err = %#v, want an ExportError %q after %d rows", err, tt.cut, tt.rows)
			}
			want := map[string]string{client.ExportCSV: "text/csv", client.ExportJSONL: "application/x-ndjson"}[tt.format]
			if req.Header.Get("Accept") != want || req.URL.Query().Get("status") != "failed" || req.URL.Path != "/v1/runs/"+runID.String()+"/results" {
				t.Errorf("request %s %v Accept %q", req.URL.Path, req.URL.Query(), req.Header.Get("Accept"))
			}
		})
	}

	t.Run("ErrCutMidRow", func(t *testing.T) {
		t.Parallel()
		var req http.Request
		c := cannedExport(t, http.StatusOK, csvWhole+runID.String()+",\"unfinished", &req)
		rows, err := c.ExportResults(ctx, runID, client.ExportCSV, client.ResultFilter{}, &bytes.Buffer{})
		if err == nil || rows != 2 || !strings.Contains(err.Error(), "middle of a row") {
			t.Errorf("rows %d, err %v; want an error after 2 rows", rows, err)
		}
	})
	t.Run("ErrStatus", func(t *testing.T) {
		t.Parallel()
		var req http.Request
		c := cannedExport(t, http.StatusBadRequest, `{"error":{"code":"invalid","message":"no pages","field":"limit"}}`, &req)
		_, err := c.ExportResults(ctx, runID, client.ExportJSONL, client.ResultFilter{}, &bytes.Buffer{})
		var ae *client.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Field != "limit" {
			t.Errorf("err = %v, want the API's 400 naming limit", err)
		}
	})
	t.Run("ErrFormat", func(t *testing.T) {
		t.Parallel()
		if _, err := client.New("http://127.0.0.1:1", "t").ExportResults(ctx, runID, "xlsx", client.ResultFilter{}, &bytes.Buffer{}); err == nil {
			t.Error("format xlsx accepted")
		}
	})
}

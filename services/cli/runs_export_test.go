package cli_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/services/cli"
)

// TestCLI_RunsExportCut: an export the server cut (its last line an
// export_error) exits 1 with the server's message; with -o no file is left,
// under its name or beside it. On stdout what came is written as it came.
func TestCLI_RunsExportCut(t *testing.T) {
	t.Parallel()
	runID := uuid.NewString()
	body := "run_id,response\n" + runID + ",4\n# export_error: internal error after 1 rows (request id r9)\n"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "text/csv" || r.URL.Path != "/v1/runs/"+runID+"/results" {
			http.Error(w, "unexpected request", http.StatusTeapot)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	defer ts.Close()
	getenv := env(map[string]string{"SABE_URL": ts.URL, "SABE_TOKEN": "t", "HOME": t.TempDir()})
	dir := t.TempDir()
	for _, args := range [][]string{{"runs", "export", runID}, {"runs", "export", runID, "-o", filepath.Join(dir, "run.csv")}} {
		var out, errOut bytes.Buffer
		err := cli.RunIO(context.Background(), args, getenv, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errOut}, cli.Services{})
		var ee *client.ExportError
		if command.Code(err, false) != 1 || !errors.As(err, &ee) || ee.Rows != 1 || !strings.Contains(err.Error(), "request id r9") {
			t.Errorf("sabe %s: exit %d, err %v; want 1 and the cut after 1 row", strings.Join(args, " "), command.Code(err, false), err)
		}
		if len(args) == 3 && out.String() != body {
			t.Errorf("stdout %q, want what the server sent", out.String())
		}
		if errOut.Len() != 0 {
			t.Errorf("stderr %q: no note of a whole export", errOut.String())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left by a cut export: %v", entries)
	}
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/store"
)

// exportedRun runs 3 models × 10 questions × 70 samples = 2,100 units
// against the mock: more than one batch of an export (store.DefaultExportBatch).
func exportedRun(t *testing.T, s *system) (oapi.Run, map[string]uuid.UUID) {
	t.Helper()
	const questions, samples = 10, 70
	ctx := context.Background()
	prov, err := s.c.CreateProvider(ctx, oapi.CreateProviderRequest{Name: "mock", Kind: oapi.Openai, BaseUrl: s.mock.URL + "/v1", ApiKey: "sk-e2e-secret"})
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]uuid.UUID{}
	var ids []uuid.UUID
	for _, m := range []string{"mock-strong", "mock-medium", "mock-weak"} {
		out, err := s.c.CreateModel(ctx, oapi.CreateModelRequest{ProviderId: prov.Id, Name: m, ProviderModelId: m, InputCostPerMtok: 1, OutputCostPerMtok: 2})
		if err != nil {
			t.Fatal(err)
		}
		models[m] = out.Id
		ids = append(ids, out.Id)
	}
	suite, err := s.c.CreateSuite(ctx, oapi.CreateSuiteRequest{Name: "arith"})
	if err != nil {
		t.Fatal(err)
	}
	qs := make([]oapi.CreateQuestionRequest, questions)
	for i := range questions {
		p, a := mockllm.Question(i)
		qs[i] = oapi.CreateQuestionRequest{Prompt: p, ExpectedAnswer: fmt.Sprint(a), Scoring: oapi.Scoring{Method: oapi.Numeric}}
	}
	if _, err := s.c.ImportQuestions(ctx, suite.Id, qs); err != nil {
		t.Fatal(err)
	}
	temperature, maxTokens, n := 0.0, 32, samples
	bench, err := s.c.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{
		Name: "export", SuiteIds: []uuid.UUID{suite.Id}, ModelIds: ids,
		Config: &oapi.BenchmarkConfigInput{Temperature: &temperature, MaxTokens: &maxTokens, Samples: &n},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.c.StartRun(ctx, bench.Id)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if r, err = s.c.WaitRun(wctx, r.Id, 200*time.Millisecond, nil); err != nil || r.Status != oapi.RunStatusCompleted {
		t.Fatalf("run ended or stalled as %+v: %v", r, err)
	}
	if r.Progress.Total <= store.DefaultExportBatch {
		t.Fatalf("the run has %d units, not more than a batch", r.Progress.Total)
	}
	return r, models
}

// TestCLI_RunsExport exports a finished run of 2,100 units with `sabe runs
// export`, in both formats, to stdout and to a file, whole and filtered.
func TestCLI_RunsExport(t *testing.T) {
	t.Parallel()
	s := start(t)
	r, models := exportedRun(t, s)
	id := r.Id.String()
	total := int(r.Progress.Total)

	// CSV to stdout: a header, then one row per unit, each unit once.
	res := s.mustSabe(t, cliOpts{}, "runs", "export", id)
	recs, err := csv.NewReader(strings.NewReader(res.Out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != total+1 {
		t.Fatalf("%d CSV records, want a header and %d rows", len(recs), total)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	units := map[string]bool{}
	for _, rec := range recs[1:] {
		units[rec[col["id"]]] = true
		if rec[col["run_id"]] != id || rec[col["status"]] != "succeeded" || rec[col["verdict"]] != "scored" || rec[col["response"]] == "" {
			t.Fatalf("row %q: want a scored answer of run %s", rec, id)
		}
	}
	if len(units) != total {
		t.Errorf("%d distinct units in %d rows", len(units), total)
	}
	if want := fmt.Sprintf("exported %d rows of run %s\n", total, id); res.Err != want {
		t.Errorf("stderr %q, want %q", res.Err, want)
	}

	// JSON Lines: the same units.
	res = s.mustSabe(t, cliOpts{}, "runs", "export", id, "--format", "jsonl", "--quiet")
	sc := bufio.NewScanner(strings.NewReader(res.Out))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		var row struct {
			RunID       string            `json:"run_id"`
			ID          string            `json:"id"`
			Evaluations []oapi.Evaluation `json:"evaluations"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil || row.RunID != id || !units[row.ID] || len(row.Evaluations) != 1 {
			t.Fatalf("line %d %s (%v): want a unit of the CSV with its evaluation", lines+1, sc.Bytes(), err)
		}
		lines++
	}
	if lines != total || res.Err != "" {
		t.Errorf("%d lines, stderr %q; want %d and nothing under --quiet", lines, res.Err, total)
	}

	// -o: the format from the extension, the file whole, nothing beside it.
	dir := t.TempDir()
	out := filepath.Join(dir, "weak.jsonl")
	res = s.mustSabe(t, cliOpts{}, "runs", "export", id, "-o", out, "--model", "mock-weak", "--status", "succeeded", "--json")
	var summary struct {
		RunID  string `json:"run_id"`
		Format string `json:"format"`
		Rows   int    `json:"rows"`
	}
	if err := json.Unmarshal([]byte(res.Out), &summary); err != nil || summary.RunID != id || summary.Format != "jsonl" || summary.Rows != total/3 {
		t.Errorf("--json summary %q (%v), want %d jsonl rows of %s", res.Out, err, total/3, id)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n != total/3 || !bytes.Contains(b, []byte(models["mock-weak"].String())) || bytes.Contains(b, []byte(models["mock-strong"].String())) {
		t.Errorf("%s: %d lines, want %d of mock-weak only", out, n, total/3)
	}

	// A failed export leaves no file, under its name or beside it.
	bad := filepath.Join(dir, "missing.csv")
	res = s.sabe(t, cliOpts{}, "runs", "export", uuid.NewString(), "-o", bad)
	if res.Code != 1 || !strings.Contains(res.Err, "404") {
		t.Errorf("unknown run: exit %d, stderr %q; want 1 and the API's 404", res.Code, res.Err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files in %s after a failed export: %v; want weak.jsonl alone", dir, entries)
	}

	// Usage errors.
	for _, args := range [][]string{{"runs", "export", "nightly"}, {"runs", "export", id, "--format", "xlsx"}, {"runs", "export", id, "--status", "done"}} {
		if res := s.sabe(t, cliOpts{}, args...); res.Code != 2 {
			t.Errorf("sabe %s: exit %d, want 2", strings.Join(args, " "), res.Code)
		}
	}
}

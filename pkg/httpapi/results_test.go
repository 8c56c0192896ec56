package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// TestServer_ResultsByteBound pages a run whose answers are long: a page
// of 200 results once carried 46 MB. Pages stop by bytes (stored text in
// the store, encoded JSON in the answer, where "<" takes six bytes), and
// walking the cursors still yields every result once.
func TestServer_ResultsByteBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	w := b.world(t, 1, 6, 2)
	r, err := b.store.CreateRunAt(ctx, w.benchmark.Id, time.Now().UTC().Truncate(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := b.store.LoadSnapshot(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	plain, escaped := strings.Repeat("a", 1<<20), strings.Repeat("<", 300<<10)
	for _, q := range snap.Questions {
		for sample, text := range []string{plain, escaped} {
			e := &run.Execution{
				RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: snap.Models[0].ModelID,
				QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Sample: sample, Category: q.Category,
				Status: run.ExecSucceeded, Response: text, FinishedAt: r.CreatedAt.Add(time.Minute),
				Evaluation: &run.Evaluation{Scorer: "exact_match", Detail: "x"},
			}
			if ok, err := b.store.RecordExecution(ctx, e); err != nil || !ok {
				t.Fatalf("RecordExecution: %v, %v", ok, err)
			}
		}
	}
	const total = 12

	// The store reads the sizes first and fetches only what fits.
	page, err := b.store.Results(ctx, r, nil, store.MaxPageSize, "")
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, it := range page.Items {
		stored += len(it.Response)
	}
	if len(page.Items) == total || page.Next == "" || stored > store.MaxPageBytes {
		t.Errorf("store page: %d results, %d bytes of text, next %q; want fewer than %d within %d bytes", len(page.Items), stored, page.Next, total, store.MaxPageBytes)
	}

	seen := map[string]bool{}
	pages := 0
	for cursor := ""; ; pages++ {
		path := "/v1/runs/" + r.ID.String() + "/results?limit=200"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		res := b.do(t, "GET", path, "")
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
		var list oapi.ExecutionList
		if err := json.Unmarshal(res.body, &list); err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if len(list.Items) == 0 {
			t.Fatalf("page %d is empty", pages)
		}
		// The envelope adds under 100 bytes to the results' encodings.
		if len(list.Items) > 1 && len(res.body) > store.MaxPageBytes+100 {
			t.Errorf("page %d: %d results in %d bytes, above %d", pages, len(list.Items), len(res.body), store.MaxPageBytes)
		}
		for _, it := range list.Items {
			key := it.QuestionId.String() + "/" + string(rune('0'+it.Sample))
			if seen[key] {
				t.Errorf("result %s listed twice", key)
			}
			seen[key] = true
			if it.Response != plain && it.Response != escaped {
				t.Errorf("result %s: response cut or missing", key)
			}
		}
		if list.NextCursor == nil {
			break
		}
		cursor = *list.NextCursor
	}
	if len(seen) != total || pages < 3 {
		t.Errorf("%d results in %d pages, want %d in several", len(seen), pages+1, total)
	}
}

// TestServer_ListsByteBound: every list whose items carry long text is
// bounded by its encoded size. Thirty questions whose 32 KiB prompts are
// all "<" (six bytes each in JSON) made a 5.9 MB page; now the page ends
// under store.MaxPageBytes with a cursor, and the cursors reach every
// question once.
func TestServer_ListsByteBound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.suite(t)
	prompt := strings.Repeat("<", catalog.MaxPromptLength)
	const n = 30
	for i := range n {
		body := map[string]any{"prompt": prompt, "category": fmt.Sprint(i), "expected_answer": "1", "scoring": map[string]any{"method": "numeric"}}
		call[oapi.Question](t, b, "POST", "/v1/suites/"+s.Id.String()+"/questions", mustJSON(t, body), http.StatusCreated)
	}
	seen := map[string]bool{}
	pages := 0
	for cursor := ""; ; pages++ {
		path := "/v1/suites/" + s.Id.String() + "/questions?limit=200"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		res := b.do(t, "GET", path, "")
		var list oapi.QuestionList
		if res.status != http.StatusOK || json.Unmarshal(res.body, &list) != nil || len(list.Items) == 0 {
			t.Fatalf("GET %s: %d, %d bytes", path, res.status, len(res.body))
		}
		if len(res.body) > store.MaxPageBytes+100 {
			t.Errorf("page %d: %d questions in %d bytes, above %d", pages, len(list.Items), len(res.body), store.MaxPageBytes)
		}
		for _, q := range list.Items {
			if seen[q.Id.String()] || q.Prompt != prompt {
				t.Errorf("question %s listed twice or cut", q.Id)
			}
			seen[q.Id.String()] = true
		}
		if list.NextCursor == nil {
			break
		}
		cursor = *list.NextCursor
	}
	if len(seen) != n || pages == 0 {
		t.Errorf("%d questions in %d pages, want %d in several", len(seen), pages+1, n)
	}
}

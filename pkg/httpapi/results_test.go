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
	page, err := b.store.Results(ctx, r, store.ResultFilter{}, store.MaxPageSize, "")
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

// walkPages follows a list's cursors from path and returns the ids of the
// items of every page, checking that each page of more than one item stays
// under store.MaxPageBytes.
func walkPages(t *testing.T, b *bundle, path string) (ids []string, pages int) {
	t.Helper()
	for cursor := ""; ; pages++ {
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		res := b.do(t, "GET", p, "")
		var list struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		if res.status != http.StatusOK || json.Unmarshal(res.body, &list) != nil || len(list.Items) == 0 {
			t.Fatalf("GET %s: %d, %d bytes", p, res.status, len(res.body))
		}
		// The envelope adds under 100 bytes to the items' encodings.
		if len(list.Items) > 1 && len(res.body) > store.MaxPageBytes+100 {
			t.Errorf("%s page %d: %d items in %d bytes, above %d", path, pages, len(list.Items), len(res.body), store.MaxPageBytes)
		}
		for _, it := range list.Items {
			ids = append(ids, it.ID)
		}
		if list.NextCursor == nil {
			return ids, pages + 1
		}
		cursor = *list.NextCursor
	}
}

// TestServer_ListsByteBound: every list whose items carry long text is
// bounded by its encoded size. Thirty questions whose 32 KiB prompts are
// all "<" (six bytes each in JSON) made a 5.9 MB page, and three models
// whose extra_body holds 700 KB of "<" a 12 MB one; now a page ends under
// store.MaxPageBytes with a cursor (or holds one item), and the cursors
// reach every item once.
func TestServer_ListsByteBound(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("Questions", func(t *testing.T) {
		s := b.suite(t)
		prompt := strings.Repeat("<", catalog.MaxPromptLength)
		const n = 30
		for i := range n {
			body := map[string]any{"prompt": prompt, "category": fmt.Sprint(i), "expected_answer": "1", "scoring": map[string]any{"method": "numeric"}}
			call[oapi.Question](t, b, "POST", "/v1/suites/"+s.Id.String()+"/questions", mustJSON(t, body), http.StatusCreated)
		}
		ids, pages := walkPages(t, b, "/v1/suites/"+s.Id.String()+"/questions?limit=200")
		if len(ids) != n || len(uniq(ids)) != n || pages < 2 {
			t.Errorf("%d questions (%d distinct) in %d pages, want %d in several", len(ids), len(uniq(ids)), pages, n)
		}
	})

	t.Run("Models", func(t *testing.T) {
		p := b.provider(t, nil)
		const n = 3
		for i := range n {
			// Raw "<" in the request: json.Marshal would send \u003c.
			body := fmt.Sprintf(`{"provider_id":%q,"name":"big-%d","provider_model_id":"m","input_cost_per_mtok":1,"output_cost_per_mtok":1,"request_overrides":{"extra_body":{"x":"%s"}}}`,
				p.Id, i, strings.Repeat("<", 700<<10))
			call[oapi.Model](t, b, "POST", "/v1/models", body, http.StatusCreated)
		}
		ids, pages := walkPages(t, b, "/v1/models?limit=200")
		if len(uniq(ids)) != len(ids) || len(ids) < n || pages < n {
			t.Errorf("%d models (%d distinct) in %d pages, want at least %d, one a page", len(ids), len(uniq(ids)), pages, n)
		}
	})
}

func uniq(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

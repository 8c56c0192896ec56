package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

func TestServer_Providers(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.provider(t, map[string]any{"name": "openrouter", "headers": map[string]string{"X-Title": "sabe"}})
		if p.Name != "openrouter" || p.Kind != "openai" || !p.HasApiKey || p.Headers["X-Title"] != "set" {
			t.Fatalf("created %+v", p)
		}
		got := call[oapi.Provider](t, b, "GET", "/v1/providers/"+p.Id.String(), "", http.StatusOK)
		if got.Id != p.Id || got.BaseUrl != p.BaseUrl {
			t.Errorf("get = %+v, want %+v", got, p)
		}
		upd := call[oapi.Provider](t, b, "PATCH", "/v1/providers/"+p.Id.String(), `{"name":"renamed","api_key":""}`, http.StatusOK)
		if upd.Name != "renamed" || upd.HasApiKey || upd.BaseUrl != p.BaseUrl {
			t.Errorf("patched = %+v; want renamed, no key, same base_url", upd)
		}
		b.provider(t, nil)
		b.provider(t, nil)
		checkPaging(t, b, "/v1/providers")

		if r := b.do(t, "DELETE", "/v1/providers/"+p.Id.String(), ""); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		wantError(t, b.do(t, "GET", "/v1/providers/"+p.Id.String(), ""), http.StatusNotFound, "")
	})

	t.Run("KeyNeverReturned", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const key, key2 = "sk-very-secret-0123456789", "sk-other-secret-9876543210"
		bodies := []string{}
		create := b.do(t, "POST", "/v1/providers", mustJSON(t, map[string]any{"name": "p", "kind": "openai", "base_url": "https://api.example.com/v1", "api_key": key}))
		if create.status != http.StatusCreated {
			t.Fatalf("create: %d %s", create.status, create.body)
		}
		list := b.do(t, "GET", "/v1/providers", "")
		page := call[oapi.ProviderList](t, b, "GET", "/v1/providers", "", http.StatusOK)
		if len(page.Items) != 1 {
			t.Fatalf("%d providers, want 1", len(page.Items))
		}
		id := page.Items[0].Id.String()
		get := b.do(t, "GET", "/v1/providers/"+id, "")
		patch := b.do(t, "PATCH", "/v1/providers/"+id, mustJSON(t, map[string]any{"api_key": key2}))
		bodies = append(bodies, string(create.body), string(list.body), string(get.body), string(patch.body))
		for i, body := range bodies {
			if !strings.Contains(body, `"has_api_key":true`) {
				t.Errorf("response %d does not say has_api_key true: %s", i, body)
			}
		}
		// Refusals do not repeat the key either.
		refused := []response{
			b.do(t, "POST", "/v1/providers", mustJSON(t, map[string]any{"name": "q", "kind": "openai", "base_url": "ftp://x", "api_key": key})),
			b.do(t, "POST", "/v1/providers", mustJSON(t, map[string]any{"name": "q", "kind": "openai", "base_url": "https://x.example", "api_key": key, "extra": key})),
			b.do(t, "PATCH", "/v1/providers/"+id, mustJSON(t, map[string]any{"api_key": strings.Repeat(key, 200)})),
		}
		for _, r := range refused {
			if r.status < 400 {
				t.Fatalf("expected a refusal, got %d %s", r.status, r.body)
			}
			bodies = append(bodies, string(r.body))
		}
		for i, body := range bodies {
			if strings.Contains(body, key) || strings.Contains(body, key2) || strings.Contains(body, "very-secret") {
				t.Errorf("response %d contains the key: %s", i, body)
			}
		}
	})

	t.Run("OKEveryKind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, kind := range []string{"openai", "anthropic", "google"} {
			p := b.provider(t, map[string]any{"kind": kind})
			if got := call[oapi.Provider](t, b, "GET", "/v1/providers/"+p.Id.String(), "", http.StatusOK); string(got.Kind) != kind {
				t.Errorf("kind %s stored as %s", kind, got.Kind)
			}
		}
	})

	t.Run("Limits", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		limits := map[string]int{"requests_per_minute": 60, "tokens_per_minute": 90000, "max_concurrency": 8, "quota_pause_seconds": 900}
		p := b.provider(t, map[string]any{"limits": limits})
		wantLimits(t, p.Limits, 60, 90000, 8, 900)
		wantLimits(t, call[oapi.Provider](t, b, "GET", "/v1/providers/"+p.Id.String(), "", http.StatusOK).Limits, 60, 90000, 8, 900)

		// A patch without limits keeps them; one with limits replaces all of them.
		kept := call[oapi.Provider](t, b, "PATCH", "/v1/providers/"+p.Id.String(), `{"name":"kept"}`, http.StatusOK)
		wantLimits(t, kept.Limits, 60, 90000, 8, 900)
		replaced := call[oapi.Provider](t, b, "PATCH", "/v1/providers/"+p.Id.String(), `{"limits":{"max_concurrency":2}}`, http.StatusOK)
		wantLimits(t, replaced.Limits, 0, 0, 2, 0)

		// A provider created without limits has none.
		wantLimits(t, b.provider(t, nil).Limits, 0, 0, 0, 0)

		for field, body := range map[string]string{
			"limits.requests_per_minute": `{"limits":{"requests_per_minute":-1}}`,
			"limits.tokens_per_minute":   `{"limits":{"tokens_per_minute":1000000001}}`,
			"limits.max_concurrency":     `{"limits":{"max_concurrency":-5}}`,
			"limits.quota_pause_seconds": `{"limits":{"quota_pause_seconds":604801}}`,
		} {
			wantError(t, b.do(t, "PATCH", "/v1/providers/"+p.Id.String(), body), http.StatusUnprocessableEntity, field)
		}
		wantError(t, b.do(t, "PATCH", "/v1/providers/"+p.Id.String(), `{"limits":{"requests_per_minute":1.5}}`), http.StatusBadRequest, "limits.requests_per_minute")
		wantLimits(t, call[oapi.Provider](t, b, "GET", "/v1/providers/"+p.Id.String(), "", http.StatusOK).Limits, 0, 0, 2, 0)
	})

	t.Run("ChangesAnnounced", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.provider(t, nil)
		sub := b.rdb.Subscribe(context.Background(), run.ProviderChangedChannel)
		defer sub.Close()
		// Subscribe returns before Redis has confirmed; a message published
		// before the confirmation would be lost.
		if _, err := sub.Receive(context.Background()); err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		msgs := sub.Channel()
		call[oapi.Provider](t, b, "PATCH", "/v1/providers/"+p.Id.String(), `{"api_key":"sk-replaced-key"}`, http.StatusOK)
		if !receive(t, msgs, p.Id.String()) {
			t.Errorf("after PATCH: %s was not announced within 30 s", p.Id)
		}
		if r := b.do(t, "DELETE", "/v1/providers/"+p.Id.String(), ""); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if !receive(t, msgs, p.Id.String()) {
			t.Errorf("after DELETE: %s was not announced within 30 s", p.Id)
		}
	})

	t.Run("ErrBaseURL", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) { d.Config.AllowPrivateProviders = false })
		for _, u := range []string{"ftp://example.com", "file:///etc/passwd", "http://127.0.0.1:8080/v1", "http://169.254.169.254/", "https://user:pw@example.com"} {
			r := b.do(t, "POST", "/v1/providers", mustJSON(t, map[string]any{"name": "p", "kind": "openai", "base_url": u, "api_key": "k"}))
			wantError(t, r, http.StatusUnprocessableEntity, "base_url")
		}
		p := b.provider(t, map[string]any{"base_url": "https://api.example.com/v1"})
		r := b.do(t, "PATCH", "/v1/providers/"+p.Id.String(), `{"base_url":"http://10.0.0.1/v1"}`)
		wantError(t, r, http.StatusUnprocessableEntity, "base_url")
	})

	t.Run("OKAllowList", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) {
			d.Config.AllowPrivateProviders = false
			d.Config.ProviderAllow = []string{"10.0.0.5", "vllm.internal"}
		})
		for _, u := range []string{"http://10.0.0.5:8000/v1", "http://vllm.internal/v1"} {
			b.provider(t, map[string]any{"base_url": u})
		}
		for _, u := range []string{"http://10.0.0.6/v1", "http://169.254.169.254/", "http://127.0.0.1:8000/v1"} {
			r := b.do(t, "POST", "/v1/providers", mustJSON(t, map[string]any{"name": "p", "kind": "openai", "base_url": u, "api_key": "k"}))
			wantError(t, r, http.StatusUnprocessableEntity, "base_url")
		}
	})

	t.Run("ErrDeleteInUse", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.provider(t, nil)
		b.model(t, p.Id.String(), nil)
		wantError(t, b.do(t, "DELETE", "/v1/providers/"+p.Id.String(), ""), http.StatusConflict, "")
		call[oapi.Provider](t, b, "GET", "/v1/providers/"+p.Id.String(), "", http.StatusOK)
	})

	t.Run("ErrDuplicateName", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.provider(t, map[string]any{"name": "dup"})
		r := b.do(t, "POST", "/v1/providers", mustJSON(t, map[string]any{"name": "dup", "kind": "openai", "base_url": "https://a.example.com", "api_key": "k"}))
		wantError(t, r, http.StatusConflict, "")
	})
}

// receive returns the next message's payload. The wait is bounded only so
// that a missing message fails the test instead of hanging it.
// receive waits for the announcement of provider id. Pub/sub channels are
// server-wide, not per Redis database, so the announcements of parallel
// tests arrive too and are skipped.
func receive(t *testing.T, msgs <-chan *redis.Message, id string) bool {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m := <-msgs:
			if m.Payload == id {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

func wantLimits(t *testing.T, got oapi.ProviderLimits, rpm, tpm, conc, pause int) {
	t.Helper()
	want := []int{rpm, tpm, conc, pause}
	for i, p := range []*int{got.RequestsPerMinute, got.TokensPerMinute, got.MaxConcurrency, got.QuotaPauseSeconds} {
		if p == nil || *p != want[i] {
			t.Errorf("limits = %s, want requests_per_minute %d, tokens_per_minute %d, max_concurrency %d, quota_pause_seconds %d",
				limitsString(got), rpm, tpm, conc, pause)
			return
		}
	}
}

func limitsString(l oapi.ProviderLimits) string {
	s := ""
	for _, p := range []*int{l.RequestsPerMinute, l.TokensPerMinute, l.MaxConcurrency, l.QuotaPauseSeconds} {
		if p == nil {
			s += " <absent>"
		} else {
			s += fmt.Sprintf(" %d", *p)
		}
	}
	return "[" + strings.TrimSpace(s) + "]"
}

func TestServer_Models(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.provider(t, nil)
		m := b.model(t, p.Id.String(), map[string]any{
			"name":              "gpt",
			"request_overrides": map[string]any{"max_tokens_field": "max_completion_tokens", "omit_temperature": true, "extra_body": map[string]any{"reasoning": map[string]any{"effort": "low"}}},
		})
		o := m.RequestOverrides
		if m.Name != "gpt" || m.ProviderId != p.Id || m.Archived || o.MaxTokensField == nil || *o.MaxTokensField != "max_completion_tokens" ||
			o.OmitTemperature == nil || !*o.OmitTemperature || o.ExtraBody == nil || (*o.ExtraBody)["reasoning"] == nil {
			t.Fatalf("created %+v", m)
		}
		upd := call[oapi.Model](t, b, "PATCH", "/v1/models/"+m.Id.String(), `{"input_cost_per_mtok":3.25,"request_overrides":{}}`, http.StatusOK)
		if upd.InputCostPerMtok != 3.25 || upd.OutputCostPerMtok != m.OutputCostPerMtok || upd.RequestOverrides.MaxTokensField != nil {
			t.Errorf("patched = %+v", upd)
		}
		b.model(t, p.Id.String(), nil)
		b.model(t, p.Id.String(), nil)
		checkPaging(t, b, "/v1/models")
		if r := b.do(t, "DELETE", "/v1/models/"+m.Id.String(), ""); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		wantError(t, b.do(t, "GET", "/v1/models/"+m.Id.String(), ""), http.StatusNotFound, "")
	})

	t.Run("ArchivedWhenUsed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		id := w.models[0].Id.String()
		if r := b.do(t, "DELETE", "/v1/models/"+id, ""); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		m := call[oapi.Model](t, b, "GET", "/v1/models/"+id, "", http.StatusOK)
		if !m.Archived {
			t.Errorf("a model used by a benchmark was not archived: %+v", m)
		}
		if page := call[oapi.ModelList](t, b, "GET", "/v1/models", "", http.StatusOK); len(page.Items) != 0 {
			t.Errorf("archived model listed by default")
		}
		if page := call[oapi.ModelList](t, b, "GET", "/v1/models?include_archived=true", "", http.StatusOK); len(page.Items) != 1 {
			t.Errorf("include_archived lists %d models, want 1", len(page.Items))
		}
		// An archived model is frozen: a change is a conflict, as for
		// benchmarks, suites and questions, not a 404.
		wantError(t, b.do(t, "PATCH", "/v1/models/"+id, `{"name":"renamed"}`), http.StatusConflict, "")
		if got := call[oapi.Model](t, b, "GET", "/v1/models/"+id, "", http.StatusOK); got.Name != m.Name {
			t.Errorf("archived model renamed to %q", got.Name)
		}
	})

	t.Run("ErrProviderMissing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := b.do(t, "POST", "/v1/models", mustJSON(t, map[string]any{"provider_id": uuid.NewString(), "name": "m", "provider_model_id": "x", "input_cost_per_mtok": 0, "output_cost_per_mtok": 0}))
		wantError(t, r, http.StatusUnprocessableEntity, "provider_id")
	})

	t.Run("ErrReservedExtraBody", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.provider(t, nil)
		r := b.do(t, "POST", "/v1/models", mustJSON(t, map[string]any{"provider_id": p.Id, "name": "m", "provider_model_id": "x", "input_cost_per_mtok": 0, "output_cost_per_mtok": 0,
			"request_overrides": map[string]any{"extra_body": map[string]any{"messages": []string{}}}}))
		wantError(t, r, http.StatusUnprocessableEntity, "request_overrides.extra_body.messages")
	})
}

func TestServer_Suites(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := b.suite(t)
		b.question(t, s.Id.String(), 1)
		got := call[oapi.Suite](t, b, "GET", "/v1/suites/"+s.Id.String(), "", http.StatusOK)
		if got.QuestionCount != 1 || got.Description != "arithmetic" {
			t.Errorf("get = %+v; want 1 question", got)
		}
		upd := call[oapi.Suite](t, b, "PATCH", "/v1/suites/"+s.Id.String(), `{"description":"new"}`, http.StatusOK)
		if upd.Description != "new" || upd.Name != s.Name {
			t.Errorf("patched = %+v", upd)
		}
		b.suite(t)
		b.suite(t)
		checkPaging(t, b, "/v1/suites")
		if r := b.do(t, "DELETE", "/v1/suites/"+s.Id.String(), ""); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		wantError(t, b.do(t, "GET", "/v1/suites/"+s.Id.String(), ""), http.StatusNotFound, "")
	})

	t.Run("ErrEmptyName", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		wantError(t, b.do(t, "POST", "/v1/suites", `{"name":""}`), http.StatusUnprocessableEntity, "name")
		wantError(t, b.do(t, "POST", "/v1/suites", `{"name":"   "}`), http.StatusUnprocessableEntity, "name")
	})
}

func TestServer_Questions(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := b.suite(t)
		q := call[oapi.Question](t, b, "POST", "/v1/suites/"+s.Id.String()+"/questions",
			`{"prompt":"Capital of France?","category":"geo","expected_answer":"Paris","scoring":{"method":"contains","case_sensitive":true}}`, http.StatusCreated)
		if q.Revision != 1 || q.SuiteId != s.Id || q.Scoring.Method != "contains" || q.Scoring.CaseSensitive == nil || !*q.Scoring.CaseSensitive {
			t.Fatalf("created %+v", q)
		}
		upd := call[oapi.Question](t, b, "PATCH", "/v1/questions/"+q.Id.String(), `{"expected_answer":"paris"}`, http.StatusOK)
		if upd.Revision != 2 || upd.ExpectedAnswer != "paris" || upd.Prompt != q.Prompt || upd.Category != "geo" || upd.Scoring.Method != "contains" {
			t.Errorf("revised = %+v; want revision 2 with the rest kept", upd)
		}
		got := call[oapi.Question](t, b, "GET", "/v1/questions/"+q.Id.String(), "", http.StatusOK)
		if got.Revision != 2 {
			t.Errorf("get returns revision %d, want the current one (2)", got.Revision)
		}
		b.question(t, s.Id.String(), 1)
		b.question(t, s.Id.String(), 2)
		checkPaging(t, b, "/v1/suites/"+s.Id.String()+"/questions")
		if r := b.do(t, "DELETE", "/v1/questions/"+q.Id.String(), ""); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		// An archived question is still there for the runs that asked it,
		// and says so.
		if got := call[oapi.Question](t, b, "GET", "/v1/questions/"+q.Id.String(), "", http.StatusOK); got.ArchivedAt == nil || got.Revision != 2 {
			t.Errorf("archived question = %+v; want archived_at set and its last revision", got)
		}
		wantError(t, b.do(t, "PATCH", "/v1/questions/"+q.Id.String(), `{"prompt":"again?"}`), http.StatusConflict, "")
		if r := b.do(t, "DELETE", "/v1/questions/"+q.Id.String(), ""); r.status != http.StatusNoContent {
			t.Errorf("deleting an archived question again: %d %s; want 204, as for models", r.status, r.body)
		}
		if page := call[oapi.QuestionList](t, b, "GET", "/v1/suites/"+s.Id.String()+"/questions", "", http.StatusOK); len(page.Items) != 2 {
			t.Errorf("suite lists %d questions after a delete, want 2", len(page.Items))
		}
		if got := call[oapi.Suite](t, b, "GET", "/v1/suites/"+s.Id.String(), "", http.StatusOK); got.QuestionCount != 2 {
			t.Errorf("suite counts %d questions after a delete, want 2", got.QuestionCount)
		}
	})

	t.Run("ErrInvalidRegex", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := b.suite(t)
		r := b.do(t, "POST", "/v1/suites/"+s.Id.String()+"/questions", `{"prompt":"p","expected_answer":"x","scoring":{"method":"regex","pattern":"(unclosed"}}`)
		wantError(t, r, http.StatusUnprocessableEntity, "scoring.pattern")
		q := b.question(t, s.Id.String(), 1)
		r = b.do(t, "PATCH", "/v1/questions/"+q.Id.String(), `{"scoring":{"method":"regex","pattern":"a{2,1}"}}`)
		wantError(t, r, http.StatusUnprocessableEntity, "scoring.pattern")
		if got := call[oapi.Question](t, b, "GET", "/v1/questions/"+q.Id.String(), "", http.StatusOK); got.Revision != 1 {
			t.Errorf("a refused revision was stored: revision %d", got.Revision)
		}
	})

	t.Run("ErrNumericExpected", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := b.suite(t)
		q := b.question(t, s.Id.String(), 1)
		// The new answer no longer suits the numeric rule it keeps.
		r := b.do(t, "PATCH", "/v1/questions/"+q.Id.String(), `{"expected_answer":"two"}`)
		wantError(t, r, http.StatusUnprocessableEntity, "expected_answer")
	})

	t.Run("ErrSuiteArchived", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 2, 1)
		suitePath := "/v1/suites/" + w.suite.Id.String()
		qs := call[oapi.QuestionList](t, b, "GET", suitePath+"/questions", "", http.StatusOK)
		// A benchmark uses the suite, so deleting it archives it.
		if r := b.do(t, "DELETE", suitePath, ""); r.status != http.StatusNoContent {
			t.Fatalf("delete suite: %d %s", r.status, r.body)
		}
		if got := call[oapi.Suite](t, b, "GET", suitePath, "", http.StatusOK); got.ArchivedAt == nil {
			t.Fatalf("suite not archived: %+v", got)
		}
		// The suite and everything under it is frozen.
		wantError(t, b.do(t, "PATCH", suitePath, `{"name":"renamed"}`), http.StatusConflict, "")
		q := qs.Items[0]
		qPath := "/v1/questions/" + q.Id.String()
		wantError(t, b.do(t, "PATCH", qPath, `{"prompt":"changed?"}`), http.StatusConflict, "")
		wantError(t, b.do(t, "DELETE", qPath, ""), http.StatusConflict, "")
		wantError(t, b.do(t, "POST", suitePath+"/questions", `{"prompt":"p","expected_answer":"x","scoring":{"method":"exact_match"}}`), http.StatusConflict, "")
		wantError(t, b.do(t, "POST", suitePath+"/questions:import", `{"prompt":"p","expected_answer":"x","scoring":{"method":"exact_match"}}`,
			header("Content-Type", "application/x-ndjson")), http.StatusConflict, "")
		if got := call[oapi.Question](t, b, "GET", qPath, "", http.StatusOK); got.Revision != q.Revision || got.Prompt != q.Prompt || got.ArchivedAt != nil {
			t.Errorf("question under an archived suite changed: %+v, was %+v", got, q)
		}
	})

	t.Run("ErrSuiteMissing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := b.do(t, "POST", "/v1/suites/"+uuid.NewString()+"/questions", `{"prompt":"p","expected_answer":"x","scoring":{"method":"exact_match"}}`)
		wantError(t, r, http.StatusNotFound, "")
	})
}

func TestServer_ImportQuestions(t *testing.T) {
	t.Parallel()

	const good = `{"prompt": "What is 2+2?", "expected_answer": "4", "scoring": {"method": "numeric"}}`

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := b.suite(t)
		body := good + "\n\n" + `{"prompt":"Capital of France?","category":"geo","expected_answer":"Paris","scoring":{"method":"contains"}}` + "\r\n"
		for _, ct := range []string{"application/x-ndjson", "text/plain; charset=utf-8"} {
			res := call[oapi.ImportQuestionsResult](t, b, "POST", "/v1/suites/"+s.Id.String()+"/questions:import", body, http.StatusCreated, header("Content-Type", ct))
			if res.Imported != 2 || len(res.Items) != 2 || res.Items[0].Prompt != "What is 2+2?" || res.Items[1].Category != "geo" {
				t.Fatalf("%s: imported %+v", ct, res)
			}
		}
		if got := call[oapi.Suite](t, b, "GET", "/v1/suites/"+s.Id.String(), "", http.StatusOK); got.QuestionCount != 4 {
			t.Errorf("suite has %d questions, want 4", got.QuestionCount)
		}
	})

	t.Run("ErrBadLinesWriteNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := b.suite(t)
		lines := []string{
			good,
			`{"prompt":"p","expected_answer":"x","scoring":{"method":"regex","pattern":"(bad"}}`,
			good,
			`{"prompt":"p","expected_answer":"x","scoring":{"method":"exact_match"},"extra":1}`,
			`{"prompt": 5, "expected_answer":"x","scoring":{"method":"exact_match"}}`,
			`not json`,
			`{"expected_answer":"x","scoring":{"method":"exact_match"}}`,
		}
		r := b.do(t, "POST", "/v1/suites/"+s.Id.String()+"/questions:import", strings.Join(lines, "\n"), header("Content-Type", "application/x-ndjson"))
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var ie oapi.ImportError
		if err := json.Unmarshal(r.body, &ie); err != nil {
			t.Fatal(err)
		}
		if ie.Error.Field == nil || *ie.Error.Field != "line 2: scoring.pattern" {
			t.Errorf("error.field = %v, want line 2: scoring.pattern", ie.Error.Field)
		}
		want := map[int]string{2: "scoring.pattern", 4: "extra", 5: "prompt", 6: "", 7: "prompt"}
		if len(ie.Errors) != len(want) {
			t.Fatalf("errors = %+v, want lines %v", ie.Errors, want)
		}
		for _, le := range ie.Errors {
			field := ""
			if le.Field != nil {
				field = *le.Field
			}
			if wf, ok := want[le.Line]; !ok || wf != field || le.Message == "" {
				t.Errorf("line %d: field %q message %q; want field %q", le.Line, field, le.Message, wf)
			}
		}
		if got := call[oapi.Suite](t, b, "GET", "/v1/suites/"+s.Id.String(), "", http.StatusOK); got.QuestionCount != 0 {
			t.Errorf("a failed import wrote %d questions", got.QuestionCount)
		}
	})

	t.Run("ErrTooManyLines", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := b.suite(t)
		line := `{"prompt":"p","expected_answer":"1","scoring":{"method":"numeric"}}`
		body := strings.Repeat(line+"\n", store.MaxImportQuestions+1)
		if len(body) > 1<<20 {
			t.Fatalf("the body (%d bytes) must fit the body limit for this test to reach the line cap", len(body))
		}
		r := b.do(t, "POST", "/v1/suites/"+s.Id.String()+"/questions:import", body, header("Content-Type", "application/x-ndjson"))
		wantError(t, r, http.StatusRequestEntityTooLarge, "body")
	})

	t.Run("ErrEmpty", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := b.suite(t)
		r := b.do(t, "POST", "/v1/suites/"+s.Id.String()+"/questions:import", "\n  \n", header("Content-Type", "text/plain"))
		wantError(t, r, http.StatusUnprocessableEntity, "body")
	})

	t.Run("ErrSuiteMissing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := b.do(t, "POST", "/v1/suites/"+uuid.NewString()+"/questions:import", good, header("Content-Type", "application/x-ndjson"))
		wantError(t, r, http.StatusNotFound, "")
	})

	t.Run("ErrContentType", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := b.suite(t)
		r := b.do(t, "POST", "/v1/suites/"+s.Id.String()+"/questions:import", good)
		wantError(t, r, http.StatusBadRequest, "body")
	})
}

func TestServer_Benchmarks(t *testing.T) {
	t.Parallel()

	t.Run("ErrArchived", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		path := "/v1/benchmarks/" + w.benchmark.Id.String()
		if r := b.do(t, "POST", path+"/runs", ""); r.status != http.StatusAccepted {
			t.Fatalf("run: %d %s", r.status, r.body)
		}
		// It has a run, so deleting it archives it.
		if r := b.do(t, "DELETE", path, ""); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		// Frozen, and it says so: not a 404, since GET still shows it.
		wantError(t, b.do(t, "POST", path+"/runs", ""), http.StatusConflict, "")
		wantError(t, b.do(t, "PATCH", path, `{"name":"renamed"}`), http.StatusConflict, "")
		if got := call[oapi.Benchmark](t, b, "GET", path, "", http.StatusOK); got.ArchivedAt == nil || got.Name != w.benchmark.Name {
			t.Errorf("archived benchmark = %+v", got)
		}
	})

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 2, 3, 2)
		if w.benchmark.UnitCount != 12 || len(w.benchmark.ModelIds) != 2 || w.benchmark.Config.Samples != 2 {
			t.Fatalf("created %+v; want 2×3×2 = 12 units", w.benchmark)
		}
		id := w.benchmark.Id.String()
		got := call[oapi.Benchmark](t, b, "GET", "/v1/benchmarks/"+id, "", http.StatusOK)
		if got.Name != w.benchmark.Name || got.UnitCount != 12 {
			t.Errorf("get = %+v", got)
		}
		upd := call[oapi.Benchmark](t, b, "PATCH", "/v1/benchmarks/"+id,
			mustJSON(t, map[string]any{"model_ids": []string{w.models[0].Id.String()}, "config": map[string]any{"temperature": 0.7, "max_tokens": 10, "samples": 1, "system_prompt": "be brief"}}), http.StatusOK)
		if upd.UnitCount != 3 || upd.Config.SystemPrompt == nil || *upd.Config.SystemPrompt != "be brief" || len(upd.SuiteIds) != 1 {
			t.Errorf("patched = %+v; want 1×3×1 units and the new config", upd)
		}
		for range 2 {
			body := mustJSON(t, map[string]any{"name": uuid.NewString(), "suite_ids": []string{w.suite.Id.String()}, "model_ids": []string{w.models[0].Id.String()}, "config": map[string]any{"temperature": 0, "max_tokens": 1, "samples": 1}})
			call[oapi.Benchmark](t, b, "POST", "/v1/benchmarks", body, http.StatusCreated)
		}
		checkPaging(t, b, "/v1/benchmarks")
		if r := b.do(t, "DELETE", "/v1/benchmarks/"+id, ""); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		wantError(t, b.do(t, "GET", "/v1/benchmarks/"+id, ""), http.StatusNotFound, "")
	})

	t.Run("ErrFanOutOverCap", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) { d.Config.Limits.MaxUnits = 5 })
		p := b.provider(t, nil)
		m1, m2 := b.model(t, p.Id.String(), nil), b.model(t, p.Id.String(), nil)
		s := b.suite(t)
		b.question(t, s.Id.String(), 1)
		b.question(t, s.Id.String(), 2)
		body := mustJSON(t, map[string]any{"name": "big", "suite_ids": []string{s.Id.String()}, "model_ids": []string{m1.Id.String(), m2.Id.String()}, "config": map[string]any{"temperature": 0, "max_tokens": 1, "samples": 2}})
		wantError(t, b.do(t, "POST", "/v1/benchmarks", body), http.StatusUnprocessableEntity, "model_ids")
		if page := call[oapi.BenchmarkList](t, b, "GET", "/v1/benchmarks", "", http.StatusOK); len(page.Items) != 0 {
			t.Errorf("a refused benchmark was stored: %+v", page.Items)
		}
		// Within the cap it is accepted; growing it over the cap is refused.
		body = mustJSON(t, map[string]any{"name": "small", "suite_ids": []string{s.Id.String()}, "model_ids": []string{m1.Id.String()}, "config": map[string]any{"temperature": 0, "max_tokens": 1, "samples": 2}})
		bm := call[oapi.Benchmark](t, b, "POST", "/v1/benchmarks", body, http.StatusCreated)
		r := b.do(t, "PATCH", "/v1/benchmarks/"+bm.Id.String(), mustJSON(t, map[string]any{"model_ids": []string{m1.Id.String(), m2.Id.String()}}))
		wantError(t, r, http.StatusUnprocessableEntity, "model_ids")
	})

	t.Run("ErrMemberMissing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.provider(t, nil)
		m := b.model(t, p.Id.String(), nil)
		body := mustJSON(t, map[string]any{"name": "x", "suite_ids": []string{uuid.NewString()}, "model_ids": []string{m.Id.String()}, "config": map[string]any{"temperature": 0, "max_tokens": 1, "samples": 1}})
		wantError(t, b.do(t, "POST", "/v1/benchmarks", body), http.StatusUnprocessableEntity, "suite_ids[0]")
		if page := call[oapi.BenchmarkList](t, b, "GET", "/v1/benchmarks", "", http.StatusOK); len(page.Items) != 0 {
			t.Errorf("a refused benchmark was stored")
		}
	})

	t.Run("ErrConfigBounds", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		body := mustJSON(t, map[string]any{"name": "x", "suite_ids": []string{uuid.NewString()}, "model_ids": []string{uuid.NewString()}, "config": map[string]any{"temperature": 3, "max_tokens": 1, "samples": 1}})
		wantError(t, b.do(t, "POST", "/v1/benchmarks", body), http.StatusUnprocessableEntity, "config.temperature")
	})
}

func TestServer_Runs(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 2, 3, 2)
		r := call[oapi.Run](t, b, "POST", "/v1/benchmarks/"+w.benchmark.Id.String()+"/runs", "", http.StatusAccepted)
		if r.Status != "queued" || r.Trigger != "api" || r.BenchmarkId != w.benchmark.Id || r.Progress.Total != 2*3*2 {
			t.Fatalf("created run %+v; want queued, api, 12 units", r)
		}
		if len(r.Config.ModelIds) != 2 || len(r.Config.SuiteIds) != 1 || r.Config.Samples != 2 || r.Config.MaxTokens != 64 {
			t.Errorf("run config = %+v; want the benchmark's snapshot", r.Config)
		}
		info, err := b.inspector.GetTaskInfo(run.QueueControl, "run:"+r.Id.String())
		if err != nil {
			t.Fatalf("run:start task not queued: %v", err)
		}
		if info.Type != run.TypeStart {
			t.Errorf("queued task type %q, want %q", info.Type, run.TypeStart)
		}

		got := call[oapi.Run](t, b, "GET", "/v1/runs/"+r.Id.String(), "", http.StatusOK)
		if got.Id != r.Id || got.Progress.Total != 12 || got.Progress.Succeeded != 0 {
			t.Errorf("get = %+v", got)
		}
		// Runs name their benchmark beside its id, one by one and in lists.
		list := call[oapi.RunList](t, b, "GET", "/v1/runs?benchmark_id="+w.benchmark.Id.String(), "", http.StatusOK)
		if r.BenchmarkName != w.benchmark.Name || got.BenchmarkName != w.benchmark.Name || len(list.Items) != 1 ||
			list.Items[0].BenchmarkName != w.benchmark.Name {
			t.Errorf("benchmark names: created %q, get %q, list %+v; want %q", r.BenchmarkName, got.BenchmarkName, list.Items, w.benchmark.Name)
		}
		// A body of {} is accepted too.
		call[oapi.Run](t, b, "POST", "/v1/benchmarks/"+w.benchmark.Id.String()+"/runs", "{}", http.StatusAccepted)
		call[oapi.Run](t, b, "POST", "/v1/benchmarks/"+w.benchmark.Id.String()+"/runs", "", http.StatusAccepted)
		checkPaging(t, b, "/v1/runs?benchmark_id="+w.benchmark.Id.String()+"&status=queued")
		if page := call[oapi.RunList](t, b, "GET", "/v1/runs?status=running", "", http.StatusOK); len(page.Items) != 0 {
			t.Errorf("status filter: %d running runs, want 0", len(page.Items))
		}

		res := call[oapi.ExecutionList](t, b, "GET", "/v1/runs/"+r.Id.String()+"/results?model_id="+w.models[0].Id.String(), "", http.StatusOK)
		if len(res.Items) != 0 || res.NextCursor != nil {
			t.Errorf("results of a queued run = %+v", res)
		}
		wantError(t, b.do(t, "GET", "/v1/runs/"+r.Id.String()+"/results?cursor=abc", ""), http.StatusBadRequest, "cursor")
		wantError(t, b.do(t, "GET", "/v1/runs/"+r.Id.String()+"/rankings", ""), http.StatusConflict, "")

		c1 := call[oapi.Run](t, b, "POST", "/v1/runs/"+r.Id.String()+"/cancel", "", http.StatusAccepted)
		if c1.CancelRequestedAt == nil {
			t.Fatalf("cancel: no cancel_requested_at in %+v", c1)
		}
		if n, err := b.rdb.Exists(context.Background(), "sabe:run:{"+r.Id.String()+"}:cancel").Result(); err != nil || n != 1 {
			t.Errorf("cancel flag in Redis: %d, %v", n, err)
		}
		c2 := call[oapi.Run](t, b, "POST", "/v1/runs/"+r.Id.String()+"/cancel", "", http.StatusAccepted)
		if c2.CancelRequestedAt == nil || !c2.CancelRequestedAt.Equal(*c1.CancelRequestedAt) {
			t.Errorf("second cancel changed cancel_requested_at: %v then %v", c1.CancelRequestedAt, c2.CancelRequestedAt)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := uuid.NewString()
		for _, path := range []string{"/v1/runs/" + id, "/v1/runs/" + id + "/results", "/v1/runs/" + id + "/rankings"} {
			wantError(t, b.do(t, "GET", path, ""), http.StatusNotFound, "")
		}
		wantError(t, b.do(t, "POST", "/v1/runs/"+id+"/cancel", ""), http.StatusNotFound, "")
		wantError(t, b.do(t, "POST", "/v1/benchmarks/"+id+"/runs", ""), http.StatusNotFound, "")
	})

	t.Run("ErrQueueUnavailable", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) {
			d.Queue = &fakeQueue{enqueue: func(context.Context, *asynq.Task, ...asynq.Option) (*asynq.TaskInfo, error) {
				return nil, fmt.Errorf("dial tcp 127.0.0.1:6379: connection refused")
			}}
		})
		w := b.world(t, 1, 1, 1)
		r := b.do(t, "POST", "/v1/benchmarks/"+w.benchmark.Id.String()+"/runs", "")
		wantError(t, r, http.StatusServiceUnavailable, "")
		page := call[oapi.RunList](t, b, "GET", "/v1/runs?benchmark_id="+w.benchmark.Id.String(), "", http.StatusOK)
		if len(page.Items) != 1 {
			t.Fatalf("%d runs, want the one that could not be queued", len(page.Items))
		}
		failed := page.Items[0]
		if failed.Status != "failed" || failed.Error == nil || !strings.Contains(*failed.Error, "could not enqueue") || failed.FinishedAt == nil {
			t.Fatalf("run left as %+v; want failed with the reason", failed)
		}
		// A finished run cannot be cancelled; its rankings are there (empty).
		wantError(t, b.do(t, "POST", "/v1/runs/"+failed.Id.String()+"/cancel", ""), http.StatusConflict, "")
		rk := call[oapi.Rankings](t, b, "GET", "/v1/runs/"+failed.Id.String()+"/rankings", "", http.StatusOK)
		if rk.RunId != failed.Id || rk.Overall == nil || rk.ByCategory == nil {
			t.Errorf("rankings = %+v", rk)
		}
	})

	t.Run("ErrNothingToRun", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		page := call[oapi.QuestionList](t, b, "GET", "/v1/suites/"+w.suite.Id.String()+"/questions", "", http.StatusOK)
		b.do(t, "DELETE", "/v1/questions/"+page.Items[0].Id.String(), "")
		wantError(t, b.do(t, "POST", "/v1/benchmarks/"+w.benchmark.Id.String()+"/runs", ""), http.StatusConflict, "")
	})
}

package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/secrets"
)

// TestServer_QuestionKeys covers a question's key and metadata: kept on
// create, get and list, unique among a suite's active questions, revised
// like every other field.
func TestServer_QuestionKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	su := b.suite(t)
	path := "/v1/suites/" + su.Id.String() + "/questions"

	q := call[oapi.Question](t, b, "POST", path,
		`{"key":"capital-fr","prompt":"Capital of France?","expected_answer":"Paris","scoring":{"method":"contains"},"metadata":{"source":"hand","level":2}}`, http.StatusCreated)
	if q.Key == nil || *q.Key != "capital-fr" || q.Metadata["source"] != "hand" || q.Metadata["level"] != float64(2) {
		t.Fatalf("created %+v", q)
	}
	plain := b.question(t, su.Id.String(), 1)
	if plain.Key != nil || plain.Metadata == nil || len(plain.Metadata) != 0 {
		t.Errorf("a question without key or metadata: key %v, metadata %v", plain.Key, plain.Metadata)
	}

	t.Run("RoundTrip", func(t *testing.T) {
		got := call[oapi.Question](t, b, "GET", "/v1/questions/"+q.Id.String(), "", http.StatusOK)
		if got.Key == nil || *got.Key != "capital-fr" || got.Metadata["source"] != "hand" {
			t.Errorf("GET: %+v", got)
		}
		list := call[oapi.QuestionList](t, b, "GET", path, "", http.StatusOK)
		found := false
		for _, it := range list.Items {
			if it.Id == q.Id {
				found = it.Key != nil && *it.Key == "capital-fr" && it.Metadata["level"] == float64(2)
			}
		}
		if !found {
			t.Errorf("list does not show the key and metadata: %+v", list.Items)
		}
	})

	t.Run("ErrDuplicateKey", func(t *testing.T) {
		wantError(t, b.do(t, "POST", path, `{"key":"capital-fr","prompt":"Again?","expected_answer":"x"}`), http.StatusConflict, "key")
		// The same key in another suite is another question's business.
		other := b.suite(t)
		call[oapi.Question](t, b, "POST", "/v1/suites/"+other.Id.String()+"/questions", `{"key":"capital-fr","prompt":"Again?","expected_answer":"x"}`, http.StatusCreated)
		// Taking another question's key by an edit is refused too.
		wantError(t, b.do(t, "PATCH", "/v1/questions/"+plain.Id.String(), `{"key":"capital-fr"}`), http.StatusConflict, "key")
	})

	t.Run("ErrBadKeyOrMetadata", func(t *testing.T) {
		for _, key := range []string{`" lead"`, `"trail "`, `""`, `"a\nb"`, `"` + strings.Repeat("k", 201) + `"`} {
			resp := b.do(t, "POST", path, `{"key":`+key+`,"prompt":"p","expected_answer":"x"}`)
			if resp.status != http.StatusBadRequest && resp.status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.body), `"key"`) {
				t.Errorf("key %s: %d %s", key, resp.status, resp.body)
			}
		}
		big := `{"prompt":"p","expected_answer":"x","metadata":{"notes":"` + strings.Repeat("n", 17<<10) + `"}}`
		wantError(t, b.do(t, "POST", path, big), http.StatusUnprocessableEntity, "metadata")
	})

	t.Run("EditMakesARevision", func(t *testing.T) {
		got := call[oapi.Question](t, b, "PATCH", "/v1/questions/"+q.Id.String(), `{"key":"capital-france"}`, http.StatusOK)
		if got.Revision != q.Revision+1 || got.Key == nil || *got.Key != "capital-france" || got.Metadata["source"] != "hand" || got.Prompt != q.Prompt {
			t.Fatalf("after a key change: %+v", got)
		}
		got = call[oapi.Question](t, b, "PATCH", "/v1/questions/"+q.Id.String(), `{"metadata":{"source":"edited"}}`, http.StatusOK)
		if got.Revision != q.Revision+2 || got.Metadata["source"] != "edited" || got.Metadata["level"] != nil || *got.Key != "capital-france" {
			t.Fatalf("after a metadata change: %+v", got)
		}
		// The old key is free again; an unrelated edit keeps the key.
		call[oapi.Question](t, b, "POST", path, `{"key":"capital-fr","prompt":"Capital?","expected_answer":"Paris"}`, http.StatusCreated)
		got = call[oapi.Question](t, b, "PATCH", "/v1/questions/"+q.Id.String(), `{"category":"geo"}`, http.StatusOK)
		if got.Key == nil || *got.Key != "capital-france" || got.Metadata["source"] != "edited" {
			t.Errorf("an unrelated edit lost the key or metadata: %+v", got)
		}
		got = call[oapi.Question](t, b, "PATCH", "/v1/questions/"+q.Id.String(), `{"metadata":{}}`, http.StatusOK)
		if len(got.Metadata) != 0 {
			t.Errorf("metadata {} did not clear it: %v", got.Metadata)
		}
	})

	t.Run("ArchivedQuestionGivesItsKeyUp", func(t *testing.T) {
		gone := call[oapi.Question](t, b, "POST", path, `{"key":"temporary","prompt":"p","expected_answer":"x"}`, http.StatusCreated)
		if resp := b.do(t, "DELETE", "/v1/questions/"+gone.Id.String(), ""); resp.status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", resp.status, resp.body)
		}
		again := call[oapi.Question](t, b, "POST", path, `{"key":"temporary","prompt":"p2","expected_answer":"x"}`, http.StatusCreated)
		if old := call[oapi.Question](t, b, "GET", "/v1/questions/"+gone.Id.String(), "", http.StatusOK); old.Key == nil || *old.Key != "temporary" || again.Id == gone.Id {
			t.Errorf("archived question %+v, new %+v", old, again)
		}
	})
}

// TestServer_SuitePromptTemplate covers a suite's prompt_template.
func TestServer_SuitePromptTemplate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	su := call[oapi.Suite](t, b, "POST", "/v1/suites", `{"name":"templated","prompt_template":"Translate: {{ text }}"}`, http.StatusCreated)
	if su.PromptTemplate != "Translate: {{ text }}" {
		t.Fatalf("created %+v", su)
	}
	if plain := b.suite(t); plain.PromptTemplate != "" {
		t.Errorf("a suite without a template: %q", plain.PromptTemplate)
	}
	got := call[oapi.Suite](t, b, "GET", "/v1/suites/"+su.Id.String(), "", http.StatusOK)
	if got.PromptTemplate != su.PromptTemplate {
		t.Errorf("GET: %q", got.PromptTemplate)
	}
	got = call[oapi.Suite](t, b, "PATCH", "/v1/suites/"+su.Id.String(), `{"description":"d"}`, http.StatusOK)
	if got.PromptTemplate != su.PromptTemplate {
		t.Errorf("an unrelated edit changed the template: %q", got.PromptTemplate)
	}
	got = call[oapi.Suite](t, b, "PATCH", "/v1/suites/"+su.Id.String(), `{"prompt_template":"Q: {{q}}"}`, http.StatusOK)
	if got.PromptTemplate != "Q: {{q}}" {
		t.Errorf("PATCH: %q", got.PromptTemplate)
	}
	wantError(t, b.do(t, "PATCH", "/v1/suites/"+su.Id.String(), `{"prompt_template":"Q: {{ q | upper }}"}`), http.StatusUnprocessableEntity, "prompt_template")
	wantError(t, b.do(t, "POST", "/v1/suites", `{"name":"bad-template","prompt_template":"{{ 1 + 1 }}"}`), http.StatusUnprocessableEntity, "prompt_template")
	if resp := b.do(t, "POST", "/v1/suites", `{"name":"long-template","prompt_template":"`+strings.Repeat("x", 32769)+`"}`); resp.status < 400 || !strings.Contains(string(resp.body), "prompt_template") {
		t.Errorf("a template over 32768 characters: %d %s", resp.status, resp.body)
	}
}

// TestServer_ProviderKeyFingerprint covers api_key_fingerprint: present
// exactly when a key is stored, following the key, never the key.
func TestServer_ProviderKeyFingerprint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.provider(t, map[string]any{"api_key": "sk-first"})
	if p.ApiKeyFingerprint == nil || *p.ApiKeyFingerprint != secrets.KeyFingerprint("sk-first") || strings.Contains(*p.ApiKeyFingerprint, "sk-first") {
		t.Fatalf("fingerprint %v, want %s", p.ApiKeyFingerprint, secrets.KeyFingerprint("sk-first"))
	}
	path := "/v1/providers/" + p.Id.String()
	got := call[oapi.Provider](t, b, "GET", path, "", http.StatusOK)
	if got.ApiKeyFingerprint == nil || *got.ApiKeyFingerprint != *p.ApiKeyFingerprint {
		t.Errorf("GET: %v", got.ApiKeyFingerprint)
	}
	got = call[oapi.Provider](t, b, "PATCH", path, `{"name":"renamed-fp"}`, http.StatusOK)
	if got.ApiKeyFingerprint == nil || *got.ApiKeyFingerprint != *p.ApiKeyFingerprint {
		t.Errorf("a rename changed the fingerprint: %v", got.ApiKeyFingerprint)
	}
	got = call[oapi.Provider](t, b, "PATCH", path, `{"api_key":"sk-second"}`, http.StatusOK)
	if got.ApiKeyFingerprint == nil || *got.ApiKeyFingerprint != secrets.KeyFingerprint("sk-second") || *got.ApiKeyFingerprint == *p.ApiKeyFingerprint {
		t.Errorf("after a new key: %v", got.ApiKeyFingerprint)
	}
	got = call[oapi.Provider](t, b, "PATCH", path, `{"api_key":""}`, http.StatusOK)
	if got.ApiKeyFingerprint != nil || got.HasApiKey {
		t.Errorf("after removing the key: fingerprint %v, has_api_key %v", got.ApiKeyFingerprint, got.HasApiKey)
	}
	list := b.do(t, "GET", "/v1/providers", "")
	if strings.Contains(string(list.body), "sk-first") || strings.Contains(string(list.body), "sk-second") {
		t.Errorf("a key shows in the provider list: %s", list.body)
	}
}

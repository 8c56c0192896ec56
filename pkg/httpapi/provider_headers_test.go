package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// TestServer_ProviderHeadersNeverReturned checks that no answer about a
// provider repeats a header value: headers carry credentials (Azure
// OpenAI's api-key, Proxy-Authorization), so a read token sees names only.
func TestServer_ProviderHeadersNeverReturned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const secret, secret2 = "hdr-very-secret-0123456789", "hdr-other-secret-9876543210"
	create := b.do(t, "POST", "/v1/providers", mustJSON(t, map[string]any{"name": "azure", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-test",
		"headers": map[string]string{"api-key": secret, "X-Title": "visible-title"}}))
	if create.status != http.StatusCreated {
		t.Fatalf("create: %d %s", create.status, create.body)
	}
	id := call[oapi.ProviderList](t, b, "GET", "/v1/providers", "", http.StatusOK).Items[0].Id.String()
	reader := b.newToken(t, "read")
	bodies := []response{
		create,
		b.do(t, "GET", "/v1/providers", "", as(reader)),
		b.do(t, "GET", "/v1/providers/"+id, "", as(reader)),
		b.do(t, "PATCH", "/v1/providers/"+id, `{"headers":{"api-key":"`+secret2+`"}}`),
		b.do(t, "GET", "/v1/audit?resource_type=provider", ""),
	}
	for i, r := range bodies {
		if r.status >= 300 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
		body := string(r.body)
		if strings.Contains(body, "secret") || strings.Contains(body, "visible-title") {
			t.Errorf("response %d repeats a header value: %s", i, body)
		}
	}
	if !strings.Contains(string(bodies[2].body), `"api-key":"set"`) {
		t.Errorf("get does not name the header: %s", bodies[2].body)
	}

	// A patch names only the headers it changes: null removes one, the
	// others stay.
	removed := call[oapi.Provider](t, b, "PATCH", "/v1/providers/"+id, `{"headers":{"x-title":null,"X-New":"n"}}`, http.StatusOK)
	if len(removed.Headers) != 2 || removed.Headers["api-key"] != "set" || removed.Headers["X-New"] != "set" {
		t.Errorf("after removing X-Title: %v, want api-key and X-New", removed.Headers)
	}
}

// TestServer_ProviderHeadersInvalid checks that a header net/http would
// refuse at every call is refused when it is written, naming the field
// and never repeating the value.
func TestServer_ProviderHeadersInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.provider(t, nil)
	for name, tc := range map[string]struct{ method, path, body, field string }{
		"CreateValueControl":  {"POST", "/v1/providers", `{"name":"x","kind":"openai","base_url":"https://x.example/v1","api_key":"","headers":{"X-A":"hdr-bad\u0001value"}}`, "headers.X-A"},
		"CreateNameSeparator": {"POST", "/v1/providers", `{"name":"x","kind":"openai","base_url":"https://x.example/v1","api_key":"","headers":{"X(A)":"v"}}`, "headers"},
		"PatchValueControl":   {"PATCH", "/v1/providers/" + p.Id.String(), `{"headers":{"X-A":"hdr-bad\u007fvalue"}}`, "headers.X-A"},
		"PatchSameNameTwice":  {"PATCH", "/v1/providers/" + p.Id.String(), `{"headers":{"X-A":"1","x-a":null}}`, "headers"},
	} {
		t.Run(name, func(t *testing.T) {
			r := b.do(t, tc.method, tc.path, tc.body)
			wantError(t, r, http.StatusUnprocessableEntity, tc.field)
			if strings.Contains(string(r.body), "hdr-bad") {
				t.Errorf("the refusal repeats the value: %s", r.body)
			}
		})
	}
}

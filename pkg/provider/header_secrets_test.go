package provider_test

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/provider"
)

// TestProbe_HeaderValuesScrubbed has a provider echo every request header
// in its error, and checks that no header value of credential length
// reaches the message, whatever the header's name: Cookie and
// Ocp-Apim-Subscription-Id do not look like "key" or "token".
func TestProbe_HeaderValuesScrubbed(t *testing.T) {
	t.Parallel()
	headers := map[string]string{
		"Cookie":                   "session=c0ffee-cookie-value-1234",
		"Ocp-Apim-Subscription-Id": "sub-9f8e7d6c5b4a",
		"Proxy-Authorization":      "Basic dXNlcjpwYXNzd29yZA==",
		"X-Title":                  "sabe",
	}
	f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
		// In a fixed order: after "sabe", the cookie's "ee-cookie" would
		// make the scrubber take "e; Cookie" for a fragment of it.
		var echo strings.Builder
		for _, k := range slices.Sorted(maps.Keys(headers)) {
			echo.WriteString(k + "=" + r.Header.Get(k) + "; ")
		}
		http.Error(w, "forbidden, you sent: "+echo.String(), http.StatusForbidden)
	})
	ep := provider.Endpoint{BaseURL: f.baseURL(), APIKey: testKey, Headers: headers}
	res := provider.Probe(t.Context(), newClient(provider.ClientConfig{}), ep, "gpt-test")
	if res.OK || res.StatusCode != http.StatusForbidden {
		t.Fatalf("Probe = %+v, want a 403", res)
	}
	for k, v := range headers {
		if len(v) >= 6 && strings.Contains(res.Message, v[len(v)-6:]) {
			t.Errorf("message %q holds the value of %s", res.Message, k)
		}
	}
	// A short value of a header that does not look like a credential
	// stays: scrubbing "sabe" would mangle every message.
	if !strings.Contains(res.Message, "X-Title=sabe") {
		t.Errorf("message %q lost a value that is no secret", res.Message)
	}
}

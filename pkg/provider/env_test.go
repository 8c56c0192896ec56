package provider_test

import (
	"net/http"
	"testing"

	"github.com/sabe-dev/sabe/pkg/provider"
)

// TestClients_IgnoreEnvironment checks that no adapter sends the worker's
// own credentials, or goes to a base URL, found in its environment (the
// SDKs read OPENAI_*, ANTHROPIC_* and GOOGLE_*/GEMINI_* variables). It sets
// environment variables, so it cannot run in parallel with other tests.
func TestClients_IgnoreEnvironment(t *testing.T) {
	elsewhere := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "wrong server", http.StatusTeapot)
	})
	const envKey = "sk-env-Hq3ZpL8xWm2NcV7bRt5YkJ9d"
	for k, v := range map[string]string{
		"OPENAI_API_KEY":            envKey,
		"OPENAI_BASE_URL":           elsewhere.baseURL(),
		"ANTHROPIC_API_KEY":         envKey,
		"ANTHROPIC_AUTH_TOKEN":      envKey,
		"ANTHROPIC_BASE_URL":        elsewhere.srv.URL,
		"ANTHROPIC_CUSTOM_HEADERS":  "X-Leak: " + envKey,
		"GOOGLE_API_KEY":            envKey,
		"GEMINI_API_KEY":            envKey,
		"GOOGLE_GEMINI_BASE_URL":    elsewhere.srv.URL,
		"GOOGLE_VERTEX_BASE_URL":    elsewhere.srv.URL,
		"GOOGLE_GENAI_USE_VERTEXAI": "true",
		"GOOGLE_CLOUD_PROJECT":      "env-project",
		"GOOGLE_CLOUD_LOCATION":     "us-central1",
	} {
		t.Setenv(k, v)
	}
	cases := map[string]struct {
		client provider.Client
		handle http.HandlerFunc
		base   func(f *fakeProvider) string
		model  string
	}{
		"OpenAI":    {newClient(provider.ClientConfig{}), streamOK(0), (*fakeProvider).baseURL, "gpt-test"},
		"Anthropic": {newAnthropic(provider.ClientConfig{}), anthropicStreamOK(0), func(f *fakeProvider) string { return f.srv.URL }, "claude-test"},
		"Google":    {newGoogle(provider.ClientConfig{}), googleStreamOK(0), func(f *fakeProvider) string { return f.srv.URL }, "gemini-test"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeProvider(t, tc.handle)
			req := request(tc.base(f))
			req.APIKey, req.Model = "", tc.model
			if _, err := tc.client.Complete(t.Context(), req); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			_, header := f.received()
			for k, vs := range header {
				for _, v := range vs {
					if v == envKey || v == "Bearer "+envKey || v == "X-Leak: "+envKey {
						t.Errorf("header %s carries the environment's key", k)
					}
				}
			}
			if f.hits.Load() != 1 {
				t.Errorf("provider hit %d times, want 1", f.hits.Load())
			}
		})
	}
	if n := elsewhere.hits.Load(); n != 0 {
		t.Errorf("the environment's base URL got %d requests, want 0", n)
	}
}

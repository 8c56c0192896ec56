package provider_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/provider"
)

// mockFormat is one of mockllm's wire formats and the adapter for it.
type mockFormat struct {
	kind catalog.ProviderKind
	// base turns the mock's URL and a path prefix (a fault spec) into the
	// provider's base URL.
	base func(url, prefix string) string
	// sample is the sample the mock answers as for seed 3 (Anthropic has
	// no seed).
	sample int
}

var mockFormats = []mockFormat{
	{catalog.KindOpenAI, func(url, prefix string) string { return url + prefix + "/v1" }, 3},
	{catalog.KindAnthropic, func(url, prefix string) string { return url + prefix }, 0},
	{catalog.KindGoogle, func(url, prefix string) string { return url + prefix }, 3},
}

// startMock runs mockllm on loopback for the test.
func startMock(t *testing.T) *mockllm.Instance {
	t.Helper()
	inst, err := mockllm.Listen(t.Context(), "127.0.0.1:0", mockllm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inst.Stop() })
	return inst
}

func mockRequest(base string) provider.Request {
	prompt, _ := mockllm.Question(0)
	temp := 0.0
	seed := int64(3)
	return provider.Request{BaseURL: base, APIKey: testKey, Model: "mock-strong", Prompt: prompt, System: "Answer briefly.",
		Temperature: &temp, MaxTokens: 64, Seed: &seed}
}

// mockClients are the adapters, allowed to reach the mock on loopback.
func mockClients() map[catalog.ProviderKind]provider.Client {
	return provider.NewClients(provider.ClientConfig{
		HTTPClient:       provider.NewHTTPClient(provider.HTTPConfig{Allow: []string{"127.0.0.1"}}),
		Timeout:          10 * time.Second,
		MaxResponseBytes: 64 << 10,
	})
}

func TestAdapters_Mockllm(t *testing.T) {
	t.Parallel()
	inst := startMock(t)
	clients := mockClients()

	for _, mf := range mockFormats {
		client := clients[mf.kind]
		call := func(t *testing.T, spec string, mutate func(*provider.Request)) (provider.Response, error) {
			t.Helper()
			prefix := ""
			if spec != "" {
				prefix = "/faults/" + spec
			}
			req := mockRequest(mf.base(inst.URL, prefix))
			if mutate != nil {
				mutate(&req)
			}
			return client.Complete(t.Context(), req)
		}

		t.Run(string(mf.kind), func(t *testing.T) {
			t.Parallel()

			t.Run("OK", func(t *testing.T) {
				t.Parallel()
				res, err := call(t, "ttft=50ms,latency=100ms,chunk_words=1", nil)
				if err != nil {
					t.Fatalf("Complete: %v", err)
				}
				prompt, _ := mockllm.Question(0)
				if want := mockllm.Answer("mock-strong", prompt, mf.sample); res.Text != want {
					t.Errorf("Text = %q, want %q", res.Text, want)
				}
				if res.InputTokens <= 0 || res.OutputTokens <= 0 || res.FinishReason == "" {
					t.Errorf("res = %+v, want usage and a finish reason", res)
				}
				if res.TTFT < 50*time.Millisecond || res.Latency < res.TTFT {
					t.Errorf("TTFT = %v, Latency = %v; want TTFT >= 50ms and Latency >= TTFT", res.TTFT, res.Latency)
				}
			})

			t.Run("ErrRateLimited", func(t *testing.T) {
				t.Parallel()
				_, err := call(t, "rate_limit_rate=1,retry_after=7s", nil)
				perr := asError(t, err)
				if perr.StatusCode != http.StatusTooManyRequests || !perr.Retryable || perr.RetryAfter != 7*time.Second || perr.Quota {
					t.Errorf("err = %+v, want a retryable 429 after 7s, not a quota", perr)
				}
			})

			t.Run("ErrServer", func(t *testing.T) {
				t.Parallel()
				_, err := call(t, "error_rate=1", nil)
				perr := asError(t, err)
				if perr.StatusCode != http.StatusInternalServerError || !perr.Retryable {
					t.Errorf("err = %+v, want a retryable 500", perr)
				}
			})

			t.Run("ErrHang", func(t *testing.T) {
				t.Parallel()
				_, err := call(t, "hang_after_first_token=true", func(r *provider.Request) { r.IdleTimeout = 200 * time.Millisecond })
				perr := asError(t, err)
				if !perr.Retryable || perr.Message != "stream idle for 200ms" {
					t.Errorf("err = %+v, want a retryable idle cut", perr)
				}
			})

			t.Run("ErrMalformed", func(t *testing.T) {
				t.Parallel()
				_, err := call(t, "malformed_rate=1", nil)
				if perr := asError(t, err); perr.Retryable {
					t.Errorf("err = %+v, want a non-retryable malformed answer", perr)
				}
			})

			t.Run("ErrOversize", func(t *testing.T) {
				t.Parallel()
				_, err := call(t, "oversize_bytes=100000", nil)
				perr := asError(t, err)
				if perr.Retryable || !strings.Contains(perr.Message, "larger than") {
					t.Errorf("err = %+v, want a non-retryable oversize answer", perr)
				}
			})

			t.Run("ErrQuota", func(t *testing.T) {
				t.Parallel()
				before := time.Now()
				_, err := call(t, "quota=true,quota_reset=30s", nil)
				after := time.Now()
				perr := asError(t, err)
				// Anthropic's reset is an RFC 3339 time, whole seconds.
				earliest, latest := before.Add(29*time.Second), after.Add(31*time.Second)
				if !perr.Quota || perr.ResetAt.Before(earliest) || perr.ResetAt.After(latest) {
					t.Errorf("err = %+v, want a quota resetting 30s from now", perr)
				}
			})

			t.Run("ListModels", func(t *testing.T) {
				t.Parallel()
				models, err := client.ListModels(t.Context(), provider.Endpoint{BaseURL: mf.base(inst.URL, ""), APIKey: testKey})
				if err != nil {
					t.Fatalf("ListModels: %v", err)
				}
				if !slices.ContainsFunc(models, func(m provider.RemoteModel) bool { return m.ID == "mock-strong" }) {
					t.Errorf("models = %v, want mock-strong among them", models)
				}
			})

			t.Run("ProbeAuth", func(t *testing.T) {
				t.Parallel()
				ep := provider.Endpoint{BaseURL: mf.base(inst.URL, "/faults/require_key=true")}
				res := provider.Probe(t.Context(), client, ep, "mock-strong")
				if res.OK || res.Stage != provider.StageAuth {
					t.Errorf("Probe = %+v, want stage auth", res)
				}
			})

			t.Run("ProbeOK", func(t *testing.T) {
				t.Parallel()
				res := provider.Probe(t.Context(), client, provider.Endpoint{BaseURL: mf.base(inst.URL, ""), APIKey: testKey}, "mock-strong")
				if !res.OK || res.Stage != provider.StageOK {
					t.Errorf("Probe = %+v, want ok", res)
				}
			})
		})
	}
}

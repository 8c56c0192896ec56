package provider_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/provider"
)

// quotaCase is one provider's answer and the client that reads it.
type quotaCase struct {
	client provider.Client
	req    func(baseURL string) provider.Request
	base   func(f *fakeProvider) string
}

func quotaCases() map[string]quotaCase {
	return map[string]quotaCase{
		"OpenAI": {
			client: newClient(provider.ClientConfig{}), req: request,
			base: func(f *fakeProvider) string { return f.baseURL() },
		},
		"Anthropic": {
			client: newAnthropic(provider.ClientConfig{}), req: anthropicRequest,
			base: func(f *fakeProvider) string { return f.srv.URL },
		},
		"Google": {
			client: newGoogle(provider.ClientConfig{}), req: googleRequest,
			base: func(f *fakeProvider) string { return f.srv.URL },
		},
	}
}

// callQuota sends one request to a server answering with handle and
// returns the *Error, with the time window the call ran in.
func callQuota(t *testing.T, qc quotaCase, handle http.HandlerFunc) (perr *provider.Error, before, after time.Time) {
	t.Helper()
	f := newFakeProvider(t, handle)
	before = time.Now()
	_, err := qc.client.Complete(t.Context(), qc.req(qc.base(f)))
	after = time.Now()
	return asError(t, err), before, after
}

// TestError_Quota holds the kind-specific quota cases; every kind's plain
// quota answer is in the conformance suite.
func TestError_Quota(t *testing.T) {
	t.Parallel()
	cases := quotaCases()

	t.Run("AnthropicFarReset", func(t *testing.T) {
		t.Parallel()
		reset := time.Now().Add(6 * time.Hour).UTC().Truncate(time.Second)
		perr, _, _ := callQuota(t, cases["Anthropic"], func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Anthropic-Ratelimit-Requests-Reset", reset.Format(time.RFC3339))
			writeJSON(w, http.StatusTooManyRequests, anthropicErrorBody("rate_limit_error", "This request would exceed your organization's rate limit"))
		})
		assertQuota(t, perr, reset, reset)
	})

	t.Run("GoogleRetryDelay", func(t *testing.T) {
		t.Parallel()
		perr, _, _ := callQuota(t, cases["Google"], googleQuota)
		if !perr.Quota || perr.RetryAfter != 30*time.Second {
			t.Errorf("err = %+v, want a quota with RetryAfter = retryDelay 30s", perr)
		}
	})

	t.Run("QuotaWithoutReset", func(t *testing.T) {
		t.Parallel()
		perr, _, _ := callQuota(t, cases["OpenAI"], func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusTooManyRequests, `{"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"You exceeded your current quota"}}`)
		})
		if !perr.Quota || !perr.ResetAt.IsZero() {
			t.Errorf("Quota = %t, ResetAt = %v; want a quota with an unknown reset", perr.Quota, perr.ResetAt)
		}
	})

	t.Run("RateLimitIsNotQuota", func(t *testing.T) {
		t.Parallel()
		answers := map[string]http.HandlerFunc{
			"OpenAI": func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Ratelimit-Reset-Requests", "1s")
				writeJSON(w, http.StatusTooManyRequests, `{"error":{"type":"requests","code":"rate_limit_exceeded","message":"Rate limit reached"}}`)
			},
			"Anthropic": func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Anthropic-Ratelimit-Requests-Reset", time.Now().Add(20*time.Second).UTC().Format(time.RFC3339))
				writeJSON(w, http.StatusTooManyRequests, anthropicErrorBody("rate_limit_error", "Number of requests has exceeded your per-minute rate limit"))
			},
			"Google": func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusTooManyRequests, googleErrorBody(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
					`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2s"}`))
			},
		}
		for name, handle := range answers {
			perr, _, _ := callQuota(t, cases[name], handle)
			if perr.Quota || !perr.ResetAt.IsZero() || !perr.Retryable || perr.StatusCode != 429 {
				t.Errorf("%s: err = %+v, want a retryable 429 that is not a quota", name, perr)
			}
		}
	})
}

func assertQuota(t *testing.T, perr *provider.Error, earliest, latest time.Time) {
	t.Helper()
	if !perr.Quota || perr.StatusCode != 429 || !perr.Retryable {
		t.Errorf("err = %+v, want a retryable 429 quota", perr)
	}
	if perr.ResetAt.Before(earliest) || perr.ResetAt.After(latest) {
		t.Errorf("ResetAt = %v, want between %v and %v", perr.ResetAt, earliest, latest)
	}
	if perr.RetryAfter <= 0 {
		t.Errorf("RetryAfter = %v, want the time until the reset", perr.RetryAfter)
	}
}

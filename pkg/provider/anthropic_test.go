package provider_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/provider"
)

func newAnthropic(opts provider.ClientConfig) *provider.Anthropic {
	if opts.HTTPClient == nil {
		opts.HTTPClient = provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true})
	}
	return provider.NewAnthropic(opts)
}

func anthropicRequest(baseURL string) provider.Request {
	req := request(baseURL)
	req.Model = "claude-test"
	return req
}

// sseEvent writes one server-sent event with an event line, as Anthropic
// sends them.
func sseEvent(w http.ResponseWriter, name, data string) {
	_, _ = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
	w.(http.Flusher).Flush()
}

func anthropicDelta(text string) string {
	b, _ := json.Marshal(map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": text}})
	return string(b)
}

// anthropicHead starts a message stream up to its first content block.
func anthropicHead(w http.ResponseWriter) {
	startSSE(w)
	sseEvent(w, "message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-test","stop_reason":null,"usage":{"input_tokens":11,"output_tokens":1}}}`)
	sseEvent(w, "content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	sseEvent(w, "ping", `{"type":"ping"}`)
}

// anthropicTail ends a message stream.
func anthropicTail(w http.ResponseWriter) {
	sseEvent(w, "content_block_stop", `{"type":"content_block_stop","index":0}`)
	sseEvent(w, "message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}`)
	sseEvent(w, "message_stop", `{"type":"message_stop"}`)
}

// anthropicStreamOK streams "Hello" after delay.
func anthropicStreamOK(delay time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		anthropicHead(w)
		time.Sleep(delay)
		sseEvent(w, "content_block_delta", anthropicDelta("Hel"))
		sseEvent(w, "content_block_delta", anthropicDelta("lo"))
		anthropicTail(w)
	}
}

func anthropicErrorBody(typ, msg string) string {
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
	return string(b)
}

func anthropicHarness() adapterHarness {
	return adapterHarness{
		kind:    catalog.KindAnthropic,
		client:  func(cfg provider.ClientConfig) provider.Client { return newAnthropic(cfg) },
		request: anthropicRequest,
		messagesBody: map[string]string{
			"system": `[{"type":"text","text":"Be fair.\n\nJudge strictly."}]`,
			"messages": `[{"role":"user","content":[{"type":"text","text":"Q1"}]},{"role":"assistant","content":[{"type":"text","text":"A1"}]},` +
				`{"role":"user","content":[{"type":"text","text":"Q2\n\nQ2b"}]}]`,
		},
		structuredBody: map[string]string{
			"tools.0.name":         `"verdict"`,
			"tools.0.input_schema": passFailSchema,
			"tool_choice":          `{"type":"tool","name":"verdict"}`,
		},
		path:     "/v1/messages",
		streamOK: anthropicStreamOK,
		finish:   "end_turn",
		start:    anthropicHead,
		piece:    func(w http.ResponseWriter, text string) { sseEvent(w, "content_block_delta", anthropicDelta(text)) },
		end:      anthropicTail,
		malformed: func(w http.ResponseWriter) {
			sseEvent(w, "content_block_delta", `{"type":"content_block_delta","delta":{`)
		},
		errorBody: func(status int, msg string) string {
			return anthropicErrorBody(anthropicErrorType[status], msg)
		},
		quota: func(w http.ResponseWriter, _ *http.Request) {
			reset := time.Now().Add(30 * time.Second).UTC().Truncate(time.Second)
			w.Header().Set("Anthropic-Ratelimit-Requests-Reset", reset.Format(time.RFC3339))
			writeJSON(w, http.StatusTooManyRequests, anthropicErrorBody("rate_limit_error", "daily quota exhausted"))
		},
	}
}

// anthropicErrorType is the error type Anthropic names beside each HTTP
// status.
var anthropicErrorType = map[int]string{400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error", 500: "api_error"}

func TestAnthropic_Complete(t *testing.T) {
	t.Parallel()

	t.Run("BaseURLWithVersion", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, anthropicStreamOK(0))
		if _, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), anthropicRequest(f.srv.URL+"/v1/")); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if got := f.requestURI(); got != "/v1/messages" {
			t.Errorf("request to %q, want /v1/messages", got)
		}
	})

	t.Run("JSONAnswer", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-test",
				"content":[{"type":"text","text":"fo"},{"type":"text","text":"ur"}],"stop_reason":"max_tokens",
				"usage":{"input_tokens":7,"output_tokens":1}}`)
		})
		res, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), anthropicRequest(f.srv.URL))
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if res.Text != "four" || res.FinishReason != "max_tokens" || res.InputTokens != 7 || res.OutputTokens != 1 {
			t.Errorf("res = %+v", res)
		}
		if res.TTFT <= 0 || res.Latency < res.TTFT {
			t.Errorf("TTFT = %v, Latency = %v", res.TTFT, res.Latency)
		}
	})

	t.Run("ErrJSONAnswerError", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, anthropicErrorBody("overloaded_error", "Overloaded"))
		})
		_, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), anthropicRequest(f.srv.URL))
		perr := asError(t, err)
		if !perr.Retryable || perr.StatusCode != 529 || !strings.Contains(perr.Message, "Overloaded") {
			t.Errorf("err = %+v, want retryable 529 Overloaded", perr)
		}
	})

	t.Run("ErrRateLimitedResetSoon", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.Header().Set("Anthropic-Ratelimit-Requests-Reset", time.Now().Add(20*time.Second).UTC().Format(time.RFC3339))
			writeJSON(w, http.StatusTooManyRequests, anthropicErrorBody("rate_limit_error", "This request would exceed the rate limit of 50 requests per minute"))
		})
		_, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), anthropicRequest(f.srv.URL))
		perr := asError(t, err)
		if perr.StatusCode != 429 || !perr.Retryable || perr.RetryAfter != 7*time.Second {
			t.Errorf("err = %+v, want 429 retryable after 7s", perr)
		}
		if perr.Quota || !perr.ResetAt.IsZero() {
			t.Errorf("Quota = %t, ResetAt = %v; a per-minute limit is not a quota", perr.Quota, perr.ResetAt)
		}
		if f.hits.Load() != 1 {
			t.Errorf("server hit %d times, want 1 (SDK retries must be off)", f.hits.Load())
		}
	})

	t.Run("ErrOverloaded", func(t *testing.T) {
		t.Parallel()
		// 529 is Anthropic's own "overloaded" status: retryable like a 5xx.
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, 529, anthropicErrorBody("overloaded_error", "Overloaded"))
		})
		_, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), anthropicRequest(f.srv.URL))
		perr := asError(t, err)
		if perr.StatusCode != 529 || !perr.Retryable || perr.Message != "Overloaded" {
			t.Errorf("err = %+v, want 529 retryable with the message", perr)
		}
	})

	t.Run("ErrStreamErrorEvent", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			anthropicHead(w)
			sseEvent(w, "content_block_delta", anthropicDelta("Hel"))
			sseEvent(w, "error", anthropicErrorBody("overloaded_error", "Overloaded"))
		})
		_, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), anthropicRequest(f.srv.URL))
		perr := asError(t, err)
		if !perr.Retryable || perr.StatusCode != 529 || !strings.Contains(perr.Message, "Overloaded") {
			t.Errorf("err = %+v, want retryable 529 Overloaded", perr)
		}
	})

}

func TestAnthropic_RequestShape(t *testing.T) {
	t.Parallel()

	t.Run("Overrides", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, anthropicStreamOK(0))
		req := anthropicRequest(f.srv.URL)
		seed := int64(3)
		req.Seed = &seed
		req.OmitTemperature = true
		req.MaxTokens = 0
		req.Headers = map[string]string{"anthropic-beta": "tools-2024", "X-Title": "SABE"}
		req.ExtraBody = map[string]any{"top_k": 40, "metadata": map[string]any{"user_id": "sabe"}}
		if _, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, header := f.received()
		for _, k := range []string{"temperature", "seed"} {
			if _, ok := body[k]; ok {
				t.Errorf("%s sent: %v", k, body[k])
			}
		}
		checks := map[string]any{"max_tokens": 1024.0, "top_k": 40.0, "model": "claude-test", "stream": true}
		for k, want := range checks {
			if body[k] != want {
				t.Errorf("body[%q] = %v, want %v", k, body[k], want)
			}
		}
		if md := fmt.Sprint(body["metadata"]); md != "map[user_id:sabe]" {
			t.Errorf("metadata = %s", md)
		}
		if got := header.Get("Anthropic-Beta"); got != "tools-2024" {
			t.Errorf("anthropic-beta = %q", got)
		}
		if got := header.Get("X-Title"); got != "SABE" {
			t.Errorf("X-Title = %q", got)
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, anthropicStreamOK(0))
		if _, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), anthropicRequest(f.srv.URL)); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, header := f.received()
		if got := header.Get("X-Api-Key"); got != testKey {
			t.Errorf("x-api-key = %q", got)
		}
		if got := header.Get("Anthropic-Version"); got == "" {
			t.Error("anthropic-version missing")
		}
		if got := header.Get("Authorization"); got != "" {
			t.Errorf("Authorization = %q, want none", got)
		}
		if body["temperature"] != 0.5 || body["max_tokens"] != 100.0 {
			t.Errorf("temperature = %v, max_tokens = %v, want 0.5 and 100", body["temperature"], body["max_tokens"])
		}
		system, _ := json.Marshal(body["system"])
		if want := `[{"text":"Answer briefly.","type":"text"}]`; string(system) != want {
			t.Errorf("system = %s, want %s", system, want)
		}
		msgs, _ := json.Marshal(body["messages"])
		if want := `[{"content":[{"text":"What is 2+2?","type":"text"}],"role":"user"}]`; string(msgs) != want {
			t.Errorf("messages = %s, want %s", msgs, want)
		}
	})

	t.Run("NoKey", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, anthropicStreamOK(0))
		req := anthropicRequest(f.srv.URL)
		req.APIKey = ""
		req.System = ""
		if _, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, header := f.received()
		if got := header.Get("X-Api-Key"); got != "" {
			t.Errorf("x-api-key = %q, want none without a key", got)
		}
		if _, ok := body["system"]; ok {
			t.Errorf("system sent without a system prompt: %v", body["system"])
		}
	})
}

func TestAnthropic_ListModels(t *testing.T) {
	t.Parallel()
	f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" || r.Header.Get("Anthropic-Version") == "" || r.Header.Get("X-Api-Key") != testKey {
			writeJSON(w, http.StatusNotFound, anthropicErrorBody("not_found_error", "no"))
			return
		}
		if r.URL.Query().Get("after_id") == "" {
			writeJSON(w, http.StatusOK, `{"data":[{"id":"claude-a","type":"model","display_name":"Claude A"},{"id":"claude-b","type":"model","display_name":""}],"has_more":true,"first_id":"claude-a","last_id":"claude-b"}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"data":[{"id":"claude-c","type":"model","display_name":"Claude C"}],"has_more":false,"first_id":"claude-c","last_id":"claude-c"}`)
	})
	models, err := newAnthropic(provider.ClientConfig{}).ListModels(t.Context(), provider.Endpoint{BaseURL: f.srv.URL, APIKey: testKey})
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	want := []provider.RemoteModel{{ID: "claude-a", Name: "Claude A"}, {ID: "claude-b", Name: "claude-b"}, {ID: "claude-c", Name: "Claude C"}}
	if fmt.Sprint(models) != fmt.Sprint(want) {
		t.Errorf("models = %v, want %v", models, want)
	}
	if !strings.Contains(f.requestURI(), "after_id=claude-b") {
		t.Errorf("last request %q did not ask for the page after claude-b", f.requestURI())
	}
}

package provider_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/provider"
)

// adapterHarness is what the conformance suite needs to drive one adapter
// against a fake provider speaking the adapter's wire format. Each kind's
// test file defines its harness beside its kind-specific cases.
type adapterHarness struct {
	kind catalog.ProviderKind
	// client builds the adapter; a nil HTTPClient gets one that allows
	// loopback.
	client func(provider.ClientConfig) provider.Client
	// request is a request to the fake provider at serverURL.
	request func(serverURL string) provider.Request
	// path is where request(serverURL) must arrive, with its query.
	path string
	// streamOK streams "Hello" in two pieces, the first after delay,
	// reporting 11 input and 2 output tokens and finishing with finish.
	streamOK func(delay time.Duration) http.HandlerFunc
	finish   string
	// start opens a stream up to its first content, piece sends one
	// content piece, end finishes the stream.
	start func(w http.ResponseWriter)
	piece func(w http.ResponseWriter, text string)
	end   func(w http.ResponseWriter)
	// malformed sends a content event whose JSON does not parse.
	malformed func(w http.ResponseWriter)
	// errorBody is the kind's error body for an HTTP status and message.
	errorBody func(status int, msg string) string
	// quota answers that the quota is used up and resets 30 seconds from
	// now, the way the kind says so.
	quota http.HandlerFunc
	// messagesBody and structuredBody are what the body must hold, by
	// dotted path, for conversationRequest's turns and for
	// verdictOutput.
	messagesBody, structuredBody map[string]string
}

// conversationTurns exercise every role: a system message in the list, an
// assistant turn, and two user turns in a row.
var conversationTurns = []provider.Message{
	{Role: "system", Content: "Judge strictly."},
	{Role: "user", Content: "Q1"},
	{Role: "assistant", Content: "A1"},
	{Role: "user", Content: "Q2"},
	{Role: "user", Content: "Q2b"},
}

// passFailSchema is the verdict schema of a pass_fail judge (design §2).
const passFailSchema = `{"type":"object","properties":{"reasoning":{"type":"string"},` +
	`"verdict":{"type":"string","enum":["pass","fail"]}},"required":["reasoning","verdict"],"additionalProperties":false}`

var verdictOutput = &provider.OutputSchema{Name: "verdict", Schema: json.RawMessage(passFailSchema)}

// bodyAt is the value at a dotted path ("tools.0.name") of a JSON body.
func bodyAt(body any, path string) any {
	for _, key := range strings.Split(path, ".") {
		switch v := body.(type) {
		case map[string]any:
			body = v[key]
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i >= len(v) {
				return nil
			}
			body = v[i]
		default:
			return nil
		}
	}
	return body
}

// assertBody checks that body holds want's JSON values at want's paths.
func assertBody(t *testing.T, body map[string]any, want map[string]string) {
	t.Helper()
	for path, raw := range want {
		var w any
		if err := json.Unmarshal([]byte(raw), &w); err != nil {
			t.Fatalf("golden %s: %v", path, err)
		}
		if got := bodyAt(body, path); !reflect.DeepEqual(got, w) {
			g, _ := json.Marshal(got)
			t.Errorf("body %s = %s, want %s", path, g, raw)
		}
	}
}

// adapterHarnesses lists every provider kind's harness; the suite runs them
// all, so a new kind gets every shared behaviour checked by adding one.
func adapterHarnesses() []adapterHarness {
	return []adapterHarness{openAIHarness(), anthropicHarness(), googleHarness()}
}

func TestAdapters_Conformance(t *testing.T) {
	t.Parallel()
	hs := adapterHarnesses()
	if len(hs) != len(provider.NewClients(provider.ClientConfig{})) {
		t.Fatalf("%d harnesses for %d provider kinds", len(hs), len(provider.NewClients(provider.ClientConfig{})))
	}
	for _, h := range hs {
		t.Run(string(h.kind), func(t *testing.T) {
			t.Parallel()
			runConformance(t, h)
		})
	}
}

// runConformance checks the behaviours every adapter shares: streaming,
// usage and TTFT, retryable and fatal errors, Retry-After, the size cap,
// idle and truncated streams, malformed events, an exhausted quota and key
// scrubbing.
func runConformance(t *testing.T, h adapterHarness) {
	complete := func(t *testing.T, cfg provider.ClientConfig, handle http.HandlerFunc, mutate func(*provider.Request)) (*fakeProvider, provider.Response, error) {
		t.Helper()
		f := newFakeProvider(t, handle)
		req := h.request(f.srv.URL)
		if mutate != nil {
			mutate(&req)
		}
		res, err := h.client(cfg).Complete(t.Context(), req)
		return f, res, err
	}
	sendError := func(status int, msg string, header map[string]string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			for k, v := range header {
				w.Header().Set(k, v)
			}
			writeJSON(w, status, h.errorBody(status, msg))
		}
	}

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		const delay = 30 * time.Millisecond
		f, res, err := complete(t, provider.ClientConfig{}, h.streamOK(delay), nil)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if res.Text != "Hello" || res.FinishReason != h.finish {
			t.Errorf("Text = %q, FinishReason = %q, want Hello, %s", res.Text, res.FinishReason, h.finish)
		}
		if res.InputTokens != 11 || res.OutputTokens != 2 {
			t.Errorf("tokens = %d/%d, want 11/2", res.InputTokens, res.OutputTokens)
		}
		// The first content comes only after delay, so TTFT (time to
		// first content, not to the headers) cannot be below it.
		if res.TTFT < delay {
			t.Errorf("TTFT = %v, want >= %v (time to first content)", res.TTFT, delay)
		}
		if res.Latency < res.TTFT {
			t.Errorf("Latency %v < TTFT %v", res.Latency, res.TTFT)
		}
		if got := f.requestURI(); got != h.path {
			t.Errorf("request to %q, want %q", got, h.path)
		}
	})

	t.Run("Messages", func(t *testing.T) {
		t.Parallel()
		f, res, err := complete(t, provider.ClientConfig{}, h.streamOK(0), func(req *provider.Request) {
			req.System, req.Prompt, req.Messages = "Be fair.", "ignored when Messages is set", conversationTurns
		})
		if err != nil || res.Text != "Hello" {
			t.Fatalf("Complete = %q, %v", res.Text, err)
		}
		body, _ := f.received()
		assertBody(t, body, h.messagesBody)
		if strings.Contains(fmt.Sprint(body), "ignored when") {
			t.Error("Prompt was sent beside Messages")
		}
	})

	t.Run("Structured", func(t *testing.T) {
		t.Parallel()
		f, _, err := complete(t, provider.ClientConfig{}, h.streamOK(0), func(req *provider.Request) {
			req.Output = verdictOutput
			req.ExtraBody = map[string]any{"x_extra": "kept"}
		})
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, _ := f.received()
		assertBody(t, body, h.structuredBody)
		if body["x_extra"] != "kept" {
			t.Errorf("extra body lost beside structured output: %v", body["x_extra"])
		}
	})

	t.Run("ErrBadOutputSchema", func(t *testing.T) {
		t.Parallel()
		f, _, err := complete(t, provider.ClientConfig{}, h.streamOK(0), func(req *provider.Request) {
			req.Output = &provider.OutputSchema{Name: "bad name!", Schema: json.RawMessage(passFailSchema)}
		})
		if perr := asError(t, err); perr.Retryable || !strings.Contains(perr.Message, "output schema name") {
			t.Errorf("err = %+v, want a request error naming the schema name", perr)
		}
		if f.hits.Load() != 0 {
			t.Error("an invalid request reached the provider")
		}
	})

	t.Run("ErrRateLimited", func(t *testing.T) {
		t.Parallel()
		f, _, err := complete(t, provider.ClientConfig{},
			sendError(http.StatusTooManyRequests, "Rate limit reached", map[string]string{"Retry-After": "7"}), nil)
		perr := asError(t, err)
		if perr.StatusCode != 429 || !perr.Retryable || perr.RetryAfter != 7*time.Second {
			t.Errorf("err = %+v, want 429 retryable after 7s", perr)
		}
		if perr.Quota || !perr.ResetAt.IsZero() {
			t.Errorf("Quota = %t, ResetAt = %v; a rate limit is not a quota", perr.Quota, perr.ResetAt)
		}
		if !provider.IsRetryable(err) {
			t.Error("IsRetryable = false")
		}
		if f.hits.Load() != 1 {
			t.Errorf("server hit %d times, want 1 (SDK retries must be off)", f.hits.Load())
		}
	})

	t.Run("ErrQuota", func(t *testing.T) {
		t.Parallel()
		before := time.Now()
		_, _, err := complete(t, provider.ClientConfig{}, h.quota, nil)
		after := time.Now()
		// A reset given as a time (Anthropic) is in whole seconds.
		assertQuota(t, asError(t, err), before.Add(30*time.Second).Truncate(time.Second), after.Add(30*time.Second))
	})

	t.Run("ErrServer", func(t *testing.T) {
		t.Parallel()
		_, _, err := complete(t, provider.ClientConfig{}, sendError(http.StatusInternalServerError, "Internal server error", nil), nil)
		perr := asError(t, err)
		if perr.StatusCode != 500 || !perr.Retryable || perr.Message != "Internal server error" {
			t.Errorf("err = %+v, want 500 retryable with the provider's message", perr)
		}
	})

	t.Run("ErrBadRequest", func(t *testing.T) {
		t.Parallel()
		_, _, err := complete(t, provider.ClientConfig{}, sendError(http.StatusBadRequest, "temperature: range: 0..1", nil), nil)
		perr := asError(t, err)
		if perr.StatusCode != 400 || perr.Retryable || perr.Message != "temperature: range: 0..1" {
			t.Errorf("err = %+v, want 400 not retryable with the provider's message", perr)
		}
	})

	t.Run("ErrUnauthorizedScrubbed", func(t *testing.T) {
		t.Parallel()
		_, _, err := complete(t, provider.ClientConfig{}, sendError(http.StatusUnauthorized, "invalid API key: "+testKey, nil), nil)
		perr := asError(t, err)
		if perr.StatusCode != 401 || perr.Retryable || !strings.Contains(perr.Message, "invalid API key") {
			t.Errorf("err = %+v, want 401 not retryable with the provider's words", perr)
		}
		assertNoKey(t, perr.Message, err.Error())
	})

	hangAfterFirstPiece := func(w http.ResponseWriter, r *http.Request) {
		h.start(w)
		h.piece(w, "Hel")
		<-r.Context().Done()
	}

	t.Run("ErrIdle", func(t *testing.T) {
		t.Parallel()
		_, _, err := complete(t, provider.ClientConfig{Timeout: time.Minute}, hangAfterFirstPiece,
			func(req *provider.Request) { req.IdleTimeout = 200 * time.Millisecond })
		perr := asError(t, err)
		if !perr.Retryable || perr.Message != "stream idle for 200ms" {
			t.Errorf("err = %+v, want retryable idle cut", perr)
		}
	})

	t.Run("ErrIdleClientDefault", func(t *testing.T) {
		t.Parallel()
		_, _, err := complete(t, provider.ClientConfig{Timeout: time.Minute, IdleTimeout: 200 * time.Millisecond}, hangAfterFirstPiece, nil)
		perr := asError(t, err)
		if !perr.Retryable || perr.Message != "stream idle for 200ms" {
			t.Errorf("err = %+v, want retryable idle cut (client default)", perr)
		}
	})

	t.Run("ErrTooLarge", func(t *testing.T) {
		t.Parallel()
		_, _, err := complete(t, provider.ClientConfig{MaxResponseBytes: 4096}, func(w http.ResponseWriter, _ *http.Request) {
			h.start(w)
			for range 100 {
				h.piece(w, strings.Repeat("x", 100))
			}
			h.end(w)
		}, nil)
		perr := asError(t, err)
		if perr.Retryable || !strings.Contains(perr.Message, "larger than 4096 bytes") {
			t.Errorf("err = %+v, want not retryable, over the cap", perr)
		}
	})

	t.Run("ErrMalformed", func(t *testing.T) {
		t.Parallel()
		_, _, err := complete(t, provider.ClientConfig{}, func(w http.ResponseWriter, _ *http.Request) {
			h.start(w)
			h.malformed(w)
		}, nil)
		perr := asError(t, err)
		if perr.Retryable || !strings.Contains(perr.Message, "malformed") {
			t.Errorf("err = %+v, want not retryable, malformed", perr)
		}
	})

	t.Run("ErrTruncated", func(t *testing.T) {
		t.Parallel()
		_, _, err := complete(t, provider.ClientConfig{}, func(w http.ResponseWriter, _ *http.Request) {
			h.start(w)
			h.piece(w, "Hel")
		}, nil)
		perr := asError(t, err)
		if !perr.Retryable || !strings.Contains(perr.Message, "without a finish reason") {
			t.Errorf("err = %+v, want retryable truncation", perr)
		}
	})
}

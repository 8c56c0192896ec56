package provider_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/provider"
)

const testKey = "sk-test-Zq7RkP2mXw9TnB4vLc8HyJ3sDf6GaE1u"

// fakeProvider is an OpenAI-compatible endpoint on loopback that records
// what it received and answers with handle.
type fakeProvider struct {
	srv    *httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	body   map[string]any
	header http.Header
	url    string // path and query of the last request
}

func newFakeProvider(t *testing.T, handle http.HandlerFunc) *fakeProvider {
	t.Helper()
	f := &fakeProvider{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		var body map[string]any
		if r.Method == http.MethodPost {
			data, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(data, &body)
			r.Body = io.NopCloser(bytes.NewReader(data))
		}
		f.mu.Lock()
		f.body, f.header, f.url = body, r.Header.Clone(), r.URL.RequestURI()
		f.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) baseURL() string { return f.srv.URL + "/v1" }

func (f *fakeProvider) received() (map[string]any, http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.body, f.header
}

// requestURI is the path and query of the last request.
func (f *fakeProvider) requestURI() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.url
}

func newClient(opts provider.ClientConfig) *provider.OpenAI {
	if opts.HTTPClient == nil {
		opts.HTTPClient = provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true})
	}
	return provider.NewOpenAI(opts)
}

func request(baseURL string) provider.Request {
	temp := 0.5
	return provider.Request{
		BaseURL:     baseURL,
		APIKey:      testKey,
		Model:       "gpt-test",
		System:      "Answer briefly.",
		Prompt:      "What is 2+2?",
		Temperature: &temp,
		MaxTokens:   100,
	}
}

func chunk(content, finish string) string {
	choice := map[string]any{"index": 0, "delta": map[string]any{"content": content}, "finish_reason": nil}
	if finish != "" {
		choice["finish_reason"] = finish
	}
	b, _ := json.Marshal(map[string]any{
		"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
		"choices": []any{choice},
	})
	return string(b)
}

const usageChunk = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}}`

func startSSE(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

func event(w http.ResponseWriter, data string) {
	_, _ = fmt.Fprintf(w, "data: %s\n\n", data)
	w.(http.Flusher).Flush()
}

// streamOK streams "Hello" after delay, then usage and [DONE].
func streamOK(delay time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		event(w, `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-test","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`)
		time.Sleep(delay)
		event(w, chunk("Hel", ""))
		event(w, chunk("lo", ""))
		event(w, chunk("", "stop"))
		event(w, usageChunk)
		event(w, "[DONE]")
	}
}

func asError(t *testing.T, err error) *provider.Error {
	t.Helper()
	var perr *provider.Error
	if !errors.As(err, &perr) {
		t.Fatalf("err = %v (%T), want *provider.Error", err, err)
	}
	return perr
}

func openAIHarness() adapterHarness {
	return adapterHarness{
		kind:      catalog.KindOpenAI,
		client:    func(cfg provider.ClientConfig) provider.Client { return newClient(cfg) },
		request:   func(url string) provider.Request { return request(url + "/v1") },
		path:      "/v1/chat/completions",
		streamOK:  streamOK,
		finish:    "stop",
		start:     startSSE,
		piece:     func(w http.ResponseWriter, text string) { event(w, chunk(text, "")) },
		end:       func(w http.ResponseWriter) { event(w, chunk("", "stop")) },
		malformed: func(w http.ResponseWriter) { event(w, `{"id":"c1","choices":[{"index":0,`) },
		errorBody: func(status int, msg string) string {
			b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": openAIErrorType[status]}})
			return string(b)
		},
	}
}

// openAIErrorType is the error type OpenAI names beside each HTTP status.
var openAIErrorType = map[int]string{400: "invalid_request_error", 401: "invalid_request_error", 429: "requests", 500: "server_error"}

func TestOpenAI_Complete(t *testing.T) {
	t.Parallel()

	t.Run("NoUsage", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, chunk("4", "stop"))
			event(w, "[DONE]")
		})
		res, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if res.Text != "4" || res.InputTokens != 0 || res.OutputTokens != 0 {
			t.Errorf("res = %+v, want text 4 and no tokens", res)
		}
	})

	t.Run("JSONAnswer", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","created":1,"model":"gpt-test",
				"choices":[{"index":0,"message":{"role":"assistant","content":"four"},"finish_reason":"length"}],
				"usage":{"prompt_tokens":7,"completion_tokens":1,"total_tokens":8}}`)
		})
		res, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if res.Text != "four" || res.FinishReason != "length" || res.InputTokens != 7 || res.OutputTokens != 1 {
			t.Errorf("res = %+v", res)
		}
		if res.TTFT <= 0 || res.Latency < res.TTFT {
			t.Errorf("TTFT = %v, Latency = %v", res.TTFT, res.Latency)
		}
	})

	t.Run("ErrJSONAnswerError", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"error":{"message":"model is loading","code":503}}`)
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if !perr.Retryable || !strings.Contains(perr.Message, "model is loading") {
			t.Errorf("err = %+v, want retryable with the message", perr)
		}
	})

	t.Run("ErrServer", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html><body>bad gateway</body></html>")
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.StatusCode != 502 || !perr.Retryable || perr.Message == "" {
			t.Errorf("err = %+v, want 502 retryable", perr)
		}
	})

	t.Run("ErrInternal", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.StatusCode != 500 || !perr.Retryable || perr.Message != "boom" {
			t.Errorf("err = %+v, want 500 retryable \"boom\"", perr)
		}
	})

	t.Run("ErrBadRequest", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"message":"The model 'gpt-test' does not exist","type":"invalid_request_error"}}`)
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.StatusCode != 400 || perr.Retryable {
			t.Errorf("err = %+v, want 400 not retryable", perr)
		}
		if perr.Message != "The model 'gpt-test' does not exist" {
			t.Errorf("Message = %q", perr.Message)
		}
	})

	t.Run("ErrUnauthorizedTransformedScrubbed", func(t *testing.T) {
		t.Parallel()
		// A provider echoing the key back transformed, the way a stored
		// error then reaches GET /v1/runs/{id}/results.
		echoes := []string{
			strings.ToUpper(testKey), strings.ToLower(testKey),
			base64.StdEncoding.EncodeToString([]byte(testKey)), hex.EncodeToString([]byte(testKey)),
			strings.Join(strings.Split(testKey, ""), " "), testKey[:len(testKey)/2] + "\n" + testKey[len(testKey)/2:],
		}
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "bad key: " + strings.Join(echoes, " | ")}})
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		for _, echo := range echoes {
			for i := 0; i+8 <= len(echo); i++ {
				if strings.Contains(perr.Message, echo[i:i+8]) {
					t.Fatalf("%q contains %q of the echo %q", perr.Message, echo[i:i+8], echo)
				}
			}
		}
	})

	t.Run("ErrUnauthorizedScrubbed", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			msg := fmt.Sprintf("Incorrect API key provided: %s****%s. Also seen: %s and %s",
				testKey[:10], testKey[len(testKey)-4:], testKey[12:24], testKey)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg}})
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.StatusCode != 401 || perr.Retryable {
			t.Errorf("err = %+v, want 401 not retryable", perr)
		}
		if !strings.Contains(perr.Message, "Incorrect API key provided") || !strings.Contains(perr.Message, "[redacted]") {
			t.Errorf("Message = %q, want the provider's words with the key redacted", perr.Message)
		}
		for _, s := range []string{perr.Message, err.Error()} {
			for i := 0; i+6 <= len(testKey); i++ {
				if strings.Contains(s, testKey[i:i+6]) {
					t.Fatalf("%q contains key fragment %q", s, testKey[i:i+6])
				}
			}
			if strings.Contains(s, testKey[len(testKey)-4:]) {
				t.Errorf("%q contains the key's last four characters", s)
			}
		}
	})

	t.Run("ErrMessageTruncated", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, strings.Repeat("é", 2000), http.StatusBadRequest)
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if len(perr.Message) > 500 || len(perr.Message) < 490 || !strings.HasPrefix(perr.Message, "éé") {
			t.Errorf("Message has %d bytes, want the first <= 500 bytes", len(perr.Message))
		}
	})

	t.Run("ErrTooLargeJSON", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"choices":[{"index":0,"message":{"content":%q}}]}`, strings.Repeat("y", 10000))
		})
		_, err := newClient(provider.ClientConfig{MaxResponseBytes: 4096}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.Retryable || !strings.Contains(perr.Message, "larger than") {
			t.Errorf("err = %+v, want not retryable, over the cap", perr)
		}
	})

	t.Run("ExactlyAtCap", func(t *testing.T) {
		t.Parallel()
		body := `{"choices":[{"index":0,"message":{"content":"ok"},"finish_reason":"stop"}]}`
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		})
		res, err := newClient(provider.ClientConfig{MaxResponseBytes: int64(len(body))}).Complete(t.Context(), request(f.baseURL()))
		if err != nil || res.Text != "ok" {
			t.Errorf("Complete = %+v, %v; a body exactly at the cap must pass", res, err)
		}
	})

	t.Run("ErrTimeout", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
			startSSE(w)
			event(w, chunk("thinking", ""))
			<-r.Context().Done()
		})
		_, err := newClient(provider.ClientConfig{Timeout: 100 * time.Millisecond}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if !perr.Retryable || !strings.Contains(perr.Message, "within 100ms") {
			t.Errorf("err = %+v, want retryable timeout", perr)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Error("the call's own timeout must not look like the caller's deadline")
		}
	})

	t.Run("ErrCanceled", func(t *testing.T) {
		t.Parallel()
		arrived := make(chan struct{})
		f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-r.Context().Done()
		})
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-arrived
			cancel()
		}()
		_, err := newClient(provider.ClientConfig{}).Complete(ctx, request(f.baseURL()))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		var perr *provider.Error
		if errors.As(err, &perr) || provider.IsRetryable(err) {
			t.Errorf("caller cancellation came back as a provider error: %v", err)
		}
	})

	t.Run("ErrCallerDeadline", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := newClient(provider.ClientConfig{}).Complete(ctx, request(f.baseURL()))
		if !errors.Is(err, context.DeadlineExceeded) || provider.IsRetryable(err) {
			t.Errorf("err = %v, want the caller's context.DeadlineExceeded", err)
		}
	})

	t.Run("ErrUnexpectedEOF", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			data := "data: " + chunk("Hel", "") + "\n\n"
			// A chunk that promises more bytes than arrive before the
			// connection drops.
			_, _ = fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n%x\r\ndata: {\"id", len(data), data, 500)
			_ = buf.Flush()
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if !perr.Retryable {
			t.Errorf("err = %+v, want retryable", perr)
		}
	})

	t.Run("ErrStreamErrorEvent", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, chunk("Hel", ""))
			event(w, `{"error":{"message":"upstream overloaded","code":502}}`)
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if !perr.Retryable || perr.StatusCode != 502 || !strings.Contains(perr.Message, "upstream overloaded") {
			t.Errorf("err = %+v, want retryable 502 with the message", perr)
		}
	})

	t.Run("ErrNotEventStream", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>welcome</html>")
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.Retryable || !strings.Contains(perr.Message, "text/html") {
			t.Errorf("err = %+v, want not retryable naming the content type", perr)
		}
	})

	t.Run("ErrConnectionRefused", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		url := f.baseURL()
		f.srv.Close()
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(url))
		perr := asError(t, err)
		if !perr.Retryable || perr.StatusCode != 0 {
			t.Errorf("err = %+v, want retryable without status", perr)
		}
	})

	t.Run("ErrRedirect", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/v1/chat/completions?key=abc", http.StatusTemporaryRedirect)
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.Retryable || perr.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("err = %+v, want a non-retryable 307", perr)
		}
		if !strings.Contains(perr.Message, "redirected to host elsewhere.example") || strings.Contains(perr.Message, "key=abc") {
			t.Errorf("Message = %q, want the redirect's host and no query", perr.Message)
		}
		if n := f.hits.Load(); n != 1 {
			t.Errorf("server hit %d times, want 1 (redirects are not followed)", n)
		}
	})

	t.Run("ErrInvalidRequest", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		client := newClient(provider.ClientConfig{})
		for name, mutate := range map[string]func(*provider.Request){
			"MaxTokensField": func(r *provider.Request) { r.MaxTokensField = "max_output_tokens" },
			"Model":          func(r *provider.Request) { r.Model = "" },
			"BaseURL":        func(r *provider.Request) { r.BaseURL = "ftp://example.com" },
		} {
			req := request(f.baseURL())
			mutate(&req)
			_, err := client.Complete(t.Context(), req)
			if perr := asError(t, err); perr.Retryable {
				t.Errorf("%s: err = %+v, want not retryable", name, perr)
			}
		}
		if n := f.hits.Load(); n != 0 {
			t.Errorf("server hit %d times, want 0", n)
		}
	})
}

func TestOpenAI_RequestShape(t *testing.T) {
	t.Parallel()

	t.Run("Overrides", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		req := request(f.baseURL())
		seed := int64(3)
		req.Seed = &seed
		req.MaxTokensField = "max_completion_tokens"
		req.MaxTokens = 256
		req.OmitTemperature = true
		req.Headers = map[string]string{"HTTP-Referer": "https://sabe.dev", "X-Title": "SABE"}
		req.ExtraBody = map[string]any{
			"top_k":    40,
			"provider": map[string]any{"order": []string{"groq"}},
			"odd.key":  true,
			"w*rd?|#@": "x",
			":colon":   1,
		}
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, header := f.received()
		if _, ok := body["temperature"]; ok {
			t.Errorf("temperature sent despite OmitTemperature: %v", body["temperature"])
		}
		if _, ok := body["max_tokens"]; ok {
			t.Error("max_tokens sent, want only max_completion_tokens")
		}
		checks := map[string]any{
			"max_completion_tokens": 256.0,
			"seed":                  3.0,
			"top_k":                 40.0,
			"odd.key":               true,
			"w*rd?|#@":              "x",
			":colon":                1.0,
			"model":                 "gpt-test",
			"stream":                true,
		}
		for k, want := range checks {
			if body[k] != want {
				t.Errorf("body[%q] = %v, want %v", k, body[k], want)
			}
		}
		if order := fmt.Sprint(body["provider"]); order != "map[order:[groq]]" {
			t.Errorf("body[provider] = %s", order)
		}
		if so := fmt.Sprint(body["stream_options"]); so != "map[include_usage:true]" {
			t.Errorf("stream_options = %s", so)
		}
		if got := header.Get("HTTP-Referer"); got != "https://sabe.dev" {
			t.Errorf("HTTP-Referer = %q", got)
		}
		if got := header.Get("X-Title"); got != "SABE" {
			t.Errorf("X-Title = %q", got)
		}
		if got := header.Get("Authorization"); got != "Bearer "+testKey {
			t.Errorf("Authorization = %q", got)
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		req := request(f.baseURL())
		req.APIKey = ""
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, header := f.received()
		if body["temperature"] != 0.5 || body["max_tokens"] != 100.0 {
			t.Errorf("temperature = %v, max_tokens = %v, want 0.5 and 100", body["temperature"], body["max_tokens"])
		}
		for _, k := range []string{"seed", "max_completion_tokens"} {
			if _, ok := body[k]; ok {
				t.Errorf("%s sent, want it left out", k)
			}
		}
		msgs, _ := json.Marshal(body["messages"])
		if want := `[{"content":"Answer briefly.","role":"system"},{"content":"What is 2+2?","role":"user"}]`; string(msgs) != want {
			t.Errorf("messages = %s, want %s", msgs, want)
		}
		if got := header.Get("Authorization"); got != "" {
			t.Errorf("Authorization = %q, want none without a key", got)
		}
	})

	t.Run("ExtraBodyOverSABE", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		req := request(f.baseURL())
		req.ExtraBody = map[string]any{
			"temperature":    0.9,
			"stream_options": map[string]any{"include_usage": false},
			"stream":         false,
			"stop":           nil,
		}
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, _ := f.received()
		if body["temperature"] != 0.9 || body["stream"] != true || fmt.Sprint(body["stream_options"]) != "map[include_usage:false]" {
			t.Errorf("temperature = %v, stream = %v, stream_options = %v; want 0.9, true (always), include_usage false",
				body["temperature"], body["stream"], body["stream_options"])
		}
		if v, ok := body["stop"]; !ok || v != nil {
			t.Errorf("stop = %v (present %t), want null", v, ok)
		}
	})

	t.Run("Headers", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL())); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		_, header := f.received()
		for k, want := range map[string]string{"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "SABE"} {
			if got := header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if got := f.requestURI(); got != "/v1/chat/completions" {
			t.Errorf("request to %s, want /v1/chat/completions", got)
		}
	})

	t.Run("CustomAuthorization", func(t *testing.T) {
		t.Parallel()
		// An endpoint's own Authorization header wins over the key, as it
		// did with the SDK.
		f := newFakeProvider(t, streamOK(0))
		req := request(f.baseURL())
		req.Headers = map[string]string{"authorization": "Token abc", "User-Agent": "custom"}
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		_, header := f.received()
		if got := header.Values("Authorization"); len(got) != 1 || got[0] != "Token abc" {
			t.Errorf("Authorization = %q, want only the endpoint's header", got)
		}
		if got := header.Get("User-Agent"); got != "custom" {
			t.Errorf("User-Agent = %q, want the endpoint's", got)
		}
	})

	t.Run("BaseURLPaths", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		client := newClient(provider.ClientConfig{})
		for base, want := range map[string]string{
			f.srv.URL:                  "/chat/completions",
			f.srv.URL + "/":            "/chat/completions",
			f.srv.URL + "/v1/":         "/v1/chat/completions",
			f.srv.URL + "/api/v1":      "/api/v1/chat/completions",
			f.srv.URL + "/x/../openai": "/openai/chat/completions",
		} {
			if _, err := client.Complete(t.Context(), request(base)); err != nil {
				t.Fatalf("Complete(%s): %v", base, err)
			}
			if got := f.requestURI(); got != want {
				t.Errorf("base %s: request to %s, want %s", base, got, want)
			}
		}
	})

	t.Run("NoMaxTokens", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		req := request(f.baseURL())
		req.MaxTokens = 0
		req.System = ""
		if _, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, _ := f.received()
		if _, ok := body["max_tokens"]; ok {
			t.Error("max_tokens sent with MaxTokens 0")
		}
		if msgs := body["messages"].([]any); len(msgs) != 1 {
			t.Errorf("messages = %v, want only the user message", msgs)
		}
	})
}

func TestNewHTTPClient_Guard(t *testing.T) {
	t.Parallel()

	t.Run("ErrLoopbackRefused", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		client := provider.NewOpenAI(provider.ClientConfig{HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{})})
		_, err := client.Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.Retryable {
			t.Error("refusal is retryable")
		}
		if !strings.Contains(perr.Message, "provider address 127.0.0.1 is loopback") ||
			!strings.Contains(perr.Message, "SABE_ALLOW_PRIVATE_PROVIDERS=true") {
			t.Errorf("Message = %q", perr.Message)
		}
		if n := f.hits.Load(); n != 0 {
			t.Errorf("server hit %d times, want 0", n)
		}
	})

	t.Run("ErrLocalhostRefused", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		hc := provider.NewHTTPClient(provider.HTTPConfig{})
		resp, err := hc.Get(strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1))
		if err == nil {
			_ = resp.Body.Close()
			t.Fatal("GET localhost succeeded, want refusal")
		}
		if perr := asError(t, err); perr.Retryable {
			t.Errorf("err = %+v", perr)
		}
		if n := f.hits.Load(); n != 0 {
			t.Errorf("server hit %d times, want 0", n)
		}
	})

	t.Run("AllowPrivate", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		client := provider.NewOpenAI(provider.ClientConfig{HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true})})
		if _, err := client.Complete(t.Context(), request(f.baseURL())); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if n := f.hits.Load(); n != 1 {
			t.Errorf("server hit %d times, want 1", n)
		}
	})

	t.Run("DefaultClientGuards", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		_, err := provider.NewOpenAI(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		if perr := asError(t, err); !strings.Contains(perr.Message, "loopback") {
			t.Errorf("err = %+v, want loopback refusal", perr)
		}
	})
}

func TestRequest_String(t *testing.T) {
	t.Parallel()
	req := request("https://api.example.com/v1")
	req.Headers = map[string]string{"X-Api-Key": "hdr-secret-value"}
	for _, s := range []string{req.String(), fmt.Sprintf("%v", req), fmt.Sprintf("%+v", req), fmt.Sprintf("%#v", &req)} {
		if strings.Contains(s, testKey) || strings.Contains(s, "hdr-secret-value") {
			t.Errorf("%q reveals a credential", s)
		}
		if !strings.Contains(s, "gpt-test") || !strings.Contains(s, "X-Api-Key") {
			t.Errorf("%q lacks model or header name", s)
		}
	}
}

func TestOpenAI_IdleTimeout(t *testing.T) {
	t.Parallel()

	t.Run("ErrHungStream", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
			startSSE(w)
			event(w, chunk("Hel", ""))
			<-r.Context().Done()
		})
		req := request(f.baseURL())
		req.IdleTimeout = 200 * time.Millisecond
		_, err := newClient(provider.ClientConfig{Timeout: time.Minute}).Complete(t.Context(), req)
		perr := asError(t, err)
		if !perr.Retryable || perr.Message != "stream idle for 200ms" {
			t.Errorf("err = %+v, want retryable idle cut", perr)
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			t.Error("the idle cut must not look like the caller's context")
		}
	})

	t.Run("SteadyStream", func(t *testing.T) {
		t.Parallel()
		// Eight chunks 50ms apart outlast the 300ms idle timeout in total but
		// never stay silent that long: each chunk restarts the timer.
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			for range 8 {
				time.Sleep(50 * time.Millisecond)
				event(w, chunk("a", ""))
			}
			event(w, chunk("", "stop"))
			event(w, "[DONE]")
		})
		req := request(f.baseURL())
		req.IdleTimeout = 300 * time.Millisecond
		res, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req)
		if err != nil || res.Text != "aaaaaaaa" {
			t.Errorf("Complete = %+v, %v; want all eight chunks", res, err)
		}
	})
}

func TestOpenAI_ListModels(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != "/v1/models" || r.Header.Get("Authorization") != "Bearer "+testKey {
				http.Error(w, "wrong request", http.StatusNotFound)
				return
			}
			writeJSON(w, http.StatusOK, `{"object":"list","data":[{"id":"gpt-a","object":"model","created":1,"owned_by":"x"},
				{"id":"vendor/model-b","object":"model","name":"Model B"}]}`)
		})
		models, err := newClient(provider.ClientConfig{}).ListModels(t.Context(), provider.Endpoint{BaseURL: f.baseURL(), APIKey: testKey})
		if err != nil {
			t.Fatalf("ListModels: %v", err)
		}
		want := []provider.RemoteModel{{ID: "gpt-a", Name: "gpt-a"}, {ID: "vendor/model-b", Name: "Model B"}}
		if fmt.Sprint(models) != fmt.Sprint(want) {
			t.Errorf("models = %v, want %v", models, want)
		}
	})

	t.Run("ErrUnauthorized", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusUnauthorized, `{"error":{"message":"Incorrect API key provided: `+testKey+`","type":"invalid_request_error","code":"invalid_api_key"}}`)
		})
		_, err := newClient(provider.ClientConfig{}).ListModels(t.Context(), provider.Endpoint{BaseURL: f.baseURL(), APIKey: testKey})
		perr := asError(t, err)
		if perr.StatusCode != 401 || perr.Retryable {
			t.Errorf("err = %+v, want 401 not retryable", perr)
		}
		assertNoKey(t, perr.Message)
	})
}

func TestNewClients(t *testing.T) {
	t.Parallel()
	clients := provider.NewClients(provider.ClientConfig{})
	for kind, want := range map[catalog.ProviderKind]string{
		catalog.KindOpenAI:    "*provider.OpenAI",
		catalog.KindAnthropic: "*provider.Anthropic",
		catalog.KindGoogle:    "*provider.Google",
	} {
		if got := fmt.Sprintf("%T", clients[kind]); got != want {
			t.Errorf("clients[%q] is %s, want %s", kind, got, want)
		}
	}
	if len(clients) != 3 {
		t.Errorf("%d clients, want 3", len(clients))
	}
}

func TestOpenAI_Stream(t *testing.T) {
	t.Parallel()

	t.Run("DoneEndsStream", func(t *testing.T) {
		t.Parallel()
		// The body stays open after [DONE]: the answer must not wait for it.
		f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
			startSSE(w)
			event(w, chunk("4", "stop"))
			event(w, "[DONE]")
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})
		req := request(f.baseURL())
		req.IdleTimeout = 5 * time.Second
		begin := time.Now()
		res, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req)
		if err != nil || res.Text != "4" || res.FinishReason != "stop" {
			t.Fatalf("Complete = %+v, %v; want 4, stop", res, err)
		}
		if d := time.Since(begin); d > 2*time.Second {
			t.Errorf("Complete took %v; [DONE] must end the stream", d)
		}
	})

	t.Run("DataAfterDoneIgnored", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, chunk("4", "stop"))
			event(w, usageChunk)
			event(w, "[DONE]")
			event(w, chunk("more", "length"))
			event(w, `{"error":{"message":"late","code":500}}`)
			event(w, `{"id":`)
		})
		res, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if res.Text != "4" || res.FinishReason != "stop" || res.InputTokens != 11 || res.OutputTokens != 2 {
			t.Errorf("res = %+v, want only what came before [DONE]", res)
		}
	})

	t.Run("NoDoneWithFinishReason", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, chunk("4", "stop"))
		})
		res, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		if err != nil || res.Text != "4" {
			t.Errorf("Complete = %+v, %v; a finish reason without [DONE] is a complete answer", res, err)
		}
	})

	t.Run("ErrDoneWithoutFinishReason", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, chunk("Hel", ""))
			event(w, "[DONE]")
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if !perr.Retryable || !strings.Contains(perr.Message, "without a finish reason after 1 events") {
			t.Errorf("err = %+v, want retryable truncation after 1 event", perr)
		}
	})

	t.Run("UsageOnlyFinalChunk", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, `{"id":"c1","choices":[{"index":0,"delta":{"content":"fo"},"finish_reason":null}],"usage":null}`)
			event(w, `{"id":"c1","choices":[{"index":0,"delta":{"content":"ur"},"finish_reason":"stop"}],"usage":null}`)
			event(w, `{"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`)
			event(w, "[DONE]")
		})
		res, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if res.Text != "four" || res.FinishReason != "stop" || res.InputTokens != 9 || res.OutputTokens != 3 {
			t.Errorf("res = %+v, want four, stop, 9/3", res)
		}
	})

	t.Run("OnlyChoiceZero", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, `{"choices":[{"index":1,"delta":{"content":"other"},"finish_reason":null},{"index":0,"delta":{"content":"mine"},"finish_reason":null}]}`)
			event(w, `{"choices":[{"index":1,"delta":{},"finish_reason":"length"}]}`)
			event(w, `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)
			event(w, "[DONE]")
		})
		res, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		if err != nil || res.Text != "mine" || res.FinishReason != "stop" {
			t.Errorf("Complete = %+v, %v; want choice 0 only", res, err)
		}
	})

	t.Run("FieldsNotCarriedOver", func(t *testing.T) {
		t.Parallel()
		// The second chunk has no index, so it is choice 0's; an index
		// left over from the first chunk would drop it.
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, `{"choices":[{"index":1,"delta":{"content":"other"},"finish_reason":"length"}]}`)
			event(w, `{"choices":[{"delta":{"content":"mine"}}]}`)
			event(w, `{"choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}]}`)
		})
		res, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		if err != nil || res.Text != "mine" || res.FinishReason != "stop" {
			t.Errorf("Complete = %+v, %v; want mine, stop", res, err)
		}
	})

	t.Run("LenientTypes", func(t *testing.T) {
		t.Parallel()
		// Fields of unexpected types, which the SDK's decoder accepted and
		// some OpenAI-compatible servers send.
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, `{"choices":[{"index":"0","delta":{"content":"4"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5.0,"completion_tokens":1}}`)
			event(w, "[DONE]")
		})
		res, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		if err != nil || res.Text != "4" || res.FinishReason != "stop" || res.InputTokens != 5 || res.OutputTokens != 1 {
			t.Errorf("Complete = %+v, %v; want 4, stop, 5/1", res, err)
		}
	})

	t.Run("ErrMalformedChunk", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, chunk("Hel", ""))
			event(w, `{"id":"c1","choices":[{"index":0,`)
			event(w, chunk("lo", "stop"))
			event(w, "[DONE]")
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.Retryable || !strings.HasPrefix(perr.Message, "malformed stream event: ") {
			t.Errorf("err = %+v, want a non-retryable malformed stream event", perr)
		}
	})

	t.Run("ErrNotAnObject", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, `"hello"`)
			event(w, chunk("4", "stop"))
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.Retryable || !strings.HasPrefix(perr.Message, "malformed stream event: ") {
			t.Errorf("err = %+v, want a non-retryable malformed stream event", perr)
		}
	})

	t.Run("ErrErrorEventScrubbed", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, `{"error":{"message":"bad key `+testKey+`","code":"401"}}`)
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.Retryable || perr.StatusCode != 401 || !strings.Contains(perr.Message, "error in response: bad key [redacted]") {
			t.Errorf("err = %+v, want a non-retryable 401 from the event", perr)
		}
		assertNoKey(t, perr.Message, err.Error())
	})

	t.Run("ErrErrorEventWithoutCode", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, chunk("Hel", ""))
			event(w, `{"choices":[],"error":"upstream went away"}`)
		})
		_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if !perr.Retryable || perr.StatusCode != 0 || perr.Message != "error in response: upstream went away" {
			t.Errorf("err = %+v, want a retryable error without status", perr)
		}
	})

	t.Run("ConnectionReused", func(t *testing.T) {
		t.Parallel()
		// The server ends each stream with [DONE] and only then with the
		// chunked terminator, so Complete stops reading before EOF and the
		// drain has to hand the connection back.
		f := newFakeProvider(t, streamOK(0))
		var reused atomic.Bool
		hc := provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true})
		hc.Transport = traceConns(hc.Transport, &reused)
		client := newClient(provider.ClientConfig{HTTPClient: hc})
		for i := 0; i < 50 && !reused.Load(); i++ {
			if _, err := client.Complete(t.Context(), request(f.baseURL())); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !reused.Load() {
			t.Error("no call reused a connection; streams must give theirs back to the pool")
		}
	})
}

// traceConns wraps next so that reused is set once a request goes out on a
// pooled connection.
func traceConns(next http.RoundTripper, reused *atomic.Bool) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused.Store(true)
			}
		}}
		return next.RoundTrip(r.WithContext(httptrace.WithClientTrace(r.Context(), trace)))
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

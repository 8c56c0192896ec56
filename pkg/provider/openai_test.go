package provider_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/provider"
)

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

func openAIHarness() adapterHarness {
	return adapterHarness{
		kind:    catalog.KindOpenAI,
		client:  func(cfg provider.ClientConfig) provider.Client { return newClient(cfg) },
		request: func(url string) provider.Request { return request(url + "/v1") },
		messagesBody: map[string]string{
			"messages": `[{"role":"system","content":"Be fair."},{"role":"system","content":"Judge strictly."},` +
				`{"role":"user","content":"Q1"},{"role":"assistant","content":"A1"},{"role":"user","content":"Q2"},{"role":"user","content":"Q2b"}]`,
		},
		structuredBody: map[string]string{
			"response_format": `{"type":"json_schema","json_schema":{"name":"verdict","strict":true,"schema":` + passFailSchema + `}}`,
		},
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
		quota: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Ratelimit-Reset-Requests", "30s")
			writeJSON(w, http.StatusTooManyRequests, `{"error":{"type":"insufficient_quota","code":"insufficient_quota","message":"You exceeded your current quota"}}`)
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

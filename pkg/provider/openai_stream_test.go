package provider_test

import (
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/provider"
)

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

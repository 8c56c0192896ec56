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

func newGoogle(opts provider.ClientConfig) *provider.Google {
	if opts.HTTPClient == nil {
		opts.HTTPClient = provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true})
	}
	return provider.NewGoogle(opts)
}

func googleRequest(baseURL string) provider.Request {
	req := request(baseURL)
	req.Model = "gemini-test"
	seed := int64(3)
	req.Seed = &seed
	return req
}

// geminiChunk is one streamed (or whole) generateContent response.
func geminiChunk(text, finish string, usage bool) string {
	cand := map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}}}
	if finish != "" {
		cand["finishReason"] = finish
	}
	resp := map[string]any{"candidates": []any{cand}}
	if usage {
		resp["usageMetadata"] = map[string]any{"promptTokenCount": 11, "candidatesTokenCount": 2, "totalTokenCount": 13}
	}
	b, _ := json.Marshal(resp)
	return string(b)
}

// googleStreamOK streams "Hello" after delay, with usage on the last chunk.
func googleStreamOK(delay time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		time.Sleep(delay)
		event(w, geminiChunk("Hel", "", false))
		event(w, geminiChunk("lo", "STOP", true))
	}
}

func googleErrorBody(code int, status, msg string, details ...string) string {
	return fmt.Sprintf(`{"error":{"code":%d,"message":%q,"status":%q,"details":[%s]}}`, code, msg, status, strings.Join(details, ","))
}

func googleHarness() adapterHarness {
	return adapterHarness{
		kind:    catalog.KindGoogle,
		client:  func(cfg provider.ClientConfig) provider.Client { return newGoogle(cfg) },
		request: func(url string) provider.Request { return googleRequest(url + "/") },
		messagesBody: map[string]string{
			"systemInstruction": `{"role":"user","parts":[{"text":"Be fair.\n\nJudge strictly."}]}`,
			"contents": `[{"role":"user","parts":[{"text":"Q1"}]},{"role":"model","parts":[{"text":"A1"}]},` +
				`{"role":"user","parts":[{"text":"Q2"}]},{"role":"user","parts":[{"text":"Q2b"}]}]`,
		},
		structuredBody: map[string]string{
			"generationConfig.responseMimeType": `"application/json"`,
			"generationConfig.responseSchema": `{"type":"OBJECT","properties":{"reasoning":{"type":"STRING"},` +
				`"verdict":{"type":"STRING","format":"enum","enum":["pass","fail"]}},"required":["reasoning","verdict"],"propertyOrdering":["reasoning","verdict"]}`,
			"generationConfig.temperature": `0.5`,
		},
		path:      "/v1beta/models/gemini-test:streamGenerateContent?alt=sse",
		streamOK:  googleStreamOK,
		finish:    "STOP",
		start:     startSSE,
		piece:     func(w http.ResponseWriter, text string) { event(w, geminiChunk(text, "", false)) },
		end:       func(w http.ResponseWriter) { event(w, geminiChunk("", "STOP", true)) },
		malformed: func(w http.ResponseWriter) { event(w, `{"candidates":[{`) },
		errorBody: func(status int, msg string) string {
			return googleErrorBody(status, googleStatus[status], msg)
		},
		quota: googleQuota,
	}
}

// googleStatus is the RPC status Gemini names beside each HTTP status.
var googleStatus = map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}

func TestGoogle_Complete(t *testing.T) {
	t.Parallel()

	t.Run("BaseURLWithVersion", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, googleStreamOK(0))
		client := newGoogle(provider.ClientConfig{})
		for base, want := range map[string]string{
			f.srv.URL + "/v1beta": "/v1beta/models/gemini-test:streamGenerateContent?alt=sse",
			f.srv.URL + "/v1/":    "/v1/models/gemini-test:streamGenerateContent?alt=sse",
			f.srv.URL:             "/v1beta/models/gemini-test:streamGenerateContent?alt=sse",
		} {
			if _, err := client.Complete(t.Context(), googleRequest(base)); err != nil {
				t.Fatalf("Complete(%s): %v", base, err)
			}
			if got := f.requestURI(); got != want {
				t.Errorf("base %s: request to %q, want %q", base, got, want)
			}
		}
	})

	t.Run("Refusal", func(t *testing.T) {
		t.Parallel()
		for finish, want := range map[string]string{"SAFETY": "SAFETY", "PROHIBITED_CONTENT": "PROHIBITED_CONTENT", "STOP": "", "MAX_TOKENS": ""} {
			f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
				startSSE(w)
				event(w, geminiChunk("I can't", finish, true))
			})
			res, err := newGoogle(provider.ClientConfig{}).Complete(t.Context(), googleRequest(f.srv.URL))
			if err != nil || res.Refusal != want {
				t.Errorf("finish %s: refusal %q (%v), want %q", finish, res.Refusal, err, want)
			}
		}
	})

	t.Run("ThinkingTokens", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"pondering","thought":true}]}}]}`)
			event(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"4"}]},"finishReason":"STOP"}],
				"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"thoughtsTokenCount":9}}`)
		})
		res, err := newGoogle(provider.ClientConfig{}).Complete(t.Context(), googleRequest(f.srv.URL))
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if res.Text != "4" || res.InputTokens != 5 || res.OutputTokens != 10 {
			t.Errorf("res = %+v, want text 4 without the thought, 5 in, 10 out (thinking is billed)", res)
		}
	})

	t.Run("JSONAnswer", func(t *testing.T) {
		t.Parallel()
		for name, body := range map[string]string{
			"Object": geminiChunk("four", "MAX_TOKENS", true),
			"Array":  "[" + geminiChunk("fo", "", false) + "," + geminiChunk("ur", "MAX_TOKENS", true) + "]",
		} {
			f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, body) })
			res, err := newGoogle(provider.ClientConfig{}).Complete(t.Context(), googleRequest(f.srv.URL))
			if err != nil {
				t.Fatalf("%s: Complete: %v", name, err)
			}
			if res.Text != "four" || res.FinishReason != "MAX_TOKENS" || res.InputTokens != 11 || res.OutputTokens != 2 {
				t.Errorf("%s: res = %+v", name, res)
			}
			if res.TTFT <= 0 || res.Latency < res.TTFT {
				t.Errorf("%s: TTFT = %v, Latency = %v", name, res.TTFT, res.Latency)
			}
		}
	})

	t.Run("ErrStreamErrorChunk", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, geminiChunk("Hel", "", false))
			event(w, googleErrorBody(503, "UNAVAILABLE", "The model is overloaded."))
		})
		_, err := newGoogle(provider.ClientConfig{}).Complete(t.Context(), googleRequest(f.srv.URL))
		perr := asError(t, err)
		if !perr.Retryable || perr.StatusCode != 503 || !strings.Contains(perr.Message, "overloaded") {
			t.Errorf("err = %+v, want retryable 503", perr)
		}
	})

	t.Run("ErrBlocked", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			startSSE(w)
			event(w, `{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":4}}`)
		})
		_, err := newGoogle(provider.ClientConfig{}).Complete(t.Context(), googleRequest(f.srv.URL))
		perr := asError(t, err)
		if perr.Retryable || !strings.Contains(perr.Message, "blocked") || !strings.Contains(perr.Message, "SAFETY") {
			t.Errorf("err = %+v, want not retryable, blocked for SAFETY", perr)
		}
	})
}

func TestGoogle_RequestShape(t *testing.T) {
	t.Parallel()

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, googleStreamOK(0))
		if _, err := newGoogle(provider.ClientConfig{}).Complete(t.Context(), googleRequest(f.srv.URL)); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, header := f.received()
		if got := header.Get("X-Goog-Api-Key"); got != testKey {
			t.Errorf("x-goog-api-key = %q", got)
		}
		if got := header.Get("Authorization"); got != "" {
			t.Errorf("Authorization = %q, want none", got)
		}
		gc, _ := json.Marshal(body["generationConfig"])
		if want := `{"maxOutputTokens":100,"seed":3,"temperature":0.5}`; string(gc) != want {
			t.Errorf("generationConfig = %s, want %s", gc, want)
		}
		si, _ := json.Marshal(body["systemInstruction"])
		if !strings.Contains(string(si), `"parts":[{"text":"Answer briefly."}]`) {
			t.Errorf("systemInstruction = %s", si)
		}
		contents, _ := json.Marshal(body["contents"])
		if want := `[{"parts":[{"text":"What is 2+2?"}],"role":"user"}]`; string(contents) != want {
			t.Errorf("contents = %s, want %s", contents, want)
		}
	})

	t.Run("Overrides", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, googleStreamOK(0))
		req := googleRequest(f.srv.URL)
		req.APIKey = ""
		req.System = ""
		req.Seed = nil
		req.MaxTokens = 0
		req.Headers = map[string]string{"X-Title": "SABE"}
		req.ExtraBody = map[string]any{"generationConfig": map[string]any{"topK": 40}, "safetySettings": []any{}}
		if _, err := newGoogle(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		body, header := f.received()
		if got := header.Get("X-Goog-Api-Key"); got != "" {
			t.Errorf("x-goog-api-key = %q, want none without a key", got)
		}
		if got := header.Get("X-Title"); got != "SABE" {
			t.Errorf("X-Title = %q", got)
		}
		gc, _ := json.Marshal(body["generationConfig"])
		if want := `{"temperature":0.5,"topK":40}`; string(gc) != want {
			t.Errorf("generationConfig = %s, want %s", gc, want)
		}
		if _, ok := body["systemInstruction"]; ok {
			t.Error("systemInstruction sent without a system prompt")
		}
	})
}

func TestGoogle_ListModels(t *testing.T) {
	t.Parallel()
	f := newFakeProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1beta/models" || r.Header.Get("X-Goog-Api-Key") != testKey {
			writeJSON(w, http.StatusNotFound, googleErrorBody(404, "NOT_FOUND", "no"))
			return
		}
		if r.URL.Query().Get("pageToken") == "" {
			writeJSON(w, http.StatusOK, `{"models":[{"name":"models/gemini-a","displayName":"Gemini A","supportedGenerationMethods":["generateContent"]},
				{"name":"models/embed-1","displayName":"Embedding","supportedGenerationMethods":["embedContent"]}],"nextPageToken":"p2"}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"models":[{"name":"models/gemini-b"}]}`)
	})
	models, err := newGoogle(provider.ClientConfig{}).ListModels(t.Context(), provider.Endpoint{BaseURL: f.srv.URL, APIKey: testKey})
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	want := []provider.RemoteModel{{ID: "gemini-a", Name: "Gemini A"}, {ID: "gemini-b", Name: "gemini-b"}}
	if fmt.Sprint(models) != fmt.Sprint(want) {
		t.Errorf("models = %v, want %v (embedding models left out)", models, want)
	}
	if !strings.Contains(f.requestURI(), "pageToken=p2") {
		t.Errorf("last request %q did not ask for page p2", f.requestURI())
	}
}

// googleQuota answers a used-up quota as Gemini does: RESOURCE_EXHAUSTED
// with a RetryInfo (30s) and a QuotaFailure.
func googleQuota(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusTooManyRequests, googleErrorBody(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota",
		`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"30s"}`,
		`{"@type":"type.googleapis.com/google.rpc.QuotaFailure"}`))
}

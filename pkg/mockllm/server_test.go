package mockllm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/sabe-dev/sabe/pkg/mockllm"
)

// fixture is a mock on a loopback httptest server with an OpenAI SDK client
// pointed at it.
type fixture struct {
	mock   *mockllm.Server
	url    string
	client openai.Client
}

func setup(t *testing.T, cfg mockllm.Config) fixture {
	t.Helper()
	mock := mockllm.New(cfg)
	ts := httptest.NewServer(mock)
	t.Cleanup(func() {
		// A hanging response would keep ts.Close waiting.
		mock.Close()
		ts.Close()
	})
	return fixture{mock: mock, url: ts.URL, client: newClient(ts.URL+"/v1", "sk-test")}
}

func newClient(baseURL, key string) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(baseURL),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
	)
}

// post sends body to path on the fixture; header holds name, value pairs.
func (f fixture) post(t *testing.T, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func (f fixture) get(t *testing.T, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// apiError decodes an OpenAI error body.
type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Code    *string `json:"code"`
		Param   *string `json:"param"`
	} `json:"error"`
}

func decodeError(t *testing.T, body []byte) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("body %s is not an OpenAI error (%v)", body, err)
	}
	return e
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func chatBody(model, prompt string, extra string) string {
	b, _ := json.Marshal(prompt)
	return `{"model":"` + model + `","messages":[{"role":"user","content":` + string(b) + `}]` + extra + `}`
}

func ptr[T any](v T) *T { return &v }

// collect reads a whole stream with the SDK, checking that the SDK's own
// accumulator accepts every chunk.
func collect(t *testing.T, client openai.Client, params openai.ChatCompletionNewParams) ([]openai.ChatCompletionChunk, openai.ChatCompletionAccumulator) {
	t.Helper()
	stream := client.Chat.Completions.NewStreaming(t.Context(), params)
	defer stream.Close()
	var chunks []openai.ChatCompletionChunk
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		chunk := stream.Current()
		if !acc.AddChunk(chunk) {
			t.Fatalf("accumulator rejected chunk %d: %s", len(chunks), chunk.RawJSON())
		}
		chunks = append(chunks, chunk)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	return chunks, acc
}

func TestServer_Latency(t *testing.T) {
	t.Parallel()

	// A client that gave up must not hold the handler for the configured
	// hour: if the waits ignored the request context these would hang.
	for _, stream := range []bool{false, true} {
		mock := mockllm.New(mockllm.Config{Latency: time.Hour})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		extra := ""
		if stream {
			extra = `,"stream":true`
		}
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody("mock-strong", "What is 2 + 2?", extra)))
		rec := httptest.NewRecorder()
		mock.ServeHTTP(rec, req)
		if stream {
			if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "[DONE]") || mock.StatusCount(http.StatusOK) != 1 {
				t.Errorf("stream: status %d body %q; want headers only", rec.Code, rec.Body.String())
			}
		} else if rec.Body.Len() != 0 || mock.StatusCount(mockllm.StatusClientClosed) != 1 {
			t.Errorf("non-stream: body %q, %d counted as client closed; want nothing written and 1", rec.Body.String(), mock.StatusCount(mockllm.StatusClientClosed))
		}
	}
}

func TestServer_Faults(t *testing.T) {
	t.Parallel()

	statuses := func(t *testing.T, f fixture, n int) []int {
		t.Helper()
		out := make([]int, n)
		for i := range out {
			resp, _ := f.post(t, "/v1/chat/completions", chatBody("mock-strong", "What is 2 + 2?", ""))
			out[i] = resp.StatusCode
		}
		return out
	}

	t.Run("Rates", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{ErrorRate: 0.1, RateLimitRate: 0.2, Seed: 7})
		const n = 1000
		count := map[int]int{}
		for _, s := range statuses(t, f, n) {
			count[s]++
		}
		for status, rate := range map[int]float64{500: 0.1, 429: 0.2, 200: 0.7} {
			if got := float64(count[status]) / n; got < rate-0.05 || got > rate+0.05 {
				t.Errorf("status %d in %.3f of requests, want %.2f ± 0.05", status, got, rate)
			}
			if f.mock.StatusCount(status) != int64(count[status]) {
				t.Errorf("StatusCount(%d) = %d, client saw %d", status, f.mock.StatusCount(status), count[status])
			}
		}
		if len(count) != 3 || f.mock.Requests() != n || f.mock.CallsFor("mock-strong") != n {
			t.Errorf("statuses %v, Requests %d, CallsFor %d; want only 200/429/500 and %d", count, f.mock.Requests(), f.mock.CallsFor("mock-strong"), n)
		}
	})

	t.Run("Deterministic", func(t *testing.T) {
		t.Parallel()
		cfg := mockllm.Config{ErrorRate: 0.3, RateLimitRate: 0.3, Seed: 42}
		a := statuses(t, setup(t, cfg), 100)
		b := statuses(t, setup(t, cfg), 100)
		cfg.Seed = 43
		c := statuses(t, setup(t, cfg), 100)
		if !equalInts(a, b) {
			t.Errorf("same seed, different faults:\n%v\n%v", a, b)
		}
		if equalInts(a, c) {
			t.Errorf("seeds 42 and 43 gave the same 100 faults: %v", a)
		}
	})

	t.Run("RateLimited", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{RateLimitRate: 1, RetryAfter: 2500 * time.Millisecond})
		resp, body := f.post(t, "/v1/chat/completions", chatBody("mock-strong", "hi", ""))
		e := decodeError(t, body)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" || resp.Header.Get("Retry-After-Ms") != "2500" {
			t.Errorf("status %d Retry-After %q Retry-After-Ms %q; want 429 3 2500", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Retry-After-Ms"))
		}
		if deref(e.Error.Code) != "rate_limit_exceeded" {
			t.Errorf("error %+v, want code rate_limit_exceeded", e.Error)
		}
		_, err := f.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:    "mock-strong",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		if apiErr, ok := errors.AsType[*openai.Error](err); !ok || apiErr.StatusCode != http.StatusTooManyRequests {
			t.Errorf("SDK err = %v, want a 429 API error", err)
		}
	})

	t.Run("InternalError", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{ErrorRate: 1})
		resp, body := f.post(t, "/v1/chat/completions", chatBody("mock-strong", "hi", `,"stream":true`))
		e := decodeError(t, body)
		if resp.StatusCode != http.StatusInternalServerError || e.Error.Message != "mock internal error" || e.Error.Type != "server_error" {
			t.Errorf("status %d error %+v; want 500 server_error", resp.StatusCode, e.Error)
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestServer_Auth(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{RequireKey: true})
	body := chatBody("mock-strong", "What is 1 + 1?", "")

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		resp, raw := f.post(t, "/v1/chat/completions", body, "Authorization", "Bearer sk-good")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d (%s), want 200", resp.StatusCode, raw)
		}
	})

	t.Run("ErrMissingKey", func(t *testing.T) {
		t.Parallel()
		for _, header := range []string{"", "Bearer ", "Basic abc"} {
			resp, raw := f.post(t, "/v1/chat/completions", body, "Authorization", header)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("Authorization %q: status %d, want 401", header, resp.StatusCode)
			}
			decodeError(t, raw)
		}
		if resp, _ := f.get(t, "/v1/models"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /v1/models without key: status %d, want 401", resp.StatusCode)
		}
	})

	t.Run("ErrBadKeyEchoed", func(t *testing.T) {
		t.Parallel()
		const key = "bad-key-abcdef1234"
		client := newClient(f.url+"/v1", key)
		_, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:    "mock-strong",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		apiErr, ok := errors.AsType[*openai.Error](err)
		if !ok || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_api_key" {
			t.Fatalf("err = %v; want 401 invalid_api_key", err)
		}
		if !strings.Contains(apiErr.Message, "bad-k****1234") || strings.Contains(apiErr.Message, key) {
			t.Errorf("message %q; want the masked fragment bad-k****1234 and not the whole key", apiErr.Message)
		}
	})

	t.Run("BadKeyWithoutRequireKey", func(t *testing.T) {
		t.Parallel()
		open := setup(t, mockllm.Config{})
		if resp, _ := open.post(t, "/v1/chat/completions", body); resp.StatusCode != http.StatusOK {
			t.Errorf("no key, RequireKey off: status %d, want 200", resp.StatusCode)
		}
		if resp, _ := open.post(t, "/v1/chat/completions", body, "Authorization", "Bearer bad-key-1"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("bad key, RequireKey off: status %d, want 401", resp.StatusCode)
		}
	})
}

func TestServer_FaultsPrefix(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{})
		body := chatBody("mock-strong", "What is 1 + 1?", "")

		resp, _ := f.post(t, "/faults/error_rate=1/v1/chat/completions", body)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("error_rate=1: status %d, want 500", resp.StatusCode)
		}
		resp, _ = f.post(t, "/faults/rate_limit_rate=1,retry_after=3s/v1/chat/completions", body)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
			t.Errorf("rate_limit_rate=1: status %d Retry-After %q, want 429 3", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if resp, _ := f.get(t, "/faults/require_key=true/v1/models"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("require_key=true: status %d, want 401", resp.StatusCode)
		}

		// The SDK works against a prefixed base URL, with its overrides.
		client := newClient(f.url+"/faults/latency=2ms,ttft=1ms,chunk_words=2,error_rate=0/v1", "sk-test")
		chunks, acc := collect(t, client, openai.ChatCompletionNewParams{
			Model:    "mock-perfect",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is 4 * 5?")},
		})
		if acc.Choices[0].Message.Content != "The answer is 20." || len(chunks) != 3 {
			t.Errorf("content %q in %d chunks; want 2 content chunks and a finish chunk", acc.Choices[0].Message.Content, len(chunks))
		}

		// Overrides are per request: the plain path is untouched.
		if resp, _ := f.post(t, "/v1/chat/completions", body); resp.StatusCode != http.StatusOK {
			t.Errorf("plain path after overrides: status %d, want 200", resp.StatusCode)
		}
	})

	t.Run("ErrInvalidSpec", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{})
		for _, spec := range []string{
			"latency=abc", "bogus=1", "latency", "error_rate=2", "error_rate=0.7,rate_limit_rate=0.6", "latency=-1s", "error_rate=NaN", "latency=1s,",
			"malformed_rate=2", "error_rate=0.5,malformed_rate=0.6", "oversize_bytes=-1", "oversize_bytes=1000000000", "hang_after_first_token=maybe",
			"quota=maybe", "quota_reset=-1s", "quota_reset=soon",
		} {
			resp, body := f.post(t, "/faults/"+spec+"/v1/chat/completions", chatBody("mock-strong", "hi", ""))
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("spec %q: status %d, want 400", spec, resp.StatusCode)
				continue
			}
			if e := decodeError(t, body); deref(e.Error.Code) != "invalid_fault_spec" {
				t.Errorf("spec %q: error %+v, want code invalid_fault_spec", spec, e.Error)
			}
		}
	})
}

func TestServer_Routes(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{})

	t.Run("Models", func(t *testing.T) {
		t.Parallel()
		page, err := f.client.Models.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		listed := append(mockllm.Models(), mockllm.JudgeModels()...)
		if strings.Join(ids, ",") != strings.Join(listed, ",") {
			t.Errorf("listed %v, want %v", ids, listed)
		}
	})

	t.Run("Healthz", func(t *testing.T) {
		t.Parallel()
		resp, body := f.get(t, "/healthz")
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
			t.Errorf("status %d body %s", resp.StatusCode, body)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/v1/completions", "/", "/faults/latency=1s", "/faults/latency=1s/v2/chat/completions"} {
			resp, body := f.get(t, path)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
			}
			decodeError(t, body)
		}
	})
}

func TestServer_Stats(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{})
	for _, model := range []string{"mock-strong", "mock-strong", "mock-strong", "mock-weak", "mock-weak", "gpt-4o"} {
		f.post(t, "/v1/chat/completions", chatBody(model, "What is 3 + 3?", ""))
	}
	f.post(t, "/v1/chat/completions", "{")
	f.get(t, "/v1/models")

	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"Requests", f.mock.Requests(), 7},
		{"CallsFor(mock-strong)", f.mock.CallsFor("mock-strong"), 3},
		{"CallsFor(mock-weak)", f.mock.CallsFor("mock-weak"), 2},
		{"CallsFor(mock-medium)", f.mock.CallsFor("mock-medium"), 0},
		{"CallsFor(gpt-4o)", f.mock.CallsFor("gpt-4o"), 0},
		{"StatusCount(200)", f.mock.StatusCount(200), 5},
		{"StatusCount(404)", f.mock.StatusCount(404), 1},
		{"StatusCount(400)", f.mock.StatusCount(400), 1},
		{"StatusCount(-1)", f.mock.StatusCount(-1), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestNew_ErrInvalidConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []mockllm.Config{
		{ErrorRate: 0.6, RateLimitRate: 0.5},
		{Latency: -time.Second},
		{ErrorRate: -0.1},
		{ChunkWords: -1},
		{ErrorRate: 0.3, RateLimitRate: 0.3, MalformedRate: 0.5},
		{MalformedRate: -0.1},
		{OversizeBytes: -1},
		{OversizeBytes: mockllm.MaxOversizeBytes + 1},
		{QuotaReset: -time.Second},
	} {
		if cfg.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want an error", cfg)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", cfg)
				}
			}()
			mockllm.New(cfg)
		}()
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the mock and not a recorder.
type discardWriter struct {
	header http.Header
	n      int
}

func (d *discardWriter) Header() http.Header { return d.header }
func (d *discardWriter) WriteHeader(int)     {}
func (d *discardWriter) Flush()              {}
func (d *discardWriter) Write(p []byte) (int, error) {
	d.n += len(p)
	return len(p), nil
}

type rewindBody struct{ *bytes.Reader }

func (rewindBody) Close() error { return nil }

func BenchmarkServer_Completion(b *testing.B) {
	prompt, _ := mockllm.Question(7)
	for _, bc := range []struct {
		name  string
		extra string
	}{
		{"NonStreaming", `,"seed":1`},
		{"Streaming", `,"seed":1,"stream":true,"stream_options":{"include_usage":true}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mock := mockllm.New(mockllm.Config{})
			payload := []byte(chatBody("mock-strong", prompt, bc.extra))
			body := rewindBody{bytes.NewReader(payload)}
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", body)
			w := &discardWriter{header: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(payload)
				clear(w.header)
				mock.ServeHTTP(w, req)
			}
			if mock.StatusCount(http.StatusOK) != mock.Requests() {
				b.Fatalf("%d of %d requests succeeded", mock.StatusCount(http.StatusOK), mock.Requests())
			}
		})
	}

	b.Run("LoopbackParallel", func(b *testing.B) {
		mock := mockllm.New(mockllm.Config{})
		ts := httptest.NewServer(mock)
		defer ts.Close()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
		payload := chatBody("mock-strong", prompt, `,"seed":1`)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(payload))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	})
}

package mockllm_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"google.golang.org/genai"

	"github.com/sabe-dev/sabe/pkg/mockllm"
)

// faultPrompt is what the fault tests ask mock-perfect; its answer streams
// as the pieces "The", " answer", " is", " 4.".
const (
	faultModel  = "mock-perfect"
	faultPrompt = "What is 2 + 2?"
	faultAnswer = "The answer is 4."
)

// wire drives one wire format: raw requests, and calls through the
// format's official SDK.
type wire struct {
	name   string
	header []string
	path   func(stream bool) string
	body   func(stream bool) string
	// sdk asks faultPrompt through the SDK against base (the server URL,
	// perhaps with a /faults/ prefix) and returns the text pieces received
	// before the call ended, and how it ended.
	sdk func(t *testing.T, ctx context.Context, base string, stream bool) ([]string, error)
}

var wires = []wire{
	{
		name: mockllm.FormatOpenAI,
		path: func(bool) string { return "/v1/chat/completions" },
		body: func(stream bool) string {
			if stream {
				return chatBody(faultModel, faultPrompt, `,"stream":true`)
			}
			return chatBody(faultModel, faultPrompt, "")
		},
		sdk: func(t *testing.T, ctx context.Context, base string, stream bool) ([]string, error) {
			client := newClient(base+"/v1", "sk-test")
			params := openai.ChatCompletionNewParams{
				Model:    faultModel,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(faultPrompt)},
			}
			if !stream {
				resp, err := client.Chat.Completions.New(ctx, params)
				if err != nil {
					return nil, err
				}
				return []string{resp.Choices[0].Message.Content}, nil
			}
			s := client.Chat.Completions.NewStreaming(ctx, params)
			defer s.Close()
			var pieces []string
			for s.Next() {
				if c := s.Current(); len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
					pieces = append(pieces, c.Choices[0].Delta.Content)
				}
			}
			return pieces, s.Err()
		},
	},
	{
		name:   mockllm.FormatAnthropic,
		header: anthropicHeaders,
		path:   func(bool) string { return "/v1/messages" },
		body: func(stream bool) string {
			s := ""
			if stream {
				s = `,"stream":true`
			}
			return `{"model":"` + faultModel + `","max_tokens":64,"messages":[{"role":"user","content":"` + faultPrompt + `"}]` + s + `}`
		},
		sdk: func(t *testing.T, ctx context.Context, base string, stream bool) ([]string, error) {
			client := newAnthropic(base, "sk-ant-test")
			params := anthropic.MessageNewParams{
				Model:     faultModel,
				MaxTokens: 64,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(faultPrompt))},
			}
			if !stream {
				msg, err := client.Messages.New(ctx, params)
				if err != nil {
					return nil, err
				}
				return []string{msg.Content[0].Text}, nil
			}
			s := client.Messages.NewStreaming(ctx, params)
			defer s.Close()
			var pieces []string
			for s.Next() {
				if ev := s.Current(); ev.Type == "content_block_delta" {
					pieces = append(pieces, ev.Delta.Text)
				}
			}
			return pieces, s.Err()
		},
	},
	{
		name: mockllm.FormatGoogle,
		path: func(stream bool) string {
			if stream {
				return "/v1beta/models/" + faultModel + ":streamGenerateContent?alt=sse"
			}
			return "/v1beta/models/" + faultModel + ":generateContent"
		},
		body: func(bool) string { return `{"contents":[{"role":"user","parts":[{"text":"` + faultPrompt + `"}]}]}` },
		sdk: func(t *testing.T, ctx context.Context, base string, stream bool) ([]string, error) {
			client := newGenai(t, base, "gemini-test-key")
			if !stream {
				resp, err := client.Models.GenerateContent(ctx, faultModel, genai.Text(faultPrompt), nil)
				if err != nil {
					return nil, err
				}
				return []string{resp.Text()}, nil
			}
			var pieces []string
			for chunk, err := range client.Models.GenerateContentStream(ctx, faultModel, genai.Text(faultPrompt), nil) {
				if err != nil {
					return pieces, err
				}
				pieces = append(pieces, chunk.Text())
			}
			return pieces, nil
		},
	},
}

// forEachWire runs test for every wire format, streaming and not, in
// parallel subtests named like "anthropic/Stream".
func forEachWire(t *testing.T, test func(t *testing.T, w wire, stream bool)) {
	t.Helper()
	for _, w := range wires {
		for _, stream := range []bool{false, true} {
			name := w.name + "/NonStream"
			if stream {
				name = w.name + "/Stream"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				test(t, w, stream)
			})
		}
	}
}

// raw sends w's request for faultPrompt to f, under the fault spec when
// it is not empty.
func (w wire) raw(t *testing.T, f fixture, spec string, stream bool) (*http.Response, []byte) {
	t.Helper()
	prefix := ""
	if spec != "" {
		prefix = "/faults/" + spec
	}
	return f.post(t, prefix+w.path(stream), w.body(stream), w.header...)
}

// firstData returns the payload of the first data line of an SSE body.
func firstData(t *testing.T, body []byte) string {
	t.Helper()
	for line := range strings.SplitSeq(string(body), "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			return data
		}
	}
	t.Fatalf("no data line in %q", body)
	return ""
}

func TestServer_HangAfterFirstToken(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{HangAfterFirstToken: true})

	forEachWire(t, func(t *testing.T, w wire, stream bool) {
		// The client's own timeout is the only way out: that is the
		// point of the fault.
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		pieces, err := w.sdk(t, ctx, f.url, stream)
		if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("call ended with %v before the client's timeout (%v)", err, ctx.Err())
		}
		if want := []string{"The"}; stream && strings.Join(pieces, "|") != strings.Join(want, "|") {
			t.Errorf("received %q, want only the first piece %q", pieces, want)
		}
		if !stream && len(pieces) != 0 {
			t.Errorf("received %q from a body that never ended", pieces)
		}
	})

	t.Run("PartialBody", func(t *testing.T) {
		t.Parallel()
		for _, w := range wires {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url+w.path(false), strings.NewReader(w.body(false)))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(w.header); i += 2 {
				req.Header.Set(w.header[i], w.header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				cancel()
				t.Fatalf("%s: %v; want the headers before the hang", w.name, err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
			if resp.StatusCode != http.StatusOK || len(got) == 0 || err == nil || json.Valid(got) {
				t.Errorf("%s: status %d, read %q then %v; want 200, part of a JSON body, then the timeout", w.name, resp.StatusCode, got, err)
			}
		}
	})
}

func TestServer_HangEndsWithClient(t *testing.T) {
	t.Parallel()
	// No Close here: only the client leaving may end the hang.
	mock := mockllm.New(mockllm.Config{HangAfterFirstToken: true})
	ts := httptest.NewServer(mock)
	f := fixture{mock: mock, url: ts.URL}

	for _, w := range wires {
		for _, stream := range []bool{false, true} {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			_, err := w.sdk(t, ctx, f.url, stream)
			cancel()
			if err == nil {
				t.Errorf("%s stream=%v: the call ended without error", w.name, stream)
			}
		}
	}

	// httptest's Close waits for every handler; a hang that outlived its
	// client would block it for good.
	closed := make(chan struct{})
	go func() {
		ts.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		mock.Close()
		t.Fatal("hanging handlers outlived their clients")
	}
	// A client may give up before its request reaches a handler, so count
	// the calls that did start: each must have ended and been logged.
	log := mock.Log()
	if started := mock.Requests(); started == 0 || int64(len(log)) != started {
		t.Fatalf("log has %d entries for %d calls started; every started hang must end", len(log), started)
	}
	for _, e := range log {
		if e.Status != http.StatusOK {
			t.Errorf("entry %+v: a hung call is logged 200", e)
		}
	}
}

func TestInstance_StopReleasesHang(t *testing.T) {
	t.Parallel()
	inst, err := mockllm.Listen(t.Context(), "127.0.0.1:0", mockllm.Config{HangAfterFirstToken: true})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, inst.URL+"/v1/chat/completions",
		strings.NewReader(chatBody(faultModel, faultPrompt, `,"stream":true`)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	first, err := r.ReadString('\n')
	if err != nil || !strings.Contains(first, `"content":"The"`) {
		t.Fatalf("first line %q (%v), want the first token", first, err)
	}

	// Without Close, Shutdown would wait ShutdownTimeout for the hung
	// response and then report the timeout.
	if err := inst.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if rest, err := io.ReadAll(r); err == nil || strings.Contains(string(rest), "[DONE]") {
		t.Errorf("after Stop the client read %q and %v; want the connection cut", rest, err)
	}
	log := inst.Server.Log()
	if len(log) != 1 || log[0].Status != http.StatusOK || log[0].Format != mockllm.FormatOpenAI {
		t.Errorf("log %+v, want the hung call with status 200", log)
	}
}

func TestServer_Malformed(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{MalformedRate: 1})

	forEachWire(t, func(t *testing.T, w wire, stream bool) {
		pieces, err := w.sdk(t, t.Context(), f.url, stream)
		if err == nil || len(pieces) != 0 {
			t.Errorf("SDK got %q and %v; want a decoding error and no text", pieces, err)
		}
		resp, body := w.raw(t, f, "", stream)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
		if !stream && json.Valid(body) {
			t.Errorf("body %s is valid JSON", body)
		}
		if stream && json.Valid([]byte(firstData(t, body))) {
			t.Errorf("first event %s is valid JSON", firstData(t, body))
		}
	})
}

func TestServer_Oversize(t *testing.T) {
	t.Parallel()
	const size = 100_000
	f := setup(t, mockllm.Config{})
	spec := "oversize_bytes=100000"

	forEachWire(t, func(t *testing.T, w wire, stream bool) {
		resp, body := w.raw(t, f, spec, stream)
		if resp.StatusCode != http.StatusOK || len(body) < size {
			t.Errorf("status %d, %d bytes; want 200 and at least %d", resp.StatusCode, len(body), size)
		}
		pieces, err := w.sdk(t, t.Context(), f.url+"/faults/"+spec, stream)
		if text := strings.Join(pieces, ""); err != nil || !strings.HasPrefix(text, faultAnswer+" ") || len(text) < size {
			t.Errorf("SDK got %d bytes starting %.30q (%v); want the answer padded past %d", len(text), text, err, size)
		}
	})
}

func TestServer_Quota(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{})
	quota := setup(t, mockllm.Config{Quota: true}) // default reset: 1h

	t.Run(mockllm.FormatOpenAI, func(t *testing.T) {
		t.Parallel()
		w := wires[0]
		for _, tc := range []struct {
			f     fixture
			spec  string
			reset string
		}{{f, "quota=true,quota_reset=30s", "30s"}, {quota, "", "1h0m0s"}} {
			resp, body := w.raw(t, tc.f, tc.spec, false)
			e := decodeError(t, body)
			if resp.StatusCode != http.StatusTooManyRequests || e.Error.Type != "insufficient_quota" || deref(e.Error.Code) != "insufficient_quota" ||
				e.Error.Message != "You exceeded your current quota" {
				t.Errorf("status %d error %+v; want 429 insufficient_quota", resp.StatusCode, e.Error)
			}
			if got := resp.Header.Get("x-ratelimit-reset-requests"); got != tc.reset || resp.Header.Get("Retry-After") != "" {
				t.Errorf("x-ratelimit-reset-requests %q Retry-After %q; want %q and none", got, resp.Header.Get("Retry-After"), tc.reset)
			}
		}
		_, err := w.sdk(t, t.Context(), quota.url, true)
		if apiErr, ok := errors.AsType[*openai.Error](err); !ok || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "insufficient_quota" {
			t.Errorf("SDK err = %v; want 429 insufficient_quota", err)
		}
	})

	t.Run(mockllm.FormatAnthropic, func(t *testing.T) {
		t.Parallel()
		w := wires[1]
		for _, tc := range []struct {
			f     fixture
			spec  string
			reset time.Duration
		}{{f, "quota=true,quota_reset=30s", 30 * time.Second}, {quota, "", time.Hour}} {
			before := time.Now()
			resp, body := w.raw(t, tc.f, tc.spec, true)
			typ, msg := decodeAnthropicError(t, body)
			if resp.StatusCode != http.StatusTooManyRequests || typ != "rate_limit_error" || msg != "daily quota exhausted" {
				t.Errorf("status %d error %s %q; want 429 rate_limit_error \"daily quota exhausted\"", resp.StatusCode, typ, msg)
			}
			reset, err := time.Parse(time.RFC3339, resp.Header.Get("anthropic-ratelimit-requests-reset"))
			// The header has whole seconds, rounded up.
			if err != nil || reset.Before(before.Add(tc.reset).Truncate(time.Second)) || reset.After(time.Now().Add(tc.reset+time.Second)) {
				t.Errorf("anthropic-ratelimit-requests-reset %q (%v); want about %v from now", resp.Header.Get("anthropic-ratelimit-requests-reset"), err, tc.reset)
			}
			if resp.Header.Get("Retry-After") != "" {
				t.Errorf("Retry-After %q on a quota answer", resp.Header.Get("Retry-After"))
			}
		}
		_, err := w.sdk(t, t.Context(), quota.url, false)
		if apiErr, ok := errors.AsType[*anthropic.Error](err); !ok || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Type() != "rate_limit_error" {
			t.Errorf("SDK err = %v; want 429 rate_limit_error", err)
		}
	})

	t.Run(mockllm.FormatGoogle, func(t *testing.T) {
		t.Parallel()
		w := wires[2]
		for _, tc := range []struct {
			base  string
			delay string
		}{{f.url + "/faults/quota=true,quota_reset=30s", "30s"}, {quota.url, "3600s"}} {
			for _, stream := range []bool{false, true} {
				_, err := w.sdk(t, t.Context(), tc.base, stream)
				apiErr, ok := errors.AsType[genai.APIError](err)
				if !ok || apiErr.Code != http.StatusTooManyRequests || apiErr.Status != "RESOURCE_EXHAUSTED" || len(apiErr.Details) != 2 {
					t.Fatalf("SDK err = %v; want 429 RESOURCE_EXHAUSTED with two details", err)
				}
				retry, failure := apiErr.Details[0], apiErr.Details[1]
				if retry["@type"] != "type.googleapis.com/google.rpc.RetryInfo" || retry["retryDelay"] != tc.delay ||
					failure["@type"] != "type.googleapis.com/google.rpc.QuotaFailure" {
					t.Errorf("details %v; want RetryInfo with retryDelay %q, then QuotaFailure", apiErr.Details, tc.delay)
				}
			}
		}
	})
}

func TestServer_FaultsEveryFormat(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{})

	forEachWire(t, func(t *testing.T, w wire, stream bool) {
		resp, body := w.raw(t, f, "rate_limit_rate=1,retry_after=2s", stream)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
			t.Errorf("rate limit: status %d Retry-After %q, want 429 2", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		switch w.name {
		case mockllm.FormatAnthropic:
			if typ, _ := decodeAnthropicError(t, body); typ != "rate_limit_error" || resp.Header.Get("anthropic-ratelimit-requests-reset") != "" {
				t.Errorf("rate limit: type %q, reset header %q; want rate_limit_error and no quota reset", typ, resp.Header.Get("anthropic-ratelimit-requests-reset"))
			}
		case mockllm.FormatGoogle:
			if e := decodeGoogleError(t, body); e.Status != "RESOURCE_EXHAUSTED" || len(e.Details) != 0 {
				t.Errorf("rate limit: %+v; want RESOURCE_EXHAUSTED without quota details", e)
			}
		default:
			if e := decodeError(t, body); deref(e.Error.Code) != "rate_limit_exceeded" {
				t.Errorf("rate limit: %+v; want rate_limit_exceeded", e.Error)
			}
		}

		resp, body = w.raw(t, f, "error_rate=1", stream)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("error_rate=1: status %d, want 500", resp.StatusCode)
		}
		switch w.name {
		case mockllm.FormatAnthropic:
			if typ, _ := decodeAnthropicError(t, body); typ != "api_error" {
				t.Errorf("error_rate=1: type %q, want api_error", typ)
			}
		case mockllm.FormatGoogle:
			if e := decodeGoogleError(t, body); e.Status != "INTERNAL" {
				t.Errorf("error_rate=1: %+v, want INTERNAL", e)
			}
		default:
			decodeError(t, body)
		}

		// Latency and chunking apply too; the answer is unchanged.
		pieces, err := w.sdk(t, t.Context(), f.url+"/faults/latency=4ms,ttft=1ms,chunk_words=2", stream)
		if err != nil || strings.Join(pieces, "") != faultAnswer || (stream && len(pieces) != 2) {
			t.Errorf("with latency: %q (%v), want %q in 2 pieces when streaming", pieces, err, faultAnswer)
		}
	})
}

func TestServer_SetConfig(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{ErrorRate: 1})

	t.Run("OK", func(t *testing.T) {
		for _, w := range wires {
			if resp, _ := w.raw(t, f, "", false); resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("%s failing: status %d, want 500", w.name, resp.StatusCode)
			}
		}
		f.mock.SetConfig(mockllm.Config{})
		for _, w := range wires {
			if resp, body := w.raw(t, f, "", false); resp.StatusCode != http.StatusOK {
				t.Errorf("%s recovered: status %d (%s), want 200", w.name, resp.StatusCode, body)
			}
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("SetConfig accepted MalformedRate 2")
				}
			}()
			f.mock.SetConfig(mockllm.Config{MalformedRate: 2})
		}()
		if resp, _ := wires[0].raw(t, f, "", false); resp.StatusCode != http.StatusOK {
			t.Errorf("after a rejected SetConfig: status %d, want the previous config's 200", resp.StatusCode)
		}
	})
}

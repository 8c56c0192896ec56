package mockllm_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/sabe-dev/sabe/pkg/mockllm"
)

func TestServer_ChatCompletion(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{})

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		prompt, _ := mockllm.Question(3)
		const system = "Answer with a single number."
		resp, err := f.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:       "mock-strong",
			Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(system), openai.UserMessage(prompt)},
			Seed:        openai.Int(2),
			Temperature: openai.Float(0.7),
			MaxTokens:   openai.Int(64),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := mockllm.Answer("mock-strong", prompt, 2)
		if resp.Object != "chat.completion" || resp.Model != "mock-strong" || !strings.HasPrefix(resp.ID, "chatcmpl-") || resp.Created == 0 {
			t.Errorf("envelope = %q %q %q %d", resp.Object, resp.Model, resp.ID, resp.Created)
		}
		if len(resp.Choices) != 1 {
			t.Fatalf("got %d choices, want 1", len(resp.Choices))
		}
		c := resp.Choices[0]
		if c.Message.Content != want || c.Message.Role != "assistant" || c.FinishReason != "stop" {
			t.Errorf("choice = %q %q %q; want %q assistant stop", c.Message.Content, c.Message.Role, c.FinishReason, want)
		}
		wantPrompt := int64((len(system) + len(prompt) + 3) / 4)
		wantCompletion := int64(len(strings.Fields(want)))
		if u := resp.Usage; u.PromptTokens != wantPrompt || u.CompletionTokens != wantCompletion || u.TotalTokens != wantPrompt+wantCompletion {
			t.Errorf("usage = %d/%d/%d; want %d/%d/%d", u.PromptTokens, u.CompletionTokens, u.TotalTokens, wantPrompt, wantCompletion, wantPrompt+wantCompletion)
		}
	})

	t.Run("SeedIsSample", func(t *testing.T) {
		t.Parallel()
		// Find a prompt whose answer depends on the sample, so the test
		// proves the seed reaches Answer.
		var prompt string
		for i := 0; prompt == ""; i++ {
			p, _ := mockllm.Question(i)
			if mockllm.Answer("mock-medium", p, 0) != mockllm.Answer("mock-medium", p, 1) {
				prompt = p
			}
		}
		for _, tc := range []struct {
			seed   *int64
			sample int
		}{{nil, 0}, {ptr[int64](0), 0}, {ptr[int64](1), 1}} {
			params := openai.ChatCompletionNewParams{
				Model:    "mock-medium",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
			}
			if tc.seed != nil {
				params.Seed = openai.Int(*tc.seed)
			}
			resp, err := f.client.Chat.Completions.New(t.Context(), params)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := resp.Choices[0].Message.Content, mockllm.Answer("mock-medium", prompt, tc.sample); got != want {
				t.Errorf("seed %v: content %q, want %q (sample %d)", tc.seed, got, want, tc.sample)
			}
		}
	})

	t.Run("LastUserMessageInParts", func(t *testing.T) {
		t.Parallel()
		resp, err := f.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "mock-perfect",
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.UserMessage("What is 1 + 1?"),
				openai.AssistantMessage("The answer is 2."),
				openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
					openai.TextContentPart("What is 20"), openai.TextContentPart(" * 3?"),
				}),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; got != "The answer is 60." {
			t.Errorf("content %q, want the answer to the last user message", got)
		}
	})

	t.Run("MaxTokens", func(t *testing.T) {
		t.Parallel()
		resp, err := f.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:               "mock-perfect",
			Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is 2 + 2?")},
			MaxCompletionTokens: openai.Int(2),
		})
		if err != nil {
			t.Fatal(err)
		}
		c := resp.Choices[0]
		if c.Message.Content != "The answer" || c.FinishReason != "length" || resp.Usage.CompletionTokens != 2 {
			t.Errorf("got %q %q %d tokens; want \"The answer\" length 2", c.Message.Content, c.FinishReason, resp.Usage.CompletionTokens)
		}
	})

	t.Run("ErrUnknownModel", func(t *testing.T) {
		t.Parallel()
		_, err := f.client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model:    "gpt-4o",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		apiErr, ok := errors.AsType[*openai.Error](err)
		if !ok || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
			t.Fatalf("err = %v; want 404 model_not_found", err)
		}
	})

	t.Run("ErrBadRequest", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name, body, param string
		}{
			{"MalformedJSON", `{"model":`, ""},
			{"EmptyBody", ``, ""},
			{"MissingModel", `{"messages":[{"role":"user","content":"hi"}]}`, "model"},
			{"EmptyMessages", `{"model":"mock-strong","messages":[]}`, "messages"},
			{"MaxTokensZero", chatBody("mock-strong", "hi", `,"max_tokens":0`), "max_tokens"},
			{"ContentNumber", `{"model":"mock-strong","messages":[{"role":"user","content":42}]}`, ""},
			{"TemperatureString", chatBody("mock-strong", "hi", `,"temperature":"hot"`), ""},
		} {
			resp, body := f.post(t, "/v1/chat/completions", tc.body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400 (%s)", tc.name, resp.StatusCode, body)
				continue
			}
			e := decodeError(t, body)
			if e.Error.Type != "invalid_request_error" || deref(e.Error.Param) != tc.param {
				t.Errorf("%s: error %+v; want invalid_request_error with param %q", tc.name, e.Error, tc.param)
			}
		}
	})

	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		t.Parallel()
		big := chatBody("mock-strong", strings.Repeat("a", mockllm.MaxBodyBytes), "")
		resp, body := f.post(t, "/v1/chat/completions", big)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("declared length: status %d, want 413 (%.200s)", resp.StatusCode, body)
		}
		// Without a Content-Length the limit must hold while reading.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+"/v1/chat/completions", io.MultiReader(strings.NewReader(big)))
		if err != nil {
			t.Fatal(err)
		}
		resp, body = do(t, req)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || req.ContentLength != 0 {
			t.Errorf("chunked: status %d, want 413 (%.200s)", resp.StatusCode, body)
		}
		decodeError(t, body)
	})

	t.Run("ErrMethod", func(t *testing.T) {
		t.Parallel()
		resp, body := f.get(t, "/v1/chat/completions")
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("status %d Allow %q, want 405 POST", resp.StatusCode, resp.Header.Get("Allow"))
		}
		decodeError(t, body)
	})
}

func TestServer_Streaming(t *testing.T) {
	t.Parallel()

	prompt, _ := mockllm.Question(11)
	params := func(model string, includeUsage bool) openai.ChatCompletionNewParams {
		p := openai.ChatCompletionNewParams{
			Model:    model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
			Seed:     openai.Int(3),
		}
		if includeUsage {
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		}
		return p
	}

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{})
		chunks, acc := collect(t, f.client, params("mock-weak", true))
		want := mockllm.Answer("mock-weak", prompt, 3)
		words := len(strings.Fields(want))
		// One chunk per word, the finish chunk, the usage chunk.
		if len(chunks) != words+2 {
			t.Fatalf("got %d chunks, want %d", len(chunks), words+2)
		}
		if chunks[0].Choices[0].Delta.Role != "assistant" {
			t.Errorf("first chunk role %q, want assistant", chunks[0].Choices[0].Delta.Role)
		}
		var content strings.Builder
		for i, c := range chunks[:words] {
			if c.ID != chunks[0].ID || c.Object != "chat.completion.chunk" || c.Model != "mock-weak" {
				t.Errorf("chunk %d envelope %q %q %q", i, c.ID, c.Object, c.Model)
			}
			if c.Choices[0].FinishReason != "" {
				t.Errorf("chunk %d finish_reason %q before the end", i, c.Choices[0].FinishReason)
			}
			content.WriteString(c.Choices[0].Delta.Content)
		}
		if content.String() != want || acc.Choices[0].Message.Content != want {
			t.Errorf("content %q (accumulated %q), want %q", content.String(), acc.Choices[0].Message.Content, want)
		}
		if fin := chunks[words]; len(fin.Choices) != 1 || fin.Choices[0].FinishReason != "stop" {
			t.Errorf("finish chunk %s", fin.RawJSON())
		}
		last := chunks[len(chunks)-1]
		wantPrompt, wantCompletion := int64((len(prompt)+3)/4), int64(words)
		if len(last.Choices) != 0 || last.Usage.PromptTokens != wantPrompt || last.Usage.CompletionTokens != wantCompletion || last.Usage.TotalTokens != wantPrompt+wantCompletion {
			t.Errorf("usage chunk %s; want no choices and usage %d/%d", last.RawJSON(), wantPrompt, wantCompletion)
		}
		if acc.Usage.TotalTokens != wantPrompt+wantCompletion {
			t.Errorf("accumulated usage %d, want %d", acc.Usage.TotalTokens, wantPrompt+wantCompletion)
		}
	})

	t.Run("WithoutUsage", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{})
		chunks, _ := collect(t, f.client, params("mock-strong", false))
		for i, c := range chunks {
			if len(c.Choices) == 0 || c.JSON.Usage.Valid() {
				t.Errorf("chunk %d = %s; want choices and no usage without include_usage", i, c.RawJSON())
			}
		}
	})

	t.Run("ChunkWords", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{ChunkWords: 3})
		chunks, acc := collect(t, f.client, params("mock-strong", false))
		want := mockllm.Answer("mock-strong", prompt, 3)
		wantContent := (len(strings.Fields(want)) + 2) / 3
		if len(chunks) != wantContent+1 || acc.Choices[0].Message.Content != want {
			t.Errorf("%d chunks with content %q; want %d content chunks and %q", len(chunks), acc.Choices[0].Message.Content, wantContent, want)
		}
	})

	t.Run("WithLatency", func(t *testing.T) {
		t.Parallel()
		// Exercises the paced path (flush, then wait) end to end.
		f := setup(t, mockllm.Config{Latency: 20 * time.Millisecond, TTFT: 5 * time.Millisecond})
		_, acc := collect(t, f.client, params("mock-medium", true))
		if want := mockllm.Answer("mock-medium", prompt, 3); acc.Choices[0].Message.Content != want || acc.Usage.CompletionTokens == 0 {
			t.Errorf("content %q usage %d; want %q with usage", acc.Choices[0].Message.Content, acc.Usage.CompletionTokens, want)
		}
	})

	t.Run("Raw", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{})
		resp, body := f.post(t, "/v1/chat/completions", chatBody("mock-strong", prompt, `,"stream":true,"stream_options":{"include_usage":true}`))
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("status %d Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		events := strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n")
		if events[len(events)-1] != "data: [DONE]" {
			t.Errorf("stream ends with %q, want data: [DONE]", events[len(events)-1])
		}
		for _, ev := range events[:len(events)-1] {
			data, ok := strings.CutPrefix(ev, "data: ")
			if !ok || !json.Valid([]byte(data)) {
				t.Errorf("event %q is not a data line with JSON", ev)
			}
		}
	})
}

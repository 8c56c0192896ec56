package mockllm_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/option"
	"google.golang.org/genai"

	"github.com/sabe-dev/sabe/pkg/mockllm"
)

func newAnthropic(baseURL, key string) anthropic.Client {
	return anthropic.NewClient(
		anthropicopt.WithBaseURL(baseURL),
		anthropicopt.WithAPIKey(key),
		anthropicopt.WithMaxRetries(0),
	)
}

func newGenai(t *testing.T, baseURL, key string) *genai.Client {
	t.Helper()
	client, err := genai.NewClient(t.Context(), &genai.ClientConfig{
		APIKey:      key,
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: baseURL},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// anthropicHeaders are the headers a raw Anthropic request needs.
var anthropicHeaders = []string{"anthropic-version", "2023-06-01", "x-api-key", "sk-ant-test"}

// anthropicErrorBody decodes an Anthropic error body.
func decodeAnthropicError(t *testing.T, body []byte) (typ, message string) {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Type != "error" || e.Error.Type == "" || e.Error.Message == "" {
		t.Fatalf("body %s is not an Anthropic error (%v)", body, err)
	}
	return e.Error.Type, e.Error.Message
}

type googleErr struct {
	Code    int              `json:"code"`
	Message string           `json:"message"`
	Status  string           `json:"status"`
	Details []map[string]any `json:"details"`
}

func decodeGoogleError(t *testing.T, body []byte) googleErr {
	t.Helper()
	var e struct {
		Error googleErr `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == 0 || e.Error.Status == "" || e.Error.Message == "" {
		t.Fatalf("body %s is not a Google API error (%v)", body, err)
	}
	return e.Error
}

// sampleSensitivePrompt returns an arithmetic prompt whose answer differs
// between samples 0 and 1 for model, so a test can tell which sample the
// mock used.
func sampleSensitivePrompt(model string) string {
	for i := 0; ; i++ {
		p, _ := mockllm.Question(i)
		if mockllm.Answer(model, p, 0) != mockllm.Answer(model, p, 1) {
			return p
		}
	}
}

func TestServer_Anthropic(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{})
	client := newAnthropic(f.url, "sk-ant-test")
	prompt, _ := mockllm.Question(5)
	const system = "Answer with a single number."

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		msg, err := client.Messages.New(t.Context(), anthropic.MessageNewParams{
			Model:       "mock-medium",
			MaxTokens:   64,
			System:      []anthropic.TextBlockParam{{Text: system}},
			Messages:    []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
			Temperature: anthropic.Float(0.2),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := mockllm.Answer("mock-medium", prompt, 0)
		if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != want {
			t.Fatalf("content %s, want one text block %q", msg.RawJSON(), want)
		}
		if msg.Model != "mock-medium" || msg.Type != "message" || msg.Role != "assistant" || !strings.HasPrefix(msg.ID, "msg_") || msg.StopReason != anthropic.StopReasonEndTurn {
			t.Errorf("envelope %q %q %q %q %q", msg.ID, msg.Type, msg.Role, msg.Model, msg.StopReason)
		}
		wantIn, wantOut := int64((len(system)+len(prompt)+3)/4), int64(len(strings.Fields(want)))
		if msg.Usage.InputTokens != wantIn || msg.Usage.OutputTokens != wantOut {
			t.Errorf("usage %d/%d, want %d/%d", msg.Usage.InputTokens, msg.Usage.OutputTokens, wantIn, wantOut)
		}
	})

	t.Run("NoSeedIsSampleZero", func(t *testing.T) {
		t.Parallel()
		p := sampleSensitivePrompt("mock-medium")
		msg, err := client.Messages.New(t.Context(), anthropic.MessageNewParams{
			Model:     "mock-medium",
			MaxTokens: 64,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(p))},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := msg.Content[0].Text, mockllm.Answer("mock-medium", p, 0); got != want {
			t.Errorf("text %q, want sample 0's %q", got, want)
		}
	})

	t.Run("SystemString", func(t *testing.T) {
		t.Parallel()
		body := `{"model":"mock-perfect","max_tokens":16,"system":"` + system + `","metadata":{"user_id":"u1"},` +
			`"messages":[{"role":"user","content":"What is 1 + 1?"},{"role":"assistant","content":[{"type":"text","text":"2"}]},` +
			`{"role":"user","content":[{"type":"text","text":"What is 6 * 7?"}]}]}`
		resp, raw := f.post(t, "/v1/messages", body, anthropicHeaders...)
		var msg struct {
			Content []struct{ Text string } `json:"content"`
			Usage   struct {
				InputTokens int `json:"input_tokens"`
			} `json:"usage"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &msg) != nil {
			t.Fatalf("status %d body %s", resp.StatusCode, raw)
		}
		wantIn := (len(system) + len("What is 1 + 1?") + 1 + len("What is 6 * 7?") + 3) / 4
		if len(msg.Content) != 1 || msg.Content[0].Text != "The answer is 42." || msg.Usage.InputTokens != wantIn {
			t.Errorf("body %s; want the answer to the last user message and %d input tokens", raw, wantIn)
		}
	})

	t.Run("MaxTokens", func(t *testing.T) {
		t.Parallel()
		msg, err := client.Messages.New(t.Context(), anthropic.MessageNewParams{
			Model:     "mock-perfect",
			MaxTokens: 2,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What is 2 + 2?"))},
		})
		if err != nil {
			t.Fatal(err)
		}
		if msg.Content[0].Text != "The answer" || msg.StopReason != anthropic.StopReasonMaxTokens || msg.Usage.OutputTokens != 2 {
			t.Errorf("got %q %q %d; want \"The answer\" max_tokens 2", msg.Content[0].Text, msg.StopReason, msg.Usage.OutputTokens)
		}
	})

	t.Run("Stream", func(t *testing.T) {
		t.Parallel()
		stream := client.Messages.NewStreaming(t.Context(), anthropic.MessageNewParams{
			Model:     "mock-weak",
			MaxTokens: 64,
			System:    []anthropic.TextBlockParam{{Text: system}},
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
		})
		defer stream.Close()
		var acc anthropic.Message
		var types []string
		for stream.Next() {
			ev := stream.Current()
			types = append(types, ev.Type)
			if err := acc.Accumulate(ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		want := mockllm.Answer("mock-weak", prompt, 0)
		words := len(strings.Fields(want))
		wantTypes := []string{"message_start", "content_block_start"}
		for range words {
			wantTypes = append(wantTypes, "content_block_delta")
		}
		wantTypes = append(wantTypes, "content_block_stop", "message_delta", "message_stop")
		if strings.Join(types, ",") != strings.Join(wantTypes, ",") {
			t.Errorf("events %v, want %v", types, wantTypes)
		}
		wantIn := int64((len(system) + len(prompt) + 3) / 4)
		if len(acc.Content) != 1 || acc.Content[0].Text != want || acc.StopReason != anthropic.StopReasonEndTurn ||
			acc.Usage.InputTokens != wantIn || acc.Usage.OutputTokens != int64(words) {
			t.Errorf("accumulated %s; want %q end_turn usage %d/%d", acc.RawJSON(), want, wantIn, words)
		}
	})

	t.Run("Models", func(t *testing.T) {
		t.Parallel()
		page, err := client.Models.List(t.Context(), anthropic.ModelListParams{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		listed := append(mockllm.Models(), mockllm.JudgeModels()...)
		if strings.Join(ids, ",") != strings.Join(listed, ",") || page.Data[0].DisplayName != "Mock Perfect" || page.HasMore {
			t.Errorf("listed %s; want %v", page.RawJSON(), listed)
		}
	})

	t.Run("ErrUnknownModel", func(t *testing.T) {
		t.Parallel()
		_, err := client.Messages.New(t.Context(), anthropic.MessageNewParams{
			Model:     "claude-sonnet-4-5",
			MaxTokens: 16,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		})
		apiErr, ok := errors.AsType[*anthropic.Error](err)
		if !ok || apiErr.StatusCode != http.StatusNotFound || apiErr.Type() != "not_found_error" {
			t.Fatalf("err = %v; want 404 not_found_error", err)
		}
	})

	t.Run("ErrBadRequest", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name, body string
			header     []string
		}{
			{"NoVersion", `{"model":"mock-strong","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`, []string{"x-api-key", "k"}},
			{"NoMaxTokens", `{"model":"mock-strong","messages":[{"role":"user","content":"hi"}]}`, anthropicHeaders},
			{"NoMessages", `{"model":"mock-strong","max_tokens":8,"messages":[]}`, anthropicHeaders},
			{"SystemRole", `{"model":"mock-strong","max_tokens":8,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}`, anthropicHeaders},
			{"MalformedJSON", `{"model":`, anthropicHeaders},
		} {
			resp, body := f.post(t, "/v1/messages", tc.body, tc.header...)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400 (%s)", tc.name, resp.StatusCode, body)
				continue
			}
			if typ, _ := decodeAnthropicError(t, body); typ != "invalid_request_error" {
				t.Errorf("%s: error type %q, want invalid_request_error", tc.name, typ)
			}
		}
	})

	t.Run("ErrAuth", func(t *testing.T) {
		t.Parallel()
		locked := setup(t, mockllm.Config{RequireKey: true})
		body := `{"model":"mock-strong","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`
		resp, raw := locked.post(t, "/v1/messages", body, "anthropic-version", "2023-06-01")
		if typ, _ := decodeAnthropicError(t, raw); resp.StatusCode != http.StatusUnauthorized || typ != "authentication_error" {
			t.Errorf("no key: status %d type %q, want 401 authentication_error", resp.StatusCode, typ)
		}
		badClient := newAnthropic(locked.url, "bad-key-abcdef1234")
		_, err := badClient.Messages.New(t.Context(), anthropic.MessageNewParams{
			Model:     "mock-strong",
			MaxTokens: 8,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		})
		apiErr, ok := errors.AsType[*anthropic.Error](err)
		if !ok || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Type() != "authentication_error" || !strings.Contains(apiErr.RawJSON(), "bad-k****1234") {
			t.Errorf("bad key: err = %v; want 401 authentication_error echoing bad-k****1234", err)
		}
		if resp, _ := locked.get(t, "/v1/models", "anthropic-version", "2023-06-01"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("model list without key: status %d, want 401", resp.StatusCode)
		}
	})
}

func TestServer_Google(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{})
	client := newGenai(t, f.url, "gemini-test-key")
	prompt, _ := mockllm.Question(9)
	const system = "Answer with a single number."

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		resp, err := client.Models.GenerateContent(t.Context(), "mock-strong", genai.Text(prompt), &genai.GenerateContentConfig{
			SystemInstruction: genai.NewContentFromText(system, genai.RoleUser),
			Temperature:       genai.Ptr[float32](0.5),
			MaxOutputTokens:   64,
			Seed:              genai.Ptr[int32](2),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := mockllm.Answer("mock-strong", prompt, 2)
		if resp.Text() != want || len(resp.Candidates) != 1 || resp.Candidates[0].FinishReason != genai.FinishReasonStop || resp.Candidates[0].Content.Role != genai.RoleModel {
			t.Errorf("text %q, candidates %d; want %q with STOP from the model", resp.Text(), len(resp.Candidates), want)
		}
		wantIn, wantOut := int32((len(system)+len(prompt)+3)/4), int32(len(strings.Fields(want)))
		if u := resp.UsageMetadata; u == nil || u.PromptTokenCount != wantIn || u.CandidatesTokenCount != wantOut || u.TotalTokenCount != wantIn+wantOut {
			t.Errorf("usage %+v, want %d/%d", resp.UsageMetadata, wantIn, wantOut)
		}
		if resp.ModelVersion != "mock-strong" || resp.ResponseID == "" {
			t.Errorf("modelVersion %q responseId %q", resp.ModelVersion, resp.ResponseID)
		}
	})

	t.Run("SeedIsSample", func(t *testing.T) {
		t.Parallel()
		p := sampleSensitivePrompt("mock-medium")
		for _, tc := range []struct {
			seed   *int32
			sample int
		}{{nil, 0}, {genai.Ptr[int32](0), 0}, {genai.Ptr[int32](1), 1}} {
			resp, err := client.Models.GenerateContent(t.Context(), "mock-medium", genai.Text(p), &genai.GenerateContentConfig{Seed: tc.seed})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := resp.Text(), mockllm.Answer("mock-medium", p, tc.sample); got != want {
				t.Errorf("seed %v: text %q, want %q (sample %d)", tc.seed, got, want, tc.sample)
			}
		}
	})

	t.Run("MaxTokens", func(t *testing.T) {
		t.Parallel()
		resp, err := client.Models.GenerateContent(t.Context(), "mock-perfect", genai.Text("What is 2 + 2?"), &genai.GenerateContentConfig{MaxOutputTokens: 2})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Text() != "The answer" || resp.Candidates[0].FinishReason != genai.FinishReasonMaxTokens || resp.UsageMetadata.CandidatesTokenCount != 2 {
			t.Errorf("got %q %q; want \"The answer\" MAX_TOKENS", resp.Text(), resp.Candidates[0].FinishReason)
		}
	})

	t.Run("Stream", func(t *testing.T) {
		t.Parallel()
		var chunks []*genai.GenerateContentResponse
		for chunk, err := range client.Models.GenerateContentStream(t.Context(), "mock-weak", genai.Text(prompt), &genai.GenerateContentConfig{
			SystemInstruction: genai.NewContentFromText(system, genai.RoleUser),
			Seed:              genai.Ptr[int32](3),
		}) {
			if err != nil {
				t.Fatal(err)
			}
			chunks = append(chunks, chunk)
		}
		want := mockllm.Answer("mock-weak", prompt, 3)
		words := len(strings.Fields(want))
		if len(chunks) != words {
			t.Fatalf("got %d chunks, want one per word (%d)", len(chunks), words)
		}
		var text strings.Builder
		for i, c := range chunks {
			text.WriteString(c.Text())
			last := i == len(chunks)-1
			if (c.UsageMetadata != nil) != last || (c.Candidates[0].FinishReason != "") != last {
				t.Errorf("chunk %d: usage %v finish %q; want both on the last chunk only", i, c.UsageMetadata, c.Candidates[0].FinishReason)
			}
		}
		wantIn := int32((len(system) + len(prompt) + 3) / 4)
		u := chunks[len(chunks)-1].UsageMetadata
		if text.String() != want || u == nil || u.PromptTokenCount != wantIn || u.CandidatesTokenCount != int32(words) {
			t.Errorf("text %q usage %+v; want %q and %d/%d", text.String(), u, want, wantIn, words)
		}
	})

	t.Run("SnakeCase", func(t *testing.T) {
		t.Parallel()
		body := `{"system_instruction":{"parts":[{"text":"` + system + `"}]},"contents":[{"parts":[{"text":"What is 6 * 7?"}]}],` +
			`"generation_config":{"max_output_tokens":3,"seed":1}}`
		resp, raw := f.post(t, "/v1beta/models/mock-perfect:generateContent", body, "x-goog-api-key", "k")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"text":"The answer is"`) || !strings.Contains(string(raw), `"MAX_TOKENS"`) {
			t.Errorf("status %d body %s; want the answer cut at 3 tokens", resp.StatusCode, raw)
		}
	})

	t.Run("Models", func(t *testing.T) {
		t.Parallel()
		page, err := client.Models.List(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range page.Items {
			names = append(names, m.Name)
		}
		var want []string
		for _, m := range append(mockllm.Models(), mockllm.JudgeModels()...) {
			want = append(want, "models/"+m)
		}
		if strings.Join(names, ",") != strings.Join(want, ",") || page.Items[0].DisplayName != "Mock Perfect" {
			t.Errorf("listed %v, want %v", names, want)
		}
	})

	t.Run("ErrUnknownModel", func(t *testing.T) {
		t.Parallel()
		_, err := client.Models.GenerateContent(t.Context(), "gemini-2.5-pro", genai.Text("hi"), nil)
		apiErr, ok := errors.AsType[genai.APIError](err)
		if !ok || apiErr.Code != http.StatusNotFound || apiErr.Status != "NOT_FOUND" {
			t.Fatalf("err = %v; want 404 NOT_FOUND", err)
		}
	})

	t.Run("ErrBadRequest", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name, path, body string
			status           int
		}{
			{"NoContents", "/v1beta/models/mock-strong:generateContent", `{"contents":[]}`, http.StatusBadRequest},
			{"MalformedJSON", "/v1beta/models/mock-strong:generateContent", `{"contents":`, http.StatusBadRequest},
			{"StreamWithoutSSE", "/v1beta/models/mock-strong:streamGenerateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`, http.StatusBadRequest},
			{"UnknownMethod", "/v1beta/models/mock-strong:embedContent", `{}`, http.StatusNotFound},
			{"NoMethod", "/v1beta/models/mock-strong", `{}`, http.StatusNotFound},
		} {
			resp, body := f.post(t, tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Errorf("%s: status %d, want %d (%s)", tc.name, resp.StatusCode, tc.status, body)
				continue
			}
			if e := decodeGoogleError(t, body); e.Code != tc.status {
				t.Errorf("%s: error %+v, want code %d", tc.name, e, tc.status)
			}
		}
	})

	t.Run("ErrAuth", func(t *testing.T) {
		t.Parallel()
		locked := setup(t, mockllm.Config{RequireKey: true})
		body := `{"contents":[{"parts":[{"text":"hi"}]}]}`
		resp, raw := locked.post(t, "/v1beta/models/mock-strong:generateContent", body)
		if e := decodeGoogleError(t, raw); resp.StatusCode != http.StatusUnauthorized || e.Status != "UNAUTHENTICATED" {
			t.Errorf("no key: status %d %+v, want 401 UNAUTHENTICATED", resp.StatusCode, e)
		}
		if resp, _ := locked.post(t, "/v1beta/models/mock-strong:generateContent?key=k", body); resp.StatusCode != http.StatusOK {
			t.Errorf("key in the query: status %d, want 200", resp.StatusCode)
		}
		_, err := newGenai(t, locked.url, "bad-key-abcdef1234").Models.GenerateContent(t.Context(), "mock-strong", genai.Text("hi"), nil)
		apiErr, ok := errors.AsType[genai.APIError](err)
		if !ok || apiErr.Code != http.StatusUnauthorized || !strings.Contains(apiErr.Message, "bad-k****1234") {
			t.Errorf("bad key: err = %v; want 401 echoing bad-k****1234", err)
		}
	})
}

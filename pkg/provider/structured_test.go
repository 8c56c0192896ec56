package provider_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/provider"
)

// The mock (judge_mockllm_test.go) streams every structured answer; these
// cover the whole-JSON answers and the edges the mock does not produce.

func TestOpenAI_Refusal(t *testing.T) {
	t.Parallel()
	f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","created":1,"model":"gpt-test",
			"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help."},"finish_reason":"stop"}],
			"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}`)
	})
	req := request(f.baseURL())
	req.Output = verdictOutput
	res, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if res.Refusal != "I can't help." || res.Text != "" || res.TTFT <= 0 {
		t.Errorf("res = %+v, want the refusal apart from an empty Text", res)
	}
}

func TestAnthropic_ToolAnswer(t *testing.T) {
	t.Parallel()

	t.Run("JSONAnswer", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-test",
				"content":[{"type":"text","text":"Let me record it."},{"type":"tool_use","id":"toolu_1","name":"verdict",
				"input":{"reasoning": "ok", "verdict": "pass"}}],"stop_reason":"tool_use",
				"usage":{"input_tokens":7,"output_tokens":9}}`)
		})
		req := anthropicRequest(f.srv.URL)
		req.Output = verdictOutput
		res, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), req)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if res.Text != `{"reasoning":"ok","verdict":"pass"}` || res.FinishReason != "tool_use" || res.Refusal != "" {
			t.Errorf("res = %+v, want the tool input as Text", res)
		}
	})

	t.Run("StreamedInput", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			anthropicHead(w)
			sseEvent(w, "content_block_stop", `{"type":"content_block_stop","index":0}`)
			sseEvent(w, "content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"verdict","input":{}}}`)
			for _, piece := range []string{`{"reasoning": "o`, `k", "verdict"`, `: "fail"}`} {
				b, _ := json.Marshal(piece)
				sseEvent(w, "content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":`+string(b)+`}}`)
			}
			sseEvent(w, "content_block_stop", `{"type":"content_block_stop","index":1}`)
			sseEvent(w, "message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":9}}`)
			sseEvent(w, "message_stop", `{"type":"message_stop"}`)
		})
		req := anthropicRequest(f.srv.URL)
		req.Output = verdictOutput
		res, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), req)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if res.Text != `{"reasoning":"ok","verdict":"fail"}` || res.FinishReason != "tool_use" || res.TTFT <= 0 {
			t.Errorf("res = %+v, want the streamed tool input as Text", res)
		}
	})

	t.Run("Refusal", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-test",
				"content":[],"stop_reason":"refusal","usage":{"input_tokens":7,"output_tokens":0}}`)
		})
		req := anthropicRequest(f.srv.URL)
		req.Output = verdictOutput
		res, err := newAnthropic(provider.ClientConfig{}).Complete(t.Context(), req)
		if err != nil || res.Refusal != "refusal" || res.Text != "" {
			t.Errorf("Complete = %+v, %v; want a refusal", res, err)
		}
	})
}

func TestGoogle_ResponseSchema(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, schema, want string
	}{
		{"ScoreNullableNested", `{"type":"object","$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"z":{"type":["integer","null"],"minimum":1,"maximum":5},` +
			`"a":{"type":"array","items":{"type":"string","enum":["x","y"]}},"n":{"enum":[1,2]}},"additionalProperties":false,"required":["z"]}`,
			`{"type":"OBJECT","properties":{"z":{"type":"INTEGER","nullable":true,"minimum":1,"maximum":5},` +
				`"a":{"type":"ARRAY","items":{"type":"STRING","format":"enum","enum":["x","y"]}},"n":{"format":"enum","enum":["1","2"]}},"required":["z"],"propertyOrdering":["z","a","n"]}`},
	} {
		f := newFakeProvider(t, googleHarness().streamOK(0))
		req := googleRequest(f.srv.URL + "/")
		req.Output = &provider.OutputSchema{Name: "x", Schema: json.RawMessage(c.schema)}
		if _, err := newGoogle(provider.ClientConfig{}).Complete(t.Context(), req); err != nil {
			t.Fatalf("%s: Complete: %v", c.name, err)
		}
		body, _ := f.received()
		assertBody(t, body, map[string]string{"generationConfig.responseSchema": c.want})
	}

	t.Run("ErrUnsupportedType", func(t *testing.T) {
		t.Parallel()
		req := googleRequest("https://gemini.invalid/")
		req.Output = &provider.OutputSchema{Name: "x", Schema: json.RawMessage(`{"type":"object","properties":{"v":{"type":["string","integer"]}}}`)}
		_, err := newGoogle(provider.ClientConfig{}).Complete(t.Context(), req)
		if perr := asError(t, err); !strings.Contains(perr.Message, "Gemini cannot take type") || !strings.Contains(perr.Message, `"v"`) {
			t.Errorf("err = %+v, want one naming the property and the type", perr)
		}
	})
}

func TestRequest_InputChars(t *testing.T) {
	t.Parallel()
	req := provider.Request{System: "héllo", Prompt: "ignored"}
	req.Messages = []provider.Message{{Role: "user", Content: "abc"}, {Role: "assistant", Content: "de"}}
	if got := req.InputChars(); got != 10 {
		t.Errorf("InputChars = %d, want 10 (runes of system and messages, not Prompt)", got)
	}
	req.Messages = nil
	if got := req.InputChars(); got != 12 {
		t.Errorf("InputChars = %d, want 12 (system and prompt)", got)
	}
	req.Messages = []provider.Message{{Role: "secret", Content: "x"}}
	req.BaseURL, req.Model = "https://api.example.com", "m"
	_, err := newClient(provider.ClientConfig{}).Complete(t.Context(), req)
	if perr := asError(t, err); !strings.Contains(perr.Message, "messages[0].role") {
		t.Errorf("err = %+v, want one naming messages[0].role", perr)
	}
}

package provider_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/provider"
)

// Verdict schemas of the three kinds, as pkg/judge builds them (design §2).
const (
	scoreSchema = `{"type":"object","properties":{"reasoning":{"type":"string"},` +
		`"verdict":{"type":"integer","minimum":1,"maximum":5}},"required":["reasoning","verdict"],"additionalProperties":false}`
	choiceSchema = `{"type":"object","properties":{"reasoning":{"type":"string"},` +
		`"verdict":{"type":"string","enum":["A","B","C","D","E"]}},"required":["reasoning","verdict"],"additionalProperties":false}`
)

// judgeRequest is a judge prompt to model about answer against the
// reference "4": with the schema as structured output, or in a <schema>
// block of the prompt when structured is false.
func judgeRequest(base, model, answer, schema string, structured bool) provider.Request {
	user := "<question>What is 2 + 2?</question>\n<answer>" + answer + "</answer>\n<reference>4</reference>\n"
	req := provider.Request{BaseURL: base, APIKey: testKey, Model: model, System: "You grade answers.", MaxTokens: 256}
	if structured {
		req.Output = &provider.OutputSchema{Name: "verdict", Schema: json.RawMessage(schema)}
	} else {
		user += "<schema>" + schema + "</schema>\nReply with only a JSON object that matches the schema."
	}
	req.Messages = []provider.Message{{Role: "user", Content: user}}
	return req
}

func TestAdapters_MockJudge(t *testing.T) {
	t.Parallel()
	inst := startMock(t)
	clients := mockClients()
	kinds := []struct {
		name   string
		schema string
		pass   any // the verdict for a passing answer, then a failing one
		fail   any
	}{
		{"pass_fail", passFailSchema, "pass", "fail"},
		{"score", scoreSchema, float64(5), float64(1)},
		{"choice", choiceSchema, "C", "D"},
	}
	for _, mf := range mockFormats {
		client := clients[mf.kind]
		t.Run(string(mf.kind), func(t *testing.T) {
			t.Parallel()
			for _, structured := range []bool{true, false} {
				for _, k := range kinds {
					name := k.name + map[bool]string{true: "_structured", false: "_text"}[structured]
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						for _, c := range []struct {
							answer string
							want   any
						}{{"The answer is 4.", k.pass}, {"The answer is 5.", k.fail}} {
							res, err := client.Complete(t.Context(), judgeRequest(mf.base(inst.URL, ""), mockllm.JudgeModel, c.answer, k.schema, structured))
							if err != nil {
								t.Fatalf("Complete: %v", err)
							}
							var v struct {
								Reasoning string `json:"reasoning"`
								Verdict   any    `json:"verdict"`
							}
							if err := json.Unmarshal([]byte(res.Text), &v); err != nil {
								t.Fatalf("verdict %q is not JSON: %v", res.Text, err)
							}
							if v.Verdict != c.want || !strings.Contains(v.Reasoning, `"4"`) {
								t.Errorf("answer %q: verdict %s, want %v with reasoning naming the key", c.answer, res.Text, c.want)
							}
							if mf.kind == "anthropic" && structured != (res.FinishReason == "tool_use") {
								t.Errorf("Anthropic stop_reason %q: a forced tool answers tool_use, text end_turn", res.FinishReason)
							}
							if res.Refusal != "" || res.InputTokens == 0 || res.OutputTokens == 0 {
								t.Errorf("refusal %q, tokens %d/%d", res.Refusal, res.InputTokens, res.OutputTokens)
							}
						}
					})
				}
			}

			call := func(t *testing.T, spec string, structured bool) (provider.Response, error) {
				t.Helper()
				req := judgeRequest(mf.base(inst.URL, "/faults/"+spec), mockllm.JudgeModel, "The answer is 4.", passFailSchema, structured)
				return client.Complete(t.Context(), req)
			}

			t.Run("ErrNoStructuredOutput", func(t *testing.T) {
				t.Parallel()
				_, err := call(t, "no_structured_output=true", true)
				perr := asError(t, err)
				field := map[string]string{"openai": "response_format", "anthropic": "tools", "google": "response_schema"}[string(mf.kind)]
				if perr.StatusCode != http.StatusBadRequest || perr.Retryable || !strings.Contains(perr.Message, field) {
					t.Errorf("err = %+v, want 400 naming %s", perr, field)
				}
				// Asking in text still works on such a provider.
				if res, err := call(t, "no_structured_output=true", false); err != nil || !strings.Contains(res.Text, `"pass"`) {
					t.Errorf("text mode = %q, %v", res.Text, err)
				}
			})

			t.Run("ErrJudge", func(t *testing.T) {
				t.Parallel()
				for _, spec := range []string{"judge_error_rate=1", "error_rate=1"} {
					_, err := call(t, spec, true)
					if perr := asError(t, err); perr.StatusCode != http.StatusInternalServerError || !perr.Retryable {
						t.Errorf("%s: err = %+v, want retryable 500", spec, perr)
					}
				}
				_, err := call(t, "rate_limit_rate=1", true)
				if perr := asError(t, err); perr.StatusCode != http.StatusTooManyRequests {
					t.Errorf("rate_limit_rate=1: err = %+v, want 429", perr)
				}
			})

			t.Run("Refusal", func(t *testing.T) {
				t.Parallel()
				res, err := call(t, "judge_refusal_rate=1", true)
				if err != nil {
					t.Fatalf("Complete: %v", err)
				}
				if mf.kind == "google" {
					// Gemini has no refusal signal: the refusal is prose.
					if res.Refusal != "" || json.Valid([]byte(res.Text)) {
						t.Errorf("Gemini refusal: Text %q, Refusal %q; want prose", res.Text, res.Refusal)
					}
					return
				}
				if res.Refusal == "" || json.Valid([]byte(res.Text)) {
					t.Errorf("Text %q, Refusal %q; want a refusal", res.Text, res.Refusal)
				}
			})

			t.Run("Malformed", func(t *testing.T) {
				t.Parallel()
				for _, kind := range []string{mockllm.MalformedBrokenJSON, mockllm.MalformedTruncated, mockllm.MalformedMissingKey, mockllm.MalformedOutOfRange} {
					for _, structured := range []bool{true, false} {
						res, err := call(t, "judge_malformed_rate=1,judge_malformed_kind="+kind, structured)
						if err != nil {
							t.Fatalf("%s: Complete: %v", kind, err)
						}
						var v map[string]any
						ok := json.Unmarshal([]byte(res.Text), &v) == nil
						switch kind {
						case mockllm.MalformedMissingKey:
							ok = ok && v["verdict"] == nil
						case mockllm.MalformedOutOfRange:
							ok = ok && v["verdict"] != "pass" && v["verdict"] != "fail" && v["verdict"] != nil
						default:
							ok = !ok
						}
						if !ok {
							t.Errorf("%s (structured %t): verdict %q is not malformed that way", kind, structured, res.Text)
						}
					}
				}
			})
		})
	}
}

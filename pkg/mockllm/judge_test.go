package mockllm_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/mockllm"
)

// Verdict schemas as pkg/judge builds them (design §2).
const (
	passFailSchema = `{"type":"object","properties":{"reasoning":{"type":"string"},"verdict":{"type":"string","enum":["pass","fail"]}},"required":["reasoning","verdict"],"additionalProperties":false}`
	scoreSchema    = `{"type":"object","properties":{"reasoning":{"type":"string"},"verdict":{"type":"integer","minimum":0,"maximum":10}},"required":["reasoning","verdict"],"additionalProperties":false}`
	choiceSchema   = `{"type":"object","properties":{"reasoning":{"type":"string"},"verdict":{"type":"string","enum":["good","bad","ugly"]}},"required":["reasoning","verdict"],"additionalProperties":false}`
	// geminiScore is scoreSchema as Gemini's responseSchema.
	geminiScore = `{"type":"OBJECT","properties":{"reasoning":{"type":"STRING"},"verdict":{"type":"INTEGER","minimum":1,"maximum":5}},"required":["reasoning","verdict"]}`
)

func judgePrompt(answer, reference, rubric string) string {
	p := "<question>Q?</question>\n<answer>" + answer + "</answer>\n"
	if reference != "" {
		p += "<reference>" + reference + "</reference>\n"
	}
	if rubric != "" {
		p += "<rubric>" + rubric + "</rubric>\n"
	}
	return p
}

func TestJudge(t *testing.T) {
	t.Parallel()

	t.Run("Panel", func(t *testing.T) {
		t.Parallel()
		// Each row is one answer against the reference "4" and what the
		// three judges make of it; the disagreements are by design.
		for _, c := range []struct {
			answer     string
			j1, j2, j3 bool
			why2, why3 string
		}{
			{"The answer is 4.", true, true, true, "", ""},
			{"The answer is 5.", false, false, false, "", ""},
			{"The answer is 14.", true, false, true, "4 inside 14 is no whole word", ""},
			{"Let me think.\nThe answer is 4.", true, true, false, "", "the key is not on the first line"},
			{"", false, false, false, "", ""},
		} {
			p := judgePrompt(c.answer, "4", "")
			for model, want := range map[string]bool{mockllm.JudgeModel: c.j1, mockllm.JudgeModel2: c.j2, mockllm.JudgeModel3: c.j3} {
				if got := mockllm.Judge(model, p, nil); got.Pass != want || got.Verdict != map[bool]string{true: "pass", false: "fail"}[want] {
					t.Errorf("%s on %q = %+v, want pass %t (%s%s)", model, c.answer, got, want, c.why2, c.why3)
				}
			}
		}
	})

	t.Run("Keys", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			prompt string
			pass   bool
		}{
			{judgePrompt("Paris is the capital.", "paris", `mentions "Lyon"`), true}, // the reference wins, case ignored
			{judgePrompt("Lyon it is.", "", `must mention "lyon" and be short`), true},
			{judgePrompt("Marseille.", "", `must mention "Lyon"`), false},
			{judgePrompt("anything", "", "no quoted key"), true},
			{judgePrompt("   ", "", "no quoted key"), false},
			{judgePrompt("anything", "  ", ""), true}, // a blank reference is no key
		} {
			if got := mockllm.Judge(mockllm.JudgeModel, c.prompt, nil); got.Pass != c.pass {
				t.Errorf("Judge(%q) = %+v, want pass %t", c.prompt, got, c.pass)
			}
		}
	})

	t.Run("Kinds", func(t *testing.T) {
		t.Parallel()
		pass, fail := judgePrompt("4", "4", ""), judgePrompt("5", "4", "")
		for _, c := range []struct {
			name       string
			schema     string
			inPrompt   bool
			kind       mockllm.VerdictKind
			pass, fail any
		}{
			{"PassFail", passFailSchema, false, mockllm.KindPassFail, "pass", "fail"},
			{"Score", scoreSchema, false, mockllm.KindScore, int64(10), int64(0)},
			{"ScoreGemini", geminiScore, false, mockllm.KindScore, int64(5), int64(1)},
			{"ScoreInPrompt", scoreSchema, true, mockllm.KindScore, int64(10), int64(0)},
			{"ChoiceFirstLast", choiceSchema, false, mockllm.KindChoice, "good", "ugly"},
			{"ChoiceFactuality", `{"properties":{"verdict":{"type":"string","enum":["A","B","C","D","E"]}}}`, false, mockllm.KindChoice, "C", "D"},
			{"NoSchema", "", false, mockllm.KindPassFail, "pass", "fail"},
		} {
			var schema []byte
			p, f := pass, fail
			if c.inPrompt {
				p, f = p+"<schema>"+c.schema+"</schema>", f+"<schema>"+c.schema+"</schema>"
			} else if c.schema != "" {
				schema = []byte(c.schema)
			}
			gp, gf := mockllm.Judge(mockllm.JudgeModel, p, schema), mockllm.Judge(mockllm.JudgeModel, f, schema)
			if gp.Kind != c.kind || gp.Verdict != c.pass || gf.Verdict != c.fail {
				t.Errorf("%s: verdicts %v / %v (kind %s), want %v / %v (%s)", c.name, gp.Verdict, gf.Verdict, gp.Kind, c.pass, c.fail, c.kind)
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(gp.JSON()), &obj); err != nil || obj["reasoning"] == "" || len(obj) != 2 {
				t.Errorf("%s: JSON %s is not {reasoning, verdict}", c.name, gp.JSON())
			}
		}
	})
}

// judgeWire is one wire format's judge request with structured output.
type judgeWire struct {
	name   string
	path   func(stream bool) string
	body   func(stream bool) string
	header []string
	// verdict extracts the verdict text from an answer, whole or streamed.
	verdict func(t *testing.T, body []byte, stream bool) string
}

var judgeUser = strings.ReplaceAll(judgePrompt("The answer is 4.", "4", ""), "\n", `\n`)

var judgeWires = []judgeWire{
	{
		name: mockllm.FormatOpenAI,
		path: func(bool) string { return "/v1/chat/completions" },
		body: func(stream bool) string {
			return `{"model":"mock-judge","stream":` + boolJSON(stream) + `,"messages":[{"role":"system","content":"Grade."},{"role":"user","content":"` + judgeUser + `"}],` +
				`"response_format":{"type":"json_schema","json_schema":{"name":"verdict","strict":true,"schema":` + scoreSchema + `}}}`
		},
		verdict: func(t *testing.T, body []byte, stream bool) string {
			if !stream {
				var cc struct {
					Choices []struct {
						Message struct{ Content string } `json:"message"`
					} `json:"choices"`
				}
				mustJSON(t, body, &cc)
				return cc.Choices[0].Message.Content
			}
			var sb strings.Builder
			for _, data := range dataLines(body) {
				var ch struct {
					Choices []struct {
						Delta struct{ Content string } `json:"delta"`
					} `json:"choices"`
				}
				if data != "[DONE]" && json.Unmarshal([]byte(data), &ch) == nil && len(ch.Choices) > 0 {
					sb.WriteString(ch.Choices[0].Delta.Content)
				}
			}
			return sb.String()
		},
	},
	{
		name:   mockllm.FormatAnthropic,
		path:   func(bool) string { return "/v1/messages" },
		header: anthropicHeaders,
		body: func(stream bool) string {
			return `{"model":"mock-judge","max_tokens":256,"stream":` + boolJSON(stream) + `,"system":"Grade.","messages":[{"role":"user","content":"` + judgeUser + `"}],` +
				`"tools":[{"name":"verdict","description":"d","input_schema":` + scoreSchema + `}],"tool_choice":{"type":"tool","name":"verdict"}}`
		},
		verdict: func(t *testing.T, body []byte, stream bool) string {
			if !stream {
				var msg struct {
					StopReason string `json:"stop_reason"`
					Content    []struct {
						Type  string          `json:"type"`
						Name  string          `json:"name"`
						ID    string          `json:"id"`
						Input json.RawMessage `json:"input"`
					} `json:"content"`
				}
				mustJSON(t, body, &msg)
				if len(msg.Content) != 1 || msg.Content[0].Type != "tool_use" || msg.Content[0].Name != "verdict" ||
					!strings.HasPrefix(msg.Content[0].ID, "toolu_") || msg.StopReason != "tool_use" {
					t.Errorf("message %s is not one tool_use block of verdict", body)
				}
				return string(msg.Content[0].Input)
			}
			var sb strings.Builder
			var started, stopped bool
			for _, data := range dataLines(body) {
				var ev struct {
					Type         string `json:"type"`
					ContentBlock struct {
						Type, Name string
					} `json:"content_block"`
					Delta struct {
						Type        string `json:"type"`
						PartialJSON string `json:"partial_json"`
						StopReason  string `json:"stop_reason"`
					} `json:"delta"`
				}
				mustJSON(t, []byte(data), &ev)
				switch {
				case ev.Type == "content_block_start":
					started = ev.ContentBlock.Type == "tool_use" && ev.ContentBlock.Name == "verdict"
				case ev.Type == "content_block_delta" && ev.Delta.Type == "input_json_delta":
					sb.WriteString(ev.Delta.PartialJSON)
				case ev.Type == "message_delta":
					stopped = ev.Delta.StopReason == "tool_use"
				}
			}
			if !started || !stopped {
				t.Errorf("stream %s: tool_use block started %t, stop_reason tool_use %t", body, started, stopped)
			}
			return sb.String()
		},
	},
	{
		name: mockllm.FormatGoogle,
		path: func(stream bool) string {
			if stream {
				return "/v1beta/models/mock-judge:streamGenerateContent?alt=sse"
			}
			return "/v1beta/models/mock-judge:generateContent"
		},
		body: func(bool) string {
			return `{"systemInstruction":{"parts":[{"text":"Grade."}]},"contents":[{"role":"user","parts":[{"text":"` + judgeUser + `"}]}],` +
				`"generationConfig":{"responseMimeType":"application/json","responseSchema":` + geminiScore + `}}`
		},
		verdict: func(t *testing.T, body []byte, stream bool) string {
			chunks := []string{string(body)}
			if stream {
				chunks = dataLines(body)
			}
			var sb strings.Builder
			for _, c := range chunks {
				var r struct {
					Candidates []struct {
						Content struct {
							Parts []struct{ Text string } `json:"parts"`
						} `json:"content"`
					} `json:"candidates"`
				}
				mustJSON(t, []byte(c), &r)
				sb.WriteString(r.Candidates[0].Content.Parts[0].Text)
			}
			return sb.String()
		},
	},
}

func boolJSON(b bool) string { return map[bool]string{true: "true", false: "false"}[b] }

func mustJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
}

func dataLines(body []byte) []string {
	var out []string
	for line := range strings.SplitSeq(string(body), "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			out = append(out, data)
		}
	}
	return out
}

func TestServer_Judge(t *testing.T) {
	t.Parallel()
	f := setup(t, mockllm.Config{ChunkWords: 2})
	for _, w := range judgeWires {
		for _, stream := range []bool{false, true} {
			t.Run(w.name+map[bool]string{true: "/Stream", false: "/NonStream"}[stream], func(t *testing.T) {
				t.Parallel()
				res, body := f.post(t, w.path(stream), w.body(stream), w.header...)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", res.StatusCode, body)
				}
				got := w.verdict(t, body, stream)
				var v struct {
					Reasoning string `json:"reasoning"`
					Verdict   any    `json:"verdict"`
				}
				mustJSON(t, []byte(got), &v)
				// The score scale is 0..10 in JSON Schema and 1..5 in
				// Gemini's schema; a pass is the top of it.
				want := 10.0
				if w.name == mockllm.FormatGoogle {
					want = 5
				}
				if v.Verdict != want || !strings.Contains(v.Reasoning, `"4"`) {
					t.Errorf("verdict %s, want %v", got, want)
				}
			})
		}
	}
	// Cleanup runs once the parallel subtests are done.
	t.Cleanup(func() {
		if n := f.mock.CallsFor(mockllm.JudgeModel); n != int64(2*len(judgeWires)) {
			t.Errorf("CallsFor(mock-judge) = %d, want %d", n, 2*len(judgeWires))
		}
	})
}

func TestServer_JudgeFaults(t *testing.T) {
	t.Parallel()

	t.Run("Refusal", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{JudgeRefusalRate: 1})
		_, body := f.post(t, "/v1/chat/completions", judgeWires[0].body(false))
		var cc struct {
			Choices []struct {
				Message struct {
					Content *string `json:"content"`
					Refusal string  `json:"refusal"`
				} `json:"message"`
			} `json:"choices"`
		}
		mustJSON(t, body, &cc)
		if m := cc.Choices[0].Message; m.Content != nil || m.Refusal == "" {
			t.Errorf("OpenAI refusal %s: want content null and a refusal", body)
		}
		_, body = f.post(t, "/v1/chat/completions", judgeWires[0].body(true))
		if !strings.Contains(string(body), `"delta":{"role":"assistant","refusal":`) {
			t.Errorf("OpenAI streamed refusal %s: want refusal deltas", body)
		}
		_, body = f.post(t, "/v1/messages", judgeWires[1].body(false), anthropicHeaders...)
		if !strings.Contains(string(body), `"stop_reason":"refusal"`) || strings.Contains(string(body), "tool_use") {
			t.Errorf("Anthropic refusal %s: want stop_reason refusal and no tool_use", body)
		}
	})

	t.Run("NonJudgeModelsUnaffected", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{JudgeErrorRate: 1, JudgeMalformedRate: 0})
		res, body := f.post(t, "/v1/chat/completions", chatBody("mock-perfect", "What is 2 + 2?", ""))
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "The answer is 4.") {
			t.Errorf("tested model under judge faults: %d %s", res.StatusCode, body)
		}
		res, _ = f.post(t, "/v1/chat/completions", judgeWires[0].body(false))
		if res.StatusCode != http.StatusInternalServerError {
			t.Errorf("judge under judge_error_rate=1: status %d, want 500", res.StatusCode)
		}
	})

	t.Run("Deterministic", func(t *testing.T) {
		t.Parallel()
		// Same seed, same sequence of outcomes; the rates are honoured.
		cfg := mockllm.Config{Seed: 7, JudgeErrorRate: 0.2, JudgeMalformedRate: 0.3}
		outcomes := func() []string {
			f := setup(t, cfg)
			var out []string
			for range 200 {
				res, body := f.post(t, "/v1/chat/completions", judgeWires[0].body(false))
				switch {
				case res.StatusCode != http.StatusOK:
					out = append(out, "error")
				case strings.Contains(string(body), `\"verdict\":10}`):
					out = append(out, "ok")
				default:
					out = append(out, "malformed")
				}
			}
			return out
		}
		a, b := outcomes(), outcomes()
		if strings.Join(a, ",") != strings.Join(b, ",") {
			t.Error("two servers with one seed judged differently")
		}
		counts := map[string]int{}
		for _, o := range a {
			counts[o]++
		}
		if counts["error"] < 20 || counts["error"] > 60 || counts["malformed"] < 35 || counts["malformed"] > 85 {
			t.Errorf("outcomes %v over 200 requests; want about 40 errors and 60 malformed", counts)
		}
	})

	t.Run("ErrSpec", func(t *testing.T) {
		t.Parallel()
		f := setup(t, mockllm.Config{})
		for _, spec := range []string{"judge_malformed_kind=garbled", "judge_error_rate=0.6,judge_refusal_rate=0.6", "no_structured_output=maybe"} {
			res, body := f.post(t, "/faults/"+spec+"/v1/chat/completions", judgeWires[0].body(false))
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("spec %s: status %d (%s), want 400", spec, res.StatusCode, body)
			}
		}
	})
}

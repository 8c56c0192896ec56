package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// TestServer_RichQuestions covers chat-turn and multiple-choice questions,
// a suite's few-shot turns and the benchmark's default scoring through the
// API.
func TestServer_RichQuestions(t *testing.T) {
	t.Parallel()
	b := setup(t)

	su := call[oapi.Suite](t, b, "POST", "/v1/suites",
		`{"name":"rich","few_shot":[{"role":"user","content":"1+1?"},{"role":"assistant","content":"2"}]}`, http.StatusCreated)
	if len(su.FewShot) != 2 || su.FewShot[1].Content != "2" {
		t.Fatalf("few_shot = %+v", su.FewShot)
	}
	path := "/v1/suites/" + su.Id.String()

	msgQ := call[oapi.Question](t, b, "POST", path+"/questions",
		`{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"2+2?"}],"expected_answer":"4","scoring":{"method":"numeric"}}`, http.StatusCreated)
	if msgQ.Prompt != "" || msgQ.Messages == nil || len(*msgQ.Messages) != 2 || msgQ.FewShot == nil || len(*msgQ.FewShot) != 2 {
		t.Errorf("message question = %+v", msgQ)
	}
	// No scoring of its own: the benchmark's default applies.
	choiceQ := call[oapi.Question](t, b, "POST", path+"/questions",
		`{"prompt":"Capital of France?","choices":["Paris","Lyon"],"expected_answer":"Paris"}`, http.StatusCreated)
	if choiceQ.Choices == nil || len(*choiceQ.Choices) != 2 || choiceQ.Scoring.Method != "" {
		t.Errorf("choice question = %+v", choiceQ)
	}

	t.Run("FewShotChangeRevises", func(t *testing.T) {
		call[oapi.Suite](t, b, "PATCH", path, `{"few_shot":[{"role":"user","content":"3+3?"},{"role":"assistant","content":"6"}]}`, http.StatusOK)
		got := call[oapi.Question](t, b, "GET", "/v1/questions/"+msgQ.Id.String(), "", http.StatusOK)
		if got.Revision != 2 || got.FewShot == nil || (*got.FewShot)[0].Content != "3+3?" || got.Messages == nil || len(*got.Messages) != 2 {
			t.Errorf("after the few-shot change: %+v", got)
		}
	})

	t.Run("UpdateSwitchesPromptAndMessages", func(t *testing.T) {
		got := call[oapi.Question](t, b, "PATCH", "/v1/questions/"+choiceQ.Id.String(), `{"messages":[{"role":"user","content":"Capital?"}]}`, http.StatusOK)
		if got.Prompt != "" || got.Messages == nil || got.Choices == nil {
			t.Errorf("switched to messages: %+v", got)
		}
		wantError(t, b.do(t, "PATCH", "/v1/questions/"+choiceQ.Id.String(), `{"prompt":"p","messages":[{"role":"user","content":"q"}]}`), http.StatusUnprocessableEntity, "messages")
	})

	t.Run("DefaultScoring", func(t *testing.T) {
		p := b.provider(t, nil)
		m := b.model(t, p.Id.String(), nil)
		body := `{"name":"rich-bench","suite_ids":["` + su.Id.String() + `"],"model_ids":["` + m.Id.String() + `"]}`
		wantError(t, b.do(t, "POST", "/v1/benchmarks", body), http.StatusUnprocessableEntity, "config.scoring")
		body = strings.TrimSuffix(body, "}") + `,"config":{"scoring":{"method":"exact_match"},"judge_model_ids":["` + m.Id.String() + `"]}}`
		bench := call[oapi.Benchmark](t, b, "POST", "/v1/benchmarks", body, http.StatusCreated)
		if bench.Config.Scoring == nil || bench.Config.Scoring.Method != "exact_match" || bench.Config.JudgeModelIds == nil || len(*bench.Config.JudgeModelIds) != 1 {
			t.Errorf("config = %+v", bench.Config)
		}
	})

	t.Run("ImportAcceptsTheNewFields", func(t *testing.T) {
		lines := `{"messages":[{"role":"user","content":"5+5?"}],"expected_answer":"10","scoring":{"method":"numeric"}}` + "\n" +
			`{"prompt":"Pick","choices":["a","b","c"],"expected_answer":"B"}`
		res := call[oapi.ImportQuestionsResult](t, b, "POST", path+"/questions:import", lines, http.StatusCreated, header("Content-Type", "application/x-ndjson"))
		if res.Imported != 2 || res.Items[0].Messages == nil || res.Items[1].Choices == nil || res.Items[1].FewShot == nil {
			t.Errorf("imported %+v", res.Items)
		}
		bad := `{"prompt":"p","expected_answer":"1","scoring":{"method":"numeric"}}` + "\n" +
			`{"messages":[{"role":"assistant","content":"a"}],"expected_answer":"1"}`
		wantError(t, b.do(t, "POST", path+"/questions:import", bad, header("Content-Type", "application/x-ndjson")), http.StatusUnprocessableEntity, "line 2: messages[0].role")
	})

	t.Run("JudgeModelsMustExist", func(t *testing.T) {
		p := b.provider(t, nil)
		judge := b.model(t, p.Id.String(), nil)
		missing := "0190f7a4-5b1e-7000-8000-00000000dead"
		judged := func(ids ...string) string {
			return `{"prompt":"Summarise","expected_answer":"","scoring":{"method":"llm_judge","rubric":"Mentions \"refund\".","judge_model_ids":["` + strings.Join(ids, `","`) + `"]}}`
		}
		wantError(t, b.do(t, "POST", path+"/questions", judged(judge.Id.String(), missing)), http.StatusUnprocessableEntity, "scoring.judge_model_ids[1]")
		q := call[oapi.Question](t, b, "POST", path+"/questions", judged(judge.Id.String()), http.StatusCreated)
		if q.Scoring.Method != "llm_judge" || q.Scoring.JudgeModelIds == nil || (*q.Scoring.JudgeModelIds)[0] != judge.Id {
			t.Errorf("judged question's scoring = %+v", q.Scoring)
		}
		lines := judged(judge.Id.String()) + "\n\n" + judged(missing)
		wantError(t, b.do(t, "POST", path+"/questions:import", lines, header("Content-Type", "application/x-ndjson")), http.StatusUnprocessableEntity, "line 3: scoring.judge_model_ids[0]")
	})

	t.Run("StructuredOutputOverride", func(t *testing.T) {
		p := b.provider(t, nil)
		m := b.model(t, p.Id.String(), map[string]any{"request_overrides": map[string]any{"structured_output": false}})
		if m.RequestOverrides.StructuredOutput == nil || *m.RequestOverrides.StructuredOutput {
			t.Errorf("structured_output = %v", m.RequestOverrides.StructuredOutput)
		}
	})
}

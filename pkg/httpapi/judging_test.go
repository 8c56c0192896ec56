package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/run"
)

// judgedRun is a run of one model over three questions whose answers are
// recorded: the first judged by a panel of two (one judge failed), the
// second unscored, the third still waiting for its judges.
type judgedRun struct {
	run   *run.Run
	units []run.UnitKey
	judge uuid.UUID
}

func (b *bundle) judgedRun(t *testing.T) judgedRun {
	t.Helper()
	ctx := context.Background()
	w := b.world(t, 1, 3, 1)
	r, err := b.store.CreateRunAt(ctx, w.benchmark.Id, time.Now().UTC().Truncate(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := b.store.LoadSnapshot(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	jr := judgedRun{run: r, judge: w.models[0].Id}
	for _, q := range snap.Questions {
		e := &run.Execution{
			RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: snap.Models[0].ModelID,
			QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Category: q.Category,
			Status: run.ExecSucceeded, Response: "The answer is 4.", FinishedAt: r.CreatedAt.Add(time.Minute),
		}
		if ok, err := b.store.RecordExecution(ctx, e); err != nil || !ok {
			t.Fatalf("RecordExecution: %v, %v", ok, err)
		}
		jr.units = append(jr.units, run.UnitKey{ModelID: e.ModelID, QuestionID: e.QuestionID, Sample: 0})
	}
	yes, one, latency := true, 1.0, 812.5
	judged := &run.Evaluation{
		Scorer: "llm_judge", Version: 1, Status: run.EvalScored, Passed: &yes, Score: &one, Detail: "panel: pass 1 of 1",
		Reasoning: "The reply states 4.", JudgeInputTokens: 200, JudgeOutputTokens: 30, JudgeCostUSD: 0.0012, JudgeLatencyMs: &latency,
		Judges: []judge.Result{
			{ModelID: jr.judge, ModelName: "judge-a", Verdict: &judge.Verdict{Label: "pass", Score: 1, Passed: true, Reasoning: "The reply states 4."},
				Attempts: 1, InputTokens: 100, OutputTokens: 30, CostUSD: 0.0012, LatencyMs: 812.5},
			{ModelID: uuid.New(), ModelName: "judge-b", Reason: judge.ReasonError, Error: "provider answered 500", Attempts: 3, InputTokens: 100},
		},
	}
	unscored := &run.Evaluation{Scorer: "llm_judge", Version: 1, Status: run.EvalUnscored, Reason: judge.ReasonParseFailure, Detail: "no verdict"}
	for i, ev := range []*run.Evaluation{judged, unscored} {
		if ok, err := b.store.RecordEvaluation(ctx, r, jr.units[i], ev); err != nil || !ok {
			t.Fatalf("RecordEvaluation %d: %v, %v", i, ok, err)
		}
	}
	return jr
}

// results reads every result of a run, keyed by question.
func (b *bundle) results(t *testing.T, runID uuid.UUID) map[uuid.UUID]oapi.Execution {
	t.Helper()
	list := call[oapi.ExecutionList](t, b, "GET", "/v1/runs/"+runID.String()+"/results", "", http.StatusOK)
	out := map[uuid.UUID]oapi.Execution{}
	for _, e := range list.Items {
		out[e.QuestionId] = e
	}
	return out
}

func TestServer_JudgedResults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	jr := b.judgedRun(t)
	res := b.results(t, jr.run.ID)
	if len(res) != 3 {
		t.Fatalf("%d results, want 3", len(res))
	}

	judged := res[jr.units[0].QuestionID]
	id, err := run.ParseExecutionID(judged.Id)
	if err != nil || id.RunID != jr.run.ID || id.QuestionID != jr.units[0].QuestionID || id.ModelID != jr.units[0].ModelID {
		t.Errorf("result id %q = %+v, %v; want the unit's execution id", judged.Id, id, err)
	}
	v := judged.Verdict
	if v.Status != oapi.ExecutionVerdictStatusScored || v.Passed == nil || !*v.Passed || v.Score == nil || *v.Score != 1 ||
		v.Scorer == nil || *v.Scorer != "llm_judge" || v.Version == nil || *v.Version != 1 {
		t.Errorf("judged unit verdict %+v, want scored, passed, 1 by llm_judge version 1", v)
	}
	if len(judged.Evaluations) != 1 {
		t.Fatalf("judged unit evaluations %+v, want one", judged.Evaluations)
	}
	ev := judged.Evaluations[0]
	if ev.Status != oapi.EvaluationStatusScored || ev.Version != 1 || ev.Reasoning == nil || *ev.Reasoning != "The reply states 4." ||
		ev.JudgeCostUsd != 0.0012 || ev.JudgeInputTokens != 200 || ev.JudgeOutputTokens != 30 || ev.JudgeLatencyMs == nil || *ev.JudgeLatencyMs != 812.5 {
		t.Errorf("judged evaluation %+v, want scored with reasoning and the judges' tokens, cost and latency", ev)
	}
	if ev.Judges == nil || len(*ev.Judges) != 2 {
		t.Fatalf("judges %+v, want two", ev.Judges)
	}
	ok, failed := (*ev.Judges)[0], (*ev.Judges)[1]
	if ok.Verdict == nil || ok.Verdict.Label != "pass" || ok.Verdict.Reasoning == "" || ok.ModelId != jr.judge || ok.CostUsd != 0.0012 {
		t.Errorf("first judge %+v, want its pass verdict with reasoning and cost", ok)
	}
	if failed.Verdict != nil || failed.Reason == nil || *failed.Reason != judge.ReasonError || failed.Error == nil || failed.Attempts != 3 {
		t.Errorf("second judge %+v, want no verdict, judge_error, its error and 3 attempts", failed)
	}

	unscored := res[jr.units[1].QuestionID]
	if v := unscored.Verdict; v.Status != oapi.ExecutionVerdictStatusUnscored || v.Passed != nil || v.Score != nil ||
		v.Reason == nil || *v.Reason != judge.ReasonParseFailure {
		t.Errorf("unscored unit verdict %+v, want unscored, no pass or score, judge_parse_failure", v)
	}
	if ev := unscored.Evaluations; len(ev) != 1 || ev[0].Status != oapi.EvaluationStatusUnscored || ev[0].Passed != nil || ev[0].Score != nil {
		t.Errorf("unscored evaluation %+v, want status unscored with null passed and score", ev)
	}
	// The raw JSON says null, not false or 0.
	raw := b.do(t, "GET", "/v1/runs/"+jr.run.ID.String()+"/results", "")
	var wire struct {
		Items []struct {
			Evaluations []map[string]json.RawMessage `json:"evaluations"`
		} `json:"items"`
	}
	if err := json.Unmarshal(raw.body, &wire); err != nil {
		t.Fatal(err)
	}
	nulls := 0
	for _, it := range wire.Items {
		for _, e := range it.Evaluations {
			if string(e["passed"]) == "null" && string(e["score"]) == "null" {
				nulls++
			}
		}
	}
	if nulls != 1 {
		t.Errorf("%d evaluations with null passed and score, want the unscored one: %s", nulls, raw.body)
	}

	if v := res[jr.units[2].QuestionID].Verdict; v.Status != oapi.ExecutionVerdictStatusAwaitingJudgment {
		t.Errorf("unit without an evaluation: verdict %+v, want awaiting_judgment", v)
	}

	// While the run is unfinished, neither rescore nor retry-failed.
	for _, path := range []string{"/rescore", "/retry-failed"} {
		res := b.do(t, "POST", "/v1/runs/"+jr.run.ID.String()+path, "")
		if res.status != http.StatusConflict {
			t.Errorf("POST %s of an unfinished run: %d %s, want 409", path, res.status, res.body)
		}
	}
	ag := call[oapi.Agreement](t, b, "GET", "/v1/runs/"+jr.run.ID.String()+"/agreement", "", http.StatusOK)
	if ag.RunId != jr.run.ID || ag.ScoringVersion != 1 || ag.Human != nil {
		t.Errorf("agreement %+v, want version 1 of the run and no human figures", ag)
	}
}

func TestServer_ReviewExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	jr := b.judgedRun(t)
	no, zero := false, 0.0
	if ok, err := b.store.RecordEvaluation(ctx, jr.run, jr.units[2], &run.Evaluation{
		Scorer: "llm_judge", Version: 1, Status: run.EvalScored, Passed: &no, Score: &zero, Detail: "fail",
	}); err != nil || !ok {
		t.Fatalf("RecordEvaluation: %v, %v", ok, err)
	}
	// As run:finalize does: the verdicts become effective, then the run
	// is finalized.
	if err := b.store.ApplyVerdicts(ctx, jr.run); err != nil {
		t.Fatal(err)
	}
	r, _, err := b.store.Finalize(ctx, jr.run, run.StatusCompleted, "", analytics.RankRun)
	if err != nil {
		t.Fatal(err)
	}
	rk := call[oapi.Rankings](t, b, "GET", "/v1/runs/"+r.ID.String()+"/rankings", "", http.StatusOK)
	if len(rk.Overall) != 1 || rk.Overall[0].Unscored != 1 || rk.Overall[0].Correct != 1 || rk.Overall[0].N != 2 {
		t.Fatalf("rankings %+v, want 1 correct of 2 scored units and 1 unscored", rk.Overall)
	}
	run1 := call[oapi.Run](t, b, "GET", "/v1/runs/"+r.ID.String(), "", http.StatusOK)
	if run1.JudgeCostUsd != 0.0012 || run1.ScoringVersion != 1 || run1.RetryRound != 0 || run1.Progress.Unscored != 1 || run1.Progress.Answered != 3 {
		t.Errorf("run %+v progress %+v, want judge cost 0.0012, version 1, 3 answered, 1 unscored", run1, run1.Progress)
	}

	unit := b.results(t, r.ID)[jr.units[1].QuestionID]
	path := "/v1/executions/" + unit.Id + "/review"
	t.Run("OK", func(t *testing.T) {
		ev := call[oapi.Evaluation](t, b, "PUT", path, `{"passed": true, "note": "4 is right."}`, http.StatusOK)
		if ev.Scorer != "human" || ev.Version != 1 || ev.Passed == nil || !*ev.Passed || ev.Score == nil || *ev.Score != 1 ||
			ev.Reviewer == nil || *ev.Reviewer != "test" || ev.Note == nil || *ev.Note != "4 is right." {
			t.Errorf("review %+v, want human version 1, passed with score 1, by the token test, with the note", ev)
		}
		again := call[oapi.Evaluation](t, b, "PUT", path, `{"passed": true, "score": 0.75}`, http.StatusOK)
		if again.Version != 2 || again.Score == nil || *again.Score != 0.75 {
			t.Errorf("second review %+v, want version 2 with score 0.75", again)
		}
		got := b.results(t, r.ID)[jr.units[1].QuestionID]
		if v := got.Verdict; v.Status != oapi.ExecutionVerdictStatusScored || v.Scorer == nil || *v.Scorer != "human" ||
			v.Version == nil || *v.Version != 2 || v.Score == nil || *v.Score != 0.75 {
			t.Errorf("verdict after the reviews %+v, want the second review's", v)
		}
		if len(got.Evaluations) != 3 {
			t.Errorf("evaluations %+v, want the judge's and both reviews", got.Evaluations)
		}
		rk := call[oapi.Rankings](t, b, "GET", "/v1/runs/"+r.ID.String()+"/rankings", "", http.StatusOK)
		if rk.Overall[0].Unscored != 0 || rk.Overall[0].N != 3 || rk.Overall[0].Correct != 2 {
			t.Errorf("rankings after the review %+v, want 2 correct of 3, none unscored", rk.Overall)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		unknown := run.ExecutionID{RunID: r.ID, ModelID: uuid.New(), QuestionID: uuid.New()}
		for _, c := range []struct {
			name, path, body string
			status           int
			field            string
		}{
			{"Unknown", "/v1/executions/" + unknown.String() + "/review", `{"passed": true}`, http.StatusNotFound, ""},
			{"NotAnID", "/v1/executions/nope/review", `{"passed": true}`, http.StatusBadRequest, "id"},
			{"NoPassed", path, `{"note": "x"}`, http.StatusBadRequest, "passed"},
			{"ScoreOutOfRange", path, `{"passed": true, "score": 1.5}`, http.StatusUnprocessableEntity, "score"},
			{"UnknownField", path, `{"passed": true, "reviewer": "someone else"}`, http.StatusBadRequest, "reviewer"},
		} {
			b.wantError(t, c.name, "PUT", c.path, c.body, c.status, c.field)
		}
		read := b.newToken(t, "read")
		if res := b.do(t, "PUT", path, `{"passed": true}`, as(read)); res.status != http.StatusForbidden {
			t.Errorf("review with a read token: %d, want 403", res.status)
		}
	})
}

func TestServer_Rescore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	jr := b.judgedRun(t)
	if err := b.store.ApplyVerdicts(ctx, jr.run); err != nil {
		t.Fatal(err)
	}
	r, _, err := b.store.Finalize(ctx, jr.run, run.StatusCompleted, "", analytics.RankRun)
	if err != nil {
		t.Fatal(err)
	}
	base := "/v1/runs/" + r.ID.String()

	// The questions' own scoring is what the run was scored with.
	same := call[oapi.Rescore](t, b, "POST", base+"/rescore", `{}`, http.StatusAccepted)
	if same.Created || same.Version != 1 {
		t.Errorf("rescore with the run's own scoring: %+v, want version 1, not created", same)
	}
	if list := call[oapi.RescoreList](t, b, "GET", base+"/rescores", "", http.StatusOK); len(list.Items) != 0 {
		t.Errorf("rescores %+v after a no-op request, want none", list.Items)
	}

	v2 := call[oapi.Rescore](t, b, "POST", base+"/rescore", `{"scoring": {"method": "contains"}}`, http.StatusAccepted)
	if !v2.Created || v2.Version != 2 || v2.Status != oapi.RescoreStatusRunning || v2.RunId != r.ID {
		t.Fatalf("rescore with contains: %+v, want version 2 running, created", v2)
	}
	task, err := b.inspector.GetTaskInfo(run.QueueControl, run.RescoreTaskID(r.ID, 2))
	if err != nil || task.Type != run.TypeRescore {
		t.Errorf("queued task %+v, %v; want run:rescore of version 2", task, err)
	}
	// Another while it runs is refused; so is retry-failed.
	if res := b.do(t, "POST", base+"/rescore", `{"scoring": {"method": "contains"}}`); res.status != http.StatusConflict {
		t.Errorf("rescore while one runs: %d %s, want 409", res.status, res.body)
	}
	if res := b.do(t, "POST", base+"/retry-failed", ""); res.status != http.StatusConflict {
		t.Errorf("retry-failed while a rescore runs: %d %s, want 409", res.status, res.body)
	}

	got := call[oapi.Rescore](t, b, "GET", base+"/rescores/2", "", http.StatusOK)
	if got.Version != 2 || got.Status != oapi.RescoreStatusRunning || got.Total != v2.Total {
		t.Errorf("GET rescores/2 = %+v, want %+v", got, v2)
	}
	if list := call[oapi.RescoreList](t, b, "GET", base+"/rescores", "", http.StatusOK); len(list.Items) != 1 || list.Items[0].Version != 2 {
		t.Errorf("rescores %+v, want version 2", list.Items)
	}
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"NoSuchVersion", "GET", base + "/rescores/3", "", http.StatusNotFound, "version"},
		{"NoSuchRun", "GET", "/v1/runs/" + uuid.NewString() + "/rescores", "", http.StatusNotFound, ""},
		{"BadRule", "POST", base + "/rescore", `{"scoring": {"method": "regex"}}`, http.StatusUnprocessableEntity, "scoring.pattern"},
		{"UnknownField", "POST", base + "/rescore", `{"rules": []}`, http.StatusBadRequest, "rules"},
		{"NoSuchRunRescore", "POST", "/v1/runs/" + uuid.NewString() + "/rescore", `{}`, http.StatusNotFound, ""},
	} {
		b.wantError(t, c.name, c.method, c.path, c.body, c.status, c.field)
	}
}

// wantError sends a request that must fail with status, in the one error
// shape, naming field (when not empty).
func (b *bundle) wantError(t *testing.T, name, method, path, body string, status int, field string) {
	t.Helper()
	res := b.do(t, method, path, body)
	if res.status != status {
		t.Errorf("%s: %d %s, want %d", name, res.status, res.body, status)
		return
	}
	var e oapi.Error
	if err := json.Unmarshal(res.body, &e); err != nil || e.Error.Code == "" {
		t.Errorf("%s: body %s is not the error shape", name, res.body)
	}
	if field != "" && (e.Error.Field == nil || *e.Error.Field != field) {
		t.Errorf("%s: field %v, want %q (%s)", name, e.Error.Field, field, res.body)
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
)

// judgedLatency is the mock's latency in the judging test: long enough
// that a run cannot finish between its creation and the next request
// (its first provider call alone takes this long), short enough to keep
// the test quick.
const judgedLatency = 150 * time.Millisecond

// TestJudging_EndToEnd runs a benchmark whose questions a panel of the
// three mock judges grades, through the real api and worker binaries, and
// then drives everything a person does with a judged run through the API:
// retry-failed and rescore refused while it runs, the verdicts the mock's
// rules predict with every judge's reasoning and cost, a review that
// overrules one verdict and moves the ranking, agreement, and a rescore
// that makes one new version however often it is asked for.
func TestJudging_EndToEnd(t *testing.T) {
	t.Parallel()
	judgingEndToEnd(t, nil)
}

// judgingEndToEnd is TestJudging_EndToEnd with extraEnv for every process.
func judgingEndToEnd(t *testing.T, extraEnv map[string]string) {
	c := startCluster(t, judgedLatency, extraEnv)
	c.worker(t, "worker-1", nil)
	ctx := context.Background()

	var prov idOnly
	c.call(t, "POST", "/v1/providers", "application/json", map[string]any{
		"name": "mock", "kind": "openai", "base_url": c.mock.URL + "/v1", "api_key": "sk-judged",
	}, http.StatusCreated, &prov)
	model := func(name, providerModel string, in, out float64) string {
		var m idOnly
		c.call(t, "POST", "/v1/models", "application/json", map[string]any{
			"provider_id": prov.ID, "name": name, "provider_model_id": providerModel,
			"input_cost_per_mtok": in, "output_cost_per_mtok": out,
		}, http.StatusCreated, &m)
		return m.ID
	}
	tested := []string{model("strong", "mock-strong", 1, 2), model("weak", "mock-weak", 1, 2)}
	judges := []string{
		model("judge-1", mockllm.JudgeModel, 3, 6), model("judge-2", mockllm.JudgeModel2, 3, 6), model("judge-3", mockllm.JudgeModel3, 3, 6),
	}
	var suite idOnly
	c.call(t, "POST", "/v1/suites", "application/json", map[string]any{"name": "judged"}, http.StatusCreated, &suite)
	const questions = 6
	var jsonl strings.Builder
	answers := map[string]int64{} // by prompt, each shorter than an excerpt
	for i := range questions {
		p, a := mockllm.Question(i)
		answers[p] = a
		line, _ := json.Marshal(map[string]any{
			"prompt": p, "expected_answer": fmt.Sprint(a),
			"scoring": map[string]any{"method": "llm_judge", "template": "closed_qa", "judge_model_ids": judges},
		})
		jsonl.Write(line)
		jsonl.WriteByte('\n')
	}
	c.call(t, "POST", "/v1/suites/"+suite.ID+"/questions:import", "application/x-ndjson", jsonl.String(), http.StatusCreated, nil)
	var bench idOnly
	c.call(t, "POST", "/v1/benchmarks", "application/json", map[string]any{
		"name": "judged", "suite_ids": []string{suite.ID}, "model_ids": tested,
		"config": map[string]any{"temperature": 0, "max_tokens": 32, "samples": 1},
	}, http.StatusCreated, &bench)
	total := len(tested) * questions

	runID := c.startRun(t, bench.ID)
	rid := uuid.MustParse(runID)
	// The run cannot have finished: its first call takes judgedLatency.
	for _, path := range []string{"/retry-failed", "/rescore"} {
		_, err := c.c.RetryFailed(ctx, rid)
		if path == "/rescore" {
			_, err = c.c.Rescore(ctx, rid, oapi.RescoreRequest{})
		}
		if client.StatusOf(err) != http.StatusConflict {
			t.Errorf("POST /v1/runs/{id}%s while the run is unfinished: %v, want 409", path, err)
		}
	}

	r := c.waitFinished(t, runID, 2*time.Minute)
	p := r.Progress
	// A finished run's stored progress does not keep judged (see the
	// results below, where every unit has its verdict).
	if r.Status != oapi.RunStatusCompleted || p.Succeeded != int64(total) || p.Answered != int64(total) ||
		p.AwaitingJudgment != 0 || p.Unscored != 0 {
		t.Fatalf("run %s progress %+v, want completed with %d units answered, none awaiting or unscored", r.Status, p, total)
	}
	if r.JudgeCostUsd <= 0 || r.JudgeInputTokens <= 0 || r.JudgeOutputTokens <= 0 || r.ScoringVersion != 1 {
		t.Errorf("judge cost %v, tokens %d/%d, scoring version %d; want judge figures and version 1",
			r.JudgeCostUsd, r.JudgeInputTokens, r.JudgeOutputTokens, r.ScoringVersion)
	}
	// The tested models were called once per unit and the judges three
	// times per unit, never more: judging never asks the tested model again.
	var testedCalls, judgeCalls int
	for _, e := range c.mock.Server.Log() {
		if strings.HasPrefix(e.Model, "mock-judge") {
			judgeCalls++
		} else if e.Model != "" {
			testedCalls++
		}
	}
	if testedCalls != total || judgeCalls != 3*total {
		t.Errorf("%d tested-model calls and %d judge calls, want %d and %d", testedCalls, judgeCalls, total, 3*total)
	}

	results, err := c.c.Results(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != total {
		t.Fatalf("%d results, want %d", len(results), total)
	}
	passed := map[string]int{}
	for _, e := range results {
		expected, ok := answers[e.PromptExcerpt]
		if !ok {
			t.Fatalf("unit %s: prompt %q is none of the suite's", e.Id, e.PromptExcerpt)
		}
		// mock-judge and mock-judge-3 agree on a one-line answer, so
		// the majority is mock-judge's verdict: the reference in the answer.
		want := strings.Contains(e.Response, fmt.Sprint(expected))
		v := e.Verdict
		if v.Status != oapi.ExecutionVerdictStatusScored || v.Passed == nil || *v.Passed != want || v.Scorer == nil || *v.Scorer != "llm_judge" {
			t.Errorf("unit %s (%q, reference %d): verdict %+v, want scored by llm_judge, passed %v", e.Id, e.Response, expected, v, want)
			continue
		}
		if want {
			passed[e.ModelName]++
		}
		if len(e.Evaluations) != 1 || e.Evaluations[0].Judges == nil || len(*e.Evaluations[0].Judges) != 3 ||
			e.Evaluations[0].Reasoning == nil || *e.Evaluations[0].Reasoning == "" || e.Evaluations[0].JudgeCostUsd <= 0 {
			t.Errorf("unit %s evaluations %+v, want one with three judges, reasoning and cost", e.Id, e.Evaluations)
		}
	}
	if passed["strong"] <= passed["weak"] {
		t.Fatalf("passes %v: the strong mock should beat the weak one", passed)
	}

	// A review overrules one verdict of the weak model: its correct count
	// in the rankings moves by one, the judge's evaluation stays.
	var unit oapi.Execution
	for _, e := range results {
		if e.ModelName == "weak" && !*e.Verdict.Passed {
			unit = e
			break
		}
	}
	if unit.Id == "" {
		t.Fatal("the weak model passed every question; the test needs one failure")
	}
	note := "The answer is right after all."
	ev, err := c.c.Review(ctx, unit.Id, oapi.ReviewRequest{Passed: true, Note: &note})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Scorer != "human" || ev.Version != 1 || ev.Passed == nil || !*ev.Passed || ev.Score == nil || *ev.Score != 1 ||
		ev.Reviewer == nil || *ev.Reviewer != "chaos" || ev.Note == nil || *ev.Note != note {
		t.Errorf("review %+v, want human version 1, passed, score 1, by the token chaos, with the note", ev)
	}
	rk, err := c.c.Rankings(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rk.Overall {
		want := passed[e.ModelName]
		if e.ModelName == "weak" {
			want++
		}
		if e.Correct != want || e.Unscored != 0 {
			t.Errorf("ranking of %s: correct %d, unscored %d; want %d and 0", e.ModelName, e.Correct, e.Unscored, want)
		}
	}
	if _, err := c.c.Review(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", oapi.ReviewRequest{Passed: true}); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("review of an unknown execution: %v, want 404", err)
	}
	bad := 1.5
	if _, err := c.c.Review(ctx, unit.Id, oapi.ReviewRequest{Passed: true, Score: &bad}); client.StatusOf(err) == http.StatusOK || err == nil {
		t.Errorf("review with score 1.5: %v, want refused", err)
	}

	ag, err := c.c.Agreement(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	if len(ag.Panels) != 1 || len(ag.Panels[0].Judges) != 3 || ag.Panels[0].Units != total || ag.Human == nil || ag.Human.Units != 1 ||
		ag.Human.PercentAgreement != 0 {
		t.Errorf("agreement %+v, want one panel of 3 judges over %d units and 1 reviewed unit the judge got wrong", ag, total)
	}

	// The questions' own scoring is what version 1 used: nothing to do.
	same, err := c.c.Rescore(ctx, rid, oapi.RescoreRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if same.Created || same.Version != 1 {
		t.Errorf("rescore with the same scoring: %+v, want version 1, not created", same)
	}
	// One judge instead of the panel is a new version; asked again once
	// it is done, the same version comes back and nothing is queued.
	one := []uuid.UUID{uuid.MustParse(judges[0])}
	v2, err := c.c.Rescore(ctx, rid, oapi.RescoreRequest{JudgeModelIds: &one})
	if err != nil {
		t.Fatal(err)
	}
	if !v2.Created || v2.Version != 2 || v2.Total != total {
		t.Fatalf("rescore with one judge: %+v, want version 2 of %d units, created", v2, total)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	done, err := c.c.WaitRescore(wctx, rid, 2, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != oapi.RescoreStatusCompleted || done.Done != total {
		t.Fatalf("rescore ended %+v, want completed with %d units", done, total)
	}
	again, err := c.c.Rescore(ctx, rid, oapi.RescoreRequest{JudgeModelIds: &one})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Version != 2 {
		t.Errorf("the same rescore again: %+v, want version 2, not created", again)
	}
	list, err := c.c.Rescores(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Version != 2 {
		t.Errorf("rescores %+v, want only version 2", list)
	}
	r, err = c.c.GetRun(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	if r.ScoringVersion != 2 {
		t.Errorf("run scoring version %d after the rescore, want 2", r.ScoringVersion)
	}
	results, err = c.c.Results(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range results {
		if len(e.Evaluations) < 2 {
			t.Errorf("unit %s has %d evaluations after the rescore, want the old one kept beside the new", e.Id, len(e.Evaluations))
		}
		if e.Id == unit.Id && (e.Verdict.Scorer == nil || *e.Verdict.Scorer != "human") {
			t.Errorf("reviewed unit's verdict %+v after the rescore, want the review's", e.Verdict)
		}
	}

	// Every unit succeeded: there is nothing to retry.
	if _, err := c.c.RetryFailed(ctx, rid); client.StatusOf(err) != http.StatusConflict {
		t.Errorf("retry-failed of a run without failed units: %v, want 409", err)
	}
}

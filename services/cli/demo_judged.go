package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
)

// The judged part of the demo: open-ended questions graded by a panel of
// the three mock judges, whose verdicts mockllm derives from the reference
// in the judge prompt (see mockllm.Judge). Their provider is told to answer
// a few malformed verdicts, so the demo also shows units left unscored, and
// why, instead of counted as a pass or a fail.
const (
	demoJudgeProvider  = "mock judges (demo)"
	demoJudgedSuite    = "Friendly answers (judged demo)"
	demoJudgedBench    = "Judged demo"
	demoJudgedCount    = 20
	demoJudgeFaultSpec = "judge_malformed_rate=0.1"
	demoRubric         = "The reply gives the right result and is friendly."
)

// demoJudges are the panel's models: the mock's three judges, priced so
// the run's judge cost shows.
var demoJudges = []string{mockllm.JudgeModel, mockllm.JudgeModel2, mockllm.JudgeModel3}

// runJudgedDemo seeds (idempotently) and runs the judged benchmark over the
// demo's tested models, then prints its leaderboard with unscored counts,
// the judges' cost and one verdict with the judges' reasoning.
func runJudgedDemo(ctx context.Context, c *client.Client, mockURL string, modelIDs []uuid.UUID, say func(string, ...any)) error {
	// The fault spec rides in the base URL's path, ahead of /v1.
	judgeURL := strings.TrimSuffix(mockURL, "/v1") + "/faults/" + demoJudgeFaultSpec + "/v1"
	prov, err := mockProvider(ctx, c, demoJudgeProvider, judgeURL)
	if err != nil {
		return err
	}
	judges := make([]uuid.UUID, len(demoJudges))
	for i, name := range demoJudges {
		if judges[i], err = findOrCreate(ctx, c, "/v1/models", name, func() (uuid.UUID, error) {
			m, err := c.CreateModel(ctx, oapi.CreateModelRequest{
				ProviderId: prov, Name: name, ProviderModelId: name, InputCostPerMtok: 2.5, OutputCostPerMtok: 10,
			})
			return m.Id, err
		}); err != nil {
			return err
		}
	}
	suite, err := seedSuite(ctx, c, demoJudgedSuite, "Open-ended replies a panel of mock judges grades against a rubric.", func(suite uuid.UUID) error {
		if err := importJudgedQuestions(ctx, c, suite, judges); err != nil {
			return err
		}
		say("seeded %d judged questions", demoJudgedCount)
		return nil
	})
	if err != nil {
		return err
	}
	bench, err := findOrCreate(ctx, c, "/v1/benchmarks", demoJudgedBench, func() (uuid.UUID, error) {
		temperature, maxTokens, samples := 0.0, 64, 1
		b, err := c.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{
			Name: demoJudgedBench, SuiteIds: []uuid.UUID{suite}, ModelIds: modelIDs,
			Config: &oapi.BenchmarkConfigInput{Temperature: &temperature, MaxTokens: &maxTokens, Samples: &samples},
		})
		return b.Id, err
	})
	if err != nil {
		return err
	}
	r, err := c.StartRun(ctx, bench)
	if err != nil {
		return err
	}
	say("")
	say("judged run %s: %d models × %d questions, each answer graded by %d judges", r.Id, len(modelIDs), demoJudgedCount, len(judges))
	show := func(r oapi.Run) {
		p := r.Progress
		say("  %-9s %s answered %d/%d, judged %d (%d unscored)", r.Status, bar(int(p.Judged), int(p.Total), 30), p.Answered, p.Total, p.Judged, p.Unscored)
	}
	r, rk, err := watchRun(ctx, c, r.Id, show)
	if err != nil {
		return err
	}
	say("")
	say("Judged leaderboard (run %s, %s, models $%.4f, judges $%.4f)", r.Id, r.Status, r.CostUsd, r.JudgeCostUsd)
	say("  %-3s %-14s %7s %5s %9s", "#", "model", "score", "n", "unscored")
	for _, e := range rk.Overall {
		say("  %-3d %-14s %6.1f%% %5d %9d", e.Rank, e.ModelName, 100*e.Score, e.N, e.Unscored)
	}
	if r.Error != nil {
		say("  %s", *r.Error)
	}
	page, err := c.ResultsPage(ctx, r.Id, client.ResultFilter{}, 20, "")
	if err != nil {
		return err
	}
	for _, e := range page.Items {
		if len(e.Evaluations) == 0 || e.Evaluations[0].Judges == nil {
			continue
		}
		ev := e.Evaluations[0]
		say("")
		say("One verdict: %s on %q answered %q", e.ModelName, e.PromptExcerpt, e.Response)
		for _, j := range *ev.Judges {
			if j.Verdict != nil {
				say("  %-13s %-5s %s", j.ModelName, j.Verdict.Label, j.Verdict.Reasoning)
			} else {
				say("  %-13s none  %s", j.ModelName, derefString(j.Reason))
			}
		}
		break
	}
	if !client.Final(r) || r.Status == oapi.RunStatusFailed {
		return fmt.Errorf("judged demo run ended %s", r.Status)
	}
	return nil
}

// importJudgedQuestions writes the judged suite's questions: the demo's
// arithmetic asked as an open request, graded by the panel against a
// rubric with the right result as the reference.
func importJudgedQuestions(ctx context.Context, c *client.Client, suite uuid.UUID, judges []uuid.UUID) error {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for i := range demoJudgedCount {
		prompt, answer := mockllm.Question(1000 + i)
		q := map[string]any{
			"prompt":          "A colleague asks: " + strings.ToLower(prompt[:1]) + prompt[1:] + " Reply in one friendly sentence.",
			"category":        "open-ended",
			"expected_answer": fmt.Sprint(answer),
			"scoring": map[string]any{
				"method": "llm_judge", "template": "rubric", "rubric": demoRubric, "judge_model_ids": judges,
			},
		}
		if err := enc.Encode(q); err != nil {
			return err
		}
	}
	return c.DoRaw(ctx, http.MethodPost, "/v1/suites/"+suite.String()+"/questions:import", "application/x-ndjson", &body, nil)
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
)

// TestAdapters_EndToEnd runs a small benchmark through each provider kind,
// each against mockllm speaking that kind's wire format, and checks the
// scores, token usage, time to first token and cost that were recorded.
func TestAdapters_EndToEnd(t *testing.T) {
	t.Parallel()
	s := start(t)
	const questions = 6
	for _, kind := range []struct {
		kind, baseSuffix string
		// sampled says whether the wire format carries the sample (seed);
		// Anthropic's has none, so the mock answers every sample as sample 0.
		sampled bool
	}{
		{"openai", "/v1", true},
		{"anthropic", "", false},
		{"google", "", true},
	} {
		t.Run(kind.kind, func(t *testing.T) {
			ctx := context.Background()
			prov, err := s.c.CreateProvider(ctx, oapi.CreateProviderRequest{
				Name: "mock-" + kind.kind, Kind: oapi.ProviderKind(kind.kind), BaseUrl: s.mock.URL + kind.baseSuffix, ApiKey: "k-" + kind.kind,
			})
			if err != nil {
				t.Fatal(err)
			}
			model, err := s.c.CreateModel(ctx, oapi.CreateModelRequest{
				ProviderId: prov.Id, Name: "strong-" + kind.kind, ProviderModelId: "mock-strong",
				InputCostPerMtok: 3, OutputCostPerMtok: 15,
			})
			if err != nil {
				t.Fatal(err)
			}
			suite, err := s.c.CreateSuite(ctx, oapi.CreateSuiteRequest{Name: "arith-" + kind.kind})
			if err != nil {
				t.Fatal(err)
			}
			prompts := make([]string, questions)
			qs := make([]oapi.CreateQuestionRequest, questions)
			for i := range questions {
				p, a := mockllm.Question(100 + i)
				prompts[i] = p
				qs[i] = oapi.CreateQuestionRequest{Prompt: p, ExpectedAnswer: fmt.Sprint(a), Scoring: oapi.Scoring{Method: oapi.Numeric}}
			}
			if _, err := s.c.ImportQuestions(ctx, suite.Id, qs); err != nil {
				t.Fatal(err)
			}
			temperature, maxTokens, samples, system := 0.0, 32, 2, "Answer with a number."
			bench, err := s.c.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{
				Name: "adapters-" + kind.kind, SuiteIds: []uuid.UUID{suite.Id}, ModelIds: []uuid.UUID{model.Id},
				Config: &oapi.BenchmarkConfigInput{Temperature: &temperature, MaxTokens: &maxTokens, Samples: &samples, SystemPrompt: &system},
			})
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.c.StartRun(ctx, bench.Id)
			if err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if r, err = s.c.WaitRun(wctx, r.Id, 50*time.Millisecond, nil); err != nil {
				t.Fatal(err)
			}
			if r.Status != oapi.RunStatusCompleted {
				reason := ""
				if r.Error != nil {
					reason = *r.Error
				}
				t.Fatalf("run %s: %s", r.Status, reason)
			}
			var page struct {
				Items []struct {
					Sample       int      `json:"sample"`
					QuestionID   string   `json:"question_id"`
					Response     string   `json:"response"`
					InputTokens  int      `json:"input_tokens"`
					OutputTokens int      `json:"output_tokens"`
					TTFTMs       *float64 `json:"ttft_ms"`
					CostUSD      float64  `json:"cost_usd"`
					Evaluations  []struct {
						Passed bool `json:"passed"`
					} `json:"evaluations"`
				} `json:"items"`
			}
			s.call(t, "GET", "/v1/runs/"+r.Id.String()+"/results?limit=200", "", nil, http.StatusOK, &page)
			if len(page.Items) != questions*2 {
				t.Fatalf("%d results, want %d", len(page.Items), questions*2)
			}
			correct, wantCorrect, sum := 0, 0, 0.0
			for _, p := range prompts {
				for smp := range 2 {
					if !kind.sampled {
						smp = 0
					}
					if mockllm.Correct("mock-strong", p, smp) {
						wantCorrect++
					}
				}
			}
			for _, it := range page.Items {
				if it.InputTokens <= 0 || it.OutputTokens <= 0 {
					t.Errorf("usage not recorded: in %d out %d", it.InputTokens, it.OutputTokens)
				}
				if it.TTFTMs == nil || *it.TTFTMs <= 0 {
					t.Errorf("time to first token not recorded: %v", it.TTFTMs)
				}
				want := (float64(it.InputTokens)*3 + float64(it.OutputTokens)*15) / 1e6
				if math.Abs(it.CostUSD-want) > 1e-12 {
					t.Errorf("cost %v, want %v from the recorded tokens and prices", it.CostUSD, want)
				}
				sum += it.CostUSD
				if len(it.Evaluations) == 1 && it.Evaluations[0].Passed {
					correct++
				}
			}
			if correct != wantCorrect {
				t.Errorf("%d correct, want %d from mockllm.Correct", correct, wantCorrect)
			}
			if math.Abs(sum-r.CostUsd) > 1e-9 {
				t.Errorf("run cost %v, executions sum to %v", r.CostUsd, sum)
			}

			// With this run as history, the estimate of the next run is the
			// cost just recorded, within the variance of the answers' length.
			var est struct {
				Units   int     `json:"units"`
				CostUSD float64 `json:"cost_usd"`
				Basis   string  `json:"basis"`
			}
			s.call(t, "GET", "/v1/benchmarks/"+bench.Id.String()+"/estimate", "", nil, http.StatusOK, &est)
			if est.Units != questions*2 || est.Basis != "history" {
				t.Errorf("estimate: %+v, want %d units on history", est, questions*2)
			}
			t.Logf("estimate $%.8f, recorded $%.8f", est.CostUSD, r.CostUsd)
			if rel := math.Abs(est.CostUSD-r.CostUsd) / r.CostUsd; rel > 0.15 {
				t.Errorf("estimate $%.8f vs recorded $%.8f: off by %.0f%%", est.CostUSD, r.CostUsd, 100*rel)
			}
		})
	}
}

package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

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
			var prov idOnly
			s.call(t, "POST", "/v1/providers", "application/json", map[string]any{
				"name": "mock-" + kind.kind, "kind": kind.kind, "base_url": s.mock.URL + kind.baseSuffix, "api_key": "k-" + kind.kind,
			}, http.StatusCreated, &prov)
			var model idOnly
			s.call(t, "POST", "/v1/models", "application/json", map[string]any{
				"provider_id": prov.ID, "name": "strong-" + kind.kind, "provider_model_id": "mock-strong",
				"input_cost_per_mtok": 3, "output_cost_per_mtok": 15,
			}, http.StatusCreated, &model)
			var suite idOnly
			s.call(t, "POST", "/v1/suites", "application/json", map[string]any{"name": "arith-" + kind.kind}, http.StatusCreated, &suite)
			prompts := make([]string, questions)
			var jsonl strings.Builder
			for i := range questions {
				p, a := mockllm.Question(100 + i)
				prompts[i] = p
				line, _ := json.Marshal(map[string]any{"prompt": p, "expected_answer": fmt.Sprint(a), "scoring": map[string]any{"method": "numeric"}})
				jsonl.Write(line)
				jsonl.WriteByte('\n')
			}
			s.call(t, "POST", "/v1/suites/"+suite.ID+"/questions:import", "application/x-ndjson", jsonl.String(), http.StatusCreated, nil)
			var bench idOnly
			s.call(t, "POST", "/v1/benchmarks", "application/json", map[string]any{
				"name": "adapters-" + kind.kind, "suite_ids": []string{suite.ID}, "model_ids": []string{model.ID},
				"config": map[string]any{"temperature": 0, "max_tokens": 32, "samples": 2, "system_prompt": "Answer with a number."},
			}, http.StatusCreated, &bench)
			var r struct {
				ID      string  `json:"id"`
				Status  string  `json:"status"`
				Error   string  `json:"error"`
				CostUSD float64 `json:"cost_usd"`
			}
			s.call(t, "POST", "/v1/benchmarks/"+bench.ID+"/runs", "", nil, http.StatusAccepted, &r)
			deadline := time.Now().Add(time.Minute)
			for r.Status == "queued" || r.Status == "running" {
				if time.Now().After(deadline) {
					t.Fatalf("run still %s after a minute", r.Status)
				}
				time.Sleep(50 * time.Millisecond)
				s.call(t, "GET", "/v1/runs/"+r.ID, "", nil, http.StatusOK, &r)
			}
			if r.Status != "completed" {
				t.Fatalf("run %s: %s", r.Status, r.Error)
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
			s.call(t, "GET", "/v1/runs/"+r.ID+"/results?limit=200", "", nil, http.StatusOK, &page)
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
			if math.Abs(sum-r.CostUSD) > 1e-9 {
				t.Errorf("run cost %v, executions sum to %v", r.CostUSD, sum)
			}

			// With this run as history, the estimate of the next run is the
			// cost just recorded, within the variance of the answers' length.
			var est struct {
				Units   int     `json:"units"`
				CostUSD float64 `json:"cost_usd"`
				Basis   string  `json:"basis"`
			}
			s.call(t, "GET", "/v1/benchmarks/"+bench.ID+"/estimate", "", nil, http.StatusOK, &est)
			if est.Units != questions*2 || est.Basis != "history" {
				t.Errorf("estimate: %+v, want %d units on history", est, questions*2)
			}
			t.Logf("estimate $%.8f, recorded $%.8f", est.CostUSD, r.CostUSD)
			if rel := math.Abs(est.CostUSD-r.CostUSD) / r.CostUSD; rel > 0.15 {
				t.Errorf("estimate $%.8f vs recorded $%.8f: off by %.0f%%", est.CostUSD, r.CostUSD, 100*rel)
			}
		})
	}
}

package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
)

// The demo's fixed content. Its models have known accuracies in mockllm, so
// the leaderboard's order is known before the run: strong, medium, weak.
var demoModels = []struct {
	name       string
	inCost     float64
	outCost    float64
	providerID string
}{
	{"mock-strong", 3, 15, "mock-strong"},
	{"mock-medium", 0.5, 1.5, "mock-medium"},
	{"mock-weak", 0.1, 0.3, "mock-weak"},
}

const (
	demoProvider  = "mock (demo)"
	demoSuite     = "Arithmetic (demo)"
	demoBenchmark = "Arithmetic demo"
	demoQuestions = 50
	demoSamples   = 2
)

// runDemo seeds the demo through the HTTP API (idempotently: a second
// `sabe dev` reuses what the first created), runs the benchmark, shows its
// progress and prints the leaderboard; then does the same for the judged
// benchmark (runJudgedDemo).
func runDemo(ctx context.Context, c *client.Client, mockURL string, say func(string, ...any)) error {
	prov, err := mockProvider(ctx, c, demoProvider, mockURL)
	if err != nil {
		return err
	}
	modelIDs := make([]uuid.UUID, len(demoModels))
	for i, m := range demoModels {
		if modelIDs[i], err = findOrCreate(ctx, c, "/v1/models", m.name, func() (uuid.UUID, error) {
			created, err := c.CreateModel(ctx, oapi.CreateModelRequest{
				ProviderId: prov, Name: m.name, ProviderModelId: m.providerID,
				InputCostPerMtok: m.inCost, OutputCostPerMtok: m.outCost,
			})
			return created.Id, err
		}); err != nil {
			return err
		}
	}
	suite, err := seedSuite(ctx, c, demoSuite, "Arithmetic questions the mock models answer with known accuracies.", func(suite uuid.UUID) error {
		questions := make([]oapi.CreateQuestionRequest, demoQuestions)
		for i := range questions {
			prompt, answer := mockllm.Question(i)
			category := []string{"addition", "subtraction", "multiplication"}[i%3]
			questions[i] = oapi.CreateQuestionRequest{
				Prompt: prompt, Category: &category, ExpectedAnswer: fmt.Sprint(answer),
				Scoring: oapi.Scoring{Method: oapi.Numeric},
			}
		}
		if _, err := c.ImportQuestions(ctx, suite, questions); err != nil {
			return err
		}
		say("seeded %d questions", demoQuestions)
		return nil
	})
	if err != nil {
		return err
	}
	bench, err := findOrCreate(ctx, c, "/v1/benchmarks", demoBenchmark, func() (uuid.UUID, error) {
		temperature, maxTokens, samples, system := 0.0, 64, demoSamples, "Answer with the number."
		b, err := c.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{
			Name: demoBenchmark, SuiteIds: []uuid.UUID{suite}, ModelIds: modelIDs,
			Config: &oapi.BenchmarkConfigInput{Temperature: &temperature, MaxTokens: &maxTokens, Samples: &samples, SystemPrompt: &system},
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
	say("run %s: %d models × %d questions × %d samples = %d units", r.Id, len(demoModels), demoQuestions, demoSamples, r.Progress.Total)
	showProgress := func(r oapi.Run) {
		done := r.Progress.Succeeded + r.Progress.Failed + r.Progress.Cancelled
		say("  %-9s %s %d/%d", r.Status, bar(int(done), int(r.Progress.Total), 30), done, r.Progress.Total)
	}
	r, rk, err := watchRun(ctx, c, r.Id, showProgress)
	if err != nil {
		return err
	}
	say("")
	say("Leaderboard (run %s, %s, cost $%.4f)", r.Id, r.Status, r.CostUsd)
	say("  %-3s %-14s %7s %5s %7s %12s %10s", "#", "model", "score", "n", "errors", "latency ms", "cost $")
	for _, e := range rk.Overall {
		say("  %-3d %-14s %6.1f%% %5d %6.1f%% %12.1f %10.5f", e.Rank, e.ModelName, 100*e.Score, e.N, 100*e.ErrorRate, e.MeanLatencyMs, e.CostUsd)
	}
	if r.Status != oapi.RunStatusCompleted {
		return fmt.Errorf("demo run ended %s", r.Status)
	}
	return runJudgedDemo(ctx, c, mockURL, modelIDs, say)
}

// mockProvider returns the id of the demo's provider named name, creating
// it when there is none. --mock-addr may have changed since it was
// created: it is pointed at baseURL, where the mock listens now.
// watchRun shows the run's progress with show until it finishes, and
// returns it with its rankings.
func watchRun(ctx context.Context, c *client.Client, id uuid.UUID, show func(oapi.Run)) (oapi.Run, oapi.Rankings, error) {
	r, err := c.WaitRun(ctx, id, 500*time.Millisecond, func(r oapi.Run) error {
		show(r)
		return nil
	})
	if err != nil {
		return r, oapi.Rankings{}, err
	}
	show(r)
	rk, err := c.Rankings(ctx, r.Id)
	return r, rk, err
}

func mockProvider(ctx context.Context, c *client.Client, name, baseURL string) (uuid.UUID, error) {
	prov, err := findOrCreate(ctx, c, "/v1/providers", name, func() (uuid.UUID, error) {
		p, err := c.CreateProvider(ctx, oapi.CreateProviderRequest{Name: name, Kind: oapi.Openai, BaseUrl: baseURL, ApiKey: "mock-key"})
		return p.Id, err
	})
	if err != nil {
		return uuid.Nil, err
	}
	_, err = c.UpdateProvider(ctx, prov, oapi.UpdateProviderRequest{BaseUrl: &baseURL})
	return prov, err
}

// seedSuite returns the id of the demo's suite named name, creating it
// when there is none, and calls fill with it while it has no questions.
func seedSuite(ctx context.Context, c *client.Client, name, description string, fill func(uuid.UUID) error) (uuid.UUID, error) {
	suite, err := findOrCreate(ctx, c, "/v1/suites", name, func() (uuid.UUID, error) {
		s, err := c.CreateSuite(ctx, oapi.CreateSuiteRequest{Name: name, Description: &description})
		return s.Id, err
	})
	if err != nil {
		return uuid.Nil, err
	}
	su, err := c.GetSuite(ctx, suite)
	if err != nil || su.QuestionCount > 0 {
		return suite, err
	}
	return suite, fill(suite)
}

// findOrCreate returns the id of the item of collection named name,
// creating it with create when there is none.
func findOrCreate(ctx context.Context, c *client.Client, collection, name string, create func() (uuid.UUID, error)) (uuid.UUID, error) {
	id, found, err := c.FindByName(ctx, collection, name)
	if err != nil || found {
		return id, err
	}
	return create()
}

func bar(done, total, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat(" ", width) + "]"
	}
	n := done * width / total
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

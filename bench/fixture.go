package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
)

// benchModels are the mock models a bench benchmark runs: four, of known
// accuracy, so that scoring has right and wrong answers to tell apart.
var benchModels = []string{"mock-perfect", "mock-strong", "mock-medium", "mock-weak"}

// fixture creates, through the API, the mock provider, models (the first
// `models` of benchModels), a suite of `questions` arithmetic questions
// scored numerically, and a benchmark of them with `samples` samples; it
// returns the benchmark's id.
func (s *stack) fixture(ctx context.Context, name string, models, questions, samples int) (uuid.UUID, error) {
	if models > len(benchModels) {
		return uuid.Nil, fmt.Errorf("at most %d models", len(benchModels))
	}
	prov, err := s.api.CreateProvider(ctx, oapi.CreateProviderRequest{
		Name: name + " mock", Kind: oapi.Openai, BaseUrl: s.mockURL + "/v1", ApiKey: "bench",
	})
	if err != nil {
		return uuid.Nil, err
	}
	modelIDs := make([]uuid.UUID, models)
	for i := range models {
		m, err := s.api.CreateModel(ctx, oapi.CreateModelRequest{
			ProviderId: prov.Id, Name: name + " " + benchModels[i], ProviderModelId: benchModels[i],
			InputCostPerMtok: 1, OutputCostPerMtok: 2,
		})
		if err != nil {
			return uuid.Nil, err
		}
		modelIDs[i] = m.Id
	}
	suite, err := s.api.CreateSuite(ctx, oapi.CreateSuiteRequest{Name: name + " arithmetic"})
	if err != nil {
		return uuid.Nil, err
	}
	// Imports of at most 1,000 lines keep each body far under the api's
	// body limit.
	for first := 0; first < questions; first += 1000 {
		batch := make([]oapi.CreateQuestionRequest, 0, 1000)
		for i := first; i < min(first+1000, questions); i++ {
			prompt, answer := mockllm.Question(i)
			category := []string{"addition", "subtraction", "multiplication"}[i%3]
			batch = append(batch, oapi.CreateQuestionRequest{
				Prompt: prompt, Category: &category, ExpectedAnswer: strconv.FormatInt(answer, 10),
				Scoring: oapi.Scoring{Method: oapi.Numeric},
			})
		}
		if _, err := s.api.ImportQuestions(ctx, suite.Id, batch); err != nil {
			return uuid.Nil, err
		}
	}
	temperature, maxTokens, system := 0.0, 64, "Answer with the number."
	bench, err := s.api.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{
		Name: name, SuiteIds: []uuid.UUID{suite.Id}, ModelIds: modelIDs,
		Config: &oapi.BenchmarkConfigInput{Temperature: &temperature, MaxTokens: &maxTokens, Samples: &samples, SystemPrompt: &system},
	})
	if err != nil {
		return uuid.Nil, err
	}
	return bench.Id, nil
}

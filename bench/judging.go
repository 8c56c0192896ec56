package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// targetJudgedRatio is the least rate of a judged run's units, as a
// fraction of the same run scored deterministically: judging makes two
// calls per unit, so 0.5 is the ideal.
const targetJudgedRatio = 0.45

// JudgingReport is the judging section: one benchmark run twice in one
// invocation, with deterministic scoring and with every unit judged by the
// zero-latency mock judge.
type JudgingReport struct {
	Phase            string     `json:"phase"`
	GeneratedAt      time.Time  `json:"generated_at"`
	LoadAverage      [2]float64 `json:"load_average_before_after"`
	Shape            Shape      `json:"shape"`
	Fleet            Fleet      `json:"fleet"`
	Deterministic    RunTiming  `json:"deterministic_run"`
	Judged           RunTiming  `json:"judged_run"`
	DeterministicUPS float64    `json:"deterministic_units_per_second"`
	JudgedUPS        float64    `json:"judged_units_per_second"`
	// Ratio is the judged run's unit rate ÷ the deterministic run's, each
	// over its wall time (POST to finished_at, judging and finalization
	// included).
	Ratio   float64  `json:"ratio"`
	Targets []Target `json:"targets"`
}

func (h *harness) runJudging(ctx context.Context) (*JudgingReport, error) {
	o := h.o
	rep := &JudgingReport{Phase: "judging", Shape: shape(2, 1000, 1, o.scale),
		Fleet: Fleet{Workers: o.workers, Concurrency: o.concurrency, MockLatencyMs: 0, Env: o.workerEnv}, Targets: []Target{}}
	s, err := h.newStack(ctx, "judging", true)
	if err != nil {
		return nil, err
	}
	defer s.close()
	plain, err := h.prepare(ctx, s, 0, rep.Shape)
	if err != nil {
		return nil, err
	}
	judged, err := s.fixture(ctx, "judging judged", rep.Shape.Models, rep.Shape.Questions, rep.Shape.Samples)
	if err != nil {
		return nil, err
	}
	if err := s.judgeEveryQuestion(ctx, judged); err != nil {
		return nil, err
	}
	if _, err := h.startWorkers(ctx, s, o.workers, o.concurrency); err != nil {
		return nil, err
	}
	rep.LoadAverage[0] = loadAverage()
	if rep.Deterministic, err = s.runAndWait(ctx, plain, nil); err != nil {
		return nil, err
	}
	if rep.Judged, err = s.runAndWait(ctx, judged, nil); err != nil {
		return nil, err
	}
	rep.LoadAverage[1] = loadAverage()
	rep.GeneratedAt = time.Now().UTC().Truncate(time.Second)
	rep.DeterministicUPS = round(float64(rep.Deterministic.Units)/rep.Deterministic.WallSeconds, 1)
	rep.JudgedUPS = round(float64(rep.Judged.Units)/rep.Judged.WallSeconds, 1)
	rep.Ratio = round(rep.JudgedUPS/rep.DeterministicUPS, 3)
	rep.Targets = append(rep.Targets, newTarget("judging", "judged ÷ deterministic unit rate", rep.Ratio, "", ">=", targetJudgedRatio))
	h.say("judging: deterministic %.1f units/s, judged %.1f units/s: ratio %.3f (target >= %.2f)",
		rep.DeterministicUPS, rep.JudgedUPS, rep.Ratio, targetJudgedRatio)
	return rep, nil
}

// judgeEveryQuestion registers the mock judge on the benchmark's provider
// and makes every question of the benchmark a closed-QA llm_judge
// question against its expected answer. The questions are rewritten in
// place (their revisions' scoring), so both runs ask exactly the same.
func (s *stack) judgeEveryQuestion(ctx context.Context, benchID uuid.UUID) error {
	var providerID uuid.UUID
	if err := s.pool.QueryRow(ctx, `SELECT m.provider_id FROM benchmark_models bm JOIN models m ON m.id = bm.model_id
		WHERE bm.benchmark_id = $1 LIMIT 1`, benchID).Scan(&providerID); err != nil {
		return fmt.Errorf("find the benchmark's provider: %w", err)
	}
	m, err := s.api.CreateModel(ctx, oapi.CreateModelRequest{
		ProviderId: providerID, Name: "judging mock-judge", ProviderModelId: "mock-judge", InputCostPerMtok: 1, OutputCostPerMtok: 2,
	})
	if err != nil {
		return err
	}
	rule, err := json.Marshal(scoring.Rule{Method: scoring.MethodLLMJudge,
		Config: judge.Config{ModelIDs: []uuid.UUID{m.Id}, Template: judge.TemplateClosedQA}})
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `UPDATE question_revisions SET scoring = $1 WHERE question_id IN (
		SELECT q.id FROM questions q JOIN benchmark_suites bs ON bs.suite_id = q.suite_id WHERE bs.benchmark_id = $2)`, rule, benchID)
	return err
}

package catalog_test

import (
	"math"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/catalog"
)

func TestEstimateRun(t *testing.T) {
	t.Parallel()

	a, b := uuid.New(), uuid.New()
	input := func(models ...catalog.EstimateModel) catalog.EstimateInput {
		return catalog.EstimateInput{Questions: 4, PromptTokens: 100, Samples: 2, MaxTokens: 64, Models: models}
	}

	t.Run("OKMaxTokens", func(t *testing.T) {
		t.Parallel()
		est := catalog.EstimateRun(input(catalog.EstimateModel{ID: a, Name: "a", InputCostPerMTok: 1, OutputCostPerMTok: 4}))
		// 4 × 2 = 8 units; 100 × 2 = 200 input tokens; 8 × 64 = 512 output
		// tokens; (200 × 1 + 512 × 4) / 1e6.
		m := est.ByModel[0]
		if m.Units != 8 || m.InputTokens != 200 || m.OutputTokens != 512 || math.Abs(m.CostUSD-2248e-6) > 1e-12 || m.Basis != catalog.BasisMaxTokens {
			t.Errorf("model estimate = %+v", m)
		}
		if est.Units != 8 || est.InputTokens != 200 || est.OutputTokens != 512 || est.CostUSD != m.CostUSD || est.Basis != catalog.BasisMaxTokens {
			t.Errorf("estimate = %+v", est)
		}
	})

	t.Run("OKHistoryRoundedAndCapped", func(t *testing.T) {
		t.Parallel()
		est := catalog.EstimateRun(input(
			catalog.EstimateModel{ID: a, Name: "a", OutputCostPerMTok: 1e6, History: catalog.ModelHistory{Executions: 3, MeanOutputTokens: 10.4}},
			catalog.EstimateModel{ID: b, Name: "b", History: catalog.ModelHistory{Executions: 1, MeanOutputTokens: 500}},
		))
		// a: 8 × 10.4 = 83.2 → 83 tokens at $1 each; b: mean capped at 64.
		if m := est.ByModel[0]; m.OutputTokens != 83 || m.CostUSD != 83 || m.Basis != catalog.BasisHistory {
			t.Errorf("a = %+v; want 83 output tokens costing $83", m)
		}
		if m := est.ByModel[1]; m.OutputTokens != 512 || m.Basis != catalog.BasisHistory {
			t.Errorf("b = %+v; want its mean capped at max_tokens (512 output tokens)", m)
		}
		if est.Basis != catalog.BasisHistory || est.OutputTokens != 595 || est.Units != 16 {
			t.Errorf("estimate = %+v", est)
		}
	})

	t.Run("OKMixed", func(t *testing.T) {
		t.Parallel()
		est := catalog.EstimateRun(input(
			catalog.EstimateModel{ID: a, History: catalog.ModelHistory{Executions: 1, MeanOutputTokens: 5}},
			catalog.EstimateModel{ID: b},
		))
		if est.Basis != catalog.BasisMixed || est.ByModel[0].ModelID != a || est.ByModel[1].ModelID != b {
			t.Errorf("estimate = %+v; want mixed, in the models' order", est)
		}
	})

	t.Run("OKEmpty", func(t *testing.T) {
		t.Parallel()
		est := catalog.EstimateRun(catalog.EstimateInput{Samples: 1, MaxTokens: 1})
		if est.Units != 0 || est.CostUSD != 0 || est.ByModel == nil || len(est.ByModel) != 0 {
			t.Errorf("estimate of nothing = %+v", est)
		}
	})
}

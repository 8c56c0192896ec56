package catalog

import (
	"math"

	"github.com/google/uuid"
)

// EstimateBasis says where an estimate's output tokens come from.
type EstimateBasis string

// The bases of an estimate.
const (
	// BasisHistory: the model's mean output tokens over its recent
	// succeeded executions.
	BasisHistory EstimateBasis = "history"
	// BasisMaxTokens: the model has no history, so every answer is taken to
	// use the whole max_tokens, an upper bound.
	BasisMaxTokens EstimateBasis = "max_tokens"
	// BasisMixed: some models of the benchmark have history, others do not
	// (only for a whole estimate).
	BasisMixed EstimateBasis = "mixed"
)

// EstimateHistoryWindow is how many of a model's newest succeeded
// executions its mean output tokens are taken over: recent enough to
// follow a model's changes, and a bounded read however long its history.
const EstimateHistoryWindow = 1000

// ModelHistory is what a model's past says about its answers' length.
type ModelHistory struct {
	// Executions is how many succeeded executions with usage the mean was
	// taken over (at most EstimateHistoryWindow); 0 means no history.
	Executions int
	// MeanOutputTokens is their mean output tokens.
	MeanOutputTokens float64
}

// EstimateModel is one model of a benchmark, as an estimate needs it.
type EstimateModel struct {
	ID                uuid.UUID
	Name              string
	InputCostPerMTok  float64
	OutputCostPerMTok float64
	History           ModelHistory
}

// EstimateInput is everything an estimate of a benchmark's next run is
// computed from.
type EstimateInput struct {
	// Questions is the number of active questions of the benchmark's suites.
	Questions int
	// PromptTokens is the input tokens of asking every question once:
	// ceil((system prompt + prompt characters) / 4) per question, summed.
	PromptTokens int64
	// Samples and MaxTokens come from the benchmark's config.
	Samples, MaxTokens int
	// Models are the benchmark's models in its order.
	Models []EstimateModel
}

// ModelEstimate is the expected tokens and cost of one model's units.
type ModelEstimate struct {
	ModelID      uuid.UUID
	ModelName    string
	Units        int64
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
	Basis        EstimateBasis
}

// Estimate is the expected size and cost of a benchmark's next run.
type Estimate struct {
	Units        int64
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
	// Basis is history or max_tokens when every model's estimate has that
	// basis, mixed otherwise.
	Basis   EstimateBasis
	ByModel []ModelEstimate
}

// EstimateRun computes the expected tokens and cost of a run from in. A
// model's answers are taken to be as long as its recent mean, capped at
// max_tokens (a benchmark may allow less than the model used to write), or
// max_tokens when it has no history. Cost uses the models' current prices
// per million tokens.
func EstimateRun(in EstimateInput) Estimate {
	out := Estimate{ByModel: make([]ModelEstimate, 0, len(in.Models))}
	perModel := int64(in.Questions) * int64(in.Samples)
	bases := map[EstimateBasis]bool{}
	for _, m := range in.Models {
		me := ModelEstimate{
			ModelID: m.ID, ModelName: m.Name, Units: perModel,
			InputTokens: in.PromptTokens * int64(in.Samples),
			Basis:       BasisMaxTokens,
		}
		perUnit := float64(in.MaxTokens)
		if m.History.Executions > 0 {
			me.Basis = BasisHistory
			perUnit = math.Min(m.History.MeanOutputTokens, perUnit)
		}
		me.OutputTokens = int64(math.Round(perUnit * float64(perModel)))
		me.CostUSD = (float64(me.InputTokens)*m.InputCostPerMTok + float64(me.OutputTokens)*m.OutputCostPerMTok) / 1e6
		bases[me.Basis] = true
		out.Units += me.Units
		out.InputTokens += me.InputTokens
		out.OutputTokens += me.OutputTokens
		out.CostUSD += me.CostUSD
		out.ByModel = append(out.ByModel, me)
	}
	switch {
	case len(bases) > 1:
		out.Basis = BasisMixed
	case bases[BasisHistory]:
		out.Basis = BasisHistory
	default:
		out.Basis = BasisMaxTokens
	}
	return out
}

package analytics

import (
	"context"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
)

// QuestionFigures are one model's figures on one question revision in
// one run: its pass rate over the samples, its mean latency over the
// succeeded samples (HasLatency false when none succeeded) and what its
// samples cost.
type QuestionFigures struct {
	Score      float64
	LatencyMs  float64
	HasLatency bool
	CostUSD    float64
}

// PairedQuestion is a question revision both runs asked one model, with
// its figures on each side.
type PairedQuestion struct {
	RevisionID        uuid.UUID
	Current, Previous QuestionFigures
}

// ModelPairing is one model's paired questions between two runs, in
// revision id order (the order a comparison's bootstrap draws them in),
// and the questions whose verdict flipped, as a comparison lists them.
type ModelPairing struct {
	ModelID   uuid.UUID
	ModelName string
	Questions []PairedQuestion
	Changed   Flips
}

// RunPairing is what two finished runs of a benchmark share, model by
// model: the data a comparison of the two runs is computed from, for
// callers (regression alerts) that test it their own way.
type RunPairing struct {
	Current, Previous RunRef
	// Models are the models with questions in both runs, by id.
	Models []ModelPairing
	// UnpairedModels are the models that cannot be compared, by id.
	UnpairedModels []uuid.UUID
}

// PairRuns pairs two finished runs of a benchmark question by question,
// exactly as Compare does for two runs, keeping at most maxFlipped flipped
// questions per model (0: MaxChangedQuestions). It returns the errors
// Compare returns for the two run ids. It is not cached: each call reads.
func (s *Service) PairRuns(ctx context.Context, benchmarkID, currentRunID, previousRunID uuid.UUID, maxFlipped int) (*RunPairing, error) {
	if maxFlipped <= 0 {
		maxFlipped = MaxChangedQuestions
	}
	curRun, err := s.finishedRun(ctx, benchmarkID, currentRunID, "current_run_id")
	if err != nil {
		return nil, err
	}
	prevRun, err := s.finishedRun(ctx, benchmarkID, previousRunID, "previous_run_id")
	if err != nil {
		return nil, err
	}
	var cur, prev []QuestionStat
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { cur, err = s.store.RunQuestionStats(gctx, curRun.ID, nil, nil); return err })
	g.Go(func() (err error) { prev, err = s.store.RunQuestionStats(gctx, prevRun.ID, nil, nil); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	pairs, unpaired := pairModels(cur, prev)
	out := &RunPairing{Current: curRun, Previous: prevRun, Models: make([]ModelPairing, len(pairs)), UnpairedModels: unpaired}
	curV, prevV := verdicts(cur), verdicts(prev)
	changed := make([][]DriftQuestion, len(pairs))
	ids := make([]uuid.UUID, len(pairs))
	for i, mp := range pairs {
		m := ModelPairing{ModelID: mp.model, Questions: make([]PairedQuestion, len(mp.cur))}
		for k := range mp.cur {
			m.Questions[k] = PairedQuestion{RevisionID: mp.cur[k].revisionID, Current: mp.cur[k].figures(), Previous: mp.prev[k].figures()}
		}
		m.Changed = flips(curV[mp.model], prevV[mp.model], maxFlipped)
		changed[i], ids[i] = m.Changed.Questions, mp.model
		out.Models[i] = m
	}
	if err := s.namePrompts(ctx, changed...); err != nil {
		return nil, err
	}
	names, err := s.names(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out.Models {
		out.Models[i].ModelName = names[out.Models[i].ModelID]
	}
	return out, nil
}

func (q *question) figures() QuestionFigures {
	return QuestionFigures{Score: q.score, LatencyMs: q.latency, HasLatency: q.hasLatency, CostUSD: q.cost}
}

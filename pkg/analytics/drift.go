package analytics

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/sabe-dev/sabe/internal/fault"
)

// Drift is what changed for one model between its last two finished runs
// of a benchmark.
type Drift struct {
	ModelID, BenchmarkID    uuid.UUID
	ModelName               string
	CurrentRun, PreviousRun RunRef
	Regressed, Improved     int
	Unchanged               int
	// Questions are the questions whose verdict flipped: regressions
	// first, then improvements, each by question id.
	Questions []DriftQuestion
}

// DriftQuestion is one question whose majority verdict flipped.
type DriftQuestion struct {
	QuestionID uuid.UUID
	Category   string
	// CurrentRevisionID is the revision the current run asked; Prompt
	// the start of its prompt, to read beside the id.
	CurrentRevisionID                 uuid.UUID
	Prompt                            string
	PreviousRevision, CurrentRevision int
	PreviousPassRate, CurrentPassRate float64
	// Regressed is true when the question went from passing to failing.
	Regressed bool
}

// Drift compares a model's last two finished runs of a benchmark, question
// by question (by question, not revision: an edit that fixed or broke a
// question is drift too). A question passes when at least half its units
// passed. It returns fault.NotFound for an unknown model or benchmark and
// fault.KindConflict when the model has fewer than two finished runs of
// the benchmark. Answers are kept like comparisons' (see resultCache):
// the compare page asks for every model's drift at once.
func (s *Service) Drift(ctx context.Context, modelID, benchmarkID uuid.UUID) (*Drift, error) {
	v, err := s.cache.get(ctx, s.store, benchmarkID, cacheKey("drift", &modelID), func() (any, error) { return s.drift(ctx, modelID, benchmarkID) })
	if err != nil {
		return nil, err
	}
	return v.(*Drift), nil
}

func (s *Service) drift(ctx context.Context, modelID, benchmarkID uuid.UUID) (*Drift, error) {
	runs, err := s.store.LatestRuns(ctx, benchmarkID, &modelID, 2)
	if err != nil {
		return nil, err
	}
	if len(runs) < 2 {
		return nil, fault.Conflict("the model has %d finished run(s) of the benchmark; drift needs two", len(runs))
	}
	out := &Drift{ModelID: modelID, BenchmarkID: benchmarkID, CurrentRun: runs[0], PreviousRun: runs[1], Questions: []DriftQuestion{}}
	var cur, prev []QuestionStat
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { cur, err = s.store.RunQuestionStats(gctx, runs[0].ID, &modelID, nil); return err })
	g.Go(func() (err error) { prev, err = s.store.RunQuestionStats(gctx, runs[1].ID, &modelID, nil); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	before := map[uuid.UUID]*QuestionStat{}
	for i := range prev {
		if st := &prev[i]; st.ModelID == modelID && st.N > 0 {
			before[st.QuestionID] = st
		}
	}
	for i := range cur {
		st := &cur[i]
		if st.ModelID != modelID || st.N <= 0 {
			continue
		}
		p, ok := before[st.QuestionID]
		if !ok {
			continue
		}
		was, is := passRate(p), passRate(st)
		if (was >= 0.5) == (is >= 0.5) {
			out.Unchanged++
			continue
		}
		dq := DriftQuestion{
			QuestionID: st.QuestionID, Category: st.Category, CurrentRevisionID: st.RevisionID,
			PreviousRevision: p.Revision, CurrentRevision: st.Revision,
			PreviousPassRate: was, CurrentPassRate: is, Regressed: was >= 0.5,
		}
		if dq.Regressed {
			out.Regressed++
		} else {
			out.Improved++
		}
		out.Questions = append(out.Questions, dq)
	}
	slices.SortFunc(out.Questions, func(a, b DriftQuestion) int {
		if a.Regressed != b.Regressed {
			if a.Regressed {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.QuestionID[:], b.QuestionID[:])
	})
	return out, s.nameDrift(ctx, out)
}

// nameDrift fills in the names a person reads beside the drift's ids: the
// model's, and the start of each flipped question's prompt.
func (s *Service) nameDrift(ctx context.Context, d *Drift) error {
	names, err := s.names(ctx, []uuid.UUID{d.ModelID})
	if err != nil {
		return err
	}
	d.ModelName = names[d.ModelID]
	if len(d.Questions) == 0 {
		return nil
	}
	revs := make([]uuid.UUID, len(d.Questions))
	for i, q := range d.Questions {
		revs[i] = q.CurrentRevisionID
	}
	prompts, err := s.store.PromptExcerpts(ctx, revs)
	if err != nil {
		return fmt.Errorf("prompt excerpts: %w", err)
	}
	for i := range d.Questions {
		d.Questions[i].Prompt = prompts[d.Questions[i].CurrentRevisionID]
	}
	return nil
}

func passRate(st *QuestionStat) float64 { return float64(st.Correct) / float64(st.N) }

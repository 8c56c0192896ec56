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
	Flips
}

// Flips are the questions whose majority verdict flipped between two sets
// of one model's results (two runs, or two weeks or months of runs), with
// the counts of every question both sets hold.
type Flips struct {
	Regressed, Improved int
	Unchanged           int
	// Questions are the questions whose verdict flipped: regressions
	// first, then improvements, each by question id. A comparison keeps
	// only the first MaxChangedQuestions; the counts cover them all.
	Questions []DriftQuestion
}

// MaxChangedQuestions bounds the flipped questions a comparison lists per
// model; Regressed and Improved still count every one.
const MaxChangedQuestions = 200

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
	out := &Drift{ModelID: modelID, BenchmarkID: benchmarkID, CurrentRun: runs[0], PreviousRun: runs[1]}
	var cur, prev []QuestionStat
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { cur, err = s.store.RunQuestionStats(gctx, runs[0].ID, &modelID, nil); return err })
	g.Go(func() (err error) { prev, err = s.store.RunQuestionStats(gctx, runs[1].ID, &modelID, nil); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out.Flips = flips(verdicts(cur)[modelID], verdicts(prev)[modelID], 0)
	names, err := s.names(ctx, []uuid.UUID{modelID})
	if err != nil {
		return nil, err
	}
	out.ModelName = names[modelID]
	return out, s.namePrompts(ctx, out.Questions)
}

// verdict is one model's tallies of one question over every revision of
// it a set of results holds, and the newest of those revisions.
type verdict struct {
	newest     *QuestionStat
	n, correct int
}

func (v *verdict) passRate() float64 { return float64(v.correct) / float64(v.n) }

// verdicts groups tallies by model, then question. Tallies without a unit
// answered or failed for good (all unscored) have no verdict.
func verdicts(stats []QuestionStat) map[uuid.UUID]map[uuid.UUID]*verdict {
	out := map[uuid.UUID]map[uuid.UUID]*verdict{}
	for i := range stats {
		st := &stats[i]
		if st.N <= 0 {
			continue
		}
		byQuestion := out[st.ModelID]
		if byQuestion == nil {
			byQuestion = map[uuid.UUID]*verdict{}
			out[st.ModelID] = byQuestion
		}
		v := byQuestion[st.QuestionID]
		if v == nil {
			v = &verdict{newest: st}
			byQuestion[st.QuestionID] = v
		}
		if st.Revision > v.newest.Revision {
			v.newest = st
		}
		v.n, v.correct = v.n+st.N, v.correct+st.Correct
	}
	return out
}

// flips compares one model's verdicts question by question: a question
// passes when at least half its units passed. limit > 0 keeps only the
// first limit flipped questions.
func flips(cur, prev map[uuid.UUID]*verdict, limit int) Flips {
	out := Flips{Questions: []DriftQuestion{}}
	for qid, c := range cur {
		p, ok := prev[qid]
		if !ok {
			continue
		}
		was, is := p.passRate(), c.passRate()
		if (was >= 0.5) == (is >= 0.5) {
			out.Unchanged++
			continue
		}
		dq := DriftQuestion{
			QuestionID: qid, Category: c.newest.Category, CurrentRevisionID: c.newest.RevisionID,
			PreviousRevision: p.newest.Revision, CurrentRevision: c.newest.Revision,
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
	if limit > 0 && len(out.Questions) > limit {
		out.Questions = out.Questions[:limit:limit]
	}
	return out
}

// namePrompts fills in the start of each flipped question's prompt (of its
// current revision), so that a person can read it beside the id; lists
// may come from several models, looked up in one query.
func (s *Service) namePrompts(ctx context.Context, lists ...[]DriftQuestion) error {
	var revs []uuid.UUID
	for _, qs := range lists {
		for _, q := range qs {
			revs = append(revs, q.CurrentRevisionID)
		}
	}
	if len(revs) == 0 {
		return nil
	}
	prompts, err := s.store.PromptExcerpts(ctx, revs)
	if err != nil {
		return fmt.Errorf("prompt excerpts: %w", err)
	}
	for _, qs := range lists {
		for i := range qs {
			qs[i].Prompt = prompts[qs[i].CurrentRevisionID]
		}
	}
	return nil
}

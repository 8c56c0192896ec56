package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// Agreement returns a run's inter-judge and judge–human agreement at its
// current scoring version (run.ComputeAgreement); fault.NotFound when
// there is no such run. A run still going reports what is judged so far.
func (s *Store) Agreement(ctx context.Context, runID uuid.UUID) (*run.Agreement, error) {
	row, err := s.q.GetRun(ctx, runID)
	if err != nil {
		return nil, notFound(err, "run")
	}
	evs, err := s.q.JudgedEvaluations(ctx, dbsqlc.JudgedEvaluationsParams{RunCreatedAt: row.CreatedAt, RunID: runID, Version: row.ScoringVersion})
	if err != nil {
		return nil, err
	}
	judged := make([]run.JudgedUnit, len(evs))
	for i, e := range evs {
		judged[i] = run.JudgedUnit{
			Unit:   run.UnitKey{ModelID: e.ModelID, QuestionID: e.QuestionID, Sample: int(e.Sample)},
			Scorer: e.Scorer, Passed: e.Passed,
		}
		var results []judge.Result
		if err := json.Unmarshal(e.Judges, &results); err != nil {
			return nil, fmt.Errorf("run %s evaluation judges: %w", runID, err)
		}
		judged[i].Judges = results
	}
	rows, err := s.q.LatestReviews(ctx, dbsqlc.LatestReviewsParams{RunCreatedAt: row.CreatedAt, RunID: runID})
	if err != nil {
		return nil, err
	}
	reviews := make(map[run.UnitKey]bool, len(rows))
	for _, r := range rows {
		if r.Passed != nil {
			reviews[run.UnitKey{ModelID: r.ModelID, QuestionID: r.QuestionID, Sample: int(r.Sample)}] = *r.Passed
		}
	}
	return run.ComputeAgreement(int(row.ScoringVersion), judged, reviews), nil
}

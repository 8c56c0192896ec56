package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// Outcome is the compact record of one (run, model, question) that
// finalization writes and retention keeps.
type Outcome struct {
	RunID              uuid.UUID
	ModelID            uuid.UUID
	QuestionID         uuid.UUID
	RunCreatedAt       time.Time
	BenchmarkID        uuid.UUID
	QuestionRevisionID uuid.UUID
	Category           string
	// Samples counts the recorded units; Succeeded, Failed, Skipped and
	// Cancelled split them by outcome, Correct counts the passed ones.
	Samples, Succeeded, Correct, Failed, Skipped, Cancelled int
	// MeanLatencyMs is nil when no unit succeeded.
	MeanLatencyMs *float64
	CostUSD       float64
}

// Outcomes returns a finished run's outcomes, by model and question id.
func (s *Store) Outcomes(ctx context.Context, runID uuid.UUID) ([]Outcome, error) {
	rows, err := s.q.ListOutcomes(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("list outcomes of run %s: %w", runID, err)
	}
	out := make([]Outcome, len(rows))
	for i, o := range rows {
		out[i] = Outcome{
			RunID: o.RunID, ModelID: o.ModelID, QuestionID: o.QuestionID, RunCreatedAt: o.RunCreatedAt,
			BenchmarkID: o.BenchmarkID, QuestionRevisionID: o.QuestionRevisionID, Category: o.Category,
			Samples: int(o.Samples), Succeeded: int(o.Succeeded), Correct: int(o.Correct), Failed: int(o.Failed),
			Skipped: int(o.Skipped), Cancelled: int(o.Cancelled), MeanLatencyMs: o.MeanLatencyMs, CostUSD: o.CostUsd,
		}
	}
	return out, nil
}

// UnfinishedRuns returns up to limit unfinished runs with ids after after
// (nil: from the first), in id order.
func (s *Store) UnfinishedRuns(ctx context.Context, after *uuid.UUID, limit int) ([]*run.Run, error) {
	rows, err := s.q.ListUnfinishedRunsAfter(ctx, dbsqlc.ListUnfinishedRunsAfterParams{After: after, Lim: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list unfinished runs: %w", err)
	}
	out := make([]*run.Run, len(rows))
	for i, r := range rows {
		out[i] = runFromRow(r)
	}
	return out, nil
}

// RecordedCost returns what a run's recorded executions cost, in USD.
func (s *Store) RecordedCost(ctx context.Context, r *run.Run) (float64, error) {
	c, err := s.q.RecordedCost(ctx, dbsqlc.RecordedCostParams{RunCreatedAt: r.CreatedAt, RunID: r.ID})
	if err != nil {
		return 0, fmt.Errorf("recorded cost of run %s: %w", r.ID, err)
	}
	return c, nil
}

// SkipMissingUnits records every unit of an unfinished run that has no
// execution as skipped with the given reason, in one statement, and
// returns how many it recorded. A finished run is left alone.
func (s *Store) SkipMissingUnits(ctx context.Context, r *run.Run, reason string) (int64, error) {
	n, err := s.q.SkipMissingUnits(ctx, dbsqlc.SkipMissingUnitsParams{RunID: r.ID, Reason: reason})
	if err != nil {
		return 0, fmt.Errorf("skip missing units of run %s: %w", r.ID, err)
	}
	return n, nil
}

// DeleteExpiredEvaluations deletes at most limit evaluations of finished
// runs created before cutoff, and returns how many it deleted. Each call
// is one statement, so one short transaction.
func (s *Store) DeleteExpiredEvaluations(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	n, err := s.q.DeleteExpiredEvaluations(ctx, dbsqlc.DeleteExpiredEvaluationsParams{Cutoff: cutoff, Lim: int32(limit)})
	if err != nil {
		return 0, fmt.Errorf("delete expired evaluations: %w", err)
	}
	return n, nil
}

// DeleteExpiredExecutions deletes at most limit executions of finished
// runs created before cutoff, and returns how many it deleted.
func (s *Store) DeleteExpiredExecutions(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	n, err := s.q.DeleteExpiredExecutions(ctx, dbsqlc.DeleteExpiredExecutionsParams{Cutoff: cutoff, Lim: int32(limit)})
	if err != nil {
		return 0, fmt.Errorf("delete expired executions: %w", err)
	}
	return n, nil
}

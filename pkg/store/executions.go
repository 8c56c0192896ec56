package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// RecordedUnits lists the units of a run that have an execution.
func (s *Store) RecordedUnits(ctx context.Context, r *run.Run) ([]run.UnitKey, error) {
	rows, err := s.q.ListRecordedUnits(ctx, dbsqlc.ListRecordedUnitsParams{RunCreatedAt: r.CreatedAt, RunID: r.ID})
	if err != nil {
		return nil, err
	}
	out := make([]run.UnitKey, len(rows))
	for i, k := range rows {
		out[i] = run.UnitKey{ModelID: k.ModelID, QuestionID: k.QuestionID, Sample: int(k.Sample)}
	}
	return out, nil
}

// RecordExecution stores an execution and its evaluation, exactly once per
// (run, model, question, sample); it reports whether this call inserted.
// A Recorder batches these calls from many goroutines.
func (s *Store) RecordExecution(ctx context.Context, e *run.Execution) (bool, error) {
	var inserted [1]bool
	if err := s.RecordExecutions(ctx, []*run.Execution{e}, inserted[:]); err != nil {
		return false, err
	}
	return inserted[0], nil
}

// Counts returns how many units of the run are recorded, by outcome.
func (s *Store) Counts(ctx context.Context, r *run.Run) (run.Progress, error) {
	c, err := s.q.RunCounts(ctx, dbsqlc.RunCountsParams{RunCreatedAt: r.CreatedAt, RunID: r.ID})
	if err != nil {
		return run.Progress{}, err
	}
	return run.Progress{Total: r.Total(), Succeeded: int(c.Succeeded), Failed: int(c.Failed), Cancelled: int(c.Cancelled), Skipped: int(c.Skipped)}, nil
}

// FailureCauses returns the most common causes of the run's failed units
// by provider and error, most units first, at most limit of them.
func (s *Store) FailureCauses(ctx context.Context, r *run.Run, limit int) ([]run.FailureCause, error) {
	rows, err := s.q.RunFailureCauses(ctx, dbsqlc.RunFailureCausesParams{RunCreatedAt: r.CreatedAt, RunID: r.ID, Lim: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("failure causes of run %s: %w", r.ID, err)
	}
	out := make([]run.FailureCause, len(rows))
	for i, row := range rows {
		out[i] = run.FailureCause{ProviderID: row.ProviderID, ProviderName: row.ProviderName, Error: row.Error, Units: int(row.Units)}
	}
	return out, nil
}

// RunProviders returns the providers of a run's models, by name; a
// deleted provider has an empty name.
func (s *Store) RunProviders(ctx context.Context, id uuid.UUID) ([]run.ProviderRef, error) {
	rows, err := s.q.RunProviders(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("providers of run %s: %w", id, err)
	}
	out := make([]run.ProviderRef, len(rows))
	for i, row := range rows {
		out[i] = run.ProviderRef{ID: row.ProviderID, Name: row.ProviderName}
	}
	return out, nil
}

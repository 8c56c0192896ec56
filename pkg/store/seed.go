package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// The store's part of `sabe seed-history`: a synthetic history needs runs
// created in the past and their executions written faster than one insert
// per unit allows. Everything else (snapshots, rankings, outcomes,
// question stats, rollups) goes through the ordinary code paths, so a
// seeded history is read exactly as a real one.

// CreateRunAt creates a queued run of a benchmark, as CreateRun does, and
// dates its creation at createdAt: a run of the past, for seeding
// histories. A run dated so is not enqueued anywhere; the caller records
// its executions with CopyExecutions and finalizes it.
func (s *Store) CreateRunAt(ctx context.Context, benchmarkID uuid.UUID, createdAt time.Time) (*run.Run, error) {
	r, err := s.CreateRun(ctx, NewRun{BenchmarkID: benchmarkID, Trigger: run.TriggerManual})
	if err != nil {
		return nil, err
	}
	row, err := s.q.BackdateRun(ctx, dbsqlc.BackdateRunParams{ID: r.ID, CreatedAt: createdAt.UTC().Truncate(time.Microsecond)})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.Conflict("run %s started before it could be dated", r.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("date run %s: %w", r.ID, err)
	}
	return runFromRow(row), nil
}

// CopyExecutions writes executions, each with its evaluation when it has
// one, with COPY in one transaction, and returns how many executions it
// wrote. It is for seeding: unlike RecordExecution it does not skip units
// already recorded, and a duplicate fails the whole batch.
func (s *Store) CopyExecutions(ctx context.Context, execs []run.Execution) (int64, error) {
	rows := make([]dbsqlc.SeedExecutionsParams, len(execs))
	evals := make([]dbsqlc.SeedEvaluationsParams, 0, len(execs))
	for i := range execs {
		e := &execs[i]
		rows[i] = dbsqlc.SeedExecutionsParams{
			RunCreatedAt: e.RunCreatedAt, RunID: e.RunID, ModelID: e.ModelID, QuestionID: e.QuestionID, Sample: int32(e.Sample),
			BenchmarkID: e.BenchmarkID, QuestionRevisionID: e.QuestionRevisionID, Category: e.Category,
			Status: string(e.Status), Response: e.Response, Attempts: int32(max(e.Attempts, 1)),
			LatencyMs: e.LatencyMs, TtftMs: e.TTFTMs, OutputTokensPerS: e.OutputTokensPerS,
			InputTokens: int32(e.InputTokens), OutputTokens: int32(e.OutputTokens), CostUsd: e.CostUSD,
			StartedAt: e.StartedAt, FinishedAt: e.FinishedAt,
		}
		if e.Error != "" {
			rows[i].Error = &e.Error
		}
		if e.HTTPStatus != 0 {
			hs := int32(e.HTTPStatus)
			rows[i].HttpStatus = &hs
		}
		if ev := e.Evaluation; ev != nil {
			// The execution carries its evaluation's verdict too, as
			// RecordExecution writes it: the rollups read only executions.
			rows[i].Score, rows[i].Passed = ev.Score, ev.Passed
			evals = append(evals, dbsqlc.SeedEvaluationsParams{
				RunCreatedAt: e.RunCreatedAt, RunID: e.RunID, ModelID: e.ModelID, QuestionID: e.QuestionID, Sample: int32(e.Sample),
				Scorer: ev.Scorer, Passed: ev.Passed, Score: ev.Score, Detail: ev.Detail, CreatedAt: e.FinishedAt,
			})
		}
	}
	var n int64
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		var err error
		if n, err = q.SeedExecutions(ctx, rows); err != nil {
			return fmt.Errorf("copy executions: %w", err)
		}
		if _, err := q.SeedEvaluations(ctx, evals); err != nil {
			return fmt.Errorf("copy evaluations: %w", err)
		}
		return nil
	})
	return n, err
}

// SetRunTimes dates a finished run's start and finish, which Finalize sets
// to the present, so that a seeded run reads as having happened in the
// past; NotFound when the run has not finished.
func (s *Store) SetRunTimes(ctx context.Context, id uuid.UUID, startedAt, finishedAt time.Time) error {
	n, err := s.q.SetSeededRunTimes(ctx, dbsqlc.SetSeededRunTimesParams{ID: id, StartedAt: &startedAt, FinishedAt: &finishedAt})
	if err != nil {
		return fmt.Errorf("date run %s: %w", id, err)
	}
	if n == 0 {
		return fault.NotFound("finished run")
	}
	return nil
}

// VacuumExecutions vacuums and analyzes executions and evaluations. Call
// it after CopyExecutions has bulk-loaded runs and before they are
// finalized: finalizing joins each run's executions and evaluations, and
// on statistics that have not seen the runs' creation times the planner
// expects one row per run and picks a plan quadratic in the run's size;
// the rollups' time-range scans need the BRIN ranges that vacuum
// summarizes.
func (s *Store) VacuumExecutions(ctx context.Context) error {
	if err := s.q.VacuumSeeded(ctx); err != nil {
		return fmt.Errorf("vacuum executions: %w", err)
	}
	return nil
}

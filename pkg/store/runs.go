package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// RunConfig is the configuration a run stores: the benchmark's config and
// the suites and models it was created from.
type RunConfig struct {
	catalog.BenchmarkConfig
	SuiteIDs []uuid.UUID `json:"suite_ids"`
	ModelIDs []uuid.UUID `json:"model_ids"`
}

func runFromRow(r dbsqlc.Run) *run.Run {
	out := &run.Run{
		ID: r.ID, BenchmarkID: r.BenchmarkID, Status: run.Status(r.Status), Trigger: run.Trigger(r.Trigger),
		ScheduledFor: r.ScheduledFor, ModelCount: int(r.ModelCount), QuestionCount: int(r.QuestionCount), Samples: int(r.Samples),
		Progress: run.Progress{Total: int(r.TotalUnits), Succeeded: int(r.Succeeded), Failed: int(r.Failed), Cancelled: int(r.Cancelled), Skipped: int(r.Skipped),
			Answered: int(r.Succeeded + r.Failed + r.Cancelled + r.Skipped), Unscored: int(r.Unscored), Judged: int(r.Judged)},
		MaxCostUSD: r.MaxCostUsd, DeadlineAt: r.DeadlineAt,
		CostUSD: r.CostUsd, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens,
		ScoringVersion: int(r.ScoringVersion), JudgeCostUSD: r.JudgeCostUsd, JudgeInputTokens: r.JudgeInputTokens,
		JudgeOutputTokens: r.JudgeOutputTokens, Unscored: int(r.Unscored),
		LatencyP50Ms: r.LatencyP50Ms, LatencyP95Ms: r.LatencyP95Ms, Error: deref(r.Error),
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, CancelRequestedAt: r.CancelRequestedAt,
	}
	var rc RunConfig
	_ = json.Unmarshal(r.Config, &rc)
	out.Config, out.SuiteIDs, out.ModelIDs = rc.BenchmarkConfig, rc.SuiteIDs, rc.ModelIDs
	out.RetryRound = int(r.RetryRound)
	return out
}

// NewRun says which run to create.
type NewRun struct {
	BenchmarkID uuid.UUID
	Trigger     run.Trigger
	// ScheduledFor is the schedule occurrence a run with trigger schedule
	// is for; a benchmark has at most one run per occurrence.
	ScheduledFor *time.Time
	// TokenID is the token that asks for the run, whose daily budgets it
	// is charged to; nil for an operator's run on the database. Ignored
	// for trigger schedule: such a run is charged to the token that last
	// set the schedule, or to the benchmark's budget.
	TokenID *uuid.UUID
	// MaxCostUSD overrides the benchmark's spend cap for this run.
	MaxCostUSD *float64
	// Samples overrides the benchmark's config.samples for this run (the
	// caller checks its range); the run's units, snapshot and every limit
	// it is checked against follow it.
	Samples *int
}

// CreateRun inserts a queued run of a benchmark with its snapshot (config,
// models, question revisions) in one transaction at repeatable read, so the
// counts and the snapshot agree even while questions are being added. A
// run for a schedule occurrence that already has one returns that run.
// The run passes the Store's RunLimits in the same transaction: the units
// checked and charged are the units of the snapshot. Over a limit the
// error is a fault (Conflict, Invalid) or a *BudgetError.
func (s *Store) CreateRun(ctx context.Context, nr NewRun) (*run.Run, error) {
	r, _, err := s.EnsureRun(ctx, nr)
	return r, err
}

// EnsureRun is CreateRun that also reports whether it inserted the run:
// for a ScheduledFor whose occurrence already has a run it returns that
// run and false, not an error.
func (s *Store) EnsureRun(ctx context.Context, nr NewRun) (*run.Run, bool, error) {
	var out *run.Run
	var created bool
	err := s.inTxRetry(ctx, pgx.RepeatableRead, func(q *dbsqlc.Queries) error {
		var err error
		out, created, err = createRun(ctx, q, s.limits, nr)
		return err
	})
	return out, created, err
}

// createRun is CreateRun inside the caller's repeatable-read transaction.
// It is the only code that inserts runs, so every trigger passes lim.
func createRun(ctx context.Context, q *dbsqlc.Queries, lim RunLimits, nr NewRun) (*run.Run, bool, error) {
	benchmarkID, trigger := nr.BenchmarkID, nr.Trigger
	if (nr.ScheduledFor != nil) != (trigger == run.TriggerSchedule) {
		return nil, false, fmt.Errorf("create run of benchmark %s: scheduled_for goes with trigger schedule, and only with it", benchmarkID)
	}
	if nr.ScheduledFor != nil {
		row, err := q.GetScheduledRun(ctx, dbsqlc.GetScheduledRunParams{BenchmarkID: benchmarkID, ScheduledFor: nr.ScheduledFor})
		if err == nil {
			return runFromRow(row), false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, false, err
		}
	}
	if _, err := q.LockBenchmark(ctx, benchmarkID); err != nil {
		return nil, false, notFoundOrFrozen(err, "benchmark", func() (*time.Time, error) {
			b, err := q.GetBenchmark(ctx, benchmarkID)
			return b.ArchivedAt, err
		})
	}
	b, err := q.GetBenchmark(ctx, benchmarkID)
	if err != nil {
		return nil, false, err
	}
	bench := benchmarkFromRow(b)
	if reason := blockersOf(b).Reason(); reason != "" {
		return nil, false, fault.Conflict("%s", reason)
	}
	if len(bench.ModelIDs) == 0 {
		return nil, false, fault.Conflict("the benchmark has no models")
	}
	if err := checkScoringCovered(ctx, q, bench.SuiteIDs, bench.Config); err != nil {
		return nil, false, err
	}
	modelCount, questionCount := int32(len(bench.ModelIDs)), b.ActiveQuestions
	if nr.Samples != nil {
		bench.Config.Samples = *nr.Samples
	}
	total := int(modelCount) * int(questionCount) * bench.Config.Samples
	id := newID()
	created := time.Now().UTC().Truncate(time.Microsecond)
	maxCost := bench.Config.MaxCostUSD
	if nr.MaxCostUSD != nil {
		maxCost = nr.MaxCostUSD
	}
	ch, err := chargeRun(ctx, q, lim, b, nr, total, maxCost, created)
	if err != nil {
		return nil, false, err
	}
	maxCost = ch.maxCost
	var deadline *time.Time
	if secs := bench.Config.TimeoutSeconds; secs > 0 {
		d := created.Add(time.Duration(secs) * time.Second)
		deadline = &d
	}
	config := mustJSON(RunConfig{BenchmarkConfig: bench.Config, SuiteIDs: bench.SuiteIDs, ModelIDs: bench.ModelIDs})
	var row dbsqlc.Run
	if nr.ScheduledFor != nil {
		// The unique (benchmark_id, scheduled_for) key is the last guard
		// against a second run for one occurrence: at repeatable read a
		// concurrent insert surfaces as a serialization failure, retried,
		// after which the run above is found.
		row, err = q.CreateScheduledRun(ctx, dbsqlc.CreateScheduledRunParams{
			ID: id, BenchmarkID: benchmarkID, ScheduledFor: nr.ScheduledFor, Config: config,
			ModelCount: modelCount, QuestionCount: questionCount, Samples: int32(bench.Config.Samples),
			TotalUnits: int32(total), CreatedAt: created, MaxCostUsd: maxCost, DeadlineAt: deadline, ChargedTokenID: ch.token,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			existing, gerr := q.GetScheduledRun(ctx, dbsqlc.GetScheduledRunParams{BenchmarkID: benchmarkID, ScheduledFor: nr.ScheduledFor})
			if gerr != nil {
				return nil, false, gerr
			}
			return runFromRow(existing), false, nil
		}
	} else {
		row, err = q.CreateRun(ctx, dbsqlc.CreateRunParams{
			ID: id, BenchmarkID: benchmarkID, Trigger: string(trigger), Config: config,
			ModelCount: modelCount, QuestionCount: questionCount, Samples: int32(bench.Config.Samples),
			TotalUnits: int32(total), CreatedAt: created, MaxCostUsd: maxCost, DeadlineAt: deadline, ChargedTokenID: ch.token,
		})
	}
	if err != nil {
		return nil, false, err
	}
	nm, err := q.SnapshotRunModels(ctx, dbsqlc.SnapshotRunModelsParams{RunID: id, BenchmarkID: benchmarkID})
	if err != nil {
		return nil, false, err
	}
	nq, err := q.SnapshotRunQuestions(ctx, dbsqlc.SnapshotRunQuestionsParams{RunID: id, BenchmarkID: benchmarkID})
	if err != nil {
		return nil, false, err
	}
	if _, err := q.SnapshotRunJudges(ctx, id); err != nil {
		return nil, false, err
	}
	if nm != int64(modelCount) || nq != int64(questionCount) {
		return nil, false, fmt.Errorf("run snapshot of benchmark %s: %d models and %d questions, expected %d and %d", benchmarkID, nm, nq, modelCount, questionCount)
	}
	if err := auditChange(ctx, q, audit.ActionRunStart, audit.ResourceRun, id.String(),
		fmt.Sprintf("benchmark %s, trigger %s, %d units", benchmarkID, trigger, total)); err != nil {
		return nil, false, err
	}
	return runFromRow(row), true, nil
}

// GetRun returns a run.
func (s *Store) GetRun(ctx context.Context, id uuid.UUID) (*run.Run, error) {
	row, err := s.q.GetRun(ctx, id)
	if err != nil {
		return nil, notFound(err, "run")
	}
	return runFromRow(row), nil
}

// RunFilter narrows ListRuns.
type RunFilter struct {
	BenchmarkID *uuid.UUID
	Status      *run.Status
	// Trigger keeps the runs started one way (api, manual, schedule).
	Trigger *run.Trigger
}

// ListRuns returns a page of runs, newest first.
func (s *Store) ListRuns(ctx context.Context, f RunFilter, limit int, cursor string) (Page[*run.Run], error) {
	var status *string
	if f.Status != nil {
		st := string(*f.Status)
		status = &st
	}
	var trigger *string
	if f.Trigger != nil {
		tr := string(*f.Trigger)
		trigger = &tr
	}
	// Newest first: the cursor's id is the one to list runs before.
	return listPage(cursor, limit, func(before *uuid.UUID, lim int32) ([]dbsqlc.Run, error) {
		return s.q.ListRuns(ctx, dbsqlc.ListRunsParams{BenchmarkID: f.BenchmarkID, Status: status, Trigger: trigger, Before: before, Lim: lim})
	}, runFromRow, func(r dbsqlc.Run) uuid.UUID { return r.ID })
}

// LastScheduledRuns returns the latest run each benchmark's schedule
// made, by benchmark id, in one query for a page of benchmarks; a
// benchmark whose schedule made none has no entry.
func (s *Store) LastScheduledRuns(ctx context.Context, benchmarkIDs []uuid.UUID) (map[uuid.UUID]*run.Run, error) {
	out := make(map[uuid.UUID]*run.Run, len(benchmarkIDs))
	if len(benchmarkIDs) == 0 {
		return out, nil
	}
	rows, err := s.q.LastScheduledRuns(ctx, benchmarkIDs)
	if err != nil {
		return nil, fmt.Errorf("last scheduled runs: %w", err)
	}
	for _, row := range rows {
		out[row.BenchmarkID] = runFromRow(row)
	}
	return out, nil
}

// RequestCancel records a cancel request on an unfinished run; Conflict
// when it has finished.
func (s *Store) RequestCancel(ctx context.Context, id uuid.UUID) (*run.Run, error) {
	var out *run.Run
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		row, err := q.RequestRunCancel(ctx, id)
		if err != nil {
			if _, gerr := q.GetRun(ctx, id); gerr != nil {
				return notFound(gerr, "run")
			}
			return fault.Conflict("run has already finished")
		}
		out = runFromRow(row)
		return auditChange(ctx, q, audit.ActionRunCancel, audit.ResourceRun, id.String(), "")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FailRun closes a run that could not be started (its task could not be
// enqueued), so no run is left queued with no work behind it. Its
// run.failed event is written in the same transaction, as Finalize writes
// a finished run's: a run that fails before it starts is announced too.
// The event's dispatch is the caller's to kick; when Redis is what failed,
// the worker's notification sweep dispatches it later.
func (s *Store) FailRun(ctx context.Context, r *run.Run, reason string) error {
	return s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		row, err := q.FinishRun(ctx, dbsqlc.FinishRunParams{ID: r.ID, Status: string(run.StatusFailed), Error: &reason})
		if err == pgx.ErrNoRows {
			return nil // finished already, and announced then
		}
		if err != nil {
			return err
		}
		return writeRunEvent(ctx, q, runFromRow(row))
	})
}

// MarkRunning moves a queued run to running and returns it as it is now.
func (s *Store) MarkRunning(ctx context.Context, id uuid.UUID) (*run.Run, error) {
	row, err := s.q.MarkRunRunning(ctx, id)
	if err == nil {
		return runFromRow(row), nil
	}
	return s.GetRun(ctx, id)
}

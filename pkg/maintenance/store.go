package maintenance

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/alerting"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/run"
)

// Store is the persistence the reconciler needs; pkg/store implements it.
type Store interface {
	// UncheckedAlertRuns finds the runs whose regression check is missing
	// (alerting.Sweep).
	alerting.SweepStore
	// UnfinishedRuns returns up to limit unfinished runs with ids after
	// after (nil: from the first), in id order.
	UnfinishedRuns(ctx context.Context, after *uuid.UUID, limit int) ([]*run.Run, error)
	// LoadSnapshot returns a run with its models and question revisions in
	// unit order; fault NotFound when there is no such run.
	LoadSnapshot(ctx context.Context, id uuid.UUID) (*run.Snapshot, error)
	// Counts returns how many units of the run are recorded, by outcome.
	Counts(ctx context.Context, r *run.Run) (run.Progress, error)
	// RecordExecution stores an execution exactly once; it reports whether
	// this call inserted it.
	RecordExecution(ctx context.Context, e *run.Execution) (bool, error)
	// UnjudgedUnits returns up to limit succeeded units of the given
	// questions without a machine evaluation at version.
	UnjudgedUnits(ctx context.Context, r *run.Run, questionIDs []uuid.UUID, version, limit int) ([]run.UnitKey, error)
	// RecordedCost returns what a run's recorded executions cost.
	RecordedCost(ctx context.Context, r *run.Run) (float64, error)
	// SkipMissingUnits records every unrecorded unit of an unfinished run
	// as skipped and returns how many.
	SkipMissingUnits(ctx context.Context, r *run.Run, reason string) (int64, error)
	// DeleteExpiredEvaluations and DeleteExpiredExecutions delete at most
	// limit rows of finished runs created before cutoff, and return how
	// many they deleted.
	DeleteExpiredEvaluations(ctx context.Context, cutoff time.Time, limit int) (int64, error)
	DeleteExpiredExecutions(ctx context.Context, cutoff time.Time, limit int) (int64, error)
	// DeleteAuditBefore deletes at most limit audit rows older than cutoff
	// and returns how many it deleted.
	DeleteAuditBefore(ctx context.Context, cutoff time.Time, limit int) (int64, error)
	// DropOldChunks drops, with TimescaleDB, the execution and evaluation
	// chunks wholly older than cutoff (none that may hold an unfinished
	// run's rows) and returns how many; 0 on plain PostgreSQL.
	DropOldChunks(ctx context.Context, cutoff time.Time) (int64, error)
	// RefreshRollups brings the time-series rollups up to date with the
	// runs finished since its last call, a batch at a time.
	RefreshRollups(ctx context.Context) (analytics.Refresh, error)
}

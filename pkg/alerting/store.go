package alerting

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/notify"
)

// CheckRun is a run to check, with its benchmark's alert settings.
type CheckRun struct {
	ID, BenchmarkID uuid.UUID
	BenchmarkName   string
	// Status is the run's status; FinishedAt nil while it runs.
	Status     string
	CreatedAt  time.Time
	FinishedAt *time.Time
	// Settings are the benchmark's alert settings now; nil for none.
	Settings *catalog.AlertSettings
}

// CheckRecord is the outcome of one run's check, written at once.
type CheckRecord struct {
	RunID, BenchmarkID uuid.UUID
	// BaselineRunID is nil when the run had no baseline.
	BaselineRunID *uuid.UUID
	// Comparisons is the number of (model, metric) pairs tested.
	Comparisons int
	// Note says why nothing was compared ("" when something was).
	Note      string
	CheckedAt time.Time
	// Alerts are the alerts raised, each written with its
	// regression.detected event.
	Alerts []notify.Regression
}

// Store is what the check reads and writes; pkg/store implements it.
type Store interface {
	// AlertCheckRun returns a run and its benchmark's alert settings;
	// fault.NotFound for an unknown run.
	AlertCheckRun(ctx context.Context, runID uuid.UUID) (CheckRun, error)
	// AlertChecked reports whether the run has its check already.
	AlertChecked(ctx context.Context, runID uuid.UUID) (bool, error)
	// AlertBaseline returns the benchmark's newest run other than runID
	// created before createdBefore that finished completed or partial;
	// nil when there is none.
	AlertBaseline(ctx context.Context, benchmarkID, runID uuid.UUID, createdBefore time.Time) (*uuid.UUID, error)
	// RecordAlertCheck writes a check, its alerts and their events in one
	// transaction; it writes nothing and reports false when the run has a
	// check already.
	RecordAlertCheck(ctx context.Context, rec CheckRecord) (bool, error)
	// UncheckedAlertRuns returns up to limit runs finished completed or
	// partial since finishedAfter, of benchmarks with enabled alerts,
	// without a check: oldest first.
	UncheckedAlertRuns(ctx context.Context, finishedAfter time.Time, limit int) ([]uuid.UUID, error)
}

// Pairer pairs two finished runs question by question
// (*analytics.Service).
type Pairer interface {
	PairRuns(ctx context.Context, benchmarkID, currentRunID, previousRunID uuid.UUID, maxFlipped int) (*analytics.RunPairing, error)
}

var _ Pairer = (*analytics.Service)(nil)

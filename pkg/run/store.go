package run

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/provider"
)

// UnitKey identifies a recorded unit by its ids.
type UnitKey struct {
	ModelID    uuid.UUID
	QuestionID uuid.UUID
	Sample     int
}

// ProviderConn is what a worker needs to call a provider. APIKey is
// decrypted and lives only in the worker's memory.
type ProviderConn struct {
	ID uuid.UUID
	// Name is the provider's name, for the errors a user reads.
	Name    string
	Kind    catalog.ProviderKind
	BaseURL string
	APIKey  string
	Headers map[string]string
	Limits  catalog.ProviderLimits
	// UpdatedAt changes whenever the provider (its key included) changes,
	// so workers can tell a cached connection is stale.
	UpdatedAt time.Time
}

// Endpoint is where and how to call the provider.
func (c ProviderConn) Endpoint() provider.Endpoint {
	return provider.Endpoint{BaseURL: c.BaseURL, APIKey: c.APIKey, Headers: c.Headers}
}

// String describes the connection without its key or header values, so a
// connection that ends up in a log line or an error leaks neither.
func (c ProviderConn) String() string {
	return fmt.Sprintf("run.ProviderConn{ID: %s, Name: %s, Kind: %s, Endpoint: %s}", c.ID, c.Name, c.Kind, c.Endpoint())
}

// GoString keeps %#v as safe as %v.
func (c ProviderConn) GoString() string { return c.String() }

// Format makes every fmt verb print String, so no verb reaches the key.
func (c ProviderConn) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, c.String()) }

// LogValue keeps structured logging on the safe description.
func (c ProviderConn) LogValue() slog.Value { return slog.StringValue(c.String()) }

// FailureCause is one cause of a run's failed units: the provider of the
// models that failed and the error they recorded.
type FailureCause struct {
	ProviderID   uuid.UUID
	ProviderName string
	Error        string
	Units        int
}

// ProviderRef names a provider.
type ProviderRef struct {
	ID   uuid.UUID
	Name string
}

// RankFunc ranks a finished run's models from its per-question tallies,
// with names[id] the models' names. The store calls it inside Finalize's
// transaction and stores what it returns, so that the store persists
// rankings without deciding them; analytics.RankRun is the one SABE uses.
type RankFunc func(tallies []analytics.QuestionStat, names map[uuid.UUID]string) analytics.RunRanking

// Store is the persistence the task handlers need. pkg/store implements it.
type Store interface {
	// RescoreStore serves run:rescore (task_rescore.go).
	RescoreStore
	// GetRun returns the run; fault NotFound when there is none.
	GetRun(ctx context.Context, id uuid.UUID) (*Run, error)
	// LoadSnapshot returns the run with the models and question revisions it
	// asks, in unit order.
	LoadSnapshot(ctx context.Context, id uuid.UUID) (*Snapshot, error)
	// MarkRunning moves a queued run to running; it returns the run as it is
	// now, whatever its status.
	MarkRunning(ctx context.Context, id uuid.UUID) (*Run, error)
	// RecordedUnits lists the units of a run that have an execution.
	RecordedUnits(ctx context.Context, r *Run) ([]UnitKey, error)
	// RecordExecution stores an execution and its evaluation exactly once;
	// it reports whether this call inserted it.
	RecordExecution(ctx context.Context, e *Execution) (bool, error)
	// RecordEvaluation stores ev as unit k's evaluation once per (unit,
	// scorer, scorer version), reporting whether this call inserted it;
	// an inserted evaluation of the run's current scoring version becomes
	// the unit's effective verdict unless a person reviewed the unit.
	RecordEvaluation(ctx context.Context, r *Run, k UnitKey, ev *Evaluation) (bool, error)
	// Answer returns unit k's recorded status and response; fault
	// NotFound when the unit has no execution.
	Answer(ctx context.Context, r *Run, k UnitKey) (*Execution, error)
	// UnjudgedUnits returns up to limit succeeded units of the given
	// questions without a machine evaluation at version.
	UnjudgedUnits(ctx context.Context, r *Run, questionIDs []uuid.UUID, version, limit int) ([]UnitKey, error)
	// JudgedCounts counts the succeeded units of the given questions, those
	// with a machine verdict at version, and the unscored ones.
	JudgedCounts(ctx context.Context, r *Run, questionIDs []uuid.UUID, version int) (needs, judged, unscored int, err error)
	// ApplyVerdicts makes the machine verdicts at the run's scoring version
	// the effective verdicts of its succeeded units that have none yet,
	// except where a person reviewed the unit (idempotent).
	ApplyVerdicts(ctx context.Context, r *Run) error
	// UnscoredReasons counts the run's succeeded units without an
	// effective verdict, by reason.
	UnscoredReasons(ctx context.Context, r *Run) (map[string]int, error)
	// Counts returns how many units of the run are recorded, by outcome.
	Counts(ctx context.Context, r *Run) (Progress, error)
	// Finalize computes the run's totals, ranks its models with rank and
	// sets the final status, all in one transaction and once: it returns
	// the finished run and false when it was already finished. It stores
	// r.Progress.Judged (counted by the caller) as the run's judged count.
	Finalize(ctx context.Context, r *Run, status Status, reason string, rank RankFunc) (*Run, bool, error)
	// ProviderConn returns a provider's endpoint with its key decrypted;
	// a *UnusableError when the key cannot be decrypted.
	ProviderConn(ctx context.Context, id uuid.UUID) (*ProviderConn, error)
	// FailureCauses returns the most common causes of the run's failed
	// units, most units first, at most limit of them.
	FailureCauses(ctx context.Context, r *Run, limit int) ([]FailureCause, error)
}

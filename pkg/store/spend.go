package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// Defaults of RunLimits.
const (
	// DefaultMaxRunUnits caps a run's fan-out (SABE_MAX_RUN_UNITS).
	DefaultMaxRunUnits = 100_000
	// DefaultMaxRunsInFlight is how many unfinished runs one benchmark
	// may have (SABE_MAX_RUNS_IN_FLIGHT).
	DefaultMaxRunsInFlight = 5
	// DefaultMaxUnitsPerTokenDay is the units of the runs charged to one
	// token per UTC day (SABE_MAX_UNITS_PER_TOKEN_DAY).
	DefaultMaxUnitsPerTokenDay = 1_000_000
	// DefaultMinScheduleInterval is the shortest gap allowed between two
	// occurrences of a schedule (SABE_MIN_SCHEDULE_INTERVAL).
	DefaultMinScheduleInterval = time.Minute
)

// RunLimits are the checks every run passes when it is created, whatever
// created it (the API, a schedule, the CLI through the API, and any
// trigger added later): they are applied by the one function that inserts
// runs, inside its transaction, so the units charged are the units the
// run has. A zero field disables its check.
type RunLimits struct {
	// MaxUnits caps a run's fan-out (models × questions × samples).
	MaxUnits int
	// MaxInFlight caps the unfinished runs of one benchmark.
	MaxInFlight int
	// MaxUnitsPerTokenDay caps the units of the runs charged to one token
	// per UTC day.
	MaxUnitsPerTokenDay int
	// MaxCostUSDPerTokenDay caps, in US dollars, what the runs charged to
	// one token per UTC day may spend.
	MaxCostUSDPerTokenDay float64
	// MinScheduleInterval is the shortest gap allowed between two
	// occurrences of a schedule; the API refuses shorter schedules and a
	// tick skips the occurrences of one stored before.
	MinScheduleInterval time.Duration
}

// ReadRunLimits reads the run limits from the environment, with their
// defaults; every process that creates runs (api, worker) calls it, so
// all of them apply the same limits.
func ReadRunLimits(r *envconf.Reader) RunLimits {
	return RunLimits{
		MaxUnits:              r.Int("SABE_MAX_RUN_UNITS", DefaultMaxRunUnits, 1, 100_000_000),
		MaxInFlight:           r.Int("SABE_MAX_RUNS_IN_FLIGHT", DefaultMaxRunsInFlight, 0, 10_000),
		MaxUnitsPerTokenDay:   r.Int("SABE_MAX_UNITS_PER_TOKEN_DAY", DefaultMaxUnitsPerTokenDay, 0, 1_000_000_000),
		MaxCostUSDPerTokenDay: r.Float("SABE_MAX_COST_USD_PER_TOKEN_DAY", 0, 0, 1e9),
		MinScheduleInterval:   r.Duration("SABE_MIN_SCHEDULE_INTERVAL", DefaultMinScheduleInterval, time.Second, 24*time.Hour),
	}
}

// WithRunLimits returns a Store that applies l to every run it creates.
func (s *Store) WithRunLimits(l RunLimits) *Store {
	c := *s
	c.limits = l
	return &c
}

// BudgetError is a run refused because a budget it is charged to has not
// enough left: the API answers 429 with Retry-After, a schedule skips the
// occurrence with Message as the reason.
type BudgetError struct {
	// Message says which budget, how much of it is used and what the run
	// needs.
	Message string
	// RetryAfter is how long until the budget renews.
	RetryAfter time.Duration
}

// Error implements error.
func (e *BudgetError) Error() string { return e.Message }

// Unwrap makes a BudgetError a fault of kind TooMany (429 in the API).
func (e *BudgetError) Unwrap() error { return fault.TooMany("%s", e.Message) }

// charge is what a run is charged to, decided by chargeRun.
type charge struct {
	token   *uuid.UUID
	maxCost *float64
}

// chargeRun applies the limits to a run of total units about to be
// created at now for the benchmark b (locked by the caller's
// transaction), and says which token it is charged to and its spend cap:
// the smaller of its own cap and what is left of every money budget it
// counts against, so the workers' per-run cap stops it where the budget
// ends. Over a limit it returns a fault (Conflict, Invalid) or a
// *BudgetError that says which.
func chargeRun(ctx context.Context, q *dbsqlc.Queries, lim RunLimits, b dbsqlc.GetBenchmarkRow, nr NewRun, total int, maxCost *float64, now time.Time) (charge, error) {
	out := charge{maxCost: maxCost}
	if lim.MaxUnits > 0 && total > lim.MaxUnits {
		return out, fault.Conflict("a run would fan out into %d units, over the limit of %d (SABE_MAX_RUN_UNITS)", total, lim.MaxUnits)
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	bs, err := q.BenchmarkSpend(ctx, dbsqlc.BenchmarkSpendParams{BenchmarkID: b.ID, Since: month})
	if err != nil {
		return out, fmt.Errorf("spend of benchmark %s: %w", b.ID, err)
	}
	if lim.MaxInFlight > 0 && bs.InFlight >= int64(lim.MaxInFlight) {
		return out, fault.Conflict("the benchmark has %d unfinished runs, the most it may have at once (SABE_MAX_RUNS_IN_FLIGHT)", bs.InFlight)
	}
	if budget := b.BudgetMaxCostUsdMonth; budget != nil {
		left := *budget - bs.CostUsd
		if left <= 0 {
			return out, &BudgetError{
				Message:    fmt.Sprintf("the benchmark's budget of $%g a month is spent ($%.6f committed this month)", *budget, bs.CostUsd),
				RetryAfter: month.AddDate(0, 1, 0).Sub(now),
			}
		}
		out.maxCost = lower(out.maxCost, left)
	}
	out.token = nr.TokenID
	if nr.Trigger == run.TriggerSchedule {
		// A schedule spends on behalf of whoever set it, unless an admin
		// gave the benchmark a budget of its own to charge instead.
		out.token = nil
		if b.BudgetMaxCostUsdMonth == nil {
			out.token = b.ScheduleTokenID
			if out.token == nil && (lim.MaxUnitsPerTokenDay > 0 || lim.MaxCostUSDPerTokenDay > 0) {
				return out, fault.Conflict("no token is recorded as having set this schedule, so its runs have no budget to be charged to: set the schedule again, or have an admin set the benchmark's budget")
			}
		}
	}
	if out.token == nil {
		return out, nil
	}
	return chargeToken(ctx, q, lim, *out.token, total, out, now)
}

// chargeToken is chargeRun's check of the daily budgets of the token a
// run is charged to.
func chargeToken(ctx context.Context, q *dbsqlc.Queries, lim RunLimits, token uuid.UUID, total int, out charge, now time.Time) (charge, error) {
	n, err := q.LockTokenSpend(ctx, token)
	if err != nil {
		return out, fmt.Errorf("lock the spend of token %s: %w", token, err)
	}
	if n == 0 {
		return out, fault.Conflict("the token the run would be charged to is revoked or expired: set the schedule again with a valid token")
	}
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	ts, err := q.TokenSpend(ctx, dbsqlc.TokenSpendParams{TokenID: &token, Since: day})
	if err != nil {
		return out, fmt.Errorf("spend of token %s: %w", token, err)
	}
	renew := day.AddDate(0, 0, 1).Sub(now)
	if max := lim.MaxUnitsPerTokenDay; max > 0 {
		if total > max {
			return out, fault.Invalid("model_ids", "a run of this benchmark has %d units, over the %d units a token may start per day (SABE_MAX_UNITS_PER_TOKEN_DAY)", total, max)
		}
		if ts.Units+int64(total) > int64(max) {
			return out, &BudgetError{
				Message:    fmt.Sprintf("this run's %d units would take the token over its %d units a day (%d used today, SABE_MAX_UNITS_PER_TOKEN_DAY); retry after midnight UTC", total, max, ts.Units),
				RetryAfter: renew,
			}
		}
	}
	if max := lim.MaxCostUSDPerTokenDay; max > 0 {
		left := max - ts.CostUsd
		if left <= 0 {
			return out, &BudgetError{
				Message:    fmt.Sprintf("the token's budget of $%g a day is spent ($%.6f committed today, SABE_MAX_COST_USD_PER_TOKEN_DAY); retry after midnight UTC", max, ts.CostUsd),
				RetryAfter: renew,
			}
		}
		out.maxCost = lower(out.maxCost, left)
	}
	return out, nil
}

// lower is the smaller of a cap (nil: none) and v.
func lower(c *float64, v float64) *float64 {
	if c != nil && *c <= v {
		return c
	}
	return &v
}

// SetBenchmarkBudget sets (nil: removes) a benchmark's spend budget in US
// dollars per UTC month. Only an admin may call it: the budget replaces
// the token budgets the benchmark's scheduled runs are charged to.
func (s *Store) SetBenchmarkBudget(ctx context.Context, id uuid.UUID, maxCostUSDMonth *float64) (*catalog.Benchmark, error) {
	if err := catalog.ValidateMaxCost("max_cost_usd_per_month", maxCostUSDMonth); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		n, err := q.SetBenchmarkBudget(ctx, dbsqlc.SetBenchmarkBudgetParams{ID: id, MaxCostUsdMonth: maxCostUSDMonth})
		if err != nil {
			return err
		}
		if n == 0 {
			return fault.NotFound("benchmark")
		}
		detail := "budget removed"
		if maxCostUSDMonth != nil {
			detail = fmt.Sprintf("budget $%g a month", *maxCostUSDMonth)
		}
		return auditChange(ctx, q, audit.ActionBenchmarkUpdate, audit.ResourceBenchmark, id.String(), detail)
	})
	if err != nil {
		return nil, err
	}
	return s.GetBenchmark(ctx, id)
}

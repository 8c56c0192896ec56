package run

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// progressTTL bounds how long a run's in-flight state stays in Redis. It is
// refreshed on every write, so only abandoned runs expire; PostgreSQL keeps
// the truth and the counters are rebuilt from it when missing.
const progressTTL = 7 * 24 * time.Hour

// Tracker keeps a run's in-flight progress in Redis, so that recording a
// unit does not touch a hot row in PostgreSQL: a bitmap of recorded unit
// indexes makes recording idempotent (a retried or duplicated task counts
// once), and a hash counts outcomes for GET /v1/runs/{id}.
type Tracker struct {
	rdb redis.UniversalClient
}

// NewTracker returns a Tracker over rdb.
func NewTracker(rdb redis.UniversalClient) *Tracker { return &Tracker{rdb: rdb} }

// runKey names one of run id's Redis keys. The run id is the key's hash
// tag, so that every key of a run lives in one hash slot of a Redis
// Cluster: the scripts and transactions below touch several of them at
// once, which a cluster allows only within one slot.
func runKey(id uuid.UUID, name string) string { return "sabe:run:{" + id.String() + "}:" + name }

func doneKey(id uuid.UUID) string     { return runKey(id, "done") }
func progressKey(id uuid.UUID) string { return runKey(id, "progress") }
func cancelKey(id uuid.UUID) string   { return runKey(id, "cancel") }

// SpendKey is the Redis key that sums what a run's provider calls cost, in
// USD: every call adds its cost as its unit is recorded (RecordCall), or
// right away when the unit cannot be recorded, so a call repeated after a
// crash is paid for twice and counted twice.
func SpendKey(id uuid.UUID) string { return runKey(id, "spend") }

// recordKeys are recordScript's keys.
func recordKeys(id uuid.UUID) []string { return []string{doneKey(id), progressKey(id), SpendKey(id)} }

// forgetKeys are the keys Forget deletes, in one command.
func forgetKeys(id uuid.UUID) []string {
	return []string{doneKey(id), progressKey(id), cancelKey(id), SpendKey(id), blockedKey(id), needsKey(id), judgedKey(id, 1)}
}

// recordScript sets the unit's bit and, only when it was not set before,
// counts the outcome (and, for a skipped unit, its reason in ARGV[4]). A
// call's cost in ARGV[5] is added to the run's spend (KEYS[3]) either way:
// the call was paid for even when its unit had been recorded already. It
// returns the number of units recorded so far, or -1 when this unit had
// been recorded already.
var recordScript = redis.NewScript(`
if ARGV[5] ~= '0' then
  redis.call('INCRBYFLOAT', KEYS[3], ARGV[5])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
local old = redis.call('SETBIT', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
if old == 1 then return -1 end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[4], 1) end
local done = redis.call('HINCRBY', KEYS[2], 'done', 1)
redis.call('EXPIRE', KEYS[2], ARGV[3])
return done
`)

// Record marks unit index idx of run id as recorded with the given outcome.
// It returns the number of distinct units recorded so far and whether this
// call was the one that recorded idx.
func (t *Tracker) Record(ctx context.Context, id uuid.UUID, idx int, outcome ExecutionStatus) (done int, first bool, err error) {
	return t.record(ctx, id, idx, outcome, "", 0)
}

// RecordCall is Record for a unit whose provider call cost costUSD: the
// cost goes to the run's spend in the same round trip, whether or not the
// unit had been recorded already. A unit whose call was paid for but which
// cannot be recorded adds its cost with AddSpend instead.
func (t *Tracker) RecordCall(ctx context.Context, id uuid.UUID, idx int, outcome ExecutionStatus, costUSD float64) (done int, first bool, err error) {
	return t.record(ctx, id, idx, outcome, "", costUSD)
}

// SkipReason says why a unit was skipped.
type SkipReason string

// The reasons a unit is skipped.
const (
	SkipDeadline SkipReason = "deadline"
	SkipMaxCost  SkipReason = "max_cost"
)

func skipField(r SkipReason) string { return "skipped:" + string(r) }

// RecordSkip is Record for a skipped unit; it also counts the reason, so
// that finalization can say why the run stopped short.
func (t *Tracker) RecordSkip(ctx context.Context, id uuid.UUID, idx int, reason SkipReason) (done int, first bool, err error) {
	return t.record(ctx, id, idx, ExecSkipped, skipField(reason), 0)
}

func (t *Tracker) record(ctx context.Context, id uuid.UUID, idx int, outcome ExecutionStatus, reason string, costUSD float64) (int, bool, error) {
	cost := "0"
	if costUSD > 0 {
		cost = strconv.FormatFloat(costUSD, 'g', -1, 64)
	}
	n, err := recordScript.Run(ctx, t.rdb, recordKeys(id),
		idx, string(outcome), int(progressTTL/time.Second), reason, cost).Int()
	if err != nil {
		return 0, false, fmt.Errorf("record progress of run %s: %w", id, err)
	}
	if n < 0 {
		return 0, false, nil
	}
	return n, true, nil
}

// SkipReasons returns how many of a run's units were skipped for each
// reason, as far as Redis still knows.
func (t *Tracker) SkipReasons(ctx context.Context, id uuid.UUID) (map[SkipReason]int, error) {
	reasons := []SkipReason{SkipDeadline, SkipMaxCost}
	fields := make([]string, len(reasons))
	for i, r := range reasons {
		fields[i] = skipField(r)
	}
	vals, err := t.rdb.HMGet(ctx, progressKey(id), fields...).Result()
	if err != nil {
		return nil, fmt.Errorf("read skip reasons of run %s: %w", id, err)
	}
	out := map[SkipReason]int{}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			var n int
			if _, err := fmt.Sscan(s, &n); err == nil && n > 0 {
				out[reasons[i]] = n
			}
		}
	}
	return out, nil
}

// Progress returns the counters of a run and, in the same round trip,
// what its calls have cost so far (SpentUSD, nil when Redis holds no
// spend); false when Redis holds no counters (the run has not started,
// has finished, or Redis lost its state), with the spend all the same.
func (t *Tracker) Progress(ctx context.Context, id uuid.UUID) (Progress, bool, error) {
	pipe := t.rdb.Pipeline()
	counts := pipe.HMGet(ctx, progressKey(id), string(ExecSucceeded), string(ExecFailed), string(ExecCancelled), string(ExecSkipped), "done",
		"needs_judge", "judged", "unscored")
	spend := pipe.Get(ctx, SpendKey(id))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Progress{}, false, fmt.Errorf("read progress of run %s: %w", id, err)
	}
	var p Progress
	if v, err := spend.Float64(); err == nil {
		p.SpentUSD = &v
	}
	vals := counts.Val()
	if vals[4] == nil {
		return p, false, nil
	}
	var needs int
	for i, dst := range []*int{&p.Succeeded, &p.Failed, &p.Cancelled, &p.Skipped, &p.Answered, &needs, &p.Judged, &p.Unscored} {
		if s, ok := vals[i].(string); ok {
			_, _ = fmt.Sscan(s, dst)
		}
	}
	p.AwaitingJudgment = max(needs-p.Judged, 0)
	return p, true, nil
}

// UnitState is what a worker checks right before it calls a provider.
type UnitState struct {
	// Cancelled: the run's cancel flag is up.
	Cancelled bool
	// Recorded: the unit has an execution already.
	Recorded bool
	// Spend is what the run's calls have cost so far, in USD.
	Spend float64
	// Blocked is set when an earlier unit of the run found the unit's
	// provider or model unusable (see UnusableError).
	Blocked *Blocked
}

// Check reads, in one round trip, whether the run was cancelled, whether
// unit idx is already recorded, what the run has spent, and whether one
// of the given scopes (the unit's provider and model) is blocked.
func (t *Tracker) Check(ctx context.Context, id uuid.UUID, idx int, scopes ...string) (UnitState, error) {
	pipe := t.rdb.Pipeline()
	c := pipe.Exists(ctx, cancelKey(id))
	r := pipe.GetBit(ctx, doneKey(id), int64(idx))
	s := pipe.Get(ctx, SpendKey(id))
	b := hmget(ctx, pipe, id, scopes)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return UnitState{}, fmt.Errorf("check run %s unit %d: %w", id, idx, err)
	}
	st := UnitState{Cancelled: c.Val() == 1, Recorded: r.Val() == 1}
	if v, err := s.Float64(); err == nil {
		st.Spend = v
	}
	if b != nil {
		st.Blocked = blocked(b.Val())
	}
	return st, nil
}

// AddSpend adds a call's cost to the run's spend.
func (t *Tracker) AddSpend(ctx context.Context, id uuid.UUID, usd float64) error {
	pipe := t.rdb.TxPipeline()
	pipe.IncrByFloat(ctx, SpendKey(id), usd)
	pipe.Expire(ctx, SpendKey(id), progressTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("add spend of run %s: %w", id, err)
	}
	return nil
}

// Spend returns what the run's calls have cost so far, and false when Redis
// holds no spend for it.
func (t *Tracker) Spend(ctx context.Context, id uuid.UUID) (float64, bool, error) {
	v, err := t.rdb.Get(ctx, SpendKey(id)).Float64()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read spend of run %s: %w", id, err)
	}
	return v, true, nil
}

// Cancel raises the run's cancel flag, which every worker checks right
// before it calls a provider.
func (t *Tracker) Cancel(ctx context.Context, id uuid.UUID) error {
	if err := t.rdb.Set(ctx, cancelKey(id), 1, progressTTL).Err(); err != nil {
		return fmt.Errorf("flag run %s cancelled: %w", id, err)
	}
	return nil
}

// Forget drops a finished run's in-flight state.
func (t *Tracker) Forget(ctx context.Context, id uuid.UUID) error {
	return t.rdb.Del(ctx, forgetKeys(id)...).Err()
}

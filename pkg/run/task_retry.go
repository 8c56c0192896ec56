package run

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/asynqbatch"
	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/tracing"
)

// TypeRetryFailed re-executes the units of a finished run that failed for
// good (POST /v1/runs/{id}/retry-failed), then lets the run finalize again.
const TypeRetryFailed = "run:retry-failed"

// RedoStore is the persistence rescore and retry-failed need; pkg/store
// implements it.
type RedoStore interface {
	// StartRetry opens a new retry round of a finished run, in one
	// transaction: it deletes the executions of the units that failed for
	// good (no evaluation belongs to them; succeeded rows are never
	// touched), undoes what finalizing wrote (outcomes, rankings, the
	// question tallies; the rollups are invalidated), moves the run back to
	// running with retry_round + 1 and audits the request. fault.NotFound
	// when there is no such run; fault.Conflict when the run is queued or
	// running, was cancelled, has no failed units, or is being rescored.
	StartRetry(ctx context.Context, id uuid.UUID) (*Run, error)
	// RescoreBasis returns what RequestRescore decides from; fault.NotFound
	// when there is no such run.
	RescoreBasis(ctx context.Context, id uuid.UUID) (*RescoreBasis, error)
	// CreateRescore creates the run's next scoring version with the given
	// rules, in one transaction that locks the run: fault.Conflict when the
	// run is not final or a rescore of it is running. When the run's
	// current version has the same fingerprint (a request that raced
	// another) it returns that version with Created false.
	CreateRescore(ctx context.Context, runID uuid.UUID, nr NewRescore) (*Rescore, error)
}

// RedoDeps are what RequestRescore and RequestRetryFailed work with.
type RedoDeps struct {
	Store RedoStore
	Queue Enqueuer
}

// RequestRetryFailed opens a retry round of a finished run and queues its
// run:retry-failed task; it returns the run, running again. fault.Conflict
// (409) unless the run is final (and not cancelled), has units that
// failed for good and is not being rescored. When the task cannot be
// queued the round stays open and the answer is fault.Unavailable: the
// reconciler restarts a running run without progress, which executes the
// deleted units again, so nothing is lost.
func RequestRetryFailed(ctx context.Context, d RedoDeps, runID uuid.UUID) (*Run, error) {
	r, err := d.Store.StartRetry(ctx, runID)
	if err != nil {
		return nil, err
	}
	if err := Enqueue(ctx, d.Queue, NewRetryFailedTask(r.ID, r.RetryRound)); err != nil {
		return nil, fault.Unavailable("the retry of run %s was opened but its task could not be queued (%v): the reconciler resumes it", r.ID, err)
	}
	return r, nil
}

type roundPayload struct {
	RunID uuid.UUID `json:"run_id"`
	Round int       `json:"round"`
}

// NewRetryFailedTask builds the run:retry-failed task of a run's retry
// round, on the control queue; its id, "retry:<run>:<round>", makes a
// round's task unique.
func NewRetryFailedTask(runID uuid.UUID, round int) *asynq.Task {
	payload, _ := json.Marshal(roundPayload{RunID: runID, Round: round})
	return asynq.NewTask(TypeRetryFailed, payload,
		asynq.TaskID("retry:"+runID.String()+":"+itoa(round)),
		asynq.Queue(QueueControl),
		asynq.MaxRetry(25),
		asynq.Timeout(30*time.Minute))
}

// NewRetryExecuteTask is the execution:run task of unit idx in retry round
// round: the payload of NewExecuteTask plus the round, under an id of its
// own ("exec:<run>:<unit>:r<round>") so it never collides with the unit's
// task of an earlier round. The round in the payload tells a worker whose
// snapshot cache still holds the run as finished to load it again.
func NewRetryExecuteTask(ctx context.Context, runID uuid.UUID, idx, round int, queue string) *asynq.Task {
	return executeTask(executePayload{RunID: runID, Unit: idx, Round: round, Trace: tracing.Inject(ctx)}).Asynq(queue)
}

// FinalizeTaskID is the id of a run's run:finalize task in retry round
// round: "finalize:<run>" for the run's first finalization, with ":<round>"
// after it for the later ones.
func FinalizeTaskID(runID uuid.UUID, round int) string {
	if round == 0 {
		return "finalize:" + runID.String()
	}
	return "finalize:" + runID.String() + ":" + itoa(round)
}

// NewFinalizeRoundTask is NewFinalizeTask for retry round round.
func NewFinalizeRoundTask(ctx context.Context, runID uuid.UUID, round int) *asynq.Task {
	payload, _ := json.Marshal(runPayload{RunID: runID, Trace: tracing.Inject(ctx)})
	return asynq.NewTask(TypeFinalize, payload,
		asynq.TaskID(FinalizeTaskID(runID, round)),
		asynq.Queue(QueueControl),
		asynq.MaxRetry(25),
		asynq.Timeout(10*time.Minute))
}

// HandleRetryFailed fans a retry round out: the units without an execution
// (the ones StartRetry deleted) are enqueued under the round's task ids;
// the others are marked recorded in the tracker, which finalization counts
// on. It can run again at any point; a task of an older round, or of a
// run that finished meanwhile, does nothing. The tested model is never
// called for a unit that has an execution.
func (h *Handlers) HandleRetryFailed(ctx context.Context, t *asynq.Task) error {
	var p roundPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	r, err := h.store.GetRun(ctx, p.RunID)
	if err != nil {
		return skipIfGone(fmt.Errorf("retry run %s: %w", p.RunID, err))
	}
	if r.Status.Final() || r.RetryRound != p.Round {
		return nil
	}
	// This worker may hold the run as it was before the round, and the
	// tracker what finalizing did not forget of it: a unit bit left set
	// would never run, a provider blocked in the last round (a key since
	// replaced) would fail its units again without a call.
	h.cache.drop(r.ID)
	if err := h.tracker.Forget(ctx, r.ID); err != nil {
		return err
	}
	snap, err := h.cache.get(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("retry run %s: %w", r.ID, err)
	}
	if _, ok, err := h.tracker.Spend(ctx, r.ID); err != nil {
		return err
	} else if !ok && r.CostUSD > 0 {
		// Finalizing forgot the run's spend: its max_cost_usd still counts
		// what the earlier rounds cost.
		if err := h.tracker.AddSpend(ctx, r.ID, r.CostUSD); err != nil {
			return err
		}
	}
	pending, err := h.pendingUnits(ctx, r, snap)
	if err != nil {
		return fmt.Errorf("retry run %s: %w", r.ID, err)
	}
	if err := h.seedJudging(ctx, r, snap); err != nil {
		return fmt.Errorf("retry run %s: %w", r.ID, err)
	}
	h.log.InfoContext(ctx, "run retrying failed units", "run_id", r.ID, "round", p.Round, "units", pending.n)
	if pending.n == 0 {
		return Enqueue(ctx, h.queue, NewFinalizeRoundTask(ctx, r.ID, p.Round))
	}
	trace := tracing.Inject(ctx)
	_, err = h.enqueueAll(ctx, UnitQueue(r), pending.all(), func(i int) asynqbatch.Task {
		return executeTask(executePayload{RunID: r.ID, Unit: i, Round: p.Round, Trace: trace})
	})
	return err
}

// pendingSet is the units of a run still to execute: those not recorded.
type pendingSet struct {
	// recorded marks the recorded units by index, nil when none is.
	recorded []bool
	// total is the run's units; n is how many of them are pending.
	total, n int
}

// all yields the pending units' indexes in order.
func (p pendingSet) all() iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range p.total {
			if (p.recorded == nil || !p.recorded[i]) && !yield(i) {
				return
			}
		}
	}
}

// pendingUnits marks the run's recorded units in the tracker (which
// finalization counts on) and returns the others, the units still to
// execute: a bit a unit, not a list, however big the run.
func (h *Handlers) pendingUnits(ctx context.Context, r *Run, snap *cachedSnapshot) (pendingSet, error) {
	total := snap.total()
	recorded, err := h.store.RecordedUnits(ctx, r)
	if err != nil || len(recorded) == 0 {
		return pendingSet{total: total, n: total}, err
	}
	p := pendingSet{recorded: make([]bool, total), total: total, n: total}
	for _, k := range recorded {
		idx, ok := snap.index(k)
		if !ok || p.recorded[idx] {
			continue
		}
		p.recorded[idx] = true
		p.n--
		if _, _, err := h.tracker.Record(ctx, r.ID, idx, ExecSucceeded); err != nil {
			return pendingSet{}, err
		}
	}
	return p, nil
}

// seedJudging tells the tracker, from PostgreSQL, which of the run's
// succeeded units need a verdict at its scoring version and which have
// one, as their tasks told it before finalizing forgot the run: the
// counts the last retried answer or verdict compares to finalize the run
// at once (Tracker.JudgeState), and the bits that keep a duplicated judge
// task from judging again.
func (h *Handlers) seedJudging(ctx context.Context, r *Run, snap *cachedSnapshot) error {
	if len(snap.judged) == 0 {
		return nil
	}
	version := max(r.ScoringVersion, 1)
	units, err := h.store.JudgingUnits(ctx, r, snap.judged, version)
	if err != nil {
		return err
	}
	var needs, judged, unscored []int
	for _, u := range units {
		idx, ok := snap.index(u.Key)
		if !ok {
			continue
		}
		needs = append(needs, idx)
		if u.Judged {
			judged = append(judged, idx)
			if u.Unscored {
				unscored = append(unscored, idx)
			}
		}
	}
	return h.tracker.seedJudging(ctx, r.ID, version, needs, judged, unscored)
}

// seedJudging sets the needs-judge bits of units needs and the judged
// bits (at version) of units judged, and counts in the run's progress the
// bits it set that were not set already (so a unit a task counted
// meanwhile counts once); unscored are the judged units whose verdict is
// unscored.
func (t *Tracker) seedJudging(ctx context.Context, id uuid.UUID, version int, needs, judged, unscored []int) error {
	pipe := t.rdb.Pipeline()
	// Finalizing forgot only version 1's judged bits; a rescore's judge
	// tasks set the current version's on the finished run.
	pipe.Del(ctx, judgedKey(id, version))
	setBits := func(key string, idx []int) []*redis.IntCmd {
		cmds := make([]*redis.IntCmd, len(idx))
		for i, n := range idx {
			cmds[i] = pipe.SetBit(ctx, key, int64(n), 1)
		}
		pipe.Expire(ctx, key, progressTTL)
		return cmds
	}
	n := setBits(needsKey(id), needs)
	j := setBits(judgedKey(id, version), judged)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("seed judging of run %s: %w", id, err)
	}
	isUnscored := make(map[int]bool, len(unscored))
	for _, i := range unscored {
		isUnscored[i] = true
	}
	var newNeeds, newJudged, newUnscored int64
	for _, c := range n {
		if c.Val() == 0 {
			newNeeds++
		}
	}
	for i, c := range j {
		if c.Val() == 0 {
			newJudged++
			if isUnscored[judged[i]] {
				newUnscored++
			}
		}
	}
	pipe = t.rdb.TxPipeline()
	pipe.HIncrBy(ctx, progressKey(id), "needs_judge", newNeeds)
	pipe.HIncrBy(ctx, progressKey(id), "judged", newJudged)
	pipe.HIncrBy(ctx, progressKey(id), "unscored", newUnscored)
	pipe.Expire(ctx, progressKey(id), progressTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("seed judging of run %s: %w", id, err)
	}
	return nil
}

// reopened returns the snapshot of a run this worker holds as finished
// when a retry round has reopened it since (the cached one dropped), and
// nil when the run is finished or the tracker does not show every unit
// recorded and judged (st, read when nil): only then can a judge task of
// the round have to finalize it, so a rescore's judge tasks on a finished
// run do not read the run from PostgreSQL each.
func (h *Handlers) reopened(ctx context.Context, snap *cachedSnapshot, st *JudgeState) (*cachedSnapshot, error) {
	if st == nil {
		s, err := h.tracker.JudgeState(ctx, snap.Run.ID)
		if err != nil {
			return nil, err
		}
		st = &s
	}
	if !st.Complete(snap.total()) {
		return nil, nil
	}
	r, err := h.store.GetRun(ctx, snap.Run.ID)
	if err != nil {
		return nil, err
	}
	if r.Status.Final() || r.RetryRound <= snap.Run.RetryRound {
		return nil, nil
	}
	h.cache.drop(r.ID)
	return h.cache.get(ctx, r.ID)
}

package maintenance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/fault"
	"github.com/sabe-dev/sabe/pkg/run"
)

// Store is the persistence the reconciler needs; pkg/store implements it.
type Store interface {
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

// Options tune the reconciler; zero values take the defaults.
type Options struct {
	// Interval is how often each worker tries to take the lease and make a
	// pass (default 30s). The fleet as a whole makes about one pass per
	// interval: a pass started less than half an interval ago anywhere
	// makes the others skip.
	Interval time.Duration
	// Stall is how long a running run's progress may stand still before
	// its start is run again (default 2m).
	Stall time.Duration
	// QueuedGrace is how old a queued run with no start task must be before
	// it is started: the api enqueues right after its commit (default 5s).
	QueuedGrace time.Duration
	// DeadlineGrace is how long after a run's deadline its missing units
	// are recorded skipped: calls are cut at the deadline, and the units in
	// flight then need a moment to record (default 10s).
	DeadlineGrace time.Duration
	// Retention is the age after which the executions and evaluations of
	// finished runs are deleted; 0 keeps them forever.
	Retention time.Duration
	// RetentionBatch is how many rows one delete removes (default 5000).
	RetentionBatch int
	// RetentionInterval is how often retention runs (default 1h).
	RetentionInterval time.Duration
	// RetentionBatchesPerPass bounds one pass's deletes; the rest waits for
	// the next pass, so the lease never stays taken for long (default 200).
	RetentionBatchesPerPass int
	// AuditRetention is the age after which audit rows are deleted, in the
	// same passes and batches as the raw rows; 0 keeps them forever.
	AuditRetention time.Duration
	// LeaseTTL is how long a dead holder keeps the lease (default 15s).
	LeaseTTL time.Duration
	// RunsPerPass bounds the unfinished runs one pass looks at; the next
	// pass goes on from where this one stopped (default 1000).
	RunsPerPass int
	// ArchivedPerQueue bounds the archived tasks one pass reads per unit
	// queue, newest first (default 1000).
	ArchivedPerQueue int
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Interval, 30*time.Second)
	def(&o.Stall, 2*time.Minute)
	def(&o.QueuedGrace, 5*time.Second)
	def(&o.DeadlineGrace, 10*time.Second)
	def(&o.RetentionInterval, time.Hour)
	def(&o.LeaseTTL, 15*time.Second)
	if o.RetentionBatch <= 0 {
		o.RetentionBatch = 5000
	}
	if o.RetentionBatchesPerPass <= 0 {
		o.RetentionBatchesPerPass = 200
	}
	if o.RunsPerPass <= 0 {
		o.RunsPerPass = 1000
	}
	if o.ArchivedPerQueue <= 0 {
		o.ArchivedPerQueue = 1000
	}
	return o
}

// Deps are what the reconciler works with; all are required.
type Deps struct {
	Store Store
	// Redis is the connection asynq uses: the reconciler inspects the
	// queues through it and keeps its own keys there.
	Redis   redis.UniversalClient
	Queue   run.Enqueuer
	Tracker *run.Tracker
	Log     *slog.Logger
}

// Redis keys of the maintenance loop. They vanish with the rest of Redis,
// which is what lets a pass tell that Redis lost its state.
const (
	leaseKey     = "sabe:maintenance:lease"
	epochKey     = "sabe:maintenance:epoch"
	reconciledAt = "sabe:maintenance:reconciled"
	retainedAt   = "sabe:maintenance:retained"
	cursorKey    = "sabe:maintenance:cursor"
)

// seenKey holds the last done-count a pass saw for a running run and when
// it last changed, so that stall detection survives the lease moving
// between workers.
func seenKey(id uuid.UUID) string { return "sabe:maintenance:run:" + id.String() }

// seenTTL keeps a run's stall state well past any sensible stall time.
const seenTTL = 24 * time.Hour

// Reconciler is the maintenance loop of one worker. Start it once; Stop
// ends it.
type Reconciler struct {
	store   Store
	rdb     redis.UniversalClient
	queue   run.Enqueuer
	tracker *run.Tracker
	insp    *asynq.Inspector
	log     *slog.Logger
	opts    Options

	// now is the clock; tests move it.
	now func() time.Time
	// onLocked, when set, is called with the lease held, before the pass.
	onLocked func()
	// passes counts the passes made with the lease held.
	passes atomic.Int64

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Reconciler.
func New(d Deps, o Options) *Reconciler {
	return &Reconciler{
		store: d.Store, rdb: d.Redis, queue: d.Queue, tracker: d.Tracker,
		insp: asynq.NewInspectorFromRedisClient(d.Redis), log: d.Log, opts: o.withDefaults(),
		now: time.Now,
	}
}

// Start makes a pass at once and then every interval, until ctx is done or
// Stop is called. It fails when the reconciler is already started.
func (r *Reconciler) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return errors.New("reconciler: already started")
	}
	ctx, cancel := context.WithCancel(ctx)
	r.cancel, r.done = cancel, make(chan struct{})
	go r.loop(ctx, r.done)
	return nil
}

// Stop ends the loop and waits for a pass under way to stop (its context
// is cancelled; every step is safe to cut short). It is safe to call twice,
// and before Start.
func (r *Reconciler) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.cancel, r.done = nil, nil
}

func (r *Reconciler) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	for {
		if _, err := r.pass(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("maintenance pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pass takes the lease and, when it is due, reconciles and applies
// retention. It reports whether it held the lease.
func (r *Reconciler) pass(ctx context.Context) (bool, error) {
	l, ctx, ok, err := acquireLease(ctx, r.rdb, leaseKey, r.opts.LeaseTTL)
	if err != nil || !ok {
		return false, err
	}
	defer l.release()
	r.passes.Add(1)
	if r.onLocked != nil {
		r.onLocked()
	}
	var errs []error
	if due, err := r.due(ctx, reconciledAt, r.opts.Interval/2); err != nil {
		errs = append(errs, err)
	} else if due {
		errs = append(errs, r.reconcile(ctx), r.refreshRollups(ctx))
	}
	if r.opts.Retention > 0 || r.opts.AuditRetention > 0 {
		if due, err := r.due(ctx, retainedAt, r.opts.RetentionInterval); err != nil {
			errs = append(errs, err)
		} else if due {
			res, err := r.retain(ctx)
			errs = append(errs, err)
			if res.More {
				// Not all expired rows fit in this pass: the next one goes on.
				_ = r.rdb.Del(ctx, retainedAt).Err()
			}
		}
	}
	return true, errors.Join(errs...)
}

// maxRefreshesPerPass bounds the rollup refresh batches of one pass, so
// that the lease never stays taken for long; the rest waits a pass.
const maxRefreshesPerPass = 10

// refreshRollups brings the rollups up to date with the runs finished
// since the last pass.
func (r *Reconciler) refreshRollups(ctx context.Context) error {
	for range maxRefreshesPerPass {
		res, err := r.store.RefreshRollups(ctx)
		if err != nil {
			return fmt.Errorf("refresh rollups: %w", err)
		}
		if res.Runs > 0 {
			r.log.Debug("rollups refreshed", "runs", res.Runs, "buckets", res.Buckets)
		}
		if !res.More || ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

// due marks a step done now, fleet-wide, and reports whether it was due:
// false when it ran anywhere less than every ago.
func (r *Reconciler) due(ctx context.Context, key string, every time.Duration) (bool, error) {
	ok, err := r.rdb.SetNX(ctx, key, r.now().UnixMilli(), every).Result()
	if err != nil {
		return false, fmt.Errorf("mark %s: %w", key, err)
	}
	return ok, nil
}

// reconcile makes one reconciliation pass: archived units first, so that
// the runs they complete are finalized by the per-run steps that follow.
func (r *Reconciler) reconcile(ctx context.Context) error {
	// The epoch key is set on every pass and never expires: when it is
	// missing, Redis lost its state (or this is the first pass ever), and
	// every running run is restored at once rather than after the stall
	// time.
	set, err := r.rdb.SetNX(ctx, epochKey, r.now().UnixMilli(), 0).Result()
	if err != nil {
		return fmt.Errorf("read maintenance epoch: %w", err)
	}
	lost := set
	var errs []error
	if err := r.archivedUnits(ctx); err != nil {
		errs = append(errs, err)
	}
	runs, err := r.nextRuns(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, rn := range runs {
		if ctx.Err() != nil {
			break
		}
		if err := r.reconcileRun(ctx, rn, lost); err != nil {
			errs = append(errs, fmt.Errorf("reconcile run %s: %w", rn.ID, err))
		}
	}
	return errors.Join(errs...)
}

// nextRuns returns the unfinished runs this pass looks at: up to
// RunsPerPass after the cursor the previous pass left in Redis.
func (r *Reconciler) nextRuns(ctx context.Context) ([]*run.Run, error) {
	var after *uuid.UUID
	if s, err := r.rdb.Get(ctx, cursorKey).Result(); err == nil {
		if id, err := uuid.Parse(s); err == nil {
			after = &id
		}
	} else if !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read maintenance cursor: %w", err)
	}
	var out []*run.Run
	for len(out) < r.opts.RunsPerPass {
		page, err := r.store.UnfinishedRuns(ctx, after, min(200, r.opts.RunsPerPass-len(out)))
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) == 0 || len(out) >= r.opts.RunsPerPass {
			break
		}
		after = &page[len(page)-1].ID
	}
	if len(out) < r.opts.RunsPerPass {
		// The end was reached: the next pass starts from the first run.
		return out, r.rdb.Del(ctx, cursorKey).Err()
	}
	return out, r.rdb.Set(ctx, cursorKey, out[len(out)-1].ID.String(), 0).Err()
}

// deadlineReason is the error recorded on units skipped at the deadline.
const deadlineReason = "run deadline reached before this unit was called"

func (r *Reconciler) reconcileRun(ctx context.Context, rn *run.Run, lost bool) error {
	now := r.now()
	if rn.DeadlineAt != nil && !now.Before(rn.DeadlineAt.Add(r.opts.DeadlineGrace)) {
		n, err := r.store.SkipMissingUnits(ctx, rn, deadlineReason)
		if err != nil {
			return err
		}
		if n > 0 {
			r.log.Info("run past its deadline: missing units recorded skipped", "run_id", rn.ID, "skipped", n)
		}
		return r.ensure(ctx, run.NewFinalizeTask(rn.ID), "finalize:"+rn.ID.String(), rn.ID)
	}
	switch rn.Status {
	case run.StatusQueued:
		if now.Sub(rn.CreatedAt) < r.opts.QueuedGrace {
			return nil
		}
		return r.ensure(ctx, run.NewStartTask(rn.ID), "run:"+rn.ID.String(), rn.ID)
	case run.StatusRunning:
		return r.reconcileRunning(ctx, rn, lost, now)
	}
	return nil
}

// reconcileRunning restores a running run whose progress was lost or
// stalled, and finalizes it when every unit is recorded.
func (r *Reconciler) reconcileRunning(ctx context.Context, rn *run.Run, lost bool, now time.Time) error {
	p, ok, err := r.tracker.Progress(ctx, rn.ID)
	if err != nil {
		return err
	}
	done := -1
	if ok {
		done = p.Done()
	}
	seenDone, seenAt, seen, err := r.readSeen(ctx, rn.ID)
	if err != nil {
		return err
	}
	var why string
	switch {
	case lost:
		why = "redis lost its state"
	case !seen || seenDone != done:
		// First sight, or progress moved: the stall clock restarts.
	case now.Sub(seenAt) >= r.opts.Stall:
		why = "progress stalled"
	}
	if why != "" || !seen || seenDone != done {
		if err := r.writeSeen(ctx, rn.ID, done, now); err != nil {
			return err
		}
	}
	if why == "" && (done < rn.Total()) {
		return nil
	}
	counts, err := r.store.Counts(ctx, rn)
	if err != nil {
		return err
	}
	if counts.Done() >= rn.Total() {
		return r.ensure(ctx, run.NewFinalizeTask(rn.ID), "finalize:"+rn.ID.String(), rn.ID)
	}
	if why == "" {
		// Redis counts every unit while PostgreSQL misses some: recordings
		// still in flight. The stall clock covers a real discrepancy.
		return nil
	}
	r.log.Info("restoring run", "run_id", rn.ID, "reason", why, "recorded", counts.Done(), "total", rn.Total())
	if err := r.restoreSpend(ctx, rn); err != nil {
		return err
	}
	return r.ensure(ctx, run.NewStartTask(rn.ID), "run:"+rn.ID.String(), rn.ID)
}

// raiseScript raises a float counter to at least ARGV[1], by increment so
// that concurrent INCRBYFLOATs are not lost, and refreshes its TTL.
var raiseScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
if cur < floor then
  redis.call('INCRBYFLOAT', KEYS[1], floor - cur)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// spendTTL matches the tracker's lifetime of a run's keys.
const spendTTL = 7 * 24 * time.Hour

// restoreSpend raises the run's spend counter to at least what its recorded
// executions cost. Every call's cost is added before its unit is recorded,
// so an intact counter is never below that sum; a lost one is rebuilt from
// it (calls that were paid for but not recorded are lost with Redis).
func (r *Reconciler) restoreSpend(ctx context.Context, rn *run.Run) error {
	cost, err := r.store.RecordedCost(ctx, rn)
	if err != nil || cost <= 0 {
		return err
	}
	n, err := raiseScript.Run(ctx, r.rdb, []string{run.SpendKey(rn.ID)}, strconv.FormatFloat(cost, 'g', -1, 64), spendTTL.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("restore spend of run %s: %w", rn.ID, err)
	}
	if n == 1 {
		r.log.Info("run spend restored from recorded executions", "run_id", rn.ID, "cost_usd", cost)
	}
	return nil
}

func (r *Reconciler) readSeen(ctx context.Context, id uuid.UUID) (done int, at time.Time, ok bool, err error) {
	vals, err := r.rdb.HMGet(ctx, seenKey(id), "done", "at").Result()
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("read stall state of run %s: %w", id, err)
	}
	ds, ok1 := vals[0].(string)
	as, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return 0, time.Time{}, false, nil
	}
	d, err1 := strconv.Atoi(ds)
	ms, err2 := strconv.ParseInt(as, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, time.Time{}, false, nil
	}
	return d, time.UnixMilli(ms), true, nil
}

func (r *Reconciler) writeSeen(ctx context.Context, id uuid.UUID, done int, at time.Time) error {
	pipe := r.rdb.TxPipeline()
	pipe.HSet(ctx, seenKey(id), "done", done, "at", at.UnixMilli())
	pipe.Expire(ctx, seenKey(id), seenTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("write stall state of run %s: %w", id, err)
	}
	return nil
}

// ensure makes sure a lifecycle task with the given id is in Redis: it
// enqueues it when missing, and when it is archived (retries used up) or
// completed its id is still taken, so that one is deleted first.
func (r *Reconciler) ensure(ctx context.Context, task *asynq.Task, id string, runID uuid.UUID) error {
	info, err := r.insp.GetTaskInfo(run.QueueControl, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
	case err != nil:
		return fmt.Errorf("look up task %s: %w", id, err)
	case info.State == asynq.TaskStateArchived || info.State == asynq.TaskStateCompleted:
		if err := r.insp.DeleteTask(run.QueueControl, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return fmt.Errorf("delete %s task %s: %w", info.State, id, err)
		}
	default:
		return nil
	}
	if err := run.Enqueue(ctx, r.queue, task); err != nil {
		return err
	}
	r.log.Info("reconciler enqueued a missing task", "run_id", runID, "type", task.Type(), "task_id", id)
	return nil
}

// unitPayload is the part of an execution:run payload the reconciler reads.
type unitPayload struct {
	RunID uuid.UUID `json:"run_id"`
	Unit  int       `json:"unit"`
}

type archivedUnit struct {
	queue string
	info  *asynq.TaskInfo
	unit  int
}

// archivePageSize is how many archived tasks one listing call reads.
const archivePageSize = 100

// archivedUnits records the units whose tasks were archived (retries used
// up, or a non-retryable error) as failed for good, and deletes those
// tasks, so that their runs finish instead of waiting for their deadline.
func (r *Reconciler) archivedUnits(ctx context.Context) error {
	byRun := map[uuid.UUID][]archivedUnit{}
	for q := range run.Queues() {
		if q == run.QueueControl {
			continue
		}
		// Listing first and acting after: deleting while paging would
		// shift the pages under the listing.
		for page := 1; (page-1)*archivePageSize < r.opts.ArchivedPerQueue; page++ {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			tasks, err := r.insp.ListArchivedTasks(q, asynq.PageSize(archivePageSize), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				break
			}
			if err != nil {
				return fmt.Errorf("list archived tasks of queue %s: %w", q, err)
			}
			for _, t := range tasks {
				var p unitPayload
				if t.Type != run.TypeExecute || json.Unmarshal(t.Payload, &p) != nil || p.RunID == uuid.Nil {
					continue
				}
				byRun[p.RunID] = append(byRun[p.RunID], archivedUnit{queue: q, info: t, unit: p.Unit})
			}
			if len(tasks) < archivePageSize {
				break
			}
		}
	}
	var errs []error
	for id, units := range byRun {
		if err := r.failArchived(ctx, id, units); err != nil {
			errs = append(errs, fmt.Errorf("archived units of run %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// maxErrorLen bounds the last error copied into an execution.
const maxErrorLen = 2000

func (r *Reconciler) failArchived(ctx context.Context, id uuid.UUID, units []archivedUnit) error {
	snap, err := r.store.LoadSnapshot(ctx, id)
	if fault.KindOf(err) == fault.KindNotFound {
		// The run was deleted: nothing waits for these units.
		return nil
	}
	if err != nil {
		return err
	}
	rn := snap.Run
	if rn.Status.Final() {
		// Nothing waits for it; the task stays visible in asynqmon.
		return nil
	}
	q, s := len(snap.Questions), rn.Samples
	total := len(snap.Models) * q * s
	done, recorded, first := 0, 0, ""
	// One line per run and pass, not per unit: a provider that failed
	// every unit would otherwise log as many identical lines as units.
	defer func() {
		if recorded > 0 {
			r.log.Warn("archived units recorded failed", "run_id", rn.ID, "units", recorded, "first_error", first)
		}
	}()
	for _, au := range units {
		if au.unit < 0 || au.unit >= total {
			continue
		}
		u := run.UnitAt(au.unit, q, s)
		m, qu := snap.Models[u.Model], snap.Questions[u.Question]
		msg := au.info.LastErr
		if len(msg) > maxErrorLen {
			msg = msg[:maxErrorLen]
		}
		e := &run.Execution{
			RunID: rn.ID, RunCreatedAt: rn.CreatedAt, BenchmarkID: rn.BenchmarkID,
			ModelID: m.ModelID, QuestionID: qu.QuestionID, QuestionRevisionID: qu.RevisionID, Sample: u.Sample,
			Category: qu.Category, Status: run.ExecFailed, Attempts: au.info.Retried + 1, FinishedAt: r.now().UTC(),
			Error: fmt.Sprintf("task archived after %d attempts: %s", au.info.Retried+1, msg),
		}
		if _, err := r.store.RecordExecution(ctx, e); err != nil {
			return err
		}
		n, _, err := r.tracker.Record(ctx, rn.ID, au.unit, run.ExecFailed)
		if err != nil {
			return err
		}
		done = max(done, n)
		if err := r.insp.DeleteTask(au.queue, au.info.ID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return fmt.Errorf("delete archived task %s: %w", au.info.ID, err)
		}
		if recorded++; recorded == 1 {
			first = msg
		}
	}
	if done >= total {
		return r.ensure(ctx, run.NewFinalizeTask(rn.ID), "finalize:"+rn.ID.String(), rn.ID)
	}
	return nil
}

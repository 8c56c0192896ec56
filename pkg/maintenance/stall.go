package maintenance

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/run"
)

// seenKey holds the last done-count a pass saw for a running run and when
// it last changed, so that stall detection survives the lease moving
// between workers.
func seenKey(id uuid.UUID) string { return "sabe:maintenance:run:" + id.String() }

// seenTTL keeps a run's stall state well past any sensible stall time.
const seenTTL = 24 * time.Hour

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
	case now.Sub(seenAt) >= r.cfg.Stall:
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
	if err := r.ensureJudging(ctx, rn); err != nil {
		return err
	}
	if counts.Done() >= rn.Total() {
		return r.ensure(ctx, run.NewFinalizeRoundTask(ctx, rn.ID, rn.RetryRound), run.FinalizeTaskID(rn.ID, rn.RetryRound), rn.ID)
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
	return r.ensure(ctx, run.NewStartTask(ctx, rn.ID), "run:"+rn.ID.String(), rn.ID)
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

// maxJudgeHeal bounds the judge tasks one pass ensures for one run.
const maxJudgeHeal = 500

// ensureJudging makes sure every answer of the run that waits for its
// verdict has its evaluation:judge task: a worker that died between
// recording an answer and enqueuing its judging left it without one.
func (r *Reconciler) ensureJudging(ctx context.Context, rn *run.Run) error {
	snap, err := r.store.LoadSnapshot(ctx, rn.ID)
	if err != nil {
		return err
	}
	judged := run.JudgedQuestions(snap)
	if len(judged) == 0 {
		return nil
	}
	version := max(rn.ScoringVersion, 1)
	units, err := r.store.UnjudgedUnits(ctx, rn, judged, version, maxJudgeHeal)
	if err != nil {
		return err
	}
	queue := run.UnitQueue(rn)
	var missing []run.UnitKey
	for _, k := range units {
		if idx, ok := run.UnitIndexOf(snap, k); ok {
			gone, err := r.missing(queue, run.JudgeTaskID(rn.ID, idx, version))
			if err != nil {
				return err
			}
			if gone {
				missing = append(missing, k)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// A task found gone may have just finished, its verdict committed
	// after the list above was read: ask again, and heal only the answers
	// still without a verdict.
	still, err := r.store.UnjudgedUnits(ctx, rn, judged, version, maxJudgeHeal)
	if err != nil {
		return err
	}
	for _, k := range missing {
		if !slices.Contains(still, k) {
			continue
		}
		idx, _ := run.UnitIndexOf(snap, k)
		if err := r.enqueueMissing(ctx, run.NewJudgeTask(rn.ID, idx, version, queue), run.JudgeTaskID(rn.ID, idx, version), rn.ID); err != nil {
			return err
		}
	}
	return nil
}

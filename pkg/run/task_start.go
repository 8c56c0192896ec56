package run

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/asynqbatch"
	"github.com/sabe-dev/sabe/internal/tracing"
)

// TypeStart fans a run out into one execution:run task per unit.
const TypeStart = "run:start"

// NewStartTask builds the run:start task for a run. Its id is the run id, so
// a run is started at most once at a time however often it is enqueued.
// The task carries the trace of ctx's span (the API request that created
// the run), so the run's tasks are one trace with it.
func NewStartTask(ctx context.Context, runID uuid.UUID) *asynq.Task {
	return newRunTask(ctx, TypeStart, "run:", runID, 30*time.Minute)
}

// HandleStart marks the run running and enqueues every unit not yet
// recorded. It can be re-run at any point: recorded units are skipped and
// enqueuing a unit whose task exists is a no-op.
func (h *Handlers) HandleStart(ctx context.Context, t *asynq.Task) error {
	var p runPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	r, err := h.store.MarkRunning(ctx, p.RunID)
	if err != nil {
		return skipIfGone(fmt.Errorf("start run %s: %w", p.RunID, err))
	}
	if r.Status.Final() {
		return nil
	}
	if r.CancelRequestedAt != nil {
		if err := h.tracker.Cancel(ctx, r.ID); err != nil {
			return err
		}
	}
	snap, err := h.cache.get(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("start run %s: %w", r.ID, err)
	}
	// Units recorded before (a re-run after a crash, or after Redis lost its
	// state) are marked in the tracker and not enqueued again.
	pending, err := h.pendingUnits(ctx, r, snap)
	if err != nil {
		return fmt.Errorf("start run %s: %w", r.ID, err)
	}
	total := snap.total()
	h.log.InfoContext(ctx, "run started", "run_id", r.ID, "units", total, "pending", pending.n)
	if pending.n == 0 {
		return Enqueue(ctx, h.queue, NewFinalizeRoundTask(ctx, r.ID, r.RetryRound))
	}
	began := h.cfg.Now()
	// A retry round restarted (by the reconciler) has its round in the
	// units' tasks.
	trace := tracing.Inject(ctx)
	added, err := h.enqueueAll(ctx, UnitQueue(r), pending.all(), func(i int) asynqbatch.Task {
		return executeTask(executePayload{RunID: r.ID, Unit: i, Round: r.RetryRound, Trace: trace})
	})
	if err != nil {
		return fmt.Errorf("start run %s: %w", r.ID, err)
	}
	h.log.InfoContext(ctx, "run fanned out", "run_id", r.ID, "units", pending.n, "enqueued", added,
		"seconds", h.cfg.Now().Sub(began).Seconds())
	return nil
}

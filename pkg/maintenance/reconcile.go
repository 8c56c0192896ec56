package maintenance

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/run"
)

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
	for len(out) < r.cfg.RunsPerPass {
		page, err := r.store.UnfinishedRuns(ctx, after, min(200, r.cfg.RunsPerPass-len(out)))
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) == 0 || len(out) >= r.cfg.RunsPerPass {
			break
		}
		after = &page[len(page)-1].ID
	}
	if len(out) < r.cfg.RunsPerPass {
		// The end was reached: the next pass starts from the first run.
		return out, r.rdb.Del(ctx, cursorKey).Err()
	}
	return out, r.rdb.Set(ctx, cursorKey, out[len(out)-1].ID.String(), 0).Err()
}

// deadlineReason is the error recorded on units skipped at the deadline.
const deadlineReason = "run deadline reached before this unit was called"

func (r *Reconciler) reconcileRun(ctx context.Context, rn *run.Run, lost bool) error {
	now := r.now()
	if rn.DeadlineAt != nil && !now.Before(rn.DeadlineAt.Add(r.cfg.DeadlineGrace)) {
		n, err := r.store.SkipMissingUnits(ctx, rn, deadlineReason)
		if err != nil {
			return err
		}
		if n > 0 {
			r.log.Info("run past its deadline: missing units recorded skipped", "run_id", rn.ID, "skipped", n)
		}
		return r.ensure(ctx, run.NewFinalizeRoundTask(ctx, rn.ID, rn.RetryRound), run.FinalizeTaskID(rn.ID, rn.RetryRound), rn.ID)
	}
	switch rn.Status {
	case run.StatusQueued:
		if now.Sub(rn.CreatedAt) < r.cfg.QueuedGrace {
			return nil
		}
		return r.ensure(ctx, run.NewStartTask(ctx, rn.ID), "run:"+rn.ID.String(), rn.ID)
	case run.StatusRunning:
		return r.reconcileRunning(ctx, rn, lost, now)
	}
	return nil
}

// ensure makes sure a lifecycle task with the given id is in Redis: it
// enqueues it when missing, and when it is archived (retries used up) or
// completed its id is still taken, so that one is deleted first.
func (r *Reconciler) ensure(ctx context.Context, task *asynq.Task, id string, runID uuid.UUID) error {
	return r.ensureIn(ctx, run.QueueControl, task, id, runID)
}

// ensureIn is ensure for a task on any queue.
func (r *Reconciler) ensureIn(ctx context.Context, queue string, task *asynq.Task, id string, runID uuid.UUID) error {
	if missing, err := r.missing(queue, id); err != nil || !missing {
		return err
	}
	return r.enqueueMissing(ctx, task, id, runID)
}

// missing reports whether the task with this id is gone from queue, or
// archived or completed (deleted then, so that it can be enqueued again).
func (r *Reconciler) missing(queue, id string) (bool, error) {
	info, err := r.insp.GetTaskInfo(queue, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("look up task %s: %w", id, err)
	case info.State == asynq.TaskStateArchived || info.State == asynq.TaskStateCompleted:
		if err := r.insp.DeleteTask(queue, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return false, fmt.Errorf("delete %s task %s: %w", info.State, id, err)
		}
		return true, nil
	default:
		return false, nil
	}
}

// enqueueMissing enqueues a task found missing and says so in the log.
func (r *Reconciler) enqueueMissing(ctx context.Context, task *asynq.Task, id string, runID uuid.UUID) error {
	if err := run.Enqueue(ctx, r.queue, task); err != nil {
		return err
	}
	r.log.Info("reconciler enqueued a missing task", "run_id", runID, "type", task.Type(), "task_id", id)
	return nil
}

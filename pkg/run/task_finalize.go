package run

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// TypeFinalize computes a finished run's rankings, totals and final status.
const TypeFinalize = "run:finalize"

// NewFinalizeTask builds the run:finalize task; its id is derived from the
// run id so the units that race to complete a run enqueue it once.
func NewFinalizeTask(runID uuid.UUID) *asynq.Task {
	return newRunTask(TypeFinalize, "finalize:", runID, 10*time.Minute)
}

// HandleFinalize finalizes a run whose units are all recorded. It is
// idempotent: the store finishes a run once, in the same transaction that
// writes its rankings.
func (h *Handlers) HandleFinalize(ctx context.Context, t *asynq.Task) error {
	var p runPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	r, err := h.store.GetRun(ctx, p.RunID)
	if err != nil {
		return skipIfGone(fmt.Errorf("finalize run %s: %w", p.RunID, err))
	}
	if r.Status.Final() {
		return nil
	}
	counts, err := h.store.Counts(ctx, r)
	if err != nil {
		return fmt.Errorf("finalize run %s: %w", r.ID, err)
	}
	if counts.Done() < r.Total() {
		// The tracker and the database disagree (Redis lost state, or a
		// recording is still in flight): retry later rather than finalize a
		// run that is not complete.
		return fmt.Errorf("finalize run %s: %d of %d units recorded", r.ID, counts.Done(), r.Total())
	}
	var skips map[SkipReason]int
	if counts.Skipped > 0 {
		if skips, err = h.tracker.SkipReasons(ctx, r.ID); err != nil {
			return fmt.Errorf("finalize run %s: %w", r.ID, err)
		}
	}
	status, reason := finalStatus(r, counts, skips, time.Now())
	fin, first, err := h.store.Finalize(ctx, r, status, reason)
	if err != nil {
		return fmt.Errorf("finalize run %s: %w", r.ID, err)
	}
	h.cache.drop(r.ID)
	if err := h.tracker.Forget(ctx, r.ID); err != nil {
		h.log.Warn("forget run progress", "run_id", r.ID, "err", err)
	}
	if first {
		h.log.Info("run finished", "run_id", r.ID, "status", fin.Status, "reason", reason,
			"succeeded", fin.Progress.Succeeded, "failed", fin.Progress.Failed, "cancelled", fin.Progress.Cancelled,
			"skipped", fin.Progress.Skipped)
	}
	return nil
}

// finalStatus decides how a run with every unit recorded ends. skips
// counts the skipped units by reason as far as Redis still knows; when it
// has lost them, the run's deadline and spend cap say which can have
// applied.
func finalStatus(r *Run, c Progress, skips map[SkipReason]int, now time.Time) (Status, string) {
	switch {
	case r.CancelRequestedAt != nil:
		return StatusCancelled, "cancelled on request"
	case c.Skipped > 0:
		var why []string
		deadline := skips[SkipDeadline] > 0
		cost := skips[SkipMaxCost] > 0
		if !deadline && !cost {
			deadline = r.DeadlineAt != nil && (!now.Before(*r.DeadlineAt) || r.MaxCostUSD == nil)
			cost = !deadline && r.MaxCostUSD != nil
		}
		if cost {
			why = append(why, fmt.Sprintf("max_cost_usd %g reached", *r.MaxCostUSD))
		}
		if deadline {
			why = append(why, "run deadline reached")
		}
		if len(why) == 0 {
			why = append(why, "units skipped")
		}
		msg := fmt.Sprintf("%s: %d of %d units skipped", strings.Join(why, " and "), c.Skipped, c.Done())
		if c.Failed > 0 {
			msg += fmt.Sprintf(", %d failed", c.Failed)
		}
		return StatusPartial, msg
	case c.Failed > 0 && c.Succeeded == 0:
		return StatusFailed, fmt.Sprintf("all %d units failed", c.Failed)
	case c.Failed > 0:
		return StatusPartial, fmt.Sprintf("%d of %d units failed", c.Failed, c.Done())
	default:
		return StatusCompleted, ""
	}
}

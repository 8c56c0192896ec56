package run

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/asynqbatch"
	"github.com/sabe-dev/sabe/pkg/alerting"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/notify"
)

// TypeFinalize computes a finished run's rankings, totals and final status.
const TypeFinalize = "run:finalize"

// NewFinalizeTask builds the run:finalize task; its id is derived from the
// run id so the units that race to complete a run enqueue it once. It
// carries the trace of ctx's span.
func NewFinalizeTask(ctx context.Context, runID uuid.UUID) *asynq.Task {
	return newRunTask(ctx, TypeFinalize, "finalize:", runID, 10*time.Minute)
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
	snap, err := h.cache.get(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("finalize run %s: %w", r.ID, err)
	}
	if len(snap.judged) > 0 && counts.Succeeded > 0 {
		if err := h.awaitVerdicts(ctx, snap, r); err != nil {
			return err
		}
		if err := h.store.ApplyVerdicts(ctx, r); err != nil {
			return fmt.Errorf("finalize run %s: %w", r.ID, err)
		}
		// Every judged unit has its verdict now; the finished run keeps
		// how many (its progress no longer comes from the tracker).
		_, judged, _, err := h.store.JudgedCounts(ctx, r, snap.judged, max(r.ScoringVersion, 1))
		if err != nil {
			return fmt.Errorf("finalize run %s: %w", r.ID, err)
		}
		r.Progress.Judged = judged
	}
	var unscored map[string]int
	if counts.Succeeded > 0 {
		if unscored, err = h.store.UnscoredReasons(ctx, r); err != nil {
			return fmt.Errorf("finalize run %s: %w", r.ID, err)
		}
	}
	var skips map[SkipReason]int
	if counts.Skipped > 0 {
		if skips, err = h.tracker.SkipReasons(ctx, r.ID); err != nil {
			return fmt.Errorf("finalize run %s: %w", r.ID, err)
		}
	}
	var causes []FailureCause
	if counts.Failed > 0 {
		if causes, err = h.store.FailureCauses(ctx, r, maxCauses); err != nil {
			return fmt.Errorf("finalize run %s: %w", r.ID, err)
		}
	}
	status, reason := finalStatus(r, counts, skips, causes, h.cfg.Now())
	reason = withUnscored(reason, unscored)
	fin, first, err := h.store.Finalize(ctx, r, status, reason, analytics.RankRun)
	if err != nil {
		return fmt.Errorf("finalize run %s: %w", r.ID, err)
	}
	h.cache.drop(r.ID)
	if first && (fin.Status == StatusCompleted || fin.Status == StatusPartial) {
		// Lost here, the check is enqueued by the maintenance sweep.
		if err := alerting.Enqueue(ctx, h.queue, r.ID); err != nil {
			h.log.WarnContext(ctx, "enqueue the alert check", "run_id", r.ID, "err", err)
		}
	}
	if err := h.tracker.Forget(ctx, r.ID); err != nil {
		h.log.WarnContext(ctx, "forget run progress", "run_id", r.ID, "err", err)
	}
	if first {
		// The run.* event is committed with the run: dispatch it now
		// rather than at the next sweep (which delivers it if this fails).
		if err := notify.Kick(ctx, h.queue); err != nil {
			h.log.WarnContext(ctx, "kick the dispatch of the run's event", "run_id", r.ID, "err", err)
		}
		h.log.InfoContext(ctx, "run finished", "run_id", r.ID, "status", fin.Status, "reason", reason,
			"succeeded", fin.Progress.Succeeded, "failed", fin.Progress.Failed, "cancelled", fin.Progress.Cancelled,
			"skipped", fin.Progress.Skipped)
	}
	return nil
}

// awaitVerdicts returns an error (so asynq retries finalization) while a
// succeeded unit of a judged question has no verdict at the run's scoring
// version in PostgreSQL, and enqueues the judge tasks of such units, which
// heals an answer whose judge task was lost (a crash between recording
// the answer and enqueuing its judging).
func (h *Handlers) awaitVerdicts(ctx context.Context, snap *cachedSnapshot, r *Run) error {
	version := max(r.ScoringVersion, 1)
	missing, err := h.store.UnjudgedUnits(ctx, r, snap.judged, version, maxHealed)
	if err != nil {
		return fmt.Errorf("finalize run %s: %w", r.ID, err)
	}
	if len(missing) == 0 {
		return nil
	}
	if err := h.enqueueJudging(ctx, snap, missing, version); err != nil {
		return fmt.Errorf("finalize run %s: %w", r.ID, err)
	}
	return fmt.Errorf("finalize run %s: %d or more answers await their verdict", r.ID, len(missing))
}

// maxHealed bounds the judge tasks one finalization attempt enqueues.
const maxHealed = 1000

// enqueueJudging enqueues the judge tasks of recorded units.
func (h *Handlers) enqueueJudging(ctx context.Context, snap *cachedSnapshot, units []UnitKey, version int) error {
	queue := UnitQueue(snap.Run)
	idx := make([]int, 0, len(units))
	for _, k := range units {
		if i, ok := snap.index(k); ok {
			idx = append(idx, i)
		}
	}
	_, err := h.enqueueAll(ctx, queue, slices.Values(idx), func(i int) asynqbatch.Task {
		return judgeTask(judgePayload{RunID: snap.Run.ID, Unit: i, Version: version})
	})
	return err
}

// withUnscored adds to a run's status detail how many units have no
// verdict and why, even when the run completed: "3 units unscored
// (judge_parse_failure: 2, judge_error: 1)".
func withUnscored(reason string, unscored map[string]int) string {
	total := 0
	reasons := make([]string, 0, len(unscored))
	for k, n := range unscored {
		total += n
		reasons = append(reasons, k)
	}
	if total == 0 {
		return reason
	}
	sort.Slice(reasons, func(i, j int) bool {
		if unscored[reasons[i]] != unscored[reasons[j]] {
			return unscored[reasons[i]] > unscored[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, k := range reasons {
		parts[i] = fmt.Sprintf("%s: %d", k, unscored[k])
	}
	msg := fmt.Sprintf("%s unscored (%s)", plural(total, "unit"), strings.Join(parts, ", "))
	if reason == "" {
		return msg
	}
	return reason + "; " + msg
}

// maxCauses is how many causes of failed units a run's error names.
const maxCauses = 3

// failureSummary says why units failed: the most common causes, each
// naming its provider, with how many units each covers when there is more
// than one. The user reads it on the run without digging through its
// executions.
func failureSummary(failed int, causes []FailureCause) string {
	if len(causes) == 0 {
		return ""
	}
	parts := make([]string, 0, len(causes))
	for _, c := range causes {
		name := cmp.Or(c.ProviderName, "(deleted)")
		msg := cmp.Or(c.Error, "no error recorded")
		part := fmt.Sprintf("provider %q (%s): %s", name, c.ProviderID, msg)
		if len(causes) > 1 || c.Units != failed {
			part += fmt.Sprintf(" [%s]", plural(c.Units, "unit"))
		}
		parts = append(parts, part)
	}
	return ": " + strings.Join(parts, "; ")
}

// finalStatus decides how a run with every unit recorded ends. skips
// counts the skipped units by reason as far as Redis still knows; when it
// has lost them, the run's deadline and spend cap say which can have
// applied. causes are the most common causes of the failed units, which
// the run's error names.
func finalStatus(r *Run, c Progress, skips map[SkipReason]int, causes []FailureCause, now time.Time) (Status, string) {
	why := failureSummary(c.Failed, causes)
	switch {
	case r.CancelRequestedAt != nil:
		return StatusCancelled, "cancelled on request"
	case c.Skipped > 0:
		var skipWhy []string
		deadline := skips[SkipDeadline] > 0
		cost := skips[SkipMaxCost] > 0
		if !deadline && !cost {
			deadline = r.DeadlineAt != nil && (!now.Before(*r.DeadlineAt) || r.MaxCostUSD == nil)
			cost = !deadline && r.MaxCostUSD != nil
		}
		if cost {
			skipWhy = append(skipWhy, fmt.Sprintf("max_cost_usd %g reached", *r.MaxCostUSD))
		}
		if deadline {
			skipWhy = append(skipWhy, "run deadline reached")
		}
		if len(skipWhy) == 0 {
			skipWhy = append(skipWhy, "units skipped")
		}
		msg := fmt.Sprintf("%s: %d of %d units skipped", strings.Join(skipWhy, " and "), c.Skipped, c.Done())
		if c.Failed > 0 {
			msg += fmt.Sprintf(", %d failed%s", c.Failed, why)
		}
		return StatusPartial, msg
	case c.Failed > 0 && c.Succeeded == 0:
		return StatusFailed, fmt.Sprintf("all %d units failed%s", c.Failed, why)
	case c.Failed > 0:
		return StatusPartial, fmt.Sprintf("%d of %d units failed%s", c.Failed, c.Done(), why)
	default:
		return StatusCompleted, ""
	}
}

// plural is "1 unit" or "n units".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

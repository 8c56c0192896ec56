package maintenance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/run"
)

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
		for page := 1; (page-1)*archivePageSize < r.cfg.ArchivedPerQueue; page++ {
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
		return r.ensure(ctx, run.NewFinalizeRoundTask(ctx, rn.ID, rn.RetryRound), run.FinalizeTaskID(rn.ID, rn.RetryRound), rn.ID)
	}
	return nil
}

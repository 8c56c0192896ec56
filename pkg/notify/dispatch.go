package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
)

// HandleDispatch runs TypeDispatch: Dispatch.
func (d *Deliverer) HandleDispatch(ctx context.Context, _ *asynq.Task) error {
	_, err := d.Dispatch(ctx)
	return err
}

// Dispatch hands the undispatched events to the webhooks they match, a
// batch per transaction, oldest first, until a batch comes back short,
// and enqueues the first attempt of every delivery it wrote. It returns
// how many deliveries it wrote. An enqueue that fails is left to the
// sweep: the delivery is pending and due, so it is found overdue.
func (d *Deliverer) Dispatch(ctx context.Context) (int, error) {
	written := 0
	for {
		taken, ids, err := d.store.DispatchEvents(ctx, d.cfg.Clock.Now().UTC(), d.cfg.DispatchBatch)
		if err != nil {
			return written, err
		}
		written += len(ids)
		for _, id := range ids {
			if err := enqueue(ctx, d.queue, NewDeliverTask(id, 1)); err != nil {
				d.log.Warn("enqueue delivery failed; the sweep enqueues it", "delivery_id", id, "err", err)
			}
		}
		if taken < d.cfg.DispatchBatch {
			return written, nil
		}
	}
}

// enqueue enqueues task; a task with its id already there is success
// (every delivery task has a deterministic id).
func enqueue(ctx context.Context, q Enqueuer, task *asynq.Task, opts ...asynq.Option) error {
	_, err := q.EnqueueContext(ctx, task, opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) && !errors.Is(err, asynq.ErrDuplicateTask) {
		return fmt.Errorf("enqueue %s: %w", task.Type(), err)
	}
	return nil
}

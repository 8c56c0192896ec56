package notify_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/pkg/notify"
)

func (b *bundle) sweeper(c notify.SweepConfig) *notify.Sweeper {
	return notify.NewSweeper(b.store, b.rdb, b.client, b.log, c).WithClock(b.clock.Now)
}

// dispatchTasks counts the dispatch tasks waiting in the notify queue.
func (b *bundle) dispatchTasks(t *testing.T) int {
	t.Helper()
	tasks, err := b.insp.ListPendingTasks(notify.Queue)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tk := range tasks {
		if tk.Type == notify.TypeDispatch {
			n++
		}
	}
	return n
}

func TestSweep_Dispatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.sweeper(notify.SweepConfig{DispatchGrace: 5 * time.Second})
	b.addEvent(t, notify.RunFailed, b.clock.Now(), nil)
	if err := s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Just written: its producer's kick is on its way.
	if n := b.dispatchTasks(t); n != 0 {
		t.Fatalf("%d dispatches enqueued for a fresh event", n)
	}
	b.clock.Add(6 * time.Second)
	if err := s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := b.dispatchTasks(t); n != 1 {
		t.Fatalf("%d dispatches enqueued for an event left behind, want 1", n)
	}
}

func TestSweep_OverdueDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.addWebhook(t, webhook{URL: "http://127.0.0.1:1/"})
	id, _ := b.addDelivery(t, w)
	s := b.sweeper(notify.SweepConfig{OverdueGrace: time.Minute})
	taskID := notify.DeliverTaskID(id, 1)
	state := func() asynq.TaskState {
		t.Helper()
		info, err := b.insp.GetTaskInfo(notify.Queue, taskID)
		if err != nil {
			t.Fatalf("task %s: %v", taskID, err)
		}
		return info.State
	}
	sweep := func() {
		t.Helper()
		if err := s.Sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
	}

	// Due now, within the grace: its task may be on its way.
	sweep()
	if _, err := b.insp.GetTaskInfo(notify.Queue, taskID); err == nil {
		t.Fatal("a delivery within the grace was enqueued")
	}
	b.clock.Add(2 * time.Minute)

	t.Run("Missing", func(t *testing.T) {
		sweep()
		if got := state(); got != asynq.TaskStatePending {
			t.Fatalf("task %s, want pending", got)
		}
		// Swept again: the waiting task is kept, not doubled.
		sweep()
		tasks, err := b.insp.ListPendingTasks(notify.Queue)
		if err != nil || len(tasks) != 1 {
			t.Fatalf("%d tasks after a second sweep (err %v), want 1", len(tasks), err)
		}
	})
	t.Run("DeletedFromRedis", func(t *testing.T) {
		if err := b.insp.DeleteTask(notify.Queue, taskID); err != nil {
			t.Fatal(err)
		}
		sweep()
		if got := state(); got != asynq.TaskStatePending {
			t.Fatalf("task %s, want pending", got)
		}
	})
	t.Run("Archived", func(t *testing.T) {
		// A worker died during the attempt: asynq archives the task
		// (no retries), and its id stays taken.
		if err := b.insp.ArchiveTask(notify.Queue, taskID); err != nil {
			t.Fatal(err)
		}
		sweep()
		if got := state(); got != asynq.TaskStatePending {
			t.Fatalf("task %s, want pending again", got)
		}
	})
	t.Run("NextAttempt", func(t *testing.T) {
		// With one attempt recorded, the overdue task is the second.
		if _, err := b.pool.Exec(t.Context(), `UPDATE webhook_deliveries SET attempts = 1 WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		sweep()
		if _, err := b.insp.GetTaskInfo(notify.Queue, notify.DeliverTaskID(id, 2)); err != nil {
			t.Fatalf("attempt 2 not enqueued: %v", err)
		}
	})
}

func TestSweep_Retention(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.addWebhook(t, webhook{URL: "http://127.0.0.1:1/"})
	doneDelivery, doneEvent := b.addDelivery(t, w)
	_, pendingEvent := b.addDelivery(t, w)
	if _, err := b.pool.Exec(t.Context(), `UPDATE webhook_deliveries SET status = 'succeeded', next_attempt_at = NULL, finished_at = now() WHERE id = $1`, doneDelivery); err != nil {
		t.Fatal(err)
	}
	undispatched := b.addEvent(t, notify.RunFailed, b.clock.Now(), nil)
	b.clock.Add(25 * time.Hour)
	recent, _ := b.addDelivery(t, w)
	if _, err := b.pool.Exec(t.Context(), `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, finished_at = now() WHERE id = $1`, recent); err != nil {
		t.Fatal(err)
	}
	if err := b.sweeper(notify.SweepConfig{Retention: 24 * time.Hour}).Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	exists := func(id uuid.UUID) bool {
		var ok bool
		if err := b.pool.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM events WHERE id = $1)`, id).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if exists(doneEvent) {
		t.Error("an old event with its delivery done was kept")
	}
	if !exists(pendingEvent) || !exists(undispatched) {
		t.Error("an old event still pending delivery or dispatch was deleted")
	}
	var n int
	if err := b.pool.QueryRow(t.Context(), `SELECT count(*) FROM webhook_deliveries WHERE id = $1`, doneDelivery).Scan(&n); err != nil || n != 0 {
		t.Errorf("the deleted event's delivery is still there (err %v)", err)
	}
	if err := b.pool.QueryRow(t.Context(), `SELECT count(*) FROM webhook_deliveries WHERE id = $1`, recent).Scan(&n); err != nil || n != 1 {
		t.Errorf("a recent delivery was deleted (err %v)", err)
	}
}

package notify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/taskserver"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// startWorker serves the queues as a worker process does (pkg/taskserver
// registers the notification handlers), with the test's renderer and a
// short backoff on the wall clock, until stop or the test's end.
func (b *bundle) startWorker(t *testing.T, backoff time.Duration) (stop func()) {
	t.Helper()
	c := b.config()
	c.Clock, c.Jitter, c.Backoff = nil, nil, backoff
	w := taskserver.New(taskserver.Deps{Store: b.store, Redis: b.rdb, Queue: b.client, Log: b.log, Keys: b.keys}, taskserver.Config{
		Servers: taskserver.ServerConfig{Concurrency: 4, ShutdownTimeout: 300 * time.Millisecond},
		Notify:  c,
	})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w.Stop
}

func TestDelivery_WorkerStopsDuringADelivery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The first request is held until the sender gives up on it: the
	// worker stops while the delivery is in flight.
	inFlight := make(chan struct{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			close(inFlight)
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	wh := b.addWebhook(t, webhook{URL: rc.srv.URL})
	rc.expect(wh.Secret)
	ev := b.addEvent(t, notify.RunCompleted, b.clock.Now(), nil)
	stop := b.startWorker(t, 50*time.Millisecond)
	if err := notify.Kick(t.Context(), b.client); err != nil {
		t.Fatal(err)
	}
	select {
	case <-inFlight:
	case <-time.After(20 * time.Second):
		t.Fatal("the delivery never reached the receiver")
	}
	// asynq waits the shutdown timeout, cancels the handler and puts the
	// task back; the attempt is not recorded.
	stop()
	var id uuid.UUID
	if err := b.pool.QueryRow(t.Context(), `SELECT id FROM webhook_deliveries WHERE event_id = $1`, ev).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if got := b.attempts(t, id); len(got) != 0 {
		t.Fatalf("an interrupted attempt was recorded: %+v", got)
	}
	info, err := b.insp.GetTaskInfo(notify.Queue, notify.DeliverTaskID(id, 1))
	if err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("the interrupted task: %v (err %v), want pending again", info, err)
	}

	// Another worker takes it up.
	b.startWorker(t, 50*time.Millisecond)
	testenv.WaitFor(t, "the delivery to succeed", 20*time.Second, func() bool { return b.delivery(t, id).Status == notify.StatusSucceeded })
	reqs := rc.got()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if got := r.Header.Get("webhook-id"); got != notify.MessageID(ev) {
			t.Errorf("request %d: webhook-id %q, want %q", i, got, notify.MessageID(ev))
		}
	}
	if got := b.attempts(t, id); len(got) != 1 || got[0].Code == nil || *got[0].Code != http.StatusNoContent {
		t.Fatalf("attempts %+v, want one answered 204", got)
	}
}

func TestDelivery_NothingLost(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Each message fails twice (500, then a dropped connection) and is
	// acknowledged the third time.
	var mu sync.Mutex
	seen := map[string]int{}
	acked := map[string]int{}
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		mu.Lock()
		seen[id]++
		n := seen[id]
		if n >= 3 {
			acked[id]++
		}
		mu.Unlock()
		switch n {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	wh := b.addWebhook(t, webhook{URL: rc.srv.URL})
	rc.expect(wh.Secret)
	var events []uuid.UUID
	for range 5 {
		events = append(events, b.addEvent(t, notify.RunCompleted, b.clock.Now(), nil))
	}
	b.startWorker(t, 20*time.Millisecond)
	if err := notify.Kick(t.Context(), b.client); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "every delivery to succeed", 30*time.Second, func() bool {
		var n int
		if err := b.pool.QueryRow(t.Context(), `SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == len(events)
	})
	mu.Lock()
	defer mu.Unlock()
	for _, ev := range events {
		if id := notify.MessageID(ev); acked[id] != 1 || seen[id] != 3 {
			t.Errorf("event %s: sent %d times, acknowledged %d; want 3 and 1", ev, seen[id], acked[id])
		}
	}
	var attempts int
	if err := b.pool.QueryRow(t.Context(), `SELECT count(*) FROM webhook_attempts`).Scan(&attempts); err != nil || attempts != 3*len(events) {
		t.Errorf("%d attempts recorded (err %v), want %d", attempts, err, 3*len(events))
	}

	// The secret is in no task payload and no log line.
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		b.insp.ListPendingTasks, b.insp.ListScheduledTasks, b.insp.ListCompletedTasks, b.insp.ListArchivedTasks, b.insp.ListRetryTasks,
	} {
		tasks, err := list(notify.Queue)
		if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			t.Fatal(err)
		}
		for _, tk := range tasks {
			if tk.Type == notify.TypeDeliver {
				if _, err := uuid.ParseBytes(tk.Payload); err != nil {
					t.Errorf("deliver task %s payload %q is not a delivery id", tk.ID, tk.Payload)
				}
			}
			if strings.Contains(string(tk.Payload), wh.Secret) || strings.Contains(string(tk.Payload), strings.TrimPrefix(wh.Secret, notify.SecretPrefix)) {
				t.Errorf("task %s carries the secret", tk.ID)
			}
		}
	}
	logs := b.logs.String()
	if !strings.Contains(logs, "webhook delivered") {
		t.Fatalf("the log captured nothing of the deliveries:\n%s", logs)
	}
	if strings.Contains(logs, strings.TrimPrefix(wh.Secret, notify.SecretPrefix)) {
		t.Error("the secret is in the log")
	}
}

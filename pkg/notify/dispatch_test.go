package notify_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/notify"
)

// pairs returns the (webhook, event) of every delivery, as "w<i>:e<j>"
// with the indexes of the test's webhooks and events.
func (b *bundle) pairs(t *testing.T, hooks []webhook, events []uuid.UUID) []string {
	t.Helper()
	rows, err := b.pool.Query(t.Context(), `SELECT webhook_id, event_id, status, attempts FROM webhook_deliveries`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var w, e uuid.UUID
		var status string
		var attempts int
		if err := rows.Scan(&w, &e, &status, &attempts); err != nil {
			t.Fatal(err)
		}
		if status != notify.StatusPending || attempts != 0 {
			t.Errorf("a new delivery is %s after %d attempts", status, attempts)
		}
		wi := slices.IndexFunc(hooks, func(h webhook) bool { return h.ID == w })
		out = append(out, "w"+string(rune('0'+wi))+":e"+string(rune('0'+slices.Index(events, e))))
	}
	slices.Sort(out)
	return out
}

func TestDispatch_Matching(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := b.clock.Now()
	benchX, benchY := uuid.New(), uuid.New()
	hooks := []webhook{
		// 0: every event of every benchmark.
		b.addWebhook(t, webhook{URL: "http://127.0.0.1:1/a"}),
		// 1: run.completed and circuits, of benchmark X only.
		b.addWebhook(t, webhook{URL: "http://127.0.0.1:1/b", Events: []string{notify.RunCompleted, notify.CircuitOpened}, Benches: []uuid.UUID{benchX}}),
		// 2: disabled.
		b.addWebhook(t, webhook{URL: "http://127.0.0.1:1/c", Disabled: "off"}),
		// 3: created after the first events.
		b.addWebhook(t, webhook{URL: "http://127.0.0.1:1/d", Created: now.Add(-time.Minute)}),
		// 4: schedule.skipped only.
		b.addWebhook(t, webhook{URL: "http://127.0.0.1:1/e", Events: []string{notify.ScheduleSkipped}}),
	}
	events := []uuid.UUID{
		// 0: run.completed of X, before webhook 3 existed.
		b.addEvent(t, notify.RunCompleted, now.Add(-2*time.Minute), &benchX),
		// 1: run.completed of Y.
		b.addEvent(t, notify.RunCompleted, now.Add(-30*time.Second), &benchY),
		// 2: a circuit opened: about no benchmark, so every filter takes it.
		b.addEvent(t, notify.CircuitOpened, now.Add(-20*time.Second), nil),
		// 3: a webhook.test the API left undispatched: never dispatched.
		b.addEvent(t, notify.WebhookTest, now.Add(-10*time.Second), nil),
	}
	d := b.deliverer(b.config())
	n, err := d.Dispatch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"w0:e0", "w0:e1", "w0:e2", "w1:e0", "w1:e2", "w3:e1", "w3:e2"}
	if got := b.pairs(t, hooks, events); !slices.Equal(got, want) || n != len(want) {
		t.Fatalf("deliveries %v (%d written), want %v", got, n, want)
	}
	var undispatched int
	if err := b.pool.QueryRow(t.Context(), `SELECT count(*) FROM events WHERE dispatched_at IS NULL`).Scan(&undispatched); err != nil || undispatched != 0 {
		t.Fatalf("%d events left undispatched (err %v)", undispatched, err)
	}
	// Every delivery's first attempt is enqueued, its payload the
	// delivery's id alone.
	tasks, err := b.insp.ListPendingTasks(notify.Queue)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != len(want) {
		t.Fatalf("%d tasks enqueued, want %d", len(tasks), len(want))
	}
	for _, tk := range tasks {
		if tk.Type != notify.TypeDeliver || tk.ID != notify.DeliverTaskID(uuid.MustParse(string(tk.Payload)), 1) {
			t.Errorf("task %s %s with payload %q", tk.Type, tk.ID, tk.Payload)
		}
	}

	t.Run("Twice", func(t *testing.T) {
		// A dispatch again, even of events taken back (a crash between
		// the commit and the kick cannot do this, but a replayed dispatch
		// may), writes no second delivery.
		if _, err := b.pool.Exec(t.Context(), `UPDATE events SET dispatched_at = NULL WHERE type <> 'webhook.test'`); err != nil {
			t.Fatal(err)
		}
		n, err := d.Dispatch(t.Context())
		if err != nil || n != 0 {
			t.Fatalf("second dispatch wrote %d (err %v)", n, err)
		}
		if got := b.pairs(t, hooks, events); !slices.Equal(got, want) {
			t.Fatalf("deliveries after a second dispatch %v, want %v", got, want)
		}
	})

	t.Run("Batches", func(t *testing.T) {
		// More events than a batch: the dispatch loops until none is left.
		c := b.config()
		c.DispatchBatch = 2
		for range 5 {
			b.addEvent(t, notify.ScheduleSkipped, now, nil)
		}
		n, err := b.deliverer(c).Dispatch(t.Context())
		// webhooks 0, 3 and 4 take schedule.skipped.
		if err != nil || n != 15 {
			t.Fatalf("dispatch of 5 events in batches of 2 wrote %d (err %v), want 15", n, err)
		}
	})
}

func TestDispatch_Concurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for range 2 {
		b.addWebhook(t, webhook{URL: "http://127.0.0.1:1/"})
	}
	const events = 300
	for i := range events {
		b.addEvent(t, notify.RunCompleted, b.clock.Now().Add(time.Duration(i)*time.Millisecond), nil)
	}
	c := b.config()
	c.DispatchBatch = 25
	// Four dispatches at once share the events (SKIP LOCKED): together
	// they write each delivery once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 {
		wg.Go(func() {
			n, err := b.deliverer(c).Dispatch(t.Context())
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	var rows int
	if err := b.pool.QueryRow(t.Context(), `SELECT count(*) FROM webhook_deliveries`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if total != 2*events || rows != 2*events {
		t.Fatalf("dispatches wrote %d, %d rows; want %d", total, rows, 2*events)
	}
}

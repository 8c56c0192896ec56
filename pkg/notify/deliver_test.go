package notify_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/pkg/notify"
)

func TestDeliver_RetriesUntilAcknowledged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, answerCodes(500, 500, 200))
	w := b.addWebhook(t, webhook{URL: rc.srv.URL})
	rc.expect(w.Secret)
	id, ev := b.addDelivery(t, w)
	d := b.deliverer(b.config())

	var starts []time.Time
	for n := 1; n <= 3; n++ {
		starts = append(starts, b.clock.Now())
		if err := d.Deliver(t.Context(), id, n); err != nil {
			t.Fatal(err)
		}
		got := b.delivery(t, id)
		if got.Attempts != n {
			t.Fatalf("after attempt %d: attempts %d", n, got.Attempts)
		}
		if n == 3 {
			if got.Status != notify.StatusSucceeded || got.Next != nil {
				t.Fatalf("after the 200: %+v, want succeeded", got)
			}
			break
		}
		// Full jitter at its ceiling: 5s after the first failure, then 10s.
		delay := 5 * time.Second << (n - 1)
		want := b.clock.Now().Add(delay)
		if got.Status != notify.StatusPending || got.Next == nil || !got.Next.Equal(want) {
			t.Fatalf("after attempt %d: %+v, want pending, next %s", n, got, want)
		}
		// The next attempt's task waits in Redis until then.
		info, err := b.insp.GetTaskInfo(notify.Queue, notify.DeliverTaskID(id, n+1))
		if err != nil {
			t.Fatalf("task of attempt %d: %v", n+1, err)
		}
		if info.State != asynq.TaskStateScheduled || !info.NextProcessAt.Equal(want) {
			t.Fatalf("task of attempt %d: %s at %s, want scheduled at %s", n+1, info.State, info.NextProcessAt, want)
		}
		b.clock.Add(delay)
	}

	reqs := rc.got()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if got := r.Header.Get("webhook-id"); got != notify.MessageID(ev) {
			t.Errorf("request %d: webhook-id %q, want %q (the same for every attempt)", i, got, notify.MessageID(ev))
		}
		if got := r.Header.Get("webhook-timestamp"); got != strconv.FormatInt(starts[i].Unix(), 10) {
			t.Errorf("request %d: webhook-timestamp %s, want the attempt's time %d", i, got, starts[i].Unix())
		}
	}
	atts := b.attempts(t, id)
	if len(atts) != 3 {
		t.Fatalf("%d attempts recorded, want 3", len(atts))
	}
	for i, a := range atts {
		wantCode := []int{500, 500, 200}[i]
		if a.Code == nil || *a.Code != wantCode || a.Excerpt != "answer "+strconv.Itoa(i) || !a.Started.Equal(starts[i]) {
			t.Errorf("attempt %d: %+v, want code %d, excerpt %q, started %s", i+1, a, wantCode, "answer "+strconv.Itoa(i), starts[i])
		}
	}
	if atts[0].Error == nil || *atts[0].Error != "HTTP 500 Internal Server Error" || atts[2].Error != nil {
		t.Errorf("attempt errors %v, %v", atts[0].Error, atts[2].Error)
	}
	var failures int
	var lastSuccess *time.Time
	if err := b.pool.QueryRow(t.Context(), `SELECT consecutive_failures, last_success_at FROM webhooks WHERE id = $1`, w.ID).Scan(&failures, &lastSuccess); err != nil {
		t.Fatal(err)
	}
	if failures != 0 || lastSuccess == nil {
		t.Errorf("webhook after the success: %d failures, last success %v; want 0 and set", failures, lastSuccess)
	}
}

func TestDeliver_RetryAfter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		name  string
		value func(now time.Time) string
		want  time.Duration
	}{
		{"Seconds", func(time.Time) string { return "120" }, 120 * time.Second},
		{"Date", func(now time.Time) string { return now.Add(10 * time.Minute).Format(http.TimeFormat) }, 10 * time.Minute},
		{"CappedAtAnHour", func(time.Time) string { return "999999" }, time.Hour},
		{"ShorterThanBackoff", func(time.Time) string { return "1" }, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", tc.value(b.clock.Now()))
				w.WriteHeader(http.StatusServiceUnavailable)
			})
			wh := b.addWebhook(t, webhook{URL: rc.srv.URL})
			rc.expect(wh.Secret)
			id, _ := b.addDelivery(t, wh)
			if err := b.deliverer(b.config()).Deliver(t.Context(), id, 1); err != nil {
				t.Fatal(err)
			}
			got := b.delivery(t, id)
			if got.Next == nil || !got.Next.Equal(b.clock.Now().Add(tc.want)) {
				t.Fatalf("next attempt at %v, want %s later", got.Next, tc.want)
			}
		})
	}
}

// TestDeliver_WaitsUntilDue: asynq runs a scheduled task up to a second
// early (it schedules by the second), so an attempt that starts before its
// delivery's next_attempt_at waits out the difference and a receiver's
// Retry-After holds; one more than maxEarly ahead (clocks apart) goes
// ahead without waiting.
func TestDeliver_WaitsUntilDue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		ahead time.Duration
		wait  []time.Duration
	}{
		{"WithinAsynqsSecond", 700 * time.Millisecond, []time.Duration{700 * time.Millisecond}},
		{"Due", 0, nil},
		{"ClocksApart", time.Minute, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			rc := newReceiver(t, answerCodes(200))
			w := b.addWebhook(t, webhook{URL: rc.srv.URL})
			rc.expect(w.Secret)
			id, _ := b.addDelivery(t, w)
			due := b.clock.Now().Add(tc.ahead)
			if _, err := b.pool.Exec(t.Context(), `UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = $2`, due, id); err != nil {
				t.Fatal(err)
			}
			if err := b.deliverer(b.config()).Deliver(t.Context(), id, 1); err != nil {
				t.Fatal(err)
			}
			if got := b.clock.Slept(); !slices.Equal(got, tc.wait) {
				t.Errorf("waited %v, want %v", got, tc.wait)
			}
			atts := b.attempts(t, id)
			if len(atts) != 1 || (tc.wait != nil && !atts[0].Started.Equal(due)) {
				t.Errorf("attempts %+v, want one started at %s", atts, due)
			}
		})
	}
}

func TestDeliver_NoAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		answer  func(int, http.ResponseWriter, *http.Request)
		want    string
	}{
		{"Timeout", 200 * time.Millisecond, func(_ int, _ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, "timed out after 200ms"},
		{"ConnectionClosed", 2 * time.Second, func(_ int, w http.ResponseWriter, _ *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			_ = conn.Close()
		}, "connection closed before an answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, tc.answer)
			wh := b.addWebhook(t, webhook{URL: rc.srv.URL})
			rc.expect(wh.Secret)
			id, _ := b.addDelivery(t, wh)
			c := b.config()
			c.Timeout = tc.timeout
			if err := b.deliverer(c).Deliver(t.Context(), id, 1); err != nil {
				t.Fatal(err)
			}
			atts := b.attempts(t, id)
			if len(atts) != 1 || atts[0].Code != nil || atts[0].Error == nil || *atts[0].Error != tc.want {
				t.Fatalf("attempts %+v, want one without a status, error %q", atts, tc.want)
			}
			if got := b.delivery(t, id); got.Status != notify.StatusPending || got.Next == nil || got.LastError == nil || *got.LastError != tc.want {
				t.Fatalf("delivery %+v, want pending with a next attempt and the error", got)
			}
		})
	}
}

func TestDeliver_DisablesAfterConsecutiveFailures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, answerCodes(500))
	w := b.addWebhook(t, webhook{URL: rc.srv.URL})
	rc.expect(w.Secret)
	first, _ := b.addDelivery(t, w)
	second, _ := b.addDelivery(t, w)
	c := b.config()
	c.DisableAfter = 3
	d := b.deliverer(c)
	// Failures count across the webhook's deliveries.
	for _, step := range []struct {
		id uuid.UUID
		n  int
	}{{first, 1}, {second, 1}} {
		if err := d.Deliver(t.Context(), step.id, step.n); err != nil {
			t.Fatal(err)
		}
	}
	var enabled bool
	if err := b.pool.QueryRow(t.Context(), `SELECT enabled FROM webhooks WHERE id = $1`, w.ID).Scan(&enabled); err != nil || !enabled {
		t.Fatalf("webhook disabled after 2 failures (err %v)", err)
	}
	b.clock.Add(5 * time.Second)
	if err := d.Deliver(t.Context(), first, 2); err != nil {
		t.Fatal(err)
	}

	var reason *string
	var disabledAt *time.Time
	var failures int
	if err := b.pool.QueryRow(t.Context(), `SELECT enabled, disabled_reason, disabled_at, consecutive_failures FROM webhooks WHERE id = $1`, w.ID).
		Scan(&enabled, &reason, &disabledAt, &failures); err != nil {
		t.Fatal(err)
	}
	if enabled || reason == nil || disabledAt == nil || failures != 3 ||
		!strings.Contains(*reason, "3 consecutive failed") || !strings.Contains(*reason, "HTTP 500") {
		t.Fatalf("webhook: enabled %v, reason %v, disabled at %v, failures %d", enabled, reason, disabledAt, failures)
	}
	for _, id := range []uuid.UUID{first, second} {
		if got := b.delivery(t, id); got.Status != notify.StatusCancelled || got.Next != nil ||
			got.LastError == nil || !strings.Contains(*got.LastError, "webhook disabled") {
			t.Errorf("delivery %s: %+v, want cancelled because the webhook was disabled", id, got)
		}
	}
	var actor, auditReason, outcome string
	if err := b.pool.QueryRow(t.Context(), `SELECT token_name, reason, outcome FROM audit_log WHERE action = $1 AND resource_type = $2 AND resource_id = $3`,
		"webhook.disable", "webhook", w.ID.String()).Scan(&actor, &auditReason, &outcome); err != nil {
		t.Fatalf("audit entry: %v", err)
	}
	if actor != "system" || auditReason != *reason || outcome != "success" {
		t.Errorf("audit entry: actor %q, reason %q, outcome %q", actor, auditReason, outcome)
	}
	// The second delivery's next attempt, when its task comes, sends nothing.
	sent := len(rc.got())
	if err := d.Deliver(t.Context(), second, 2); err != nil {
		t.Fatal(err)
	}
	if len(rc.got()) != sent || len(b.attempts(t, second)) != 1 {
		t.Errorf("a cancelled delivery was sent again")
	}
}

func TestDeliver_GoneDisablesAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, answerCodes(http.StatusGone))
	w := b.addWebhook(t, webhook{URL: rc.srv.URL})
	rc.expect(w.Secret)
	id, _ := b.addDelivery(t, w)
	if err := b.deliverer(b.config()).Deliver(t.Context(), id, 1); err != nil {
		t.Fatal(err)
	}
	var enabled bool
	var reason *string
	if err := b.pool.QueryRow(t.Context(), `SELECT enabled, disabled_reason FROM webhooks WHERE id = $1`, w.ID).Scan(&enabled, &reason); err != nil {
		t.Fatal(err)
	}
	if enabled || reason == nil || !strings.Contains(*reason, "410 Gone") {
		t.Fatalf("webhook after a 410: enabled %v, reason %v", enabled, reason)
	}
	if got := b.delivery(t, id); got.Status == notify.StatusPending {
		t.Fatalf("delivery after a 410: %+v, want it ended", got)
	}
}

func TestDeliver_GivesUpAfterRetryFor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, answerCodes(500))
	w := b.addWebhook(t, webhook{URL: rc.srv.URL})
	rc.expect(w.Secret)
	id, _ := b.addDelivery(t, w)
	c := b.config()
	c.RetryFor, c.Backoff = time.Minute, 40*time.Second
	d := b.deliverer(c)
	if err := d.Deliver(t.Context(), id, 1); err != nil {
		t.Fatal(err)
	}
	// 40s after creation: within the minute, so retried.
	if got := b.delivery(t, id); got.Status != notify.StatusPending {
		t.Fatalf("after attempt 1: %+v, want pending", got)
	}
	b.clock.Add(40 * time.Second)
	if err := d.Deliver(t.Context(), id, 2); err != nil {
		t.Fatal(err)
	}
	// The next would be 80s later, 2 minutes after creation: given up.
	got := b.delivery(t, id)
	if got.Status != notify.StatusFailed || got.Next != nil || got.Attempts != 2 {
		t.Fatalf("after attempt 2: %+v, want failed after 2 attempts", got)
	}
	if _, err := b.insp.GetTaskInfo(notify.Queue, notify.DeliverTaskID(id, 3)); err == nil {
		t.Fatal("a third attempt was enqueued")
	}
}

func TestDeliver_SameAttemptTwiceRecordsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The first request is held until the second arrives: both tasks
	// have read the delivery as pending before either records.
	second := make(chan struct{})
	var once sync.Once
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			select {
			case <-second:
			case <-time.After(10 * time.Second):
				t.Error("the second request never came")
			}
		} else {
			once.Do(func() { close(second) })
		}
		w.WriteHeader(http.StatusOK)
	})
	w := b.addWebhook(t, webhook{URL: rc.srv.URL})
	rc.expect(w.Secret)
	id, _ := b.addDelivery(t, w)
	d := b.deliverer(b.config())
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := d.Deliver(t.Context(), id, 1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	reqs := rc.got()
	if len(reqs) != 2 || reqs[0].Header.Get("webhook-id") != reqs[1].Header.Get("webhook-id") {
		t.Fatalf("receiver got %d requests; both must carry one webhook-id", len(reqs))
	}
	if atts := b.attempts(t, id); len(atts) != 1 {
		t.Fatalf("%d attempt rows, want 1", len(atts))
	}
	if got := b.delivery(t, id); got.Attempts != 1 || got.Status != notify.StatusSucceeded {
		t.Fatalf("delivery %+v, want succeeded after 1 attempt", got)
	}
	// Run once more, after the fact: nothing is sent.
	if err := d.Deliver(t.Context(), id, 1); err != nil {
		t.Fatal(err)
	}
	if len(rc.got()) != 2 {
		t.Fatal("a recorded attempt was sent again")
	}
}

func TestDeliver_DisabledWebhookCancels(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	w := b.addWebhook(t, webhook{URL: rc.srv.URL, Disabled: "turned off by its owner"})
	id, _ := b.addDelivery(t, w)
	if err := b.deliverer(b.config()).Deliver(t.Context(), id, 1); err != nil {
		t.Fatal(err)
	}
	got := b.delivery(t, id)
	if got.Status != notify.StatusCancelled || got.LastError == nil || !strings.Contains(*got.LastError, "turned off by its owner") {
		t.Fatalf("delivery %+v, want cancelled with the webhook's reason", got)
	}
	if len(rc.got()) != 0 || len(b.attempts(t, id)) != 0 {
		t.Fatal("a disabled webhook was sent a delivery")
	}
}

func TestDeliver_RotatedSecretSignsUntilItExpires(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, answerCodes(500, 200))
	prev, err := notify.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	w := b.addWebhook(t, webhook{URL: rc.srv.URL, Previous: prev, PrevUntil: b.clock.Now().Add(3 * time.Second)})
	// A receiver still on the previous secret verifies, and so does one on
	// the new.
	rc.expect(w.Secret, prev)
	id, _ := b.addDelivery(t, w)
	d := b.deliverer(b.config())
	if err := d.Deliver(t.Context(), id, 1); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(5 * time.Second)
	rc.expect(w.Secret)
	if err := d.Deliver(t.Context(), id, 2); err != nil {
		t.Fatal(err)
	}
	reqs := rc.got()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(reqs))
	}
	for i, want := range []int{2, 1} {
		if n := len(strings.Fields(reqs[i].Header.Get("webhook-signature"))); n != want {
			t.Errorf("request %d: %d signatures, want %d", i, n, want)
		}
	}
}

func TestDeliver_ResponseExcerpt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// 511 bytes of ASCII and a NUL, then a 3-byte rune across the 512th
	// byte, then more than the excerpt keeps.
	answer := strings.Repeat("a", 510) + "\x00" + "€" + strings.Repeat("b", 1000)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(answer))
	})
	wh := b.addWebhook(t, webhook{URL: rc.srv.URL})
	rc.expect(wh.Secret)
	id, _ := b.addDelivery(t, wh)
	if err := b.deliverer(b.config()).Deliver(t.Context(), id, 1); err != nil {
		t.Fatal(err)
	}
	atts := b.attempts(t, id)
	if len(atts) != 1 || atts[0].Excerpt != strings.Repeat("a", 510) {
		t.Fatalf("excerpt %q, want the 510 a's: valid UTF-8, no NUL, at most 512 bytes", atts[0].Excerpt)
	}
}

// BenchmarkDeliver measures one delivery's own cost: reading it,
// signing, posting to a receiver on loopback that answers at once, and
// recording the attempt.
func BenchmarkDeliver(b *testing.B) {
	bd := setup(b)
	rc := newReceiver(b, nil)
	w := bd.addWebhook(b, webhook{URL: rc.srv.URL})
	ids := make([]uuid.UUID, b.N)
	for i := range ids {
		ids[i], _ = bd.addDelivery(b, w)
	}
	d := bd.deliverer(bd.config())
	b.ResetTimer()
	for i := range b.N {
		if err := d.Deliver(b.Context(), ids[i], 1); err != nil {
			b.Fatal(err)
		}
	}
}

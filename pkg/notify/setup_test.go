package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// clock is the tests' movable clock. It starts at the wall time: the
// Standard Webhooks library's Verify checks a message's timestamp
// against the wall clock (a 5-minute window).
type clock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sleep moves the clock by d at once and remembers the wait.
func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

// Slept returns the waits Sleep was asked for.
func (c *clock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// maxJitter makes full jitter take its ceiling, so delays are known.
func maxJitter(n int64) int64 { return n - 1 }

// testRender is the tests' body: the Standard Webhooks shape, built here so
// that these tests do not depend on the real renderer.
func testRender(format string, ev notify.Event, _ notify.Links) ([]byte, string, error) {
	b, err := json.Marshal(map[string]any{
		"type": ev.Type, "timestamp": ev.OccurredAt, "data": json.RawMessage(ev.Payload), "format": format,
	})
	return b, "application/json", err
}

// bundle is what a delivery test needs.
type bundle struct {
	pool   *pgxpool.Pool
	keys   *secrets.Keyring
	store  *store.Store
	rdb    *redis.Client
	client *asynq.Client
	insp   *asynq.Inspector
	clock  *clock
	logs   *testenv.Buffer
	log    *slog.Logger
}

func setup(t testing.TB) *bundle {
	t.Helper()
	pool := testenv.Pool(t)
	keys := testenv.Keyring(t)
	rdb := testenv.Redis(t)
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspectorFromRedisClient(rdb)
	logs := &testenv.Buffer{}
	return &bundle{
		pool: pool, keys: keys, store: store.New(pool, keys), rdb: rdb, client: client, insp: insp,
		clock: newClock(), logs: logs, log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// config is the deliverer's config in a test: the test clock and
// jitter, the test renderer, private addresses allowed.
func (b *bundle) config() notify.Config {
	return notify.Config{
		Timeout: 2 * time.Second, Backoff: 5 * time.Second, RetryFor: 24 * time.Hour, DisableAfter: 50,
		AllowPrivate: true, Clock: b.clock, Jitter: maxJitter, Render: testRender,
	}
}

func (b *bundle) deliverer(c notify.Config) *notify.Deliverer {
	return notify.NewDeliverer(notify.Deps{Store: b.store, Keys: b.keys, Queue: b.client, Log: b.log}, c)
}

// webhook is a webhook row of a test.
type webhook struct {
	ID       uuid.UUID
	Secret   string
	URL      string
	Events   []string
	Benches  []uuid.UUID
	Created  time.Time
	Disabled string // disabled_reason; non-empty: disabled
	// Previous, when set, is a rotated-out secret valid until PrevUntil.
	Previous  string
	PrevUntil time.Time
}

// addWebhook writes w (defaults: every event type, created an hour ago,
// a fresh secret) with its secrets sealed as the API seals them.
func (b *bundle) addWebhook(t testing.TB, w webhook) webhook {
	t.Helper()
	w.ID = uuid.Must(uuid.NewV7())
	if w.Secret == "" {
		s, err := notify.GenerateSecret()
		if err != nil {
			t.Fatal(err)
		}
		w.Secret = s
	}
	if w.Events == nil {
		w.Events = notify.EventTypes
	}
	if w.Benches == nil {
		w.Benches = []uuid.UUID{}
	}
	if w.Created.IsZero() {
		w.Created = b.clock.Now().Add(-time.Hour)
	}
	kid, ct, err := b.keys.Encrypt([]byte(w.Secret), notify.SecretAAD(w.ID))
	if err != nil {
		t.Fatal(err)
	}
	var pkid *string
	var pct []byte
	var pexp *time.Time
	if w.Previous != "" {
		k, c, err := b.keys.Encrypt([]byte(w.Previous), notify.SecretAAD(w.ID))
		if err != nil {
			t.Fatal(err)
		}
		pkid, pct, pexp = &k, c, &w.PrevUntil
	}
	var reason *string
	if w.Disabled != "" {
		reason = &w.Disabled
	}
	_, err = b.pool.Exec(t.Context(), `
INSERT INTO webhooks (id, name, url, events, benchmark_ids, enabled, secret_prefix, secret_key_id, secret_ciphertext,
  previous_secret_key_id, previous_secret_ciphertext, previous_secret_expires_at, disabled_reason, created_at, updated_at)
VALUES ($1, 'hook', $2, $3, $4, $5, 'whsec_', $6, $7, $8, $9, $10, $11, $12, $12)`,
		w.ID, w.URL, w.Events, w.Benches, w.Disabled == "", kid, ct, pkid, pct, pexp, reason, w.Created)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// addEvent writes an undispatched event into the outbox.
func (b *bundle) addEvent(t testing.TB, typ string, at time.Time, bench *uuid.UUID) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := b.pool.Exec(t.Context(), `INSERT INTO events (id, type, occurred_at, benchmark_id, dedup_key, payload)
VALUES ($1, $2, $3, $4, $5, $6)`, id, typ, at, bench, typ+":"+id.String(), fmt.Sprintf(`{"n":%q}`, id))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// addDelivery writes an event and a pending delivery of it to w, due now,
// as the dispatch would; it returns the delivery's and the event's ids.
func (b *bundle) addDelivery(t testing.TB, w webhook) (uuid.UUID, uuid.UUID) {
	t.Helper()
	ev := b.addEvent(t, notify.RunCompleted, b.clock.Now(), nil)
	id := uuid.Must(uuid.NewV7())
	now := b.clock.Now()
	if _, err := b.pool.Exec(t.Context(), `UPDATE events SET dispatched_at = $2 WHERE id = $1`, ev, now); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(t.Context(), `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, $5, $5)`, id, w.ID, ev, notify.RunCompleted, now); err != nil {
		t.Fatal(err)
	}
	return id, ev
}

// delivery is a delivery's row.
type delivery struct {
	Status    string
	Attempts  int
	Next      *time.Time
	LastError *string
}

func (b *bundle) delivery(t testing.TB, id uuid.UUID) delivery {
	t.Helper()
	var d delivery
	if err := b.pool.QueryRow(t.Context(), `SELECT status, attempts, next_attempt_at, last_error FROM webhook_deliveries WHERE id = $1`, id).
		Scan(&d.Status, &d.Attempts, &d.Next, &d.LastError); err != nil {
		t.Fatal(err)
	}
	return d
}

// attempt is an attempt's row.
type attempt struct {
	N       int
	Started time.Time
	Code    *int
	Error   *string
	Excerpt string
}

func (b *bundle) attempts(t testing.TB, id uuid.UUID) []attempt {
	t.Helper()
	rows, err := b.pool.Query(t.Context(), `SELECT attempt, started_at, status_code, error, response_excerpt FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []attempt
	for rows.Next() {
		var a attempt
		if err := rows.Scan(&a.N, &a.Started, &a.Code, &a.Error, &a.Excerpt); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// request is one request the receiver got.
type request struct {
	Header http.Header
	Body   []byte
}

// receiver is the webhook endpoint of a test: a real HTTP server on
// loopback that verifies every request's signature twice, with the
// library's Verify and with the reference algorithm written out below,
// against the secrets it was told, and answers as answer says.
type receiver struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	secrets  []string
	requests []request
	// answer handles the n-th request (from 0); nil answers 200.
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t testing.TB, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{t: t, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

// expect sets the secrets the receiver knows: every signature must
// verify with each of them.
func (rc *receiver) expect(secrets ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets = secrets
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Errorf("receiver: read body: %v", err)
		return
	}
	rc.mu.Lock()
	n := len(rc.requests)
	rc.requests = append(rc.requests, request{Header: r.Header.Clone(), Body: body})
	secrets := rc.secrets
	answer := rc.answer
	rc.mu.Unlock()
	if r.Header.Get("User-Agent") != notify.UserAgent {
		rc.t.Errorf("receiver: User-Agent %q, want %q", r.Header.Get("User-Agent"), notify.UserAgent)
	}
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			rc.t.Errorf("receiver: %v", err)
			continue
		}
		if err := wh.Verify(body, r.Header); err != nil {
			rc.t.Errorf("receiver: the library does not verify request %d: %v", n, err)
		}
		if err := testenv.VerifyStandardWebhook(s, body, r.Header, time.Now()); err != nil {
			rc.t.Errorf("receiver: the reference algorithm does not verify request %d: %v", n, err)
		}
	}
	if answer == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	answer(n, w, r)
}

func (rc *receiver) got() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.requests...)
}

// answerCodes answers the n-th request with codes[n] (the last one after).
func answerCodes(codes ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(codes[min(n, len(codes)-1)])
		_, _ = w.Write([]byte("answer " + strconv.Itoa(n)))
	}
}

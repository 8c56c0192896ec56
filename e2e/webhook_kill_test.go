package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// TestWebhook_WorkerKilledDuringDelivery kills a worker process (SIGKILL)
// while its delivery waits for the receiver's answer. Nothing of the
// attempt is recorded; asynq's recovery archives the dead worker's task
// (deliver tasks are not retried by asynq), and the notification sweep of
// another worker, seeing the delivery still pending and overdue, enqueues
// it again: the receiver gets it a second time, with the same webhook-id,
// and it is recorded once.
func TestWebhook_WorkerKilledDuringDelivery(t *testing.T) {
	t.Parallel()
	dbURL, redisURL, keyEnv := testenv.DatabaseURL(t), testenv.RedisURL(t), testenv.KeyEnv(t)
	keys, err := secrets.ParseKeyring(keyEnv)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	secret, err := notify.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ids []string
	inFlight := make(chan struct{})
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: read: %v", err)
		}
		if err := verifier.Verify(body, r.Header); err != nil {
			t.Errorf("receiver: signature: %v", err)
		}
		mu.Lock()
		ids = append(ids, r.Header.Get("webhook-id"))
		first := len(ids) == 1
		mu.Unlock()
		if first {
			// Hold the answer: the worker dies waiting for it.
			close(inFlight)
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(receiver.Close)

	// A webhook and a pending delivery of a webhook.test event, written as
	// the API's test route writes them, and its first task.
	hook, event, delivery := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	kid, sealed, err := keys.Encrypt([]byte(secret), notify.SecretAAD(hook))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	payload, _ := json.Marshal(notify.WebhookTested{WebhookID: hook, Message: "a test delivery"})
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO webhooks (id, name, url, events, secret_prefix, secret_key_id, secret_ciphertext, created_at, updated_at)
VALUES ($1, 'kill', $2, $3, 'whsec_', $4, $5, $6, $6)`, []any{hook, receiver.URL, []string{notify.WebhookTest}, kid, sealed, now}},
		{`INSERT INTO events (id, type, occurred_at, dedup_key, payload, dispatched_at) VALUES ($1, $2, $3, $4, $5, $3)`,
			[]any{event, notify.WebhookTest, now, "webhook.test:" + event.String(), payload}},
		{`INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			[]any{delivery, hook, event, notify.WebhookTest, now}},
	} {
		if _, err := pool.Exec(t.Context(), q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	qc := asynq.NewClientFromRedisClient(rdb)
	if _, err := qc.EnqueueContext(t.Context(), notify.NewDeliverTask(delivery, 1)); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{
		"SABE_DATABASE_URL": dbURL, "SABE_REDIS_URL": redisURL, "SABE_ENCRYPTION_KEY": keyEnv,
		"SABE_ALLOW_PRIVATE_WEBHOOKS": "true", "SABE_METRICS_ADDR": "off", "SABE_WEBHOOK_TIMEOUT": "1m",
		"SABE_LOG_FORMAT": "text", "SABE_LOG_LEVEL": "info",
	}
	victim := startProc(t, "worker-victim", "worker", env)
	select {
	case <-inFlight:
	case <-time.After(60 * time.Second):
		t.Fatalf("the delivery never reached the receiver; worker output:\n%s", tail(victim.out.String(), 3000))
	}
	victim.Kill(t)
	killed := time.Now()
	startProc(t, "worker-survivor", "worker", env)

	// asynq frees a dead worker's task only after its lease ran out, plus
	// its recoverer's allowance and period; the sweep then runs within its
	// interval.
	deadline := time.Now().Add(asynqLease + asynqRecoverCutoff + asynqRecoverEvery + 30*time.Second)
	var status string
	for time.Now().Before(deadline) {
		if err := pool.QueryRow(t.Context(), `SELECT status FROM webhook_deliveries WHERE id = $1`, delivery).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if status == notify.StatusSucceeded {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status != notify.StatusSucceeded {
		t.Fatalf("delivery %s after the kill, want succeeded", status)
	}
	t.Logf("delivered %s after the kill", time.Since(killed).Round(time.Second))
	var attempts, rows int
	if err := pool.QueryRow(t.Context(), `SELECT d.attempts, (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id)
FROM webhook_deliveries d WHERE d.id = $1`, delivery).Scan(&attempts, &rows); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || rows != 1 {
		t.Errorf("attempts %d, attempt rows %d; want the one that was answered", attempts, rows)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 2 || ids[0] != notify.MessageID(event) || ids[1] != ids[0] {
		t.Errorf("receiver got webhook-ids %v, want %s twice", ids, notify.MessageID(event))
	}
}

package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// webhookSecrets reads a webhook's sealed secrets straight from its row
// and opens them with ring: the current one, and the previous one ("" when
// there is none).
func webhookSecrets(ctx context.Context, t *testing.T, pool *pgxpool.Pool, ring *secrets.Keyring, id uuid.UUID) (current, previous string) {
	t.Helper()
	var keyID string
	var ct, prevCT []byte
	var prevKeyID *string
	err := pool.QueryRow(ctx, `SELECT secret_key_id, secret_ciphertext, previous_secret_key_id, previous_secret_ciphertext FROM webhooks WHERE id = $1`, id).
		Scan(&keyID, &ct, &prevKeyID, &prevCT)
	if err != nil {
		t.Fatal(err)
	}
	open := func(keyID string, ct []byte) string {
		plain, err := ring.Decrypt(keyID, ct, notify.SecretAAD(id))
		if err != nil {
			t.Fatalf("open secret of webhook %s sealed with %s: %v", id, keyID, err)
		}
		return string(plain)
	}
	current = open(keyID, ct)
	if prevKeyID != nil {
		previous = open(*prevKeyID, prevCT)
	}
	return current, previous
}

func newWebhook(ctx context.Context, t *testing.T, s *store.Store, name string, now time.Time) (string, *store.Webhook) {
	t.Helper()
	secret, w, err := s.CreateWebhook(ctx, store.NewWebhook{
		Name: name, URL: "https://hooks.example.com/" + name, Events: []string{notify.RunCompleted, notify.WebhookTest},
		Enabled: true, Now: now,
	})
	if err != nil {
		t.Fatalf("create webhook: %v", err)
	}
	return secret, w
}

func TestStore_Webhooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	ring := testenv.Keyring(t)
	s := store.New(pool, ring)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	t.Run("OK", func(t *testing.T) {
		b := testfactory.Benchmark(ctx, t, s, nil)
		secret, w, err := s.CreateWebhook(ctx, store.NewWebhook{
			Name: "ops", URL: "https://hooks.example.com/ops", Events: []string{notify.RunFailed},
			BenchmarkIDs: []uuid.UUID{b.ID}, Enabled: true, Now: t0,
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, notify.SecretPrefix) || w.SecretPrefix != secret[:10] || len(w.SecretPrefix) != 10 {
			t.Errorf("secret %q... with prefix %q", secret[:10], w.SecretPrefix)
		}
		if w.Format != store.WebhookFormatJSON || !w.Enabled || !w.CreatedAt.Equal(t0) || len(w.BenchmarkIDs) != 1 {
			t.Errorf("created %+v", w)
		}
		if cur, prev := webhookSecrets(ctx, t, pool, ring, w.ID); cur != secret || prev != "" {
			t.Errorf("sealed secret opens to %q (previous %q), want the one returned", cur, prev)
		}
		name, off := "renamed", false
		t1 := t0.Add(time.Hour)
		up, err := s.UpdateWebhook(ctx, w.ID, store.WebhookPatch{Name: &name, Enabled: &off, Now: t1})
		if err != nil {
			t.Fatal(err)
		}
		if up.Name != "renamed" || up.Enabled || up.DisabledAt == nil || !up.DisabledAt.Equal(t1) || up.DisabledReason != nil || up.URL != w.URL {
			t.Errorf("updated %+v", up)
		}
		if err := s.DeleteWebhook(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetWebhook(ctx, w.ID); fault.KindOf(err) != fault.KindNotFound {
			t.Errorf("get after delete: %v, want NotFound", err)
		}
		if err := s.DeleteWebhook(ctx, w.ID); fault.KindOf(err) != fault.KindNotFound {
			t.Errorf("second delete: %v, want NotFound", err)
		}
	})

	t.Run("RotateSecret", func(t *testing.T) {
		first, w := newWebhook(ctx, t, s, "rotate", t0)
		t1 := t0.Add(3 * time.Hour)
		second, rw, err := s.RotateWebhookSecret(ctx, w.ID, t1)
		if err != nil {
			t.Fatal(err)
		}
		if second == first || rw.SecretPrefix != second[:10] {
			t.Errorf("rotation gave %q..., prefix %q", second[:10], rw.SecretPrefix)
		}
		if rw.PreviousSecretExpiresAt == nil || !rw.PreviousSecretExpiresAt.Equal(t1.Add(24*time.Hour)) {
			t.Errorf("previous_secret_expires_at = %v, want %v", rw.PreviousSecretExpiresAt, t1.Add(24*time.Hour))
		}
		cur, prev := webhookSecrets(ctx, t, pool, ring, w.ID)
		if cur != second || prev != first {
			t.Errorf("after rotation the row opens to current %q, previous %q; want the new and the old", cur[:10], prev)
		}
		if _, _, err := s.RotateWebhookSecret(ctx, uuid.New(), t1); fault.KindOf(err) != fault.KindNotFound {
			t.Errorf("rotate unknown: %v, want NotFound", err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for field, in := range map[string]store.NewWebhook{
			"name":            {Name: " ", URL: "https://x.example", Events: []string{notify.RunFailed}},
			"events":          {Name: "n", URL: "https://x.example"},
			"events[1]":       {Name: "n", URL: "https://x.example", Events: []string{notify.RunFailed, "run.exploded"}},
			"format":          {Name: "n", URL: "https://x.example", Events: []string{notify.RunFailed}, Format: "xml"},
			"benchmark_ids.0": {Name: "n", URL: "https://x.example", Events: []string{notify.RunFailed}, BenchmarkIDs: []uuid.UUID{uuid.New()}},
		} {
			_, _, err := s.CreateWebhook(ctx, in)
			if fe := fault.As(err); fe == nil || fe.Kind != fault.KindInvalid || fe.Field != field {
				t.Errorf("%s: err = %v, want Invalid on %s", field, err, field)
			}
		}
	})

	t.Run("NoSecretInAudit", func(t *testing.T) {
		secret, w := newWebhook(ctx, t, s, "audited", t0)
		second, _, err := s.RotateWebhookSecret(ctx, w.ID, t0)
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.ListAudit(ctx, store.AuditFilter{ResourceType: audit.ResourceWebhook, ResourceID: w.ID.String()}, 50, "")
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]bool{}
		for _, e := range page.Items {
			actions[e.Action] = true
			if strings.Contains(e.Reason, secret[10:]) || strings.Contains(e.Reason, second[10:]) {
				t.Errorf("audit %s carries the secret: %q", e.Action, e.Reason)
			}
		}
		if !actions[audit.ActionWebhookCreate] || !actions[audit.ActionWebhookRotateSecret] {
			t.Errorf("audit actions %v, want create and rotate_secret", actions)
		}
	})
}

func TestStore_WebhookDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	s := store.New(pool, testenv.Keyring(t))
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	_, w := newWebhook(ctx, t, s, "deliveries", t0)
	_, other := newWebhook(ctx, t, s, "other", t0)

	test, err := s.CreateTestDelivery(ctx, w.ID, t0)
	if err != nil {
		t.Fatal(err)
	}
	if test.Status != "pending" || test.EventType != notify.WebhookTest || test.NextAttemptAt == nil || !test.NextAttemptAt.Equal(t0) || test.RedeliveryOf != nil {
		t.Errorf("test delivery %+v", test)
	}
	// The delivery engine takes the API's delivery as its own.
	if out, err := s.DeliveryToSend(ctx, test.ID); err != nil || out.Status != "pending" || out.Attempts != 0 ||
		out.Event.Type != notify.WebhookTest || out.WebhookID != w.ID || out.URL != w.URL || out.Previous != nil {
		t.Errorf("DeliveryToSend = %+v, %v", out, err)
	}
	var dispatched *time.Time
	var payload []byte
	var dedup string
	if err := pool.QueryRow(ctx, `SELECT dispatched_at, payload, dedup_key FROM events WHERE id = $1`, test.EventID).Scan(&dispatched, &payload, &dedup); err != nil {
		t.Fatal(err)
	}
	if dispatched == nil || !dispatched.Equal(t0) || !bytes.Contains(payload, []byte(w.ID.String())) || dedup != "webhook.test:"+test.EventID.String() {
		t.Errorf("test event: dispatched %v, payload %s, dedup %q", dispatched, payload, dedup)
	}

	again, err := s.Redeliver(ctx, w.ID, test.ID, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if again.EventID != test.EventID || again.RedeliveryOf == nil || *again.RedeliveryOf != test.ID || again.Status != "pending" {
		t.Errorf("redelivery %+v", again)
	}
	if _, err := s.Redeliver(ctx, other.ID, test.ID, t0); fault.KindOf(err) != fault.KindNotFound {
		t.Errorf("redeliver through another webhook: %v, want NotFound", err)
	}
	if _, err := s.GetWebhookDelivery(ctx, other.ID, test.ID); fault.KindOf(err) != fault.KindNotFound {
		t.Errorf("get through another webhook: %v, want NotFound", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error, response_excerpt)
		VALUES ($1, 1, $2, 500, 12.5, 'answered 500', 'oops'), ($1, 2, $3, 200, 3, NULL, 'ok')`, test.ID, t0, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetWebhookDelivery(ctx, w.ID, test.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Attempts) != 2 || got.Attempts[0].Attempt != 1 || *got.Attempts[0].StatusCode != 500 || got.Attempts[1].Error != nil {
		t.Errorf("attempts %+v", got.Attempts)
	}

	// Newest first, two pages.
	p1, err := s.ListWebhookDeliveries(ctx, w.ID, store.WebhookDeliveryFilter{}, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Items) != 1 || p1.Items[0].ID != again.ID || p1.Next == "" {
		t.Fatalf("first page %+v", p1)
	}
	p2, err := s.ListWebhookDeliveries(ctx, w.ID, store.WebhookDeliveryFilter{}, 1, p1.Next)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Items) != 1 || p2.Items[0].ID != test.ID || len(p2.Items[0].Attempts) != 2 || p2.Next != "" {
		t.Fatalf("second page %+v", p2)
	}
	none, err := s.ListWebhookDeliveries(ctx, w.ID, store.WebhookDeliveryFilter{Status: "succeeded"}, 10, "")
	if err != nil || len(none.Items) != 0 {
		t.Errorf("succeeded filter: %+v, %v; want none", none, err)
	}

	// Disabling the webhook cancels what is pending and refuses new
	// deliveries.
	off := false
	if _, err := s.UpdateWebhook(ctx, w.ID, store.WebhookPatch{Enabled: &off, Now: t0}); err != nil {
		t.Fatal(err)
	}
	cancelled, err := s.ListWebhookDeliveries(ctx, w.ID, store.WebhookDeliveryFilter{Status: "cancelled"}, 10, "")
	if err != nil || len(cancelled.Items) != 2 {
		t.Errorf("cancelled after disabling: %d, %v; want 2", len(cancelled.Items), err)
	}
	if _, err := s.CreateTestDelivery(ctx, w.ID, t0); fault.KindOf(err) != fault.KindConflict {
		t.Errorf("test of a disabled webhook: %v, want Conflict", err)
	}
	if _, err := s.Redeliver(ctx, w.ID, test.ID, t0); fault.KindOf(err) != fault.KindConflict {
		t.Errorf("redeliver of a disabled webhook: %v, want Conflict", err)
	}
	if _, err := s.CreateTestDelivery(ctx, uuid.New(), t0); fault.KindOf(err) != fault.KindNotFound {
		t.Errorf("test of an unknown webhook: %v, want NotFound", err)
	}
}

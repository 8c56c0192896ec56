package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// webhookBody is a valid CreateWebhookRequest; over replaces its fields.
func webhookBody(t *testing.T, over map[string]any) string {
	t.Helper()
	body := map[string]any{"name": "hook", "url": "http://127.0.0.1:9/hook", "events": []string{"run.completed", "run.failed"}}
	for k, v := range over {
		if v == nil {
			delete(body, k)
			continue
		}
		body[k] = v
	}
	return mustJSON(t, body)
}

func (b *bundle) webhook(t *testing.T, over map[string]any) oapi.CreatedWebhook {
	t.Helper()
	return call[oapi.CreatedWebhook](t, b, "POST", "/v1/webhooks", webhookBody(t, over), http.StatusCreated)
}

// webhookSetup is a server whose webhooks may point at loopback, as the
// tests' URLs do.
func webhookSetup(t *testing.T, mods ...func(*httpapi.Deps)) *bundle {
	t.Helper()
	return setup(t, append([]func(*httpapi.Deps){func(d *httpapi.Deps) { d.Config.AllowPrivateWebhooks = true }}, mods...)...)
}

func TestServer_Webhooks(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := webhookSetup(t)
		bench := testfactory.Benchmark(context.Background(), t, b.store, nil)
		w := b.webhook(t, map[string]any{"benchmark_ids": []string{bench.ID.String()}, "format": "slack"})
		if w.Name != "hook" || w.Format != oapi.WebhookFormatSlack || !w.Enabled || len(w.Events) != 2 ||
			len(w.BenchmarkIds) != 1 || w.BenchmarkIds[0] != bench.ID || !strings.HasPrefix(w.Secret, "whsec_") ||
			w.SecretPrefix != w.Secret[:10] || w.PreviousSecretExpiresAt != nil || w.DisabledReason != nil {
			t.Fatalf("created %+v", w)
		}
		path := "/v1/webhooks/" + w.Id.String()
		got := call[oapi.Webhook](t, b, "GET", path, "", http.StatusOK)
		if got.Id != w.Id || got.Url != w.Url || got.SecretPrefix != w.SecretPrefix {
			t.Errorf("get = %+v", got)
		}
		upd := call[oapi.Webhook](t, b, "PATCH", path, `{"name":"renamed","events":["webhook.test"],"benchmark_ids":[],"enabled":false}`, http.StatusOK)
		if upd.Name != "renamed" || len(upd.Events) != 1 || upd.Events[0] != oapi.EventWebhookTest || len(upd.BenchmarkIds) != 0 ||
			upd.Enabled || upd.DisabledAt == nil || upd.Url != w.Url || upd.Format != oapi.WebhookFormatSlack {
			t.Errorf("patched = %+v", upd)
		}
		// Defaults: json, enabled.
		d := b.webhook(t, map[string]any{"name": "defaults"})
		if d.Format != oapi.WebhookFormatJSON || !d.Enabled || len(d.BenchmarkIds) != 0 {
			t.Errorf("defaults = %+v", d)
		}
		b.webhook(t, map[string]any{"name": "third"})
		checkPaging(t, b, "/v1/webhooks")

		if r := b.do(t, "DELETE", path, ""); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		wantError(t, b.do(t, "GET", path, ""), http.StatusNotFound, "")
		wantError(t, b.do(t, "DELETE", path, ""), http.StatusNotFound, "")
		wantError(t, b.do(t, "PATCH", path, `{"name":"x"}`), http.StatusNotFound, "")
	})

	t.Run("SecretShownOnce", func(t *testing.T) {
		t.Parallel()
		b := webhookSetup(t)
		w := b.webhook(t, nil)
		path := "/v1/webhooks/" + w.Id.String()
		rotated := call[oapi.CreatedWebhook](t, b, "POST", path+"/rotate-secret", "", http.StatusOK)
		if rotated.Secret == w.Secret || rotated.SecretPrefix != rotated.Secret[:10] || rotated.PreviousSecretExpiresAt == nil {
			t.Fatalf("rotated %+v", rotated)
		}
		if want := rotated.UpdatedAt.Add(24 * time.Hour); !rotated.PreviousSecretExpiresAt.Equal(want) {
			t.Errorf("previous_secret_expires_at = %v, want updated_at + 24h = %v", rotated.PreviousSecretExpiresAt, want)
		}
		test := call[oapi.WebhookDelivery](t, b, "POST", path+"/test", "", http.StatusAccepted)
		bodies := map[string]response{
			"get":        b.do(t, "GET", path, ""),
			"list":       b.do(t, "GET", "/v1/webhooks", ""),
			"patch":      b.do(t, "PATCH", path, `{"name":"still secret"}`),
			"deliveries": b.do(t, "GET", path+"/deliveries", ""),
			"delivery":   b.do(t, "GET", path+"/deliveries/"+test.Id.String(), ""),
			"audit":      b.do(t, "GET", "/v1/audit?resource_type=webhook", ""),
		}
		for name, r := range bodies {
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", name, r.status, r.body)
			}
			for _, secret := range []string{w.Secret, rotated.Secret} {
				// The prefix is shown by design; what follows it is the secret.
				if strings.Contains(string(r.body), secret[10:]) || strings.Contains(string(r.body), `"secret"`) {
					t.Errorf("%s shows a secret: %s", name, r.body)
				}
			}
		}
		if !strings.Contains(string(bodies["audit"].body), audit.ActionWebhookRotateSecret) {
			t.Errorf("audit lacks the rotation: %s", bodies["audit"].body)
		}
	})

	t.Run("RotateKeepsOldSealed", func(t *testing.T) {
		t.Parallel()
		b := webhookSetup(t)
		w := b.webhook(t, nil)
		ctx := context.Background()
		var keyID string
		var ct []byte
		if err := b.store.Pool().QueryRow(ctx, `SELECT secret_key_id, secret_ciphertext FROM webhooks WHERE id = $1`, w.Id).Scan(&keyID, &ct); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(ct), w.Secret[10:]) {
			t.Fatal("the secret is stored in the clear")
		}
		call[oapi.CreatedWebhook](t, b, "POST", "/v1/webhooks/"+w.Id.String()+"/rotate-secret", "", http.StatusOK)
		var prevKeyID *string
		var prevCT []byte
		if err := b.store.Pool().QueryRow(ctx, `SELECT previous_secret_key_id, previous_secret_ciphertext FROM webhooks WHERE id = $1`, w.Id).Scan(&prevKeyID, &prevCT); err != nil {
			t.Fatal(err)
		}
		if prevKeyID == nil || *prevKeyID != keyID || string(prevCT) != string(ct) {
			t.Errorf("previous secret = %v/%x, want the sealed one before rotation %s/%x", prevKeyID, prevCT, keyID, ct)
		}
		wantError(t, b.do(t, "POST", "/v1/webhooks/"+uuid.NewString()+"/rotate-secret", ""), http.StatusNotFound, "")
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		b := webhookSetup(t)
		unknown := uuid.NewString()
		bench := testfactory.Benchmark(context.Background(), t, b.store, nil)
		for _, tc := range []struct {
			name  string
			over  map[string]any
			field string
		}{
			{"NotHTTP", map[string]any{"url": "ftp://127.0.0.1/hook"}, "url"},
			{"FileURL", map[string]any{"url": "file:///etc/passwd"}, "url"},
			{"UserInfo", map[string]any{"url": "http://user:pw@127.0.0.1:9/hook"}, "url"},
			{"UnknownEvent", map[string]any{"events": []string{"run.completed", "run.exploded"}}, "events[1]"},
			{"EmptyEvents", map[string]any{"events": []string{}}, "events"},
			{"UnknownBenchmark", map[string]any{"benchmark_ids": []string{bench.ID.String(), unknown}}, "benchmark_ids.1"},
			{"BlankName", map[string]any{"name": "   "}, "name"},
		} {
			r := b.do(t, "POST", "/v1/webhooks", webhookBody(t, tc.over))
			if r.status != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422: %s", tc.name, r.status, r.body)
				continue
			}
			wantError(t, r, http.StatusUnprocessableEntity, tc.field)
		}
		// Nothing was written.
		if page := call[oapi.WebhookList](t, b, "GET", "/v1/webhooks", "", http.StatusOK); len(page.Items) != 0 {
			t.Errorf("%d webhooks after refusals, want 0", len(page.Items))
		}
		w := b.webhook(t, nil)
		for body, field := range map[string]string{
			`{"url":"gopher://127.0.0.1/"}`:         "url",
			`{"events":["nope"]}`:                   "events[0]",
			`{"benchmark_ids":["` + unknown + `"]}`: "benchmark_ids.0",
		} {
			wantError(t, b.do(t, "PATCH", "/v1/webhooks/"+w.Id.String(), body), http.StatusUnprocessableEntity, field)
		}
		if got := call[oapi.Webhook](t, b, "GET", "/v1/webhooks/"+w.Id.String(), "", http.StatusOK); got.Url != w.Url || len(got.Events) != 2 {
			t.Errorf("refused patches changed the webhook: %+v", got)
		}
	})

	t.Run("ErrPrivateURL", func(t *testing.T) {
		t.Parallel()
		// Without the operator's consent loopback is refused, whatever the
		// guard's words.
		b := setup(t)
		wantError(t, b.do(t, "POST", "/v1/webhooks", webhookBody(t, nil)), http.StatusUnprocessableEntity, "url")
	})

	t.Run("ErrForbidden", func(t *testing.T) {
		t.Parallel()
		b := webhookSetup(t)
		w := b.webhook(t, nil)
		path := "/v1/webhooks/" + w.Id.String()
		d := call[oapi.WebhookDelivery](t, b, "POST", path+"/test", "", http.StatusAccepted)
		writer := b.newToken(t, apitoken.ScopeRead, apitoken.ScopeWrite)
		for _, rq := range [][3]string{
			{"GET", "/v1/webhooks", ""}, {"POST", "/v1/webhooks", webhookBody(t, nil)}, {"GET", path, ""},
			{"PATCH", path, `{"name":"x"}`}, {"DELETE", path, ""}, {"POST", path + "/rotate-secret", ""},
			{"POST", path + "/test", ""}, {"GET", path + "/deliveries", ""}, {"GET", path + "/deliveries/" + d.Id.String(), ""},
			{"POST", path + "/deliveries/" + d.Id.String() + "/redeliver", ""},
		} {
			wantError(t, b.do(t, rq[0], rq[1], rq[2], as(writer)), http.StatusForbidden, "")
		}
		if page := call[oapi.WebhookList](t, b, "GET", "/v1/webhooks", "", http.StatusOK); len(page.Items) != 1 || page.Items[0].Name != "hook" {
			t.Errorf("webhooks after refused calls: %+v", page.Items)
		}
	})

	t.Run("TestAndRedeliver", func(t *testing.T) {
		t.Parallel()
		b := webhookSetup(t)
		w := b.webhook(t, nil)
		other := b.webhook(t, map[string]any{"name": "other"})
		path := "/v1/webhooks/" + w.Id.String()
		test := call[oapi.WebhookDelivery](t, b, "POST", path+"/test", "", http.StatusAccepted)
		if test.WebhookId != w.Id || test.EventType != oapi.EventWebhookTest || test.Status != oapi.DeliveryPending ||
			test.NextAttemptAt == nil || test.RedeliveryOf != nil || !strings.HasPrefix(test.EventId, "msg_") || len(test.Attempts) != 0 {
			t.Fatalf("test delivery %+v", test)
		}
		wantDeliverTask(t, b, test.Id)

		again := call[oapi.WebhookDelivery](t, b, "POST", path+"/deliveries/"+test.Id.String()+"/redeliver", "", http.StatusAccepted)
		if again.Id == test.Id || again.EventId != test.EventId || again.RedeliveryOf == nil || *again.RedeliveryOf != test.Id || again.Status != oapi.DeliveryPending {
			t.Fatalf("redelivery %+v", again)
		}
		wantDeliverTask(t, b, again.Id)

		// 404: unknown webhook, unknown delivery, a delivery of another webhook.
		otherPath := "/v1/webhooks/" + other.Id.String()
		for _, p := range []string{
			"/v1/webhooks/" + uuid.NewString() + "/test",
			path + "/deliveries/" + uuid.NewString() + "/redeliver",
			otherPath + "/deliveries/" + test.Id.String() + "/redeliver",
		} {
			wantError(t, b.do(t, "POST", p, ""), http.StatusNotFound, "")
		}
		wantError(t, b.do(t, "GET", otherPath+"/deliveries/"+test.Id.String(), ""), http.StatusNotFound, "")
		wantError(t, b.do(t, "GET", "/v1/webhooks/"+uuid.NewString()+"/deliveries", ""), http.StatusNotFound, "")

		// 409 once disabled; the pending deliveries are cancelled.
		call[oapi.Webhook](t, b, "PATCH", path, `{"enabled":false}`, http.StatusOK)
		wantError(t, b.do(t, "POST", path+"/test", ""), http.StatusConflict, "")
		wantError(t, b.do(t, "POST", path+"/deliveries/"+test.Id.String()+"/redeliver", ""), http.StatusConflict, "")
		page := call[oapi.WebhookDeliveryList](t, b, "GET", path+"/deliveries?status=cancelled", "", http.StatusOK)
		if len(page.Items) != 2 {
			t.Errorf("%d cancelled deliveries after disabling, want 2", len(page.Items))
		}
	})

	t.Run("EnqueueFails", func(t *testing.T) {
		t.Parallel()
		b := webhookSetup(t, func(d *httpapi.Deps) {
			d.Queue = &fakeQueue{enqueue: func(context.Context, *asynq.Task, ...asynq.Option) (*asynq.TaskInfo, error) {
				return nil, fmt.Errorf("redis: connection refused")
			}}
		})
		w := b.webhook(t, nil)
		test := call[oapi.WebhookDelivery](t, b, "POST", "/v1/webhooks/"+w.Id.String()+"/test", "", http.StatusAccepted)
		got := call[oapi.WebhookDelivery](t, b, "GET", "/v1/webhooks/"+w.Id.String()+"/deliveries/"+test.Id.String(), "", http.StatusOK)
		if got.Status != oapi.DeliveryPending || got.NextAttemptAt == nil {
			t.Errorf("delivery whose task was not queued = %+v, want pending and due for the sweep", got)
		}
	})

	t.Run("EnableClearsDisable", func(t *testing.T) {
		t.Parallel()
		b := webhookSetup(t)
		w := b.webhook(t, nil)
		if _, err := b.store.Pool().Exec(context.Background(), `UPDATE webhooks SET enabled = false, consecutive_failures = 50,
			disabled_reason = 'disabled after 50 consecutive failed deliveries', disabled_at = now() WHERE id = $1`, w.Id); err != nil {
			t.Fatal(err)
		}
		got := call[oapi.Webhook](t, b, "GET", "/v1/webhooks/"+w.Id.String(), "", http.StatusOK)
		if got.Enabled || got.DisabledReason == nil || got.ConsecutiveFailures != 50 {
			t.Fatalf("disabled webhook = %+v", got)
		}
		on := call[oapi.Webhook](t, b, "PATCH", "/v1/webhooks/"+w.Id.String(), `{"enabled":true}`, http.StatusOK)
		if !on.Enabled || on.DisabledReason != nil || on.DisabledAt != nil || on.ConsecutiveFailures != 0 {
			t.Errorf("enabled again = %+v, want no reason, no disabled_at, no failures", on)
		}
	})

	t.Run("Deliveries", func(t *testing.T) {
		t.Parallel()
		b := webhookSetup(t)
		w := b.webhook(t, nil)
		path := "/v1/webhooks/" + w.Id.String()
		var ids []uuid.UUID
		for range 3 {
			ids = append(ids, call[oapi.WebhookDelivery](t, b, "POST", path+"/test", "", http.StatusAccepted).Id)
		}
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		if _, err := b.store.Pool().Exec(context.Background(), `INSERT INTO webhook_attempts
			(delivery_id, attempt, started_at, status_code, latency_ms, error, response_excerpt) VALUES
			($1, 1, $2, NULL, 10000, 'timed out after 10s', ''),
			($1, 2, $3, 503, 41.5, 'answered 503 Service Unavailable', 'try later')`, ids[0], at, at.Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		checkPaging(t, b, path+"/deliveries")
		page := call[oapi.WebhookDeliveryList](t, b, "GET", path+"/deliveries?event_type=webhook.test&status=pending", "", http.StatusOK)
		if len(page.Items) != 3 || page.Items[2].Id != ids[0] || page.Items[0].Id != ids[2] {
			t.Fatalf("deliveries %+v, want the 3, newest first", page.Items)
		}
		a := page.Items[2].Attempts
		if len(a) != 2 || a[0].Attempt != 1 || a[0].StatusCode != nil || a[0].Error == nil || *a[0].Error != "timed out after 10s" ||
			a[1].StatusCode == nil || *a[1].StatusCode != 503 || a[1].ResponseExcerpt != "try later" || a[1].LatencyMs != 41.5 || !a[1].StartedAt.Equal(at.Add(5*time.Second)) {
			t.Errorf("attempts %+v", a)
		}
		if none := call[oapi.WebhookDeliveryList](t, b, "GET", path+"/deliveries?event_type=run.completed", "", http.StatusOK); len(none.Items) != 0 {
			t.Errorf("run.completed deliveries: %d, want 0", len(none.Items))
		}
		wantError(t, b.do(t, "GET", path+"/deliveries?cursor=not-a-cursor", ""), http.StatusBadRequest, "cursor")
	})
}

// wantDeliverTask checks that the first attempt of a delivery is queued
// under its TaskID, with the delivery's id as its whole payload.
func wantDeliverTask(t *testing.T, b *bundle, deliveryID uuid.UUID) {
	t.Helper()
	id := notify.DeliverTaskID(deliveryID, 1)
	info, err := b.inspector.GetTaskInfo(notify.Queue, id)
	if err != nil {
		t.Fatalf("task %s: %v", id, err)
	}
	if info.Type != "webhook:deliver" || string(info.Payload) != deliveryID.String() {
		t.Errorf("task %s: type %s, payload %q; want webhook:deliver with the delivery id", id, info.Type, info.Payload)
	}
}

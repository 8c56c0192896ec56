package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// TestClient_Webhooks takes a webhook through every route of the client
// against the real API (no worker: deliveries stay pending).
func TestClient_Webhooks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	bench := b.benchmark(t)

	created, err := b.c.CreateWebhook(ctx, oapi.CreateWebhookRequest{
		Name: "ops", Url: "http://127.0.0.1:9/sabe", Events: []oapi.WebhookEventType{oapi.EventRunFailed},
		BenchmarkIds: &[]uuid.UUID{bench.Id},
	})
	if err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if !strings.HasPrefix(created.Secret, "whsec_") || !strings.HasPrefix(created.Secret, created.SecretPrefix) || !created.Enabled {
		t.Fatalf("created %+v", created)
	}
	got, err := b.c.GetWebhook(ctx, created.Id)
	if err != nil || got.Name != "ops" || len(got.BenchmarkIds) != 1 || got.BenchmarkIds[0] != bench.Id {
		t.Fatalf("GetWebhook = %+v, %v", got, err)
	}
	name := "ops-2"
	upd, err := b.c.UpdateWebhook(ctx, created.Id, oapi.UpdateWebhookRequest{Name: &name})
	if err != nil || upd.Name != name || upd.Url != created.Url {
		t.Fatalf("UpdateWebhook = %+v, %v", upd, err)
	}
	if id, found, err := b.c.FindByName(ctx, "/v1/webhooks", name); err != nil || !found || id != created.Id {
		t.Fatalf("FindByName(webhooks, %q) = %s %v %v", name, id, found, err)
	}
	all, err := b.c.AllWebhooks(ctx)
	if err != nil || len(all) != 1 || all[0].Id != created.Id {
		t.Fatalf("AllWebhooks = %+v, %v", all, err)
	}
	rotated, err := b.c.RotateWebhookSecret(ctx, created.Id)
	if err != nil || rotated.Secret == created.Secret || rotated.PreviousSecretExpiresAt == nil {
		t.Fatalf("RotateWebhookSecret = %+v, %v", rotated, err)
	}

	d, err := b.c.TestWebhook(ctx, created.Id)
	if err != nil || d.Status != oapi.DeliveryPending || d.EventType != oapi.EventWebhookTest || d.WebhookId != created.Id {
		t.Fatalf("TestWebhook = %+v, %v", d, err)
	}
	if one, err := b.c.GetDelivery(ctx, created.Id, d.Id); err != nil || one.Id != d.Id {
		t.Fatalf("GetDelivery = %+v, %v", one, err)
	}
	again, err := b.c.Redeliver(ctx, created.Id, d.Id)
	if err != nil || again.RedeliveryOf == nil || *again.RedeliveryOf != d.Id || again.EventId != d.EventId {
		t.Fatalf("Redeliver = %+v, %v", again, err)
	}
	pending, test := oapi.DeliveryPending, oapi.EventWebhookTest
	page, err := b.c.ListDeliveries(ctx, created.Id, client.DeliveryFilter{Status: &pending, EventType: &test}, 1, "")
	if err != nil || len(page.Items) != 1 || page.Items[0].Id != again.Id || page.NextCursor == nil {
		t.Fatalf("ListDeliveries (newest first, one a page) = %+v, %v", page, err)
	}
	var each []uuid.UUID
	if err := b.c.EachDelivery(ctx, created.Id, client.DeliveryFilter{}, func(x oapi.WebhookDelivery) bool { each = append(each, x.Id); return true }); err != nil {
		t.Fatal(err)
	}
	if len(each) != 2 || each[0] != again.Id || each[1] != d.Id {
		t.Fatalf("EachDelivery = %v, want %s then %s", each, again.Id, d.Id)
	}
	failed := oapi.DeliveryFailed
	if page, err := b.c.ListDeliveries(ctx, created.Id, client.DeliveryFilter{Status: &failed}, 0, ""); err != nil || len(page.Items) != 0 {
		t.Fatalf("ListDeliveries(failed) = %+v, %v", page, err)
	}

	// No worker sends it: the wait ends with the context, as pending.
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	calls := 0
	last, err := b.c.WaitDelivery(wctx, created.Id, d.Id, 50*time.Millisecond, func(oapi.WebhookDelivery) error { calls++; return nil })
	if !errors.Is(err, context.DeadlineExceeded) || last.Status != oapi.DeliveryPending || calls == 0 {
		t.Fatalf("WaitDelivery = %+v, %v after %d reads; want pending and the deadline", last, err, calls)
	}

	if err := b.c.DeleteWebhook(ctx, created.Id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.GetWebhook(ctx, created.Id); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("GetWebhook after delete: %v", err)
	}
}

// TestClient_Alerts checks the filters reach the API: a benchmark without
// runs has no alerts, a filter the API refuses is a 400, an unknown alert
// a 404.
func TestClient_Alerts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	bench := b.benchmark(t)
	from, to := time.Now().Add(-time.Hour), time.Now()
	m := oapi.AlertMetricScore
	page, err := b.c.ListAlerts(ctx, client.AlertFilter{BenchmarkID: &bench.Id, Metric: &m, From: &from, To: &to}, 10, "")
	if err != nil || len(page.Items) != 0 || page.NextCursor != nil {
		t.Fatalf("ListAlerts = %+v, %v", page, err)
	}
	n := 0
	if err := b.c.EachAlert(ctx, client.AlertFilter{}, func(oapi.Alert) bool { n++; return true }); err != nil || n != 0 {
		t.Fatalf("EachAlert: %d alerts, %v", n, err)
	}
	bad := oapi.AlertMetric("accuracy")
	if _, err := b.c.ListAlerts(ctx, client.AlertFilter{Metric: &bad}, 0, ""); client.StatusOf(err) != http.StatusBadRequest {
		t.Fatalf("ListAlerts(metric=accuracy): %v, want 400", err)
	}
	if _, err := b.c.GetAlert(ctx, uuid.New()); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("GetAlert(unknown): %v, want 404", err)
	}
}

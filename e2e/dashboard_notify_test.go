package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// testAlertSettings gives the fixture's benchmark alert settings and
// checks the leaderboard says them, and that the alerts page lists what
// the API lists for the benchmark.
func (d *dashboard) testAlertSettings(t *testing.T) {
	b := d.tab
	ctx := context.Background()
	minScore := 0.05
	_, err := d.s.c.UpdateBenchmark(ctx, d.fx.bench, oapi.UpdateBenchmarkRequest{Alerts: &oapi.BenchmarkAlertsInput{
		Metrics: &[]oapi.AlertMetric{oapi.AlertMetricScore, oapi.AlertMetricCost}, MinEffect: &oapi.AlertMinEffect{Score: &minScore},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b.open(t, "/benchmarks/"+d.fx.bench.String()+"/leaderboard", "leaderboard")
	type shown struct{ State, Metrics, Text string }
	got := js[shown](t, b, `(() => {
		const e = document.querySelector('[data-testid="benchmark-alerts"] [data-alerts]');
		return e ? {State: e.dataset.alerts, Metrics: e.dataset.metrics ?? "", Text: e.textContent} : {State: "", Metrics: "", Text: ""};
	})()`)
	if got.State != "enabled" || got.Metrics != "score,cost" || !strings.Contains(got.Text, "5.0 pp") || !strings.Contains(got.Text, "previous run") {
		t.Errorf("the leaderboard shows the alert settings as %+v, want score (5 pp) and cost against the previous run", got)
	}

	b.open(t, "/alerts?benchmark_id="+d.fx.bench.String(), "alerts")
	page, err := d.s.c.ListAlerts(ctx, client.AlertFilter{BenchmarkID: &d.fx.bench}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	ids, rows := tableRows(t, b, "alerts")
	if len(ids) != len(page.Items) {
		t.Fatalf("alerts page rows %v, want the API's %d alerts", ids, len(page.Items))
	}
	for i, a := range page.Items {
		if ids[i] != a.Id.String() {
			t.Errorf("row %d is alert %s, want %s", i+1, ids[i], a.Id)
		}
		row := rows[a.Id.String()]
		wantNumber(t, "alert diff", row["diff"].Value, a.Diff)
		wantNumber(t, "alert ci low", row["diff"].Low, a.CiLow)
		wantNumber(t, "alert ci high", row["diff"].High, a.CiHigh)
		wantNumber(t, "alert adjusted p", row["p_adjusted"].Value, a.PAdjusted)
	}
}

// testWebhooks checks the admin webhooks page against the API: a webhook
// that works and one SABE disabled after its endpoint answered 410; "Send
// test" on the first, followed to its delivery's success on the page.
func (d *dashboard) testWebhooks(t *testing.T) {
	b := d.tab
	ctx := context.Background()
	rc := newHookSink(t)
	mk := func(name, path string) oapi.CreatedWebhook {
		t.Helper()
		w, err := d.s.c.CreateWebhook(ctx, oapi.CreateWebhookRequest{Name: name, Url: rc.URL + path, Events: []oapi.WebhookEventType{oapi.EventRunFailed}})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	ok, gone := mk("dash-ok", "/ok"), mk("dash-gone", "/gone")
	dl, err := d.s.c.TestWebhook(ctx, gone.Id)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := d.s.c.WaitDelivery(wctx, gone.Id, dl.Id, 100*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	hooks, err := d.s.c.AllWebhooks(ctx)
	if err != nil {
		t.Fatal(err)
	}

	b.open(t, "/admin/webhooks", "webhooks")
	ids, rows := tableRows(t, b, "webhooks")
	if len(ids) != len(hooks) {
		t.Fatalf("webhooks page rows %v, want the API's %d webhooks", ids, len(hooks))
	}
	for _, w := range hooks {
		row, found := rows[w.Id.String()]
		if !found {
			t.Errorf("webhook %s (%s) not on the page", w.Name, w.Id)
			continue
		}
		want := "enabled"
		if !w.Enabled {
			want = "disabled"
			if w.DisabledReason != nil {
				want = "auto-disabled"
				if !strings.Contains(row["state"].Text, *w.DisabledReason) {
					t.Errorf("webhook %s: state %q does not say why: %q", w.Name, row["state"].Text, *w.DisabledReason)
				}
			}
		}
		if row["state"].Value == nil || *row["state"].Value != want {
			t.Errorf("webhook %s: state shown %v, want %s", w.Name, row["state"].Value, want)
		}
		wantNumber(t, w.Name+" failures", row["failures"].Value, float64(w.ConsecutiveFailures))
		if strings.Contains(row["name"].Text+row["url"].Text, "whsec_") {
			t.Errorf("webhook %s: a secret on the page", w.Name)
		}
	}
	if row := rows[gone.Id.String()]; row["state"].Value == nil || *row["state"].Value != "auto-disabled" {
		t.Errorf("the webhook whose endpoint answered 410 is shown as %+v, want disabled by SABE", row["state"])
	}

	b.clickMarked(t, `"Send test" on webhook dash-ok`,
		`document.querySelector('table[data-testid="webhooks"] tr[data-row-id="`+ok.Id.String()+`"] [data-testid="send-test"]')`)
	b.poll(t, "the test delivery to succeed on the page",
		`!!document.querySelector('section[data-webhook-id="`+ok.Id.String()+`"] table[data-testid="deliveries"] tr[data-event-type="webhook.test"][data-status="succeeded"]')`,
		time.Minute)
	var ds []oapi.WebhookDelivery
	if err := d.s.c.EachDelivery(ctx, ok.Id, client.DeliveryFilter{}, func(x oapi.WebhookDelivery) bool { ds = append(ds, x); return true }); err != nil {
		t.Fatal(err)
	}
	ids, rows = tableRows(t, b, "deliveries")
	if len(ds) != 1 || len(ids) != 1 || ids[0] != ds[0].Id.String() {
		t.Fatalf("deliveries shown %v, the API's %+v", ids, ds)
	}
	wantNumber(t, "attempts", rows[ids[0]]["attempts"].Value, float64(len(ds[0].Attempts)))
	if !strings.Contains(rows[ids[0]]["attempts"].Text, "HTTP 204") {
		t.Errorf("the attempt shown %q, want the receiver's 204", rows[ids[0]]["attempts"].Text)
	}
	if got := rc.webhookIDs(); len(got) != 2 || got[1] != ds[0].EventId {
		t.Errorf("the receiver got %v, want the gone test and then %s", got, ds[0].EventId)
	}
}

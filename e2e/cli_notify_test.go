package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// waitAlerts reads the alerts of run until there are some: the check runs
// on the fleet after the run is finalized.
func (f *cliFixture) waitAlerts(t *testing.T) []oapi.Alert {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		page, err := f.s.c.ListAlerts(ctx, client.AlertFilter{RunID: &f.cur.Id}, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 0 {
			return page.Items
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no alert raised by run %s with its planted regression", f.cur.Id)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// testAlerts checks sabe alerts ls and show against the API and golden
// files: the fixture's second run, where strong answers as mock-zero,
// raises one score alert for strong and none for weak.
func (f *cliFixture) testAlerts(t *testing.T) {
	s, o := f.s, cliOpts{}
	alerts := f.waitAlerts(t)
	if len(alerts) != 1 || alerts[0].ModelId != f.strong.Id || alerts[0].Metric != oapi.AlertMetricScore || alerts[0].BaselineRunId != f.prev.Id {
		t.Fatalf("alerts of the regressed run: %+v, want one on strong's score against the first run", alerts)
	}
	a := alerts[0]
	f.names[a.Id.String()] = "<alert>"

	r := s.mustSabe(t, cliOpts{Width: 200}, "alerts", "ls", "--benchmark", "nightly")
	golden(t, "alerts_ls.golden", f.normalise(r.Out))

	var got []oapi.Alert
	decode(t, s.mustSabe(t, o, "alerts", "ls", "--json"), &got)
	if len(got) != 1 || got[0].Id != a.Id || got[0].Diff != a.Diff || got[0].PAdjusted != a.PAdjusted {
		t.Errorf("alerts ls --json = %+v, want the API's %+v", got, a)
	}
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--model", "strong"}, 1},
		{[]string{"--model", "weak"}, 0},
		{[]string{"--metric", "latency_p95"}, 0},
		{[]string{"--run", f.prev.Id.String()}, 0},
		{[]string{"--run", f.cur.Id.String(), "--metric", "score"}, 1},
		{[]string{"--since", "1h"}, 1},
		{[]string{"--since", a.CreatedAt.Add(time.Second).Format(time.RFC3339)}, 0},
	} {
		decode(t, s.mustSabe(t, o, append([]string{"alerts", "ls", "--json"}, c.args...)...), &got)
		if len(got) != c.want {
			t.Errorf("alerts ls %s listed %d alerts, want %d", strings.Join(c.args, " "), len(got), c.want)
		}
	}

	r = s.mustSabe(t, cliOpts{Width: 160}, "alerts", "show", a.Id.String())
	golden(t, "alerts_show.golden", f.normalise(r.Out))
	if !strings.Contains(r.Out, "→") || !strings.Contains(r.Out, "flipped questions:") || strings.Count(r.Out, "regressed") < a.Regressed {
		t.Errorf("alerts show lacks the evidence:\n%s", r.Out)
	}
	var one oapi.Alert
	decode(t, s.mustSabe(t, o, "alerts", "show", a.Id.String(), "--json"), &one)
	if one.Id != a.Id || len(one.Flipped) != len(a.Flipped) {
		t.Errorf("alerts show --json = %+v, want %+v", one, a)
	}

	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"alerts", "ls", "--metric", "accuracy"}, 2, "give score, latency_p95 or cost"},
		{[]string{"alerts", "ls", "--since", "last week"}, 2, "--since"},
		{[]string{"alerts", "ls", "--run", "nope"}, 2, "not a run id"},
		{[]string{"alerts", "ls", "--benchmark", "nope"}, 1, `no benchmark named "nope"`},
		{[]string{"alerts", "show", "nope"}, 2, "not an alert id"},
		{[]string{"alerts", "show", f.prev.Id.String()}, 1, "not_found"},
	} {
		r := s.sabe(t, o, c.args...)
		if r.Code != c.code || !strings.Contains(r.Err, c.err) {
			t.Errorf("sabe %s: exit %d, stderr %q; want %d and %q", strings.Join(c.args, " "), r.Code, r.Err, c.code, c.err)
		}
	}
}

// hookSink is a webhook endpoint on loopback: /ok answers 204, /gone 410
// (which disables a webhook at once); it keeps the webhook-id of every
// delivery it was sent.
type hookSink struct {
	*httptest.Server
	mu  sync.Mutex
	ids []string
}

func newHookSink(t *testing.T) *hookSink {
	rc := &hookSink{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.ids = append(rc.ids, r.Header.Get("webhook-id"))
		rc.mu.Unlock()
		if r.URL.Path == "/gone" {
			http.Error(w, "gone for good", http.StatusGone)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookSink) webhookIDs() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.ids...)
}

var (
	secretRE = regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`)
	msgRE    = regexp.MustCompile(`msg_[0-9A-Za-z-]+`)
)

// normaliseHook is normalise with the receiver's address, secrets and
// event ids made stable.
func (f *cliFixture) normaliseHook(rc *hookSink, s string) string {
	s = strings.ReplaceAll(s, rc.URL, "<receiver>")
	s = secretRE.ReplaceAllString(s, "whsec_<secret>")
	s = msgRE.ReplaceAllString(s, "msg_<event>")
	return f.normalise(s)
}

// testWebhooks drives sabe webhooks against a real receiver through a
// webhook's life: created (its secret printed once), tested, redelivered,
// rotated, disabled, pointed at an endpoint that fails, removed.
func (f *cliFixture) testWebhooks(t *testing.T) {
	s, o := f.s, cliOpts{}
	// Events the fixture's runs do not make, so that only the tests'
	// deliveries reach the receiver (the alert's event may be dispatched
	// after the webhook exists).
	rc := newHookSink(t)

	r := s.mustSabe(t, o, "webhooks", "create", "--name", "ops", "--url", rc.URL+"/ok",
		"--event", "run.failed,schedule.skipped", "--benchmark", "nightly")
	golden(t, "webhooks_create.golden", f.normaliseHook(rc, r.Out))
	secret := secretRE.FindString(r.Out)
	if secret == "" || !strings.Contains(r.Out, "will not be shown again") {
		t.Fatalf("webhooks create printed no secret or no warning:\n%s", r.Out)
	}
	hooks, err := s.c.AllWebhooks(context.Background())
	if err != nil || len(hooks) != 1 {
		t.Fatalf("webhooks after create: %+v, %v", hooks, err)
	}
	hook := hooks[0]
	f.names[hook.Id.String()] = "<ops>"
	if len(hook.BenchmarkIds) != 1 || hook.BenchmarkIds[0] != f.nightlyID || len(hook.Events) != 2 || !strings.HasPrefix(secret, hook.SecretPrefix) {
		t.Errorf("the webhook created: %+v", hook)
	}
	// --quiet prints the secret alone, for scripts.
	r = s.mustSabe(t, o, "webhooks", "create", "--name", "quiet", "--url", rc.URL+"/ok", "--event", "run.completed", "--quiet")
	if out := strings.TrimSpace(r.Out); !secretRE.MatchString(out) || strings.Contains(out, " ") {
		t.Errorf("webhooks create --quiet printed %q, want the secret alone", out)
	}
	s.mustSabe(t, o, "webhooks", "rm", "quiet", "--yes")

	r = s.mustSabe(t, cliOpts{Width: 160}, "webhooks", "ls")
	golden(t, "webhooks_ls.golden", f.normaliseHook(rc, r.Out))
	r = s.mustSabe(t, o, "webhooks", "show", "ops")
	if strings.Contains(r.Out, secret) || !strings.Contains(r.Out, hook.SecretPrefix+"…") {
		t.Errorf("webhooks show must show the secret's prefix only:\n%s", r.Out)
	}

	// test --wait follows the delivery to the receiver's 204.
	r = s.mustSabe(t, o, "webhooks", "test", "ops", "--wait", "--timeout", "1m")
	golden(t, "webhooks_test.golden", f.normaliseHook(rc, r.Out))
	var ds []oapi.WebhookDelivery
	decode(t, s.mustSabe(t, o, "webhooks", "deliveries", "ops", "--json"), &ds)
	if len(ds) != 1 || ds[0].EventType != oapi.EventWebhookTest || ds[0].Status != oapi.DeliverySucceeded || len(ds[0].Attempts) != 1 ||
		ds[0].Attempts[0].StatusCode == nil || *ds[0].Attempts[0].StatusCode != http.StatusNoContent {
		t.Fatalf("deliveries after the test: %+v", ds)
	}
	first := ds[0]

	// redeliver sends the same event again, with the same webhook-id.
	s.mustSabe(t, o, "webhooks", "redeliver", "ops", first.Id.String(), "--wait")
	decode(t, s.mustSabe(t, o, "webhooks", "deliveries", "ops", "--json", "--status", "succeeded"), &ds)
	if len(ds) != 2 || ds[0].RedeliveryOf == nil || *ds[0].RedeliveryOf != first.Id || ds[0].EventId != first.EventId {
		t.Errorf("deliveries after redeliver: %+v", ds)
	}
	if ids := rc.webhookIDs(); len(ids) != 2 || ids[0] != ids[1] || ids[0] != first.EventId {
		t.Errorf("the receiver got webhook-ids %v, want %s twice", ids, first.EventId)
	}
	decode(t, s.mustSabe(t, o, "webhooks", "deliveries", "ops", "--json", "--event", "run.failed"), &ds)
	if len(ds) != 0 {
		t.Errorf("deliveries --event run.failed listed %d", len(ds))
	}

	// rotate-secret prints a new secret once; the old one still signs.
	r = s.mustSabe(t, o, "webhooks", "rotate-secret", "ops")
	if got := secretRE.FindString(r.Out); got == "" || got == secret || !strings.Contains(r.Out, "will not be shown again") || !strings.Contains(r.Out, "old secret also signs") {
		t.Errorf("rotate-secret printed:\n%s", r.Out)
	}

	// A disabled webhook is not tested (409).
	s.mustSabe(t, o, "webhooks", "update", "ops", "--disable")
	r = s.sabe(t, o, "webhooks", "test", "ops")
	if r.Code != 1 || !strings.Contains(r.Err, "409") {
		t.Errorf("test of a disabled webhook: exit %d, stderr %q", r.Code, r.Err)
	}

	// An endpoint answering 410 fails the delivery: --wait exits 1 with
	// the attempts, and SABE disables the webhook with its reason.
	s.mustSabe(t, o, "webhooks", "update", "ops", "--enable", "--url", rc.URL+"/gone")
	r = s.sabe(t, o, "webhooks", "test", "ops", "--wait", "--timeout", "1m")
	if r.Code != 1 || !strings.Contains(r.Out, "410") || !strings.Contains(r.Err, "after 1 attempt:") {
		t.Errorf("test --wait of a failing endpoint: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Out, r.Err)
	}
	var w oapi.Webhook
	decode(t, s.mustSabe(t, o, "webhooks", "show", "ops", "--json"), &w)
	if w.Enabled || w.DisabledReason == nil {
		t.Errorf("after a 410 the webhook is %+v, want it disabled with a reason", w)
	}
	if r := s.mustSabe(t, cliOpts{Width: 400}, "webhooks", "ls"); w.DisabledReason == nil || !strings.Contains(r.Out, *w.DisabledReason) {
		t.Errorf("webhooks ls does not say why SABE disabled it:\n%s", r.Out)
	}

	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"webhooks", "create", "--name", "x", "--url", rc.URL, "--event", "run.exploded"}, 2, "give one of"},
		{[]string{"webhooks", "create", "--name", "x", "--url", rc.URL}, 2, "at least one --event"},
		{[]string{"webhooks", "create", "--name", "x", "--url", "ftp://example.com", "--event", "run.failed"}, 1, "url"},
		{[]string{"webhooks", "update", "ops"}, 2, "something to change"},
		{[]string{"webhooks", "update", "ops", "--enable", "--disable"}, 2, "not both"},
		{[]string{"webhooks", "show", "nope"}, 1, `no webhook named "nope"`},
		{[]string{"webhooks", "redeliver", "ops", "nope"}, 2, "not a delivery id"},
		{[]string{"webhooks", "deliveries", "ops", "--status", "lost"}, 2, "give pending"},
		{[]string{"webhooks", "rm", "ops"}, 2, "--yes"},
	} {
		r := s.sabe(t, o, c.args...)
		if r.Code != c.code || !strings.Contains(r.Err, c.err) {
			t.Errorf("sabe %s: exit %d, stderr %q; want %d and %q", strings.Join(c.args, " "), r.Code, r.Err, c.code, c.err)
		}
	}

	s.mustSabe(t, o, "webhooks", "rm", "ops", "--yes")
	var left []oapi.Webhook
	decode(t, s.mustSabe(t, o, "webhooks", "ls", "--json"), &left)
	if len(left) != 0 {
		t.Errorf("webhooks after rm: %+v", left)
	}
}

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// fakePagerDuty records the Events API v2 messages it gets and answers
// status.
type fakePagerDuty struct {
	mu     sync.Mutex
	got    []map[string]any
	status int
}

func (f *fakePagerDuty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m map[string]any
	_ = json.NewDecoder(r.Body).Decode(&m)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, m)
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, `{"status":"success","message":"Event processed"}`)
}

func setup(t *testing.T) (*relay, *fakePagerDuty, *[]string) {
	t.Helper()
	env := map[string]string{"RELAY_WEBHOOK_SECRET": testSecret, "RELAY_PAGERDUTY_ROUTING_KEY": "R0UTING"}
	r, err := newRelay(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	pd := &fakePagerDuty{status: http.StatusAccepted}
	srv := httptest.NewServer(pd)
	t.Cleanup(srv.Close)
	r.pagerDutyURL = srv.URL
	var mails []string
	r.send = func(subject, body string) error {
		mails = append(mails, subject+"\n"+body)
		return nil
	}
	return r, pd, &mails
}

// deliver posts body to the relay as SABE would, signed with secret.
func deliver(t *testing.T, r http.Handler, secret, id, body string) int {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign(id, now, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	return rec.Code
}

const regression = `{"type":"regression.detected","timestamp":"2026-12-07T06:00:00Z","data":{
 "model_name":"gpt-x","metric":"score","benchmark_name":"nightly","previous":0.91,"current":0.84,"diff":-0.07,
 "ci_low":-0.11,"ci_high":-0.03,"p_adjusted":0.004,"links":{"api":"https://sabe.example.com/v1/runs/r1","dashboard":"https://sabe.example.com/runs/r1"}}}`

func TestRelay_PagesAndMails(t *testing.T) {
	r, pd, mails := setup(t)
	for range 2 { // a retried delivery: same webhook-id, same incident
		if code := deliver(t, r, testSecret, "msg_1", regression); code != http.StatusNoContent {
			t.Fatalf("relay answered %d", code)
		}
	}
	if len(pd.got) != 2 {
		t.Fatalf("PagerDuty got %d events, want 2", len(pd.got))
	}
	for _, m := range pd.got {
		p := m["payload"].(map[string]any)
		if m["dedup_key"] != "msg_1" || m["routing_key"] != "R0UTING" || m["event_action"] != "trigger" ||
			!strings.Contains(p["summary"].(string), "gpt-x regressed on score in nightly: 0.910 → 0.840") {
			t.Errorf("PagerDuty event %v", m)
		}
	}
	if len(*mails) != 2 || !strings.Contains((*mails)[0], "https://sabe.example.com/runs/r1") {
		t.Errorf("mails %q", *mails)
	}
}

func TestRelay_RefusesBadSignature(t *testing.T) {
	r, pd, mails := setup(t)
	if code := deliver(t, r, "whsec_"+strings.Repeat("A", 32), "msg_2", regression); code != http.StatusUnauthorized {
		t.Errorf("a delivery signed with another secret: %d, want 401", code)
	}
	if len(pd.got) != 0 || len(*mails) != 0 {
		t.Errorf("forwarded an unverified delivery: %v %v", pd.got, *mails)
	}
}

func TestRelay_PagerDutyDownIsRetried(t *testing.T) {
	r, pd, _ := setup(t)
	pd.status = http.StatusTooManyRequests
	if code := deliver(t, r, testSecret, "msg_3", regression); code != http.StatusServiceUnavailable {
		t.Errorf("PagerDuty refusing: relay answered %d, want 503 so SABE retries", code)
	}
	run := `{"type":"run.completed","timestamp":"2026-12-07T06:00:00Z","data":{"benchmark_name":"nightly","status":"completed","reason":""}}`
	if code := deliver(t, r, testSecret, "msg_4", run); code != http.StatusNoContent {
		t.Errorf("run.completed (not paged) answered %d", code)
	}
}

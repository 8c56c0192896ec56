package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// publicURL is where the test's SABE says it is reached; event links
// start with it.
const publicURL = "https://sabe.example.test"

// notifyEnv is what the notification tests add to a system's
// environment: webhooks may reach the receivers on loopback, failed
// deliveries are retried within moments, and a schedule may tick every
// second (so that "@every 1s" stands for a daily run) without the spend
// controls skipping its runs.
var notifyEnv = map[string]string{
	"SABE_ALLOW_PRIVATE_WEBHOOKS":  "true",
	"SABE_PUBLIC_URL":              publicURL,
	"SABE_WEBHOOK_BACKOFF":         "200ms",
	"SABE_MIN_SCHEDULE_INTERVAL":   "1s",
	"SABE_SCHEDULER_TICK":          "1s",
	"SABE_MAX_RUNS_IN_FLIGHT":      "0",
	"SABE_MAX_UNITS_PER_TOKEN_DAY": "0",
}

// receipt is one request a receiver got.
type receipt struct {
	id, timestamp, signature string
	typ                      string // the payload's type; empty for Slack messages
	body                     []byte
}

// receiver is a webhook endpoint on loopback. A signed receiver checks
// every request's Standard Webhooks signature twice, with the published
// Go library and with the reference algorithm written out below, against
// every secret it was given (after a rotation a delivery must carry a
// signature for the new secret and one for the old). It records what it
// got and answers what answer says (200 when nil).
type receiver struct {
	srv    *httptest.Server
	signed bool

	mu      sync.Mutex
	secrets []string
	got     []receipt
	bad     []string
	answer  func(n int) (status int, body string, header http.Header)
}

func newReceiver(t *testing.T, signed bool) *receiver {
	t.Helper()
	rc := &receiver{signed: signed}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

// setSecrets sets the secrets every later delivery must be signed with.
func (rc *receiver) setSecrets(secrets ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets = secrets
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	fail := func(format string, args ...any) {
		rc.bad = append(rc.bad, fmt.Sprintf(format, args...)+": "+string(body))
		http.Error(w, "refused", http.StatusBadRequest)
	}
	if r.Method != http.MethodPost {
		fail("method %s", r.Method)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		fail("Content-Type %q", ct)
		return
	}
	got := receipt{
		id: r.Header.Get("webhook-id"), timestamp: r.Header.Get("webhook-timestamp"),
		signature: r.Header.Get("webhook-signature"), body: body,
	}
	if rc.signed {
		if len(rc.secrets) == 0 {
			fail("a delivery before the test knew the secret")
			return
		}
		if !strings.HasPrefix(got.id, "msg_") {
			fail("webhook-id %q", got.id)
			return
		}
		for i, secret := range rc.secrets {
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil {
				fail("secret %d: %v", i, err)
				return
			}
			if err := wh.Verify(body, r.Header); err != nil {
				fail("secret %d, library: %v", i, err)
				return
			}
			if err := testenv.VerifyStandardWebhook(secret, body, r.Header, time.Now()); err != nil {
				fail("secret %d, reference: %v", i, err)
				return
			}
		}
		var env struct {
			Type      string          `json:"type"`
			Timestamp time.Time       `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.Type == "" || env.Timestamp.IsZero() || len(env.Data) == 0 {
			fail("not a Standard Webhooks payload {type, timestamp, data} (%v)", err)
			return
		}
		got.typ = env.Type
	} else if !json.Valid(body) {
		fail("not JSON")
		return
	}
	rc.got = append(rc.got, got)
	status, text, header := http.StatusOK, "ok", http.Header(nil)
	if rc.answer != nil {
		status, text, header = rc.answer(len(rc.got))
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// receipts returns what the receiver got so far, of type typ (all when
// empty), and fails the test if any request was refused.
func (rc *receiver) receipts(t *testing.T, typ string) []receipt {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, b := range rc.bad {
		t.Errorf("receiver %s refused a request: %s", rc.srv.URL, b)
	}
	rc.bad = nil
	var out []receipt
	for _, r := range rc.got {
		if typ == "" || r.typ == typ {
			out = append(out, r)
		}
	}
	return out
}

// swapProxy stands between SABE and the mock provider. While a model is
// swapped, requests naming it are answered by another model: the
// provider silently serves something weaker under the same name, and
// nothing in SABE changes.
type swapProxy struct {
	srv  *httptest.Server
	mu   sync.Mutex
	swap map[string]string
}

func newSwapProxy(t *testing.T, target string) *swapProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &swapProxy{swap: map[string]string{}}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		body, err := io.ReadAll(pr.In.Body)
		if err != nil {
			return
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) == nil {
			var model string
			if json.Unmarshal(fields["model"], &model) == nil {
				p.mu.Lock()
				to, ok := p.swap[model]
				p.mu.Unlock()
				if ok {
					fields["model"], _ = json.Marshal(to)
					body, _ = json.Marshal(fields)
				}
			}
		}
		pr.Out.Body = io.NopCloser(bytes.NewReader(body))
		pr.Out.ContentLength = int64(len(body))
		pr.Out.Header.Del("Content-Length")
	}}
	p.srv = httptest.NewServer(rp)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *swapProxy) set(from, to string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.swap[from] = to
}

// regressionData is the data of a regression.detected payload.
type regressionData struct {
	oapi.Alert
	Links struct {
		API       string `json:"api"`
		Dashboard string `json:"dashboard"`
	} `json:"links"`
}

// runEventData is the part of a run.* payload's data the tests read.
type runEventData struct {
	RunID       string `json:"run_id"`
	BenchmarkID string `json:"benchmark_id"`
	Status      string `json:"status"`
	Trigger     string `json:"trigger"`
}

func payloadData(t *testing.T, r receipt, data any) {
	t.Helper()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	mustUnmarshal(t, r.body, &env)
	mustUnmarshal(t, env.Data, data)
}

// quiet waits until nothing about the benchmark is left to happen: no run
// of it queued or running, every finished run's alert check written (in
// the transaction of its alerts and their events), every event the
// receivers subscribe to dispatched, and no delivery pending. The
// receivers have then got every request they will get. (The
// schedule.skipped events of overlapping occurrences go to no one; the
// periodic sweep may dispatch them later.)
func (s *system) quiet(t *testing.T, benchmarkID string) {
	t.Helper()
	s.waitFor(t, "the runs, their alert checks and the deliveries to finish", 2*time.Minute, func() bool {
		var unfinished, unchecked, undispatched, pending int
		err := s.pool.QueryRow(context.Background(), `SELECT
			(SELECT count(*) FROM runs WHERE benchmark_id = $1 AND status IN ('queued', 'running')),
			(SELECT count(*) FROM runs r WHERE benchmark_id = $1 AND status IN ('completed', 'partial')
				AND NOT EXISTS (SELECT 1 FROM alert_checks c WHERE c.run_id = r.id)),
			(SELECT count(*) FROM events WHERE dispatched_at IS NULL AND type IN ('run.completed', 'regression.detected')),
			(SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')`, benchmarkID).
			Scan(&unfinished, &unchecked, &undispatched, &pending)
		if err != nil {
			t.Fatal(err)
		}
		return unfinished+unchecked+undispatched+pending == 0
	})
}

// waitFor is testenv.WaitFor saying, when it times out, how the runs,
// alert checks, events and deliveries stand, which tells which part of
// the chain stopped.
func (s *system) waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; by then:\n%s", timeout, what, s.notifyState(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// notifyState counts the runs by status, the alert checks, the events by
// type and whether dispatched, and the deliveries by type and status.
func (s *system) notifyState(t *testing.T) string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), `
		SELECT 'runs ' || status, count(*) FROM runs GROUP BY status
		UNION ALL SELECT 'alert checks, ' || coalesce(sum(alerts), 0) || ' alerts', count(*) FROM alert_checks
		UNION ALL SELECT 'events ' || type || CASE WHEN dispatched_at IS NULL THEN ' undispatched' ELSE ' dispatched' END, count(*) FROM events GROUP BY type, dispatched_at IS NULL
		UNION ALL SELECT 'deliveries ' || event_type || ' ' || status, count(*) FROM webhook_deliveries GROUP BY event_type, status
		ORDER BY 1`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var what string
		var n int
		if err := rows.Scan(&what, &n); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "  %s: %d\n", what, n)
	}
	return b.String()
}

// finishedRun is a run of the benchmark as the database has it.
type finishedRun struct {
	id, status, trigger string
}

func (s *system) benchmarkRuns(t *testing.T, benchmarkID string) []finishedRun {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT id::text, status, trigger FROM runs WHERE benchmark_id = $1 ORDER BY created_at, id`, benchmarkID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []finishedRun
	for rows.Next() {
		var r finishedRun
		if err := rows.Scan(&r.id, &r.status, &r.trigger); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// completedRunEvents returns the run ids of the distinct run.completed
// events the receiver got for the benchmark.
func completedRunEvents(t *testing.T, rc *receiver, benchmarkID string) []string {
	t.Helper()
	seen := map[string]bool{}
	var runs []string
	for _, r := range rc.receipts(t, "run.completed") {
		var d runEventData
		payloadData(t, r, &d)
		if d.BenchmarkID != benchmarkID || seen[r.id] {
			continue
		}
		seen[r.id] = true
		runs = append(runs, d.RunID)
	}
	return runs
}

// setSchedule turns the benchmark's schedule on or off. Off, no run is
// made after the answer.
func (s *system) setSchedule(t *testing.T, benchmarkID string, enabled bool) {
	t.Helper()
	s.call(t, "PATCH", "/v1/benchmarks/"+benchmarkID, "application/json",
		map[string]any{"schedule": map[string]any{"enabled": enabled}}, http.StatusOK, nil)
}

// TestNotifications_ScheduledRegression is issue 17's "done when": a
// scheduled benchmark whose model regresses sends one signed
// regression.detected delivery to a user's endpoint and one Slack
// message, with the evidence in them, and a week of unchanged models
// sends none.
//
// A schedule ticking every second stands for a daily one. Two models are
// served through a proxy in front of the mock provider; after a "week"
// of runs the proxy starts answering the flagship's requests with a
// weaker mock model, as a provider that silently swapped the model behind
// a name would: nothing in SABE changes. The mock being deterministic,
// the test knows each run's scores before it starts, and so the exact
// evidence the alert must carry.
func TestNotifications_ScheduledRegression(t *testing.T) {
	t.Parallel()
	const (
		questions = 40
		week      = 7
		before    = "mock-strong" // the flagship as it was (0.9)
		after     = "mock-60"     // what the provider serves instead (0.6)
		steady    = "mock-medium" // a model that does not change
		minEffect = 0.05
	)
	s := startOn(t, testenv.DatabaseURL(t), notifyEnv)
	proxy := newSwapProxy(t, s.mock.URL)
	hook, slack := newReceiver(t, true), newReceiver(t, false)

	// The expected figures, from the mock's known answers.
	prompts := make([]string, questions)
	var jsonl strings.Builder
	var prev, cur float64
	regressed, improved := map[string]bool{}, map[string]bool{}
	for i := range questions {
		p, a := mockllm.Question(700 + i)
		prompts[i] = p
		jsonl.Write(mustMarshal(t, map[string]any{"prompt": p, "expected_answer": fmt.Sprint(a), "category": []string{"x", "y"}[i%2],
			"scoring": map[string]any{"method": "numeric"}}))
		jsonl.WriteByte('\n')
		was, is := mockllm.Correct(before, p, 0), mockllm.Correct(after, p, 0)
		if was {
			prev++
		}
		if is {
			cur++
		}
		switch {
		case was && !is:
			regressed[p] = true
		case is && !was:
			improved[p] = true
		}
	}
	prev, cur = prev/questions, cur/questions
	if prev-cur < 0.2 {
		t.Fatalf("the planted regression is %v → %v: too small to be the test's clear case", prev, cur)
	}

	var prov, flagship, other, suite, bench idOnly
	s.call(t, "POST", "/v1/providers", "application/json", map[string]any{"name": "silent", "kind": "openai",
		"base_url": proxy.srv.URL + "/v1", "api_key": "sk-notify"}, http.StatusCreated, &prov)
	s.call(t, "POST", "/v1/models", "application/json", map[string]any{"provider_id": prov.ID, "name": "flagship",
		"provider_model_id": before, "input_cost_per_mtok": 1, "output_cost_per_mtok": 2}, http.StatusCreated, &flagship)
	s.call(t, "POST", "/v1/models", "application/json", map[string]any{"provider_id": prov.ID, "name": "steady",
		"provider_model_id": steady, "input_cost_per_mtok": 1, "output_cost_per_mtok": 2}, http.StatusCreated, &other)
	s.call(t, "POST", "/v1/suites", "application/json", map[string]any{"name": "arith"}, http.StatusCreated, &suite)
	var imported struct {
		Items []struct {
			ID     string `json:"id"`
			Prompt string `json:"prompt"`
		} `json:"items"`
	}
	s.call(t, "POST", "/v1/suites/"+suite.ID+"/questions:import", "application/x-ndjson", jsonl.String(), http.StatusCreated, &imported)
	promptOf := map[string]string{}
	for _, q := range imported.Items {
		promptOf[q.ID] = q.Prompt
	}
	if len(promptOf) != questions {
		t.Fatalf("imported %d questions, want %d", len(promptOf), questions)
	}
	s.call(t, "POST", "/v1/benchmarks", "application/json", map[string]any{
		"name": "daily arith", "suite_ids": []string{suite.ID}, "model_ids": []string{flagship.ID, other.ID},
		"config":   map[string]any{"temperature": 0, "max_tokens": 32, "samples": 1},
		"alerts":   map[string]any{"metrics": []string{"score"}, "compare_to": "previous_run", "min_effect": map[string]any{"score": minEffect}},
		"schedule": map[string]any{"cron": "@every 1s", "timezone": "UTC", "enabled": false, "overlap": "skip"},
	}, http.StatusCreated, &bench)

	var jsonHook, slackHook oapi.CreatedWebhook
	s.call(t, "POST", "/v1/webhooks", "application/json", map[string]any{"name": "ours", "url": hook.srv.URL + "/sabe",
		"events": []string{"regression.detected", "run.completed"}, "benchmark_ids": []string{bench.ID}, "format": "json"},
		http.StatusCreated, &jsonHook)
	s.call(t, "POST", "/v1/webhooks", "application/json", map[string]any{"name": "team channel", "url": slack.srv.URL + "/services/T0/B0/x",
		"events": []string{"regression.detected"}, "format": "slack"}, http.StatusCreated, &slackHook)
	if !strings.HasPrefix(jsonHook.Secret, "whsec_") || !strings.HasPrefix(jsonHook.Secret, jsonHook.SecretPrefix) {
		t.Fatalf("created webhook's secret %q (prefix %q)", jsonHook.Secret, jsonHook.SecretPrefix)
	}
	hook.setSecrets(jsonHook.Secret)

	// A week of unchanged models.
	s.setSchedule(t, bench.ID, true)
	s.waitFor(t, fmt.Sprintf("%d scheduled runs to be delivered as run.completed", week), 2*time.Minute, func() bool {
		return len(completedRunEvents(t, hook, bench.ID)) >= week
	})
	s.setSchedule(t, bench.ID, false)
	s.quiet(t, bench.ID)
	runs := s.benchmarkRuns(t, bench.ID)
	delivered := completedRunEvents(t, hook, bench.ID)
	if len(runs) < week || len(delivered) != len(runs) {
		t.Fatalf("%d runs, %d run.completed deliveries: want one delivery per run, at least %d", len(runs), len(delivered), week)
	}
	for i, r := range runs {
		if r.status != "completed" || r.trigger != "schedule" || !slices.Contains(delivered, r.id) {
			t.Errorf("run %d %s: %s by %s, delivered %v", i, r.id, r.status, r.trigger, slices.Contains(delivered, r.id))
		}
	}
	if got := hook.receipts(t, "regression.detected"); len(got) != 0 {
		t.Errorf("a week of unchanged models sent %d regression.detected deliveries: %s", len(got), got[0].body)
	}
	if got := slack.receipts(t, ""); len(got) != 0 {
		t.Errorf("a week of unchanged models sent %d Slack messages: %s", len(got), got[0].body)
	}
	// Every run after the first was compared with the one before it, and
	// found nothing.
	for i, r := range runs {
		var baseline *string
		var comparisons, alerts int
		if err := s.pool.QueryRow(context.Background(), `SELECT baseline_run_id::text, comparisons, alerts FROM alert_checks WHERE run_id = $1`, r.id).
			Scan(&baseline, &comparisons, &alerts); err != nil {
			t.Fatalf("alert check of run %d: %v", i, err)
		}
		if i > 0 && (baseline == nil || *baseline != runs[i-1].id || comparisons != 2 || alerts != 0) {
			t.Errorf("alert check of run %d: baseline %v, %d comparisons, %d alerts; want run %d, 2, 0", i, baseline, comparisons, alerts, i-1)
		}
	}
	var none oapi.AlertList
	s.call(t, "GET", "/v1/alerts?benchmark_id="+bench.ID, "", nil, http.StatusOK, &none)
	if len(none.Items) != 0 {
		t.Fatalf("alerts after an unchanged week: %+v", none.Items)
	}

	// The provider silently swaps the flagship for a weaker model; the
	// next scheduled run finds it.
	proxy.set(before, after)
	baseline := runs[len(runs)-1].id
	s.setSchedule(t, bench.ID, true)
	s.waitFor(t, "a scheduled run after the swap to be delivered as run.completed", time.Minute, func() bool {
		return len(completedRunEvents(t, hook, bench.ID)) > len(runs)
	})
	s.setSchedule(t, bench.ID, false)
	s.quiet(t, bench.ID)
	regressedRun := s.benchmarkRuns(t, bench.ID)[len(runs)].id

	got := hook.receipts(t, "regression.detected")
	if len(got) != 1 {
		t.Fatalf("%d regression.detected deliveries, want exactly one", len(got))
	}
	var d regressionData
	payloadData(t, got[0], &d)
	t.Logf("regression.detected: %s", got[0].body)
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	switch {
	case d.ModelName != "flagship" || d.ModelId.String() != flagship.ID || d.Metric != oapi.AlertMetricScore:
		t.Errorf("alert names %s (%s) %s, want flagship %s score", d.ModelName, d.ModelId, d.Metric, flagship.ID)
	case d.RunId.String() != regressedRun || d.BaselineRunId.String() != baseline || d.BenchmarkId.String() != bench.ID || d.BenchmarkName != "daily arith":
		t.Errorf("alert for run %s against %s of %s %q, want run %s against %s of %s", d.RunId, d.BaselineRunId, d.BenchmarkId, d.BenchmarkName, regressedRun, baseline, bench.ID)
	case !near(d.Previous, prev) || !near(d.Current, cur) || !near(d.Diff, cur-prev):
		t.Errorf("alert says %v → %v (diff %v), the mock's answers give %v → %v", d.Previous, d.Current, d.Diff, prev, cur)
	case !(d.CiLow <= d.Diff && d.Diff <= d.CiHigh && d.CiHigh < 0):
		t.Errorf("interval [%v, %v] around %v: want it to hold the difference and lie below 0", d.CiLow, d.CiHigh, d.Diff)
	case !(d.PValue <= d.PAdjusted && d.PAdjusted < 0.05) || d.Correction != "holm" || d.Comparisons != 2:
		t.Errorf("p %v, adjusted %v by %s over %d comparisons: want holm over 2, adjusted below 0.05", d.PValue, d.PAdjusted, d.Correction, d.Comparisons)
	case d.Questions != questions || d.Regressed != len(regressed) || d.Improved != len(improved) || !near(d.MinEffect, minEffect):
		t.Errorf("alert over %d questions, %d regressed, %d improved, min effect %v; want %d, %d, %d, %v",
			d.Questions, d.Regressed, d.Improved, d.MinEffect, questions, len(regressed), len(improved), minEffect)
	case (d.Links.API != publicURL+"/v1/alerts/"+d.Id.String() && d.Links.API != publicURL+"/v1/runs/"+regressedRun) ||
		!strings.HasPrefix(d.Links.Dashboard, publicURL+"/") || !strings.Contains(d.Links.Dashboard, regressedRun):
		t.Errorf("links %+v: want %s links to the alert or run %s in the API, and to the run's page", d.Links, publicURL, regressedRun)
	}
	if want := min(20, len(regressed)+len(improved)); len(d.Flipped) != want {
		t.Errorf("%d flipped questions, want %d", len(d.Flipped), want)
	}
	for i, f := range d.Flipped {
		p := promptOf[f.QuestionId.String()]
		wantChange := oapi.DriftRegressed
		if i >= len(regressed) {
			wantChange = oapi.DriftImproved
		}
		if f.Change != wantChange || (f.Change == oapi.DriftRegressed && !regressed[p]) || (f.Change == oapi.DriftImproved && !improved[p]) {
			t.Errorf("flipped %d: %s %q, want the %s questions first, each one that did flip", i, f.Change, f.PromptExcerpt, oapi.DriftRegressed)
		}
	}

	// GET /v1/alerts has the same alert.
	var list oapi.AlertList
	s.call(t, "GET", "/v1/alerts?benchmark_id="+bench.ID, "", nil, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].Id != d.Id || !near(list.Items[0].Diff, d.Diff) || list.Items[0].RunId != d.RunId {
		t.Errorf("GET /v1/alerts: %+v, want the delivered alert %s", list.Items, d.Id)
	}

	// One Slack message, for people, with the evidence and a link.
	msgs := slack.receipts(t, "")
	if len(msgs) != 1 {
		t.Fatalf("%d Slack messages, want exactly one", len(msgs))
	}
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	mustUnmarshal(t, msgs[0].body, &msg)
	t.Logf("Slack message: %s", msgs[0].body)
	text := slackText(t, msgs[0].body)
	if msg.Text == "" || len(msg.Blocks) == 0 {
		t.Errorf("Slack message without text or blocks: %s", msgs[0].body)
	}
	for _, want := range []string{"flagship", "daily arith", "score", publicURL + "/", regressedRun} {
		if !strings.Contains(text, want) {
			t.Errorf("Slack message does not say %q: %s", want, msgs[0].body)
		}
	}
	if !containsFigure(text, prev) || !containsFigure(text, cur) || !containsFigure(text, d.CiLow) || !containsFigure(text, d.CiHigh) {
		t.Errorf("Slack message lacks the values %v → %v or the interval [%v, %v]: %s", prev, cur, d.CiLow, d.CiHigh, msgs[0].body)
	}

	// The delivery as the API shows it: one attempt, answered 200.
	var deliveries oapi.WebhookDeliveryList
	s.call(t, "GET", "/v1/webhooks/"+jsonHook.Id.String()+"/deliveries?event_type=regression.detected", "", nil, http.StatusOK, &deliveries)
	if len(deliveries.Items) != 1 || deliveries.Items[0].Status != oapi.DeliverySucceeded || deliveries.Items[0].EventId != got[0].id ||
		len(deliveries.Items[0].Attempts) != 1 || deliveries.Items[0].Attempts[0].StatusCode == nil || *deliveries.Items[0].Attempts[0].StatusCode != http.StatusOK {
		t.Errorf("deliveries of regression.detected: %+v, want one succeeded with webhook-id %s", deliveries.Items, got[0].id)
	}
}

// slackText is every string of a Slack message (text and the blocks'
// texts) joined, for looking things up in.
func slackText(t *testing.T, body []byte) string {
	t.Helper()
	var v any
	mustUnmarshal(t, body, &v)
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
			b.WriteByte('\n')
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}

// containsFigure reports whether text shows a score v as people write
// it: 0.925, 0.93 or 92.5 (points, with or without %), allowing the last
// digit shown to be rounded either way.
func containsFigure(text string, v float64) bool {
	var forms []string
	for _, x := range []float64{v, 100 * v} {
		for prec := 1; prec <= 3; prec++ {
			forms = append(forms, strconv.FormatFloat(x, 'f', prec, 64), strconv.FormatFloat(math.Abs(x), 'f', prec, 64))
		}
	}
	for _, f := range forms {
		if strings.Contains(text, f) {
			return true
		}
	}
	return false
}

// TestNotifications_RetriesKeepWebhookID: an endpoint that answers 500
// twice (the second time asking for a second's pause) and then 200 gets
// the event three times with the same webhook-id, each attempt signed;
// the delivery shows the three attempts with their status codes, latency
// and answers, and a redelivery sends the same webhook-id again.
func TestNotifications_RetriesKeepWebhookID(t *testing.T) {
	t.Parallel()
	retriesKeepWebhookID(t, startOn(t, testenv.DatabaseURL(t), notifyEnv))
}

// retriesKeepWebhookID is TestNotifications_RetriesKeepWebhookID on a
// system started with notifyEnv, also run on a Redis Cluster and through
// PgBouncer: deliveries, their retries and the sweep's keys on either.
func retriesKeepWebhookID(t *testing.T, s *system) {
	t.Helper()
	rc := newReceiver(t, true)
	rc.answer = func(n int) (int, string, http.Header) {
		switch n {
		case 1:
			return http.StatusInternalServerError, "not yet 1", nil
		case 2:
			return http.StatusInternalServerError, "not yet 2", http.Header{"Retry-After": {"1"}}
		}
		return http.StatusOK, fmt.Sprintf("thanks %d", n), nil
	}
	var wh oapi.CreatedWebhook
	s.call(t, "POST", "/v1/webhooks", "application/json", map[string]any{"name": "flaky", "url": rc.srv.URL,
		"events": []string{"run.failed"}}, http.StatusCreated, &wh)
	rc.setSecrets(wh.Secret)
	base := "/v1/webhooks/" + wh.Id.String()

	var first oapi.WebhookDelivery
	s.call(t, "POST", base+"/test", "", nil, http.StatusAccepted, &first)
	if first.EventType != oapi.EventWebhookTest || first.Status != oapi.DeliveryPending {
		t.Fatalf("test delivery: %+v", first)
	}
	d := waitDelivery(t, s, base, first.Id.String())
	if d.Status != oapi.DeliverySucceeded || len(d.Attempts) != 3 {
		t.Fatalf("delivery ended %s after %d attempts, want succeeded after 3: %+v", d.Status, len(d.Attempts), d)
	}
	for i, want := range []struct {
		code    int
		excerpt string
	}{{500, "not yet 1"}, {500, "not yet 2"}, {200, "thanks 3"}} {
		a := d.Attempts[i]
		if a.Attempt != i+1 || a.StatusCode == nil || *a.StatusCode != want.code || a.ResponseExcerpt != want.excerpt || a.LatencyMs <= 0 || (a.Error == nil) != (want.code == 200) {
			t.Errorf("attempt %d: %+v (status %v, error %v), want %d answering %q, a latency, and an error unless 200", i+1, a, orNil(a.StatusCode), orNil(a.Error), want.code, want.excerpt)
		}
	}
	// Retry-After: 1 is honoured, however short the configured backoff.
	if gap := d.Attempts[2].StartedAt.Sub(d.Attempts[1].StartedAt); gap < time.Second {
		t.Errorf("the third attempt came %s after the second, which asked for Retry-After: 1", gap)
	}
	got := rc.receipts(t, "")
	if len(got) != 3 {
		t.Fatalf("the receiver got %d requests, want 3", len(got))
	}
	for i, r := range got {
		if r.id != d.EventId || r.typ != "webhook.test" || !bytes.Equal(r.body, got[0].body) {
			t.Errorf("request %d: webhook-id %s, type %s, body %s; want %s, webhook.test and the first body", i+1, r.id, r.typ, r.body, d.EventId)
		}
	}
	var w oapi.Webhook
	s.call(t, "GET", base, "", nil, http.StatusOK, &w)
	if w.ConsecutiveFailures != 0 || w.LastSuccessAt == nil || !w.Enabled {
		t.Errorf("webhook after the success: %+v", w)
	}

	// A redelivery is a new delivery of the same event: same webhook-id.
	var again oapi.WebhookDelivery
	s.call(t, "POST", base+"/deliveries/"+d.Id.String()+"/redeliver", "", nil, http.StatusAccepted, &again)
	if again.RedeliveryOf == nil || *again.RedeliveryOf != d.Id || again.EventId != d.EventId || again.Id == d.Id {
		t.Fatalf("redelivery: %+v", again)
	}
	if r := waitDelivery(t, s, base, again.Id.String()); r.Status != oapi.DeliverySucceeded || len(r.Attempts) != 1 {
		t.Fatalf("redelivery ended %+v", r)
	}
	if got := rc.receipts(t, ""); len(got) != 4 || got[3].id != d.EventId {
		t.Errorf("after the redelivery the receiver got %d requests, the last with webhook-id %s; want 4 and %s", len(got), got[len(got)-1].id, d.EventId)
	}
}

// waitDelivery follows a delivery until it is no longer pending.
func waitDelivery(t *testing.T, s *system, base, id string) oapi.WebhookDelivery {
	t.Helper()
	var d oapi.WebhookDelivery
	testenv.WaitFor(t, "delivery "+id+" to finish", time.Minute, func() bool {
		s.call(t, "GET", base+"/deliveries/"+id, "", nil, http.StatusOK, &d)
		return d.Status != oapi.DeliveryPending
	})
	return d
}

func orNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestNotifications_AddressGuard: with SABE_ALLOW_PRIVATE_WEBHOOKS off
// (the default), a webhook URL at the metadata address, at loopback by
// name, or at a name that resolves to loopback is refused with 422 on
// `url`, and nothing is written; a URL that leads to loopback only later
// is refused at delivery.
func TestNotifications_AddressGuard(t *testing.T) {
	t.Parallel()
	// The default, said out loud: the test's point is that it is off.
	s := startOn(t, testenv.DatabaseURL(t), map[string]string{"SABE_ALLOW_PRIVATE_WEBHOOKS": "false"})
	urls := []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://127.0.0.1:9/hook",
		"http://localhost:9/hook",
	}
	// A name other than "localhost" that resolves to loopback, where the
	// machine has one (its own host name often does).
	if host, err := os.Hostname(); err == nil {
		if ips, err := net.LookupIP(host); err == nil && len(ips) > 0 && ips[0].IsLoopback() {
			urls = append(urls, "http://"+host+":9/hook")
		}
	}
	for _, u := range urls {
		var e oapi.Error
		s.call(t, "POST", "/v1/webhooks", "application/json", map[string]any{"name": "ssrf", "url": u, "events": []string{"run.completed"}},
			http.StatusUnprocessableEntity, &e)
		if e.Error.Field == nil || *e.Error.Field != "url" {
			t.Errorf("%s: refused with %+v, want 422 on url", u, e.Error)
		}
	}
	var hooks oapi.WebhookList
	s.call(t, "GET", "/v1/webhooks", "", nil, http.StatusOK, &hooks)
	if len(hooks.Items) != 0 {
		t.Errorf("refused URLs left webhooks behind: %+v", hooks.Items)
	}

	// A URL that passed at creation and later leads to loopback (its
	// name re-pointed: DNS rebinding, played here by changing the stored
	// URL; the public address first given is never dialled) is refused
	// when the worker dials it: the attempt fails without
	// an answer, and the receiver gets nothing.
	rc := newReceiver(t, true)
	var wh oapi.CreatedWebhook
	s.call(t, "POST", "/v1/webhooks", "application/json", map[string]any{"name": "rebound", "url": "http://93.184.215.14/hook",
		"events": []string{"run.completed"}}, http.StatusCreated, &wh)
	rc.setSecrets(wh.Secret)
	if _, err := s.pool.Exec(context.Background(), `UPDATE webhooks SET url = $1 WHERE id = $2`, rc.srv.URL+"/hook", wh.Id); err != nil {
		t.Fatal(err)
	}
	base := "/v1/webhooks/" + wh.Id.String()
	var d oapi.WebhookDelivery
	s.call(t, "POST", base+"/test", "", nil, http.StatusAccepted, &d)
	testenv.WaitFor(t, "the first attempt", time.Minute, func() bool {
		s.call(t, "GET", base+"/deliveries/"+d.Id.String(), "", nil, http.StatusOK, &d)
		return len(d.Attempts) > 0
	})
	if a := d.Attempts[0]; a.StatusCode != nil || a.Error == nil || !strings.Contains(*a.Error, "loopback") {
		t.Errorf("attempt at a URL now on loopback: status %v, error %v; want no answer and the guard's refusal", orNil(a.StatusCode), orNil(a.Error))
	}
	if got := rc.receipts(t, ""); len(got) != 0 {
		t.Errorf("the guard let %d requests reach loopback", len(got))
	}
	s.call(t, "DELETE", base, "", nil, http.StatusNoContent, nil)
}

// Command webhook-relay bridges SABE's webhooks to PagerDuty and to email.
//
// SABE sends events as signed Standard Webhooks deliveries and does not
// page or mail anyone itself. This relay is a webhook endpoint that
// verifies each delivery's signature, then
//
//   - opens a PagerDuty incident (Events API v2) for every
//     regression.detected and run.failed event, with the delivery's
//     webhook-id as dedup_key, so that a retried delivery updates the
//     same incident instead of opening another;
//   - mails a short summary of every event it gets through an SMTP relay.
//
// It answers 2xx only once everything it forwards to has accepted the
// event, so SABE retries the delivery (with the same webhook-id) when
// PagerDuty or the mail server is down.
//
// Configuration, from the environment:
//
//	RELAY_ADDR                   where to listen (default :8787)
//	RELAY_WEBHOOK_SECRET         the webhook's signing secret (whsec_...), as
//	                             POST /v1/webhooks or rotate-secret showed it
//	RELAY_PAGERDUTY_ROUTING_KEY  an Events API v2 integration key; unset: no paging
//	RELAY_SMTP_ADDR              host:port of an SMTP relay; unset: no mail
//	RELAY_SMTP_USER, RELAY_SMTP_PASSWORD  PLAIN auth, if the relay needs it
//	RELAY_MAIL_FROM, RELAY_MAIL_TO        sender and comma-separated recipients
//
// Run it (go run ./docs/webhook-relay) behind HTTPS and create a webhook
// with format json pointing at it.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/smtp"
	"os"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// pagerDutyURL is the Events API v2 endpoint.
const pagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// paged are the event types that open an incident.
var paged = map[string]bool{"regression.detected": true, "run.failed": true}

// event is a SABE delivery's payload: its type, when it happened, and
// data whose fields depend on the type (see the README's events table).
type event struct {
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// relay is the HTTP handler: verify, then forward.
type relay struct {
	webhook *standardwebhooks.Webhook
	http    *http.Client

	// PagerDuty; routingKey empty: no paging.
	pagerDutyURL, routingKey string

	// Mail; nil: no mail.
	send func(subject, body string) error
}

func main() {
	if err := run(os.Getenv); err != nil {
		log.Fatal(err)
	}
}

func run(getenv func(string) string) error {
	r, err := newRelay(getenv)
	if err != nil {
		return err
	}
	addr := cmp.Or(getenv("RELAY_ADDR"), ":8787")
	srv := &http.Server{Addr: addr, Handler: r, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("webhook relay listening on %s", addr)
	return srv.ListenAndServe()
}

// newRelay builds the relay from its configuration.
func newRelay(getenv func(string) string) (*relay, error) {
	wh, err := standardwebhooks.NewWebhook(getenv("RELAY_WEBHOOK_SECRET"))
	if err != nil {
		return nil, fmt.Errorf("RELAY_WEBHOOK_SECRET: %w", err)
	}
	r := &relay{
		webhook:      wh,
		http:         &http.Client{Timeout: 8 * time.Second}, // under SABE's 10 s per attempt
		pagerDutyURL: pagerDutyURL,
		routingKey:   getenv("RELAY_PAGERDUTY_ROUTING_KEY"),
	}
	if host := getenv("RELAY_SMTP_ADDR"); host != "" {
		from, to := getenv("RELAY_MAIL_FROM"), strings.Split(getenv("RELAY_MAIL_TO"), ",")
		if from == "" || getenv("RELAY_MAIL_TO") == "" {
			return nil, errors.New("RELAY_SMTP_ADDR needs RELAY_MAIL_FROM and RELAY_MAIL_TO")
		}
		var auth smtp.Auth
		if user := getenv("RELAY_SMTP_USER"); user != "" {
			auth = smtp.PlainAuth("", user, getenv("RELAY_SMTP_PASSWORD"), strings.Split(host, ":")[0])
		}
		r.send = func(subject, body string) error {
			msg := "From: " + from + "\r\nTo: " + strings.Join(to, ", ") + "\r\nSubject: " + subject +
				"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
			return smtp.SendMail(host, auth, from, to, []byte(msg))
		}
	}
	return r, nil
}

func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	// Verify checks the signature (any of the signatures, during a
	// rotation) and refuses timestamps more than five minutes off.
	if err := r.webhook.Verify(body, req.Header); err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "not a SABE event", http.StatusBadRequest)
		return
	}
	id := req.Header.Get("webhook-id")
	if r.routingKey != "" && paged[ev.Type] {
		if err := r.page(req.Context(), id, ev); err != nil {
			log.Printf("page %s: %v", id, err)
			http.Error(w, "PagerDuty did not take the event", http.StatusServiceUnavailable)
			return
		}
	}
	if r.send != nil {
		if err := r.send(summary(ev), details(ev)); err != nil {
			log.Printf("mail %s: %v", id, err)
			http.Error(w, "the mail relay did not take the event", http.StatusServiceUnavailable)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// page sends a trigger to the PagerDuty Events API v2. The dedup_key is
// SABE's webhook-id: a delivery SABE retries, or redelivers, is one
// incident.
func (r *relay) page(ctx context.Context, id string, ev event) error {
	msg := map[string]any{
		"routing_key":  r.routingKey,
		"event_action": "trigger",
		"dedup_key":    id,
		"payload": map[string]any{
			"summary":        clip(summary(ev), 1024),
			"source":         "sabe",
			"severity":       "error",
			"timestamp":      ev.Timestamp.Format(time.RFC3339),
			"class":          ev.Type,
			"group":          str(ev.Data, "benchmark_name"),
			"component":      str(ev.Data, "model_name"),
			"custom_details": ev.Data,
		},
	}
	if link := dashboardLink(ev); link != "" {
		msg["links"] = []map[string]string{{"href": link, "text": "Open in SABE"}}
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.pagerDutyURL, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("PagerDuty answered %s: %s", resp.Status, answer)
	}
	return nil
}

// summary is one line saying what happened.
func summary(ev event) string {
	d := ev.Data
	switch ev.Type {
	case "regression.detected":
		return fmt.Sprintf("SABE: %s regressed on %s in %s: %.3f → %.3f (diff %.3f, 95%% CI [%.3f, %.3f], Holm-adjusted p %.4f)",
			str(d, "model_name"), str(d, "metric"), str(d, "benchmark_name"),
			num(d, "previous"), num(d, "current"), num(d, "diff"), num(d, "ci_low"), num(d, "ci_high"), num(d, "p_adjusted"))
	case "run.completed", "run.partial", "run.failed", "run.cancelled":
		s := fmt.Sprintf("SABE: run of %s %s", str(d, "benchmark_name"), str(d, "status"))
		if reason := str(d, "reason"); reason != "" {
			s += ": " + reason
		}
		return s
	case "schedule.skipped":
		return fmt.Sprintf("SABE: a scheduled run of %s was skipped: %s", str(d, "benchmark_name"), str(d, "reason"))
	case "provider.circuit_opened", "provider.circuit_closed":
		return fmt.Sprintf("SABE: provider %s circuit %s", str(d, "provider_name"), str(d, "state"))
	}
	return "SABE: " + ev.Type
}

// details is the mail's body: the summary, the link and the event's data.
func details(ev event) string {
	data, _ := json.MarshalIndent(ev.Data, "", "  ")
	return summary(ev) + "\n\n" + dashboardLink(ev) + "\n\n" + string(data) + "\n"
}

func dashboardLink(ev event) string {
	links, _ := ev.Data["links"].(map[string]any)
	s, _ := links["dashboard"].(string)
	return s
}

func str(d map[string]any, k string) string {
	s, _ := d[k].(string)
	return s
}

func num(d map[string]any, k string) float64 {
	f, _ := d[k].(float64)
	return f
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

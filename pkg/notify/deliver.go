package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/fault"
)

// UserAgent is the User-Agent of every delivery.
const UserAgent = "SABE-Webhooks/1"

// ExcerptBytes is how much of an answer an attempt keeps.
const ExcerptBytes = 512

// goneReason is why a webhook whose endpoint answered 410 is disabled.
// Standard Webhooks suggests that a sender disable an endpoint that
// answers 410 Gone: the receiver says, unlike with any other failure, that
// it will never take deliveries again, so retrying for a day and then
// counting up to SABE_WEBHOOK_DISABLE_AFTER failures would only send it
// more requests it asked not to get. SABE disables the webhook at the
// first 410, with this reason and an audit entry; enabling it again (PATCH
// enabled=true) is the owner's decision.
const goneReason = "disabled by SABE: the endpoint answered 410 Gone, which says it takes no more deliveries"

// HandleDeliver runs TypeDeliver: the attempt its TaskID names of the
// delivery its payload names.
func (d *Deliverer) HandleDeliver(ctx context.Context, t *asynq.Task) error {
	id, err := uuid.ParseBytes(t.Payload())
	if err != nil {
		return fmt.Errorf("deliver: payload is not a delivery id: %w", asynq.SkipRetry)
	}
	attempt := 0
	if tid, ok := asynq.GetTaskID(ctx); ok {
		attempt = attemptOf(tid)
	}
	return d.Deliver(ctx, id, attempt)
}

// maxEarly is how long before its due time an attempt waits instead of
// going ahead: asynq's second granularity, with room for clock steps.
const maxEarly = 2 * time.Second

// attemptOf is the attempt a DeliverTaskID names; 0 when it names none.
func attemptOf(taskID string) int {
	n, err := strconv.Atoi(taskID[strings.LastIndexByte(taskID, ':')+1:])
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// Deliver makes the attempt-th attempt of a delivery (0: the next one)
// and records it, once: a delivery that is not pending, or whose attempt
// is recorded already (a task run again after a worker died), is left
// alone, and one whose webhook is disabled is cancelled. A failed attempt
// schedules the next one with backoff (at least the answer's
// Retry-After), or gives the delivery up when that would fall after its
// creation plus RetryFor. It returns an error only when the database
// could not be read or written, or ctx ended during the attempt (the
// worker stops; asynq puts the task back, and the attempt is made again
// with the same webhook-id).
func (d *Deliverer) Deliver(ctx context.Context, id uuid.UUID, attempt int) error {
	o, err := d.store.DeliveryToSend(ctx, id)
	if fault.KindOf(err) == fault.KindNotFound {
		d.log.Debug("delivery gone: its webhook or event was deleted", "delivery_id", id)
		return nil
	}
	if err != nil {
		return err
	}
	if attempt == 0 {
		attempt = o.Attempts + 1
	}
	if o.Status != StatusPending || attempt != o.Attempts+1 {
		d.log.Debug("delivery attempt already made", "delivery_id", id, "attempt", attempt, "status", o.Status, "attempts", o.Attempts)
		return nil
	}
	// asynq schedules a task by the second (its ProcessAt is kept as Unix
	// seconds), so an attempt due at 12:00:01.7 may start at 12:00:01.0:
	// up to a second before a receiver's Retry-After allows. The attempt
	// waits out the rest; a longer wait (workers' clocks apart) is not
	// this task's to make, and the attempt goes ahead.
	if o.NextAttemptAt != nil {
		if early := o.NextAttemptAt.Sub(d.cfg.Clock.Now()); early > 0 && early <= maxEarly {
			if err := d.cfg.Clock.Sleep(ctx, early); err != nil {
				return err
			}
		}
	}
	start := d.cfg.Clock.Now().UTC()
	if !o.Enabled {
		reason := "webhook disabled"
		if o.DisabledReason != "" {
			reason += ": " + o.DisabledReason
		}
		_, err := d.store.CancelDelivery(ctx, id, start, reason)
		return err
	}
	ans := d.send(ctx, o, start)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	a := Attempt{
		DeliveryID: id, WebhookID: o.WebhookID, Attempt: attempt, StartedAt: start, StatusCode: ans.code,
		Latency: ans.latency, Error: ans.err, Excerpt: ans.excerpt, DisableAfter: d.cfg.DisableAfter,
	}
	switch {
	case ans.code != nil && *ans.code >= 200 && *ans.code < 300:
		a.Succeeded = true
	case ans.code != nil && *ans.code == http.StatusGone:
		a.DisableReason = goneReason
	default:
		next := d.cfg.Clock.Now().UTC().Add(max(d.backoff.Delay(attempt), ans.retryAfter))
		if !next.After(o.CreatedAt.Add(d.cfg.RetryFor)) {
			a.NextAttemptAt = &next
		}
	}
	rec, err := d.store.RecordAttempt(ctx, a)
	if err != nil {
		return err
	}
	if !rec.Recorded {
		d.log.Debug("delivery attempt recorded by another task", "delivery_id", id, "attempt", attempt)
		return nil
	}
	log := d.log.With("delivery_id", id, "webhook_id", o.WebhookID, "event_type", o.Event.Type, "attempt", attempt)
	switch {
	case a.Succeeded:
		log.Info("webhook delivered", "status", *ans.code, "latency", ans.latency)
	case rec.Disabled:
		log.Warn("webhook disabled after failed deliveries", "failures", rec.Failures, "err", ans.err)
	case a.NextAttemptAt == nil:
		log.Warn("webhook delivery failed for good", "err", ans.err)
	default:
		log.Info("webhook delivery failed; retrying", "err", ans.err, "next_attempt_at", *a.NextAttemptAt)
		if err := enqueue(ctx, d.queue, NewDeliverTask(id, attempt+1), asynq.ProcessAt(*a.NextAttemptAt)); err != nil {
			log.Warn("enqueue the next attempt failed; the sweep enqueues it", "err", err)
		}
	}
	return nil
}

// answer is what an endpoint did with one attempt.
type answer struct {
	// code is the HTTP status; nil when no answer came.
	code       *int
	latency    time.Duration
	err        string
	excerpt    string
	retryAfter time.Duration
}

// send signs and posts one attempt of o at start.
func (d *Deliverer) send(ctx context.Context, o *Outgoing, start time.Time) answer {
	secrets, err := d.openSecrets(o, start)
	if err != nil {
		return answer{err: err.Error()}
	}
	body, contentType, err := d.cfg.Render(o.Format, o.Event, Links{PublicURL: d.cfg.PublicURL})
	if err != nil {
		return answer{err: "render the event: " + err.Error()}
	}
	msgID := MessageID(o.Event.ID)
	sig, err := Sign(secrets, msgID, start, body)
	if err != nil {
		return answer{err: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(body))
	if err != nil {
		// The URL is not quoted: a Slack webhook's path is its secret.
		return answer{err: "the webhook's URL is not a valid request URL"}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(start.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	t0 := time.Now()
	resp, err := d.cfg.HTTPClient.Do(req)
	if err != nil {
		return answer{latency: time.Since(t0), err: d.describe(err)}
	}
	defer resp.Body.Close()
	// The status is the answer; a body cut short after it changes nothing.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, ExcerptBytes))
	a := answer{
		code: &resp.StatusCode, latency: time.Since(t0), excerpt: excerpt(head),
		retryAfter: RetryAfter(resp.Header, d.cfg.Clock.Now()),
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		a.err = "HTTP " + resp.Status
	}
	return a
}

// openSecrets opens the webhook's signing secret and, until it expires,
// the one before the last rotation.
func (d *Deliverer) openSecrets(o *Outgoing, now time.Time) ([]string, error) {
	open := func(s Sealed) (string, error) {
		b, err := d.keys.Decrypt(s.KeyID, s.Ciphertext, SecretAAD(o.WebhookID))
		if err != nil {
			return "", fmt.Errorf("the signing secret sealed with key id %q does not open: %w", s.KeyID, err)
		}
		return string(b), nil
	}
	cur, err := open(o.Secret)
	if err != nil {
		return nil, err
	}
	out := []string{cur}
	if o.Previous != nil && o.PreviousExpiresAt != nil && o.PreviousExpiresAt.After(now) {
		prev, err := open(*o.Previous)
		if err != nil {
			return nil, err
		}
		out = append(out, prev)
	}
	return out, nil
}

// describe says why a request got no answer, in words for the attempt's
// record. url.Error is unwrapped first: its message quotes the URL, and a
// Slack webhook's URL is its secret.
func (d *Deliverer) describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("timed out after %s", d.cfg.Timeout)
		}
		err = ue.Err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("timed out after %s", d.cfg.Timeout)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return "connection closed before an answer"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	return err.Error()
}

// excerpt is the first bytes of an answer as text PostgreSQL stores:
// valid UTF-8 (a rune cut at the end is dropped) without NUL.
func excerpt(b []byte) string {
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), ""), "\x00", "")
}

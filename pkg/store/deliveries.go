package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

var _ notify.Store = (*Store)(nil)

// DispatchEvents hands up to limit undispatched events, oldest first, to
// the webhooks they match, in one transaction: the events are locked
// (SKIP LOCKED, so dispatches running together share the work), one
// pending delivery is written per match (a pair written before is kept),
// and the events are marked dispatched. It returns how many events it
// took and the ids of the deliveries it wrote, whose tasks the caller
// enqueues after the commit.
func (s *Store) DispatchEvents(ctx context.Context, now time.Time, limit int) (int, []uuid.UUID, error) {
	var taken int
	var written []uuid.UUID
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		events, err := q.TakeUndispatchedEvents(ctx, int32(limit))
		if err != nil || len(events) == 0 {
			return err
		}
		taken = len(events)
		ids := make([]uuid.UUID, len(events))
		for i, e := range events {
			ids[i] = e.ID
		}
		matches, err := q.MatchEventWebhooks(ctx, ids)
		if err != nil {
			return err
		}
		if len(matches) > 0 {
			p := dbsqlc.InsertFirstDeliveriesParams{Now: now}
			for _, m := range matches {
				p.Ids = append(p.Ids, newID())
				p.WebhookIds = append(p.WebhookIds, m.WebhookID)
				p.EventIds = append(p.EventIds, m.EventID)
				p.EventTypes = append(p.EventTypes, m.EventType)
			}
			if written, err = q.InsertFirstDeliveries(ctx, p); err != nil {
				return err
			}
		}
		return q.MarkEventsDispatched(ctx, dbsqlc.MarkEventsDispatchedParams{Now: now, Ids: ids})
	})
	if err != nil {
		return 0, nil, fmt.Errorf("dispatch events: %w", err)
	}
	return taken, written, nil
}

// DeliveryToSend returns a delivery with its event and its webhook (the
// secrets sealed); NotFound when the delivery is gone, which is what a
// deleted webhook leaves (its deliveries are deleted with it).
func (s *Store) DeliveryToSend(ctx context.Context, id uuid.UUID) (*notify.Outgoing, error) {
	r, err := s.q.DeliveryToSend(ctx, id)
	if err != nil {
		return nil, notFound(err, "delivery")
	}
	o := &notify.Outgoing{
		DeliveryID: r.ID, Status: r.Status, Attempts: int(r.Attempts), CreatedAt: r.CreatedAt.UTC(), NextAttemptAt: r.NextAttemptAt,
		Event: notify.Event{
			ID: r.EventID, Type: r.EventType, OccurredAt: r.OccurredAt.UTC(), BenchmarkID: r.BenchmarkID, Payload: r.Payload,
		},
		WebhookID: r.WebhookID, URL: r.Url, Format: r.Format, Enabled: r.Enabled, DisabledReason: deref(r.DisabledReason),
		Secret: notify.Sealed{KeyID: r.SecretKeyID, Ciphertext: r.SecretCiphertext},
	}
	if r.PreviousSecretKeyID != nil {
		o.Previous = &notify.Sealed{KeyID: *r.PreviousSecretKeyID, Ciphertext: r.PreviousSecretCiphertext}
		o.PreviousExpiresAt = r.PreviousSecretExpiresAt
	}
	return o, nil
}

// CancelDelivery ends a pending delivery with reason and reports whether
// it was pending.
func (s *Store) CancelDelivery(ctx context.Context, id uuid.UUID, now time.Time, reason string) (bool, error) {
	n, err := s.q.CancelDelivery(ctx, dbsqlc.CancelDeliveryParams{Now: now, Reason: reason, ID: id})
	if err != nil {
		return false, fmt.Errorf("cancel delivery %s: %w", id, err)
	}
	return n > 0, nil
}

// RecordAttempt records one attempt of a delivery exactly once: the
// delivery moves on only while it is pending with every earlier attempt
// recorded, so a task that runs again for the same attempt writes
// nothing. In the same transaction the webhook's consecutive failures are
// reset (success) or counted; when they reach a.DisableAfter, or
// a.DisableReason is set, the webhook is disabled with a reason, its
// pending deliveries are cancelled and the system's audit entry says why.
func (s *Store) RecordAttempt(ctx context.Context, a notify.Attempt) (notify.Recorded, error) {
	var res notify.Recorded
	now := a.StartedAt.Add(a.Latency)
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		res = notify.Recorded{}
		p := dbsqlc.FinishAttemptParams{ID: a.DeliveryID, Attempt: int32(a.Attempt)}
		switch {
		case a.Succeeded:
			p.Status, p.FinishedAt = notify.StatusSucceeded, &now
		case a.NextAttemptAt != nil && a.DisableReason == "":
			p.Status, p.NextAttemptAt = notify.StatusPending, a.NextAttemptAt
		default:
			p.Status, p.FinishedAt = notify.StatusFailed, &now
		}
		if a.Error != "" {
			p.LastError = &a.Error
		}
		n, err := q.FinishAttempt(ctx, p)
		if err != nil || n == 0 {
			return err
		}
		res.Recorded = true
		var code *int32
		if a.StatusCode != nil {
			c := int32(*a.StatusCode)
			code = &c
		}
		var errText *string
		if a.Error != "" {
			errText = &a.Error
		}
		if err := q.InsertAttempt(ctx, dbsqlc.InsertAttemptParams{
			DeliveryID: a.DeliveryID, Attempt: int32(a.Attempt), StartedAt: a.StartedAt, StatusCode: code,
			LatencyMs: float64(a.Latency) / float64(time.Millisecond), Error: errText, ResponseExcerpt: a.Excerpt,
		}); err != nil {
			return err
		}
		if a.Succeeded {
			return q.WebhookSucceeded(ctx, dbsqlc.WebhookSucceededParams{Now: now, ID: a.WebhookID})
		}
		w, err := q.WebhookFailed(ctx, dbsqlc.WebhookFailedParams{Now: now, ID: a.WebhookID})
		if err != nil {
			return err
		}
		res.Failures = int(w.ConsecutiveFailures)
		reason := a.DisableReason
		if reason == "" && a.DisableAfter > 0 && res.Failures >= a.DisableAfter {
			reason = fmt.Sprintf("disabled by SABE after %d consecutive failed delivery attempts; the last: %s", res.Failures, a.Error)
		}
		if reason == "" || !w.Enabled {
			return nil
		}
		res.Disabled = true
		return disableWebhook(ctx, q, a.WebhookID, now, reason)
	})
	if err != nil {
		return notify.Recorded{}, fmt.Errorf("record attempt %d of delivery %s: %w", a.Attempt, a.DeliveryID, err)
	}
	return res, nil
}

// disableWebhook disables a webhook SABE gave up on, cancels its pending
// deliveries and writes the system's audit entry, through q's transaction.
func disableWebhook(ctx context.Context, q *dbsqlc.Queries, id uuid.UUID, now time.Time, reason string) error {
	if _, err := q.DisableWebhookForFailures(ctx, dbsqlc.DisableWebhookForFailuresParams{Reason: reason, Now: now, ID: id}); err != nil {
		return err
	}
	if _, err := q.CancelWebhookDeliveries(ctx, dbsqlc.CancelWebhookDeliveriesParams{
		Now: now, Reason: "webhook disabled: " + reason, WebhookID: id,
	}); err != nil {
		return err
	}
	// SABE disabled it, whatever request context the caller carries.
	sys := audit.WithActor(ctx, audit.Actor{TokenName: audit.SystemActor})
	return auditChange(sys, q, audit.ActionWebhookDisable, audit.ResourceWebhook, id.String(), reason)
}

// HasUndispatchedBefore reports whether an event older than cutoff waits
// for its dispatch.
func (s *Store) HasUndispatchedBefore(ctx context.Context, cutoff time.Time) (bool, error) {
	ok, err := s.q.HasUndispatchedBefore(ctx, cutoff)
	if err != nil {
		return false, fmt.Errorf("look for undispatched events: %w", err)
	}
	return ok, nil
}

// OverdueDeliveries returns up to limit pending deliveries whose next
// attempt was due before cutoff, the longest overdue first.
func (s *Store) OverdueDeliveries(ctx context.Context, cutoff time.Time, limit int) ([]notify.Overdue, error) {
	rows, err := s.q.OverdueDeliveries(ctx, dbsqlc.OverdueDeliveriesParams{Cutoff: cutoff, Lim: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("overdue deliveries: %w", err)
	}
	out := make([]notify.Overdue, len(rows))
	for i, r := range rows {
		out[i] = notify.Overdue{DeliveryID: r.ID, Attempts: int(r.Attempts)}
	}
	return out, nil
}

// DeleteExpiredEvents deletes up to limit dispatched events older than
// cutoff that no pending delivery waits on; their deliveries and attempts
// are deleted with them.
func (s *Store) DeleteExpiredEvents(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	n, err := s.q.DeleteExpiredEvents(ctx, dbsqlc.DeleteExpiredEventsParams{Cutoff: cutoff, Lim: int32(limit)})
	if err != nil {
		return 0, fmt.Errorf("delete expired events: %w", err)
	}
	return n, nil
}

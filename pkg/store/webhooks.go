package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// The webhooks management API (issue 17). The signing secret is
// generated here, sealed under the keyring with notify.SecretAAD, and
// handed back only by CreateWebhook and RotateWebhookSecret.

// Webhook formats.
const (
	WebhookFormatJSON  = "json"
	WebhookFormatSlack = "slack"
)

// PreviousSecretTTL is how long a rotated-out secret keeps signing beside
// the new one, so receivers can switch over without dropping a message.
const PreviousSecretTTL = 24 * time.Hour

// secretPrefixLen is how much of a secret is kept in the clear to
// recognise it by: "whsec_" and 4 more.
const secretPrefixLen = len(notify.SecretPrefix) + 4

// Webhook is a webhook without its secret.
type Webhook struct {
	ID                      uuid.UUID
	Name                    string
	URL                     string
	Events                  []string
	BenchmarkIDs            []uuid.UUID
	Format                  string
	Enabled                 bool
	SecretPrefix            string
	PreviousSecretExpiresAt *time.Time
	ConsecutiveFailures     int
	DisabledReason          *string
	DisabledAt              *time.Time
	LastDeliveryAt          *time.Time
	LastSuccessAt           *time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

// NewWebhook is a webhook to create. The URL's address policy is the
// caller's (notify.CheckURL); the rest is checked here.
type NewWebhook struct {
	Name         string
	URL          string
	Events       []string
	BenchmarkIDs []uuid.UUID
	// Format is json (the default when empty) or slack.
	Format  string
	Enabled bool
	// CreatedBy is the token that made it, if any.
	CreatedBy *uuid.UUID
	// Now is when it is made; zero means the wall clock.
	Now time.Time
}

// WebhookPatch changes the fields that are not nil.
type WebhookPatch struct {
	Name         *string
	URL          *string
	Events       *[]string
	BenchmarkIDs *[]uuid.UUID
	Format       *string
	Enabled      *bool
	// Now is when it is changed; zero means the wall clock.
	Now time.Time
}

// WebhookDelivery is one event sent (or being sent) to one webhook, with
// its attempts, oldest first.
type WebhookDelivery struct {
	ID            uuid.UUID
	WebhookID     uuid.UUID
	EventID       uuid.UUID
	EventType     string
	RedeliveryOf  *uuid.UUID
	Status        string
	NextAttemptAt *time.Time
	LastError     *string
	CreatedAt     time.Time
	FinishedAt    *time.Time
	Attempts      []WebhookAttempt
}

// WebhookAttempt is one attempt of a delivery. StatusCode is nil when the
// endpoint answered nothing; Error is nil when the attempt succeeded.
type WebhookAttempt struct {
	Attempt         int
	StartedAt       time.Time
	StatusCode      *int
	LatencyMs       float64
	Error           *string
	ResponseExcerpt string
}

// WebhookDeliveryFilter narrows ListWebhookDeliveries; empty fields match
// everything.
type WebhookDeliveryFilter struct {
	Status    string
	EventType string
}

func webhookFromRow(r dbsqlc.Webhook) *Webhook {
	w := &Webhook{
		ID: r.ID, Name: r.Name, URL: r.Url, Events: r.Events, BenchmarkIDs: r.BenchmarkIds, Format: r.Format,
		Enabled: r.Enabled, SecretPrefix: r.SecretPrefix, PreviousSecretExpiresAt: r.PreviousSecretExpiresAt,
		ConsecutiveFailures: int(r.ConsecutiveFailures), DisabledReason: r.DisabledReason, DisabledAt: r.DisabledAt,
		LastDeliveryAt: r.LastDeliveryAt, LastSuccessAt: r.LastSuccessAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if w.Events == nil {
		w.Events = []string{}
	}
	if w.BenchmarkIDs == nil {
		w.BenchmarkIDs = []uuid.UUID{}
	}
	return w
}

func deliveryFromRow(r dbsqlc.WebhookDelivery) WebhookDelivery {
	return WebhookDelivery{
		ID: r.ID, WebhookID: r.WebhookID, EventID: r.EventID, EventType: r.EventType, RedeliveryOf: r.RedeliveryOf,
		Status: r.Status, NextAttemptAt: r.NextAttemptAt, LastError: r.LastError, CreatedAt: r.CreatedAt,
		FinishedAt: r.FinishedAt, Attempts: []WebhookAttempt{},
	}
}

func attemptFromRow(r dbsqlc.WebhookAttempt) WebhookAttempt {
	a := WebhookAttempt{
		Attempt: int(r.Attempt), StartedAt: r.StartedAt, LatencyMs: r.LatencyMs, Error: r.Error,
		ResponseExcerpt: r.ResponseExcerpt,
	}
	if r.StatusCode != nil {
		code := int(*r.StatusCode)
		a.StatusCode = &code
	}
	return a
}

// clock is now, or the wall clock when now is zero, at PostgreSQL's
// precision.
func clock(now time.Time) time.Time {
	return cmp.Or(now, time.Now()).UTC().Truncate(time.Microsecond)
}

// checkWebhookName, checkWebhookEvents and checkWebhookFormat are the
// checks of a webhook's fields that need no database.
func checkWebhookName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 200 {
		return fault.Invalid("name", "must be 1 to 200 characters")
	}
	return nil
}

func checkWebhookEvents(events []string) error {
	if len(events) == 0 {
		return fault.Invalid("events", "at least one event type is required")
	}
	for i, e := range events {
		if !slices.Contains(notify.EventTypes, e) {
			return fault.Invalid(fmt.Sprintf("events[%d]", i), "unknown event type %q; one of %s", e, strings.Join(notify.EventTypes, ", "))
		}
		if slices.Contains(events[:i], e) {
			return fault.Invalid(fmt.Sprintf("events[%d]", i), "%s is listed twice", e)
		}
	}
	return nil
}

func checkWebhookFormat(format string) error {
	if format != WebhookFormatJSON && format != WebhookFormatSlack {
		return fault.Invalid("format", "must be json or slack")
	}
	return nil
}

// checkBenchmarkIDs refuses, in q's transaction, an id that is no
// benchmark, naming it by its index (benchmark_ids.N).
func checkBenchmarkIDs(ctx context.Context, q *dbsqlc.Queries, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	found, err := q.ExistingBenchmarkIDs(ctx, ids)
	if err != nil {
		return fmt.Errorf("check benchmark ids: %w", err)
	}
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			return fault.Invalid(fmt.Sprintf("benchmark_ids.%d", i), "benchmark %s is listed twice", id)
		}
		if !slices.Contains(found, id) {
			return fault.Invalid(fmt.Sprintf("benchmark_ids.%d", i), "no benchmark %s", id)
		}
	}
	return nil
}

// sealedSecret is a new signing secret and how the row stores it.
type sealedSecret struct {
	plain, prefix, keyID string
	ciphertext           []byte
}

func (s *Store) newWebhookSecret(id uuid.UUID) (sealedSecret, error) {
	if s.keys == nil {
		return sealedSecret{}, errors.New("webhook secret: no keyring")
	}
	plain, err := notify.GenerateSecret()
	if err != nil {
		return sealedSecret{}, fmt.Errorf("generate webhook secret: %w", err)
	}
	keyID, ct, err := s.keys.Encrypt([]byte(plain), notify.SecretAAD(id))
	if err != nil {
		return sealedSecret{}, fmt.Errorf("encrypt webhook secret: %w", err)
	}
	return sealedSecret{plain: plain, prefix: plain[:secretPrefixLen], keyID: keyID, ciphertext: ct}, nil
}

// CreateWebhook stores a webhook with a new signing secret, sealed under
// the keyring's primary key, and returns the secret: the only time it is
// shown.
func (s *Store) CreateWebhook(ctx context.Context, in NewWebhook) (string, *Webhook, error) {
	in.Format = cmp.Or(in.Format, WebhookFormatJSON)
	if err := cmp.Or(checkWebhookName(in.Name), checkWebhookEvents(in.Events), checkWebhookFormat(in.Format)); err != nil {
		return "", nil, err
	}
	id := newID()
	sec, err := s.newWebhookSecret(id)
	if err != nil {
		return "", nil, err
	}
	now := clock(in.Now)
	var row dbsqlc.Webhook
	err = s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if err := checkBenchmarkIDs(ctx, q, in.BenchmarkIDs); err != nil {
			return err
		}
		var err error
		row, err = q.CreateWebhook(ctx, dbsqlc.CreateWebhookParams{
			ID: id, Name: in.Name, Url: in.URL, Events: in.Events, BenchmarkIds: nonNilIDs(in.BenchmarkIDs),
			Format: in.Format, Enabled: in.Enabled, SecretPrefix: sec.prefix, SecretKeyID: sec.keyID,
			SecretCiphertext: sec.ciphertext, CreatedByTokenID: in.CreatedBy, Now: now,
		})
		if err != nil {
			return fmt.Errorf("create webhook: %w", err)
		}
		// The name and what it listens to; never the secret.
		return auditChange(ctx, q, audit.ActionWebhookCreate, audit.ResourceWebhook, id.String(),
			fmt.Sprintf("name %q, events %s", in.Name, strings.Join(in.Events, ",")))
	})
	if err != nil {
		return "", nil, err
	}
	return sec.plain, webhookFromRow(row), nil
}

func nonNilIDs(ids []uuid.UUID) []uuid.UUID {
	if ids == nil {
		return []uuid.UUID{}
	}
	return ids
}

// GetWebhook returns a webhook; fault NotFound when there is none.
func (s *Store) GetWebhook(ctx context.Context, id uuid.UUID) (*Webhook, error) {
	row, err := s.q.GetWebhook(ctx, id)
	if err != nil {
		return nil, notFound(err, "webhook")
	}
	return webhookFromRow(row), nil
}

// ListWebhooks returns a page of webhooks in creation order.
func (s *Store) ListWebhooks(ctx context.Context, limit int, cursor string) (Page[*Webhook], error) {
	return listPage(cursor, limit, func(after *uuid.UUID, lim int32) ([]dbsqlc.Webhook, error) {
		return s.q.ListWebhooks(ctx, dbsqlc.ListWebhooksParams{After: after, Lim: lim})
	}, webhookFromRow, func(r dbsqlc.Webhook) uuid.UUID { return r.ID })
}

// UpdateWebhook changes the given fields. Enabling a disabled webhook
// clears why and since when it was, and its failure count; disabling it
// cancels its pending deliveries. Fault NotFound when there is no such
// webhook, Invalid naming the field of a bad value.
func (s *Store) UpdateWebhook(ctx context.Context, id uuid.UUID, p WebhookPatch) (*Webhook, error) {
	var checks [3]error
	if p.Name != nil {
		checks[0] = checkWebhookName(*p.Name)
	}
	if p.Events != nil {
		checks[1] = checkWebhookEvents(*p.Events)
	}
	if p.Format != nil {
		checks[2] = checkWebhookFormat(*p.Format)
	}
	if err := cmp.Or(checks[:]...); err != nil {
		return nil, err
	}
	now := clock(p.Now)
	arg := dbsqlc.UpdateWebhookParams{ID: id, Name: p.Name, Url: p.URL, Format: p.Format, Enabled: p.Enabled, Now: now, Events: []string{}, BenchmarkIds: []uuid.UUID{}}
	if p.Events != nil {
		arg.SetEvents, arg.Events = true, *p.Events
	}
	if p.BenchmarkIDs != nil {
		arg.SetBenchmarkIds, arg.BenchmarkIds = true, nonNilIDs(*p.BenchmarkIDs)
	}
	reason := changedFields("name", setIf(p.Name != nil), "url", setIf(p.URL != nil), "events", setIf(p.Events != nil),
		"benchmark_ids", setIf(p.BenchmarkIDs != nil), "format", setIf(p.Format != nil), "enabled", setIf(p.Enabled != nil))
	if p.Enabled != nil {
		reason += fmt.Sprintf(" (enabled: %t)", *p.Enabled)
	}
	var row dbsqlc.Webhook
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if p.BenchmarkIDs != nil {
			if err := checkBenchmarkIDs(ctx, q, *p.BenchmarkIDs); err != nil {
				return err
			}
		}
		var err error
		if row, err = q.UpdateWebhook(ctx, arg); err != nil {
			return notFound(err, "webhook")
		}
		if !row.Enabled {
			if _, err := q.CancelWebhookDeliveries(ctx, dbsqlc.CancelWebhookDeliveriesParams{
				WebhookID: id, Now: now, Reason: "the webhook was disabled",
			}); err != nil {
				return fmt.Errorf("cancel deliveries of webhook %s: %w", id, err)
			}
		}
		return auditChange(ctx, q, audit.ActionWebhookUpdate, audit.ResourceWebhook, id.String(), reason)
	})
	if err != nil {
		return nil, err
	}
	return webhookFromRow(row), nil
}

// DeleteWebhook deletes a webhook with its deliveries; fault NotFound when
// there is none.
func (s *Store) DeleteWebhook(ctx context.Context, id uuid.UUID) error {
	return s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		n, err := q.DeleteWebhook(ctx, id)
		if err != nil {
			return fmt.Errorf("delete webhook %s: %w", id, err)
		}
		if n == 0 {
			return fault.NotFound("webhook")
		}
		return auditChange(ctx, q, audit.ActionWebhookDelete, audit.ResourceWebhook, id.String(), "")
	})
}

// RotateWebhookSecret gives a webhook a new signing secret and returns it
// (the only time it is shown). The current secret stays sealed as the
// previous one, signing beside the new until now + PreviousSecretTTL.
func (s *Store) RotateWebhookSecret(ctx context.Context, id uuid.UUID, now time.Time) (string, *Webhook, error) {
	sec, err := s.newWebhookSecret(id)
	if err != nil {
		return "", nil, err
	}
	now = clock(now)
	var row dbsqlc.Webhook
	err = s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		var err error
		row, err = q.RotateWebhookSecret(ctx, dbsqlc.RotateWebhookSecretParams{
			ID: id, PreviousExpiresAt: now.Add(PreviousSecretTTL), SecretPrefix: sec.prefix,
			SecretKeyID: sec.keyID, SecretCiphertext: sec.ciphertext, Now: now,
		})
		if err != nil {
			return notFound(err, "webhook")
		}
		return auditChange(ctx, q, audit.ActionWebhookRotateSecret, audit.ResourceWebhook, id.String(),
			"new secret "+sec.prefix+"…; the previous one signs too until "+now.Add(PreviousSecretTTL).Format(time.RFC3339))
	})
	if err != nil {
		return "", nil, err
	}
	return sec.plain, webhookFromRow(row), nil
}

// ListWebhookDeliveries returns a page of a webhook's deliveries, newest
// first, each with its attempts. Fault NotFound when there is no such
// webhook.
func (s *Store) ListWebhookDeliveries(ctx context.Context, webhookID uuid.UUID, f WebhookDeliveryFilter, limit int, cursor string) (Page[WebhookDelivery], error) {
	if _, err := s.q.GetWebhook(ctx, webhookID); err != nil {
		return Page[WebhookDelivery]{}, notFound(err, "webhook")
	}
	lim := pageSize(limit)
	arg := dbsqlc.ListWebhookDeliveriesParams{
		WebhookID: webhookID, Status: optString(f.Status), EventType: optString(f.EventType), Lim: lim + 1,
	}
	if cursor != "" {
		t, id, err := decodeAuditCursor(cursor)
		if err != nil {
			return Page[WebhookDelivery]{}, err
		}
		arg.HasCursor, arg.BeforeTime, arg.BeforeID = true, t, id
	}
	rows, err := s.q.ListWebhookDeliveries(ctx, arg)
	if err != nil {
		return Page[WebhookDelivery]{}, fmt.Errorf("list deliveries of webhook %s: %w", webhookID, err)
	}
	p := Page[WebhookDelivery]{Items: make([]WebhookDelivery, 0, min(len(rows), int(lim)))}
	for i, r := range rows {
		if i == int(lim) {
			last := rows[i-1]
			p.Next = encodeAuditCursor(last.CreatedAt, last.ID)
			break
		}
		p.Items = append(p.Items, deliveryFromRow(r))
	}
	if err := s.withAttempts(ctx, p.Items); err != nil {
		return Page[WebhookDelivery]{}, err
	}
	return p, nil
}

// withAttempts fills in the attempts of ds, in one query.
func (s *Store) withAttempts(ctx context.Context, ds []WebhookDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(ds))
	at := make(map[uuid.UUID]int, len(ds))
	for i, d := range ds {
		ids[i], at[d.ID] = d.ID, i
	}
	rows, err := s.q.ListWebhookAttempts(ctx, ids)
	if err != nil {
		return fmt.Errorf("list delivery attempts: %w", err)
	}
	for _, r := range rows {
		d := &ds[at[r.DeliveryID]]
		d.Attempts = append(d.Attempts, attemptFromRow(r))
	}
	return nil
}

// GetWebhookDelivery returns one delivery of a webhook with its attempts;
// fault NotFound when the webhook has no such delivery.
func (s *Store) GetWebhookDelivery(ctx context.Context, webhookID, deliveryID uuid.UUID) (*WebhookDelivery, error) {
	row, err := s.q.GetWebhookDelivery(ctx, dbsqlc.GetWebhookDeliveryParams{ID: deliveryID, WebhookID: webhookID})
	if err != nil {
		return nil, notFound(err, "delivery")
	}
	ds := []WebhookDelivery{deliveryFromRow(row)}
	if err := s.withAttempts(ctx, ds); err != nil {
		return nil, err
	}
	return &ds[0], nil
}

// enabledWebhook locks a webhook for a delivery the API makes: fault
// NotFound when there is none, Conflict when it is disabled.
func enabledWebhook(ctx context.Context, q *dbsqlc.Queries, id uuid.UUID) error {
	w, err := q.GetWebhookForUpdate(ctx, id)
	if err != nil {
		return notFound(err, "webhook")
	}
	if !w.Enabled {
		return fault.Conflict("webhook is disabled; enable it first")
	}
	return nil
}

// CreateTestDelivery writes, in one transaction, a webhook.test event for
// this webhook alone (dispatched already) and its one pending delivery,
// due at now, and returns the delivery; its task is the caller's to
// enqueue (a periodic sweep sends it otherwise). Fault NotFound when there
// is no such webhook, Conflict when it is disabled.
func (s *Store) CreateTestDelivery(ctx context.Context, webhookID uuid.UUID, now time.Time) (*WebhookDelivery, error) {
	now = clock(now)
	var row dbsqlc.WebhookDelivery
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if err := enabledWebhook(ctx, q, webhookID); err != nil {
			return err
		}
		eventID := newID()
		if err := q.InsertWebhookTestEvent(ctx, dbsqlc.InsertWebhookTestEventParams{
			ID: eventID, Type: notify.WebhookTest, Now: now, DedupKey: notify.WebhookTest + ":" + eventID.String(),
			Payload: mustJSON(notify.WebhookTested{WebhookID: webhookID, Message: "a test event sent by POST /v1/webhooks/" + webhookID.String() + "/test"}),
		}); err != nil {
			return fmt.Errorf("insert test event: %w", err)
		}
		var err error
		row, err = q.InsertWebhookDelivery(ctx, dbsqlc.InsertWebhookDeliveryParams{
			ID: newID(), WebhookID: webhookID, EventID: eventID, EventType: notify.WebhookTest, Now: now,
		})
		if err != nil {
			return fmt.Errorf("insert test delivery: %w", err)
		}
		return auditChange(ctx, q, audit.ActionWebhookTest, audit.ResourceWebhook, webhookID.String(), "test delivery "+row.ID.String())
	})
	if err != nil {
		return nil, err
	}
	d := deliveryFromRow(row)
	return &d, nil
}

// Redeliver makes a new pending delivery, due at now, of the event of a
// webhook's delivery (whatever became of that one), and returns it; its
// task is the caller's to enqueue. Fault NotFound when the webhook or its
// delivery is not there, Conflict when the webhook is disabled.
func (s *Store) Redeliver(ctx context.Context, webhookID, deliveryID uuid.UUID, now time.Time) (*WebhookDelivery, error) {
	now = clock(now)
	var row dbsqlc.WebhookDelivery
	err := s.inTx(ctx, pgx.ReadCommitted, func(q *dbsqlc.Queries) error {
		if err := enabledWebhook(ctx, q, webhookID); err != nil {
			return err
		}
		orig, err := q.GetWebhookDelivery(ctx, dbsqlc.GetWebhookDeliveryParams{ID: deliveryID, WebhookID: webhookID})
		if err != nil {
			return notFound(err, "delivery")
		}
		row, err = q.InsertWebhookDelivery(ctx, dbsqlc.InsertWebhookDeliveryParams{
			ID: newID(), WebhookID: webhookID, EventID: orig.EventID, EventType: orig.EventType, RedeliveryOf: &orig.ID, Now: now,
		})
		if err != nil {
			return fmt.Errorf("insert redelivery: %w", err)
		}
		return auditChange(ctx, q, audit.ActionWebhookRedeliver, audit.ResourceWebhook, webhookID.String(),
			fmt.Sprintf("delivery %s sends again the event of delivery %s", row.ID, orig.ID))
	})
	if err != nil {
		return nil, err
	}
	d := deliveryFromRow(row)
	return &d, nil
}

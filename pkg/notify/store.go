package notify

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Sealed is a secret as stored: its key id in the keyring and its
// ciphertext (AAD: SecretAAD of the webhook).
type Sealed struct {
	KeyID      string
	Ciphertext []byte
}

// Outgoing is what one attempt of a delivery needs: the delivery's state,
// its event and its webhook, with the webhook's secrets still sealed.
type Outgoing struct {
	DeliveryID uuid.UUID
	Status     string
	// Attempts is how many attempts are recorded.
	Attempts  int
	CreatedAt time.Time
	// NextAttemptAt is when the next attempt is due (nil: now).
	NextAttemptAt *time.Time
	Event         Event

	WebhookID      uuid.UUID
	URL            string
	Format         string
	Enabled        bool
	DisabledReason string
	Secret         Sealed
	// Previous is the secret before the last rotation, which signs beside
	// Secret until PreviousExpiresAt; nil when there is none.
	Previous          *Sealed
	PreviousExpiresAt *time.Time
}

// Attempt is one attempt's outcome to record, with what follows from it.
type Attempt struct {
	DeliveryID uuid.UUID
	WebhookID  uuid.UUID
	Attempt    int
	StartedAt  time.Time
	// StatusCode is the endpoint's HTTP status; nil when it answered none.
	StatusCode *int
	Latency    time.Duration
	// Error says why the attempt failed ("" when it succeeded).
	Error   string
	Excerpt string
	// Succeeded: the endpoint acknowledged (2xx).
	Succeeded bool
	// NextAttemptAt is when the next attempt is due; nil when the delivery
	// gives up (failed) or succeeded.
	NextAttemptAt *time.Time
	// DisableAfter is SABE_WEBHOOK_DISABLE_AFTER: the consecutive failed
	// attempts that disable the webhook.
	DisableAfter int
	// DisableReason, when set, disables the webhook now whatever its count
	// (the endpoint answered 410 Gone).
	DisableReason string
}

// Recorded is what recording an attempt did.
type Recorded struct {
	// Recorded is false when the attempt was recorded before (a re-run
	// task) or the delivery is no longer pending: nothing was written.
	Recorded bool
	// Failures is the webhook's consecutive failed attempts after this one.
	Failures int
	// Disabled: this attempt disabled the webhook (and cancelled its
	// pending deliveries, this one among them).
	Disabled bool
}

// Overdue is a pending delivery whose next attempt is past due.
type Overdue struct {
	DeliveryID uuid.UUID
	// Attempts is how many attempts are recorded; the task to enqueue is
	// the next one.
	Attempts int
}

// Store is the persistence of the delivery; pkg/store implements it.
type Store interface {
	// DispatchEvents takes up to limit undispatched events, oldest first,
	// writes one pending delivery per matching webhook, marks the events
	// dispatched, and commits; it returns how many events it took and the
	// deliveries it wrote.
	DispatchEvents(ctx context.Context, now time.Time, limit int) (events int, deliveries []uuid.UUID, err error)
	// DeliveryToSend returns a delivery with its event and webhook; fault
	// NotFound when it is gone (its webhook or event was deleted).
	DeliveryToSend(ctx context.Context, id uuid.UUID) (*Outgoing, error)
	// CancelDelivery ends a pending delivery with reason; it reports
	// whether it was pending.
	CancelDelivery(ctx context.Context, id uuid.UUID, now time.Time, reason string) (bool, error)
	// RecordAttempt records an attempt once, in one transaction with the
	// webhook's failure count and, when the count reaches DisableAfter or
	// DisableReason is set, the webhook's disabling, the cancelling of its
	// pending deliveries and an audit entry.
	RecordAttempt(ctx context.Context, a Attempt) (Recorded, error)
	// HasUndispatchedBefore reports whether an event older than cutoff
	// waits for its dispatch.
	HasUndispatchedBefore(ctx context.Context, cutoff time.Time) (bool, error)
	// OverdueDeliveries returns up to limit pending deliveries whose next
	// attempt was due before cutoff, the longest overdue first.
	OverdueDeliveries(ctx context.Context, cutoff time.Time, limit int) ([]Overdue, error)
	// DeleteExpiredEvents deletes up to limit dispatched events older than
	// cutoff with no pending delivery (their deliveries go with them) and
	// returns how many.
	DeleteExpiredEvents(ctx context.Context, cutoff time.Time, limit int) (int64, error)
}

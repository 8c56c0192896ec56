// Package notify is SABE's notifications: the events of the outbox (their
// types and the payloads stored with them), the webhooks they are
// delivered to, signed per the Standard Webhooks specification, and the
// tasks that deliver them.
//
// Producers write an event in the transaction of what it announces
// (store: InsertEvent with a dedup key), then call Kick so the dispatch
// runs at once rather than at the next sweep. The dispatch task matches
// undispatched events with the enabled webhooks, writes a delivery per
// match and enqueues its task; the deliver task sends it, records the
// attempt and schedules the next one with backoff.
//
// PostgreSQL holds every event, delivery and attempt; Redis holds only the
// tasks in flight. The Sweeper, which every worker runs, enqueues again
// what their rows say is missing (an event left undispatched, a pending
// delivery whose task is gone), so losing Redis or a worker loses no
// notification: delivery is at least once, and every copy of a message
// carries the same webhook-id.
//
// One file per part: deliverer.go holds the Deliverer's config and
// wiring, dispatch.go the dispatch task, deliver.go the deliver task (one
// attempt), backoff.go the retry delays, sign.go the signature, sweep.go
// the sweep and store.go what the store provides.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// The event types, as the API's WebhookEventType names them.
const (
	RunCompleted       = "run.completed"
	RunPartial         = "run.partial"
	RunFailed          = "run.failed"
	RunCancelled       = "run.cancelled"
	RegressionDetected = "regression.detected"
	ScheduleSkipped    = "schedule.skipped"
	CircuitOpened      = "provider.circuit_opened"
	CircuitClosed      = "provider.circuit_closed"
	WebhookTest        = "webhook.test"
)

// EventTypes are every event type, in the API's order.
var EventTypes = []string{
	RunCompleted, RunPartial, RunFailed, RunCancelled, RegressionDetected,
	ScheduleSkipped, CircuitOpened, CircuitClosed, WebhookTest,
}

// RunEventType is the event a run finishing with status announces
// ("completed" → run.completed); "" for a status that is not final.
func RunEventType(status string) string {
	switch status {
	case "completed":
		return RunCompleted
	case "partial":
		return RunPartial
	case "failed":
		return RunFailed
	case "cancelled":
		return RunCancelled
	}
	return ""
}

// LeaderLine is one line of a finished run's leaderboard in its event.
type LeaderLine struct {
	Rank      int       `json:"rank"`
	ModelID   uuid.UUID `json:"model_id"`
	ModelName string    `json:"model_name"`
	Score     float64   `json:"score"`
	CILow     float64   `json:"ci_low"`
	CIHigh    float64   `json:"ci_high"`
}

// RunFinished is the payload of the run.* events: the API's RunEventData
// without its links, which the delivery adds.
type RunFinished struct {
	RunID         uuid.UUID    `json:"run_id"`
	BenchmarkID   uuid.UUID    `json:"benchmark_id"`
	BenchmarkName string       `json:"benchmark_name"`
	Status        string       `json:"status"`
	Trigger       string       `json:"trigger"`
	ScheduledFor  *time.Time   `json:"scheduled_for,omitempty"`
	Reason        string       `json:"reason"`
	CreatedAt     time.Time    `json:"created_at"`
	FinishedAt    time.Time    `json:"finished_at"`
	Total         int          `json:"total"`
	Succeeded     int          `json:"succeeded"`
	Failed        int          `json:"failed"`
	Cancelled     int          `json:"cancelled"`
	Skipped       int          `json:"skipped"`
	Unscored      int          `json:"unscored"`
	CostUSD       float64      `json:"cost_usd"`
	Leaderboard   []LeaderLine `json:"leaderboard"`
}

// CircuitChanged is the payload of the provider.circuit_* events: the
// API's CircuitEventData without its links.
type CircuitChanged struct {
	ProviderID   uuid.UUID  `json:"provider_id"`
	ProviderName string     `json:"provider_name"`
	State        string     `json:"state"` // "open" or "closed"
	Since        time.Time  `json:"since"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	LastError    string     `json:"last_error"`
}

// WebhookTested is the payload of webhook.test.
type WebhookTested struct {
	WebhookID uuid.UUID `json:"webhook_id"`
	Message   string    `json:"message"`
}

// The schedule.skipped payload is schedule.SkippedEvent; regression.detected
// carries the API's Alert (without links).

// Queue is the asynq queue the notification tasks run on; every worker
// serves it beside the run queues.
const Queue = "notify"

// Task types.
const (
	// TypeDispatch matches undispatched events with webhooks.
	TypeDispatch = "events:dispatch"
	// TypeDeliver sends one delivery.
	TypeDeliver = "webhook:deliver"
)

// NewDispatchTask is a dispatch of the outbox's undispatched events. It
// has no TaskID: dispatches lock the events they take (SKIP LOCKED), so
// two at once share the work.
func NewDispatchTask() *asynq.Task {
	return asynq.NewTask(TypeDispatch, nil, asynq.Queue(Queue), asynq.MaxRetry(3), asynq.Timeout(time.Minute))
}

// Enqueuer is what enqueues tasks (an *asynq.Client).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Kick enqueues a dispatch, after a producer committed events. It is best
// effort: an event a failed kick leaves behind is dispatched by the
// periodic sweep.
func Kick(ctx context.Context, q Enqueuer) error {
	_, err := q.EnqueueContext(ctx, NewDispatchTask())
	return err
}

// SecretPrefix starts every signing secret (Standard Webhooks).
const SecretPrefix = "whsec_"

// GenerateSecret makes a webhook's signing secret: SecretPrefix and the
// base64 of 32 random bytes.
func GenerateSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// SecretAAD binds a sealed secret to its webhook: a ciphertext copied to
// another webhook's row does not open.
func SecretAAD(webhookID uuid.UUID) []byte {
	return []byte("sabe-webhook-secret:" + webhookID.String())
}

// MessageID is the webhook-id header of an event's deliveries.
func MessageID(eventID uuid.UUID) string { return "msg_" + eventID.String() }

// Regression is the payload of regression.detected: the API's
// Alert, without links.
type Regression struct {
	ID             uuid.UUID         `json:"id"`
	RunID          uuid.UUID         `json:"run_id"`
	BaselineRunID  uuid.UUID         `json:"baseline_run_id"`
	BenchmarkID    uuid.UUID         `json:"benchmark_id"`
	BenchmarkName  string            `json:"benchmark_name"`
	ModelID        uuid.UUID         `json:"model_id"`
	ModelName      string            `json:"model_name"`
	Metric         string            `json:"metric"` // score, latency_p95 or cost
	Previous       float64           `json:"previous"`
	Current        float64           `json:"current"`
	Diff           float64           `json:"diff"`
	CILow          float64           `json:"ci_low"`
	CIHigh         float64           `json:"ci_high"`
	RelativeChange *float64          `json:"relative_change"`
	PValue         float64           `json:"p_value"`
	PAdjusted      float64           `json:"p_adjusted"`
	Correction     string            `json:"correction"` // "holm"
	Comparisons    int               `json:"comparisons"`
	MinEffect      float64           `json:"min_effect"`
	Questions      int               `json:"questions"`
	Regressed      int               `json:"regressed"`
	Improved       int               `json:"improved"`
	Flipped        []FlippedQuestion `json:"flipped"`
	CreatedAt      time.Time         `json:"created_at"`
}

// FlippedQuestion is a question whose verdict changed between the
// baseline and the run (the API's DriftQuestion).
type FlippedQuestion struct {
	QuestionID       uuid.UUID `json:"question_id"`
	Category         string    `json:"category"`
	PromptExcerpt    string    `json:"prompt_excerpt"`
	PreviousRevision int       `json:"previous_revision"`
	CurrentRevision  int       `json:"current_revision"`
	PreviousPassRate float64   `json:"previous_pass_rate"`
	CurrentPassRate  float64   `json:"current_pass_rate"`
	Change           string    `json:"change"` // regressed or improved
}

// Event is one event of the outbox as the delivery reads it.
type Event struct {
	ID          uuid.UUID
	Type        string
	OccurredAt  time.Time
	BenchmarkID *uuid.UUID
	// Payload is the event's data as stored (one of the payload types
	// above, or schedule.SkippedEvent), without links.
	Payload []byte
}

// DeliverTaskID is the TaskID of a delivery's attempt-th attempt.
func DeliverTaskID(deliveryID uuid.UUID, attempt int) string {
	return fmt.Sprintf("%s:%s:%d", TypeDeliver, deliveryID, attempt)
}

// NewDeliverTask is the attempt-th attempt (from 1) of a delivery. The
// TaskID is the delivery's and the attempt's, so a sweep that enqueues a
// due attempt again makes no second task.
func NewDeliverTask(deliveryID uuid.UUID, attempt int) *asynq.Task {
	return asynq.NewTask(TypeDeliver, []byte(deliveryID.String()),
		asynq.TaskID(DeliverTaskID(deliveryID, attempt)), asynq.Queue(Queue),
		asynq.MaxRetry(0), asynq.Timeout(2*time.Minute), asynq.Retention(time.Hour))
}

// Package audit describes who did what to which resource in SABE, and records
// authentication and authorization failures without letting a flood of them
// reach the database.
//
// Changes are audited by the store, in the same transaction as the change
// (see store.InsertAudit); this package carries the actor through the
// request's context and defines the event and its actions. Failures have no
// transaction to join, so they go through a Recorder: asynchronous, bounded,
// rate-limited per source IP.
package audit

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// SystemActor is the token name of the zero actor: work no request caused.
const SystemActor = "system"

// Actor is who performed an action: the API token (if any) and where the
// request came from. It never holds the token's secret.
type Actor struct {
	TokenID   *uuid.UUID
	TokenName string
	SourceIP  string
	UserAgent string
	RequestID string
}

type actorKey struct{}

// WithActor returns ctx carrying a, for the store to record.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor carried by ctx, or an actor named "system"
// when there is none, so every audit row names somebody.
func ActorFrom(ctx context.Context) Actor {
	a, ok := ctx.Value(actorKey{}).(Actor)
	if !ok {
		return Actor{TokenName: SystemActor}
	}
	if a.TokenName == "" && a.TokenID == nil {
		a.TokenName = SystemActor
	}
	return a
}

// Outcomes of an audited action.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
)

// Actions recorded in the audit log: "<resource>.<verb>".
const (
	ActionProviderCreate  = "provider.create"
	ActionProviderUpdate  = "provider.update"
	ActionProviderDelete  = "provider.delete"
	ActionModelCreate     = "model.create"
	ActionModelUpdate     = "model.update"
	ActionModelDelete     = "model.delete"
	ActionSuiteCreate     = "suite.create"
	ActionSuiteUpdate     = "suite.update"
	ActionSuiteDelete     = "suite.delete"
	ActionQuestionCreate  = "question.create"
	ActionQuestionUpdate  = "question.update"
	ActionQuestionDelete  = "question.delete"
	ActionBenchmarkCreate = "benchmark.create"
	ActionBenchmarkUpdate = "benchmark.update"
	ActionBenchmarkDelete = "benchmark.delete"
	ActionRunStart        = "run.start"
	ActionRunCancel       = "run.cancel"
	ActionRunRescore      = "run.rescore"
	ActionRunRetryFailed  = "run.retry_failed"
	ActionExecutionReview = "execution.review"
	ActionTokenCreate     = "token.create"
	ActionTokenRevoke     = "token.revoke"
	ActionKeysRotate      = "keys.rotate"
	ActionAuthFailure     = "auth.failure"

	ActionWebhookCreate       = "webhook.create"
	ActionWebhookUpdate       = "webhook.update"
	ActionWebhookDelete       = "webhook.delete"
	ActionWebhookRotateSecret = "webhook.rotate_secret"
	ActionWebhookTest         = "webhook.test"
	ActionWebhookRedeliver    = "webhook.redeliver"
	// ActionWebhookDisable is SABE's own: it disabled a webhook after
	// consecutive failed deliveries, and the reason says so.
	ActionWebhookDisable = "webhook.disable"
)

// Resource types named in audit events.
const (
	ResourceProvider  = "provider"
	ResourceModel     = "model"
	ResourceSuite     = "suite"
	ResourceQuestion  = "question"
	ResourceBenchmark = "benchmark"
	ResourceRun       = "run"
	ResourceExecution = "execution"
	ResourceToken     = "token"
	ResourceKeys      = "keys"
	ResourceRoute     = "route"
	ResourceWebhook   = "webhook"
)

// Event is one audit log row. Reason says why in words (what changed, why
// access was refused); it never holds a secret or a changed value of one.
type Event struct {
	ID           uuid.UUID
	Time         time.Time
	Actor        Actor
	Action       string
	ResourceType string
	ResourceID   string
	Outcome      string
	Reason       string
}

// Writer stores audit events; *store.Store implements it.
type Writer interface {
	// InsertAudit appends e to the audit log; it returns the database's error.
	InsertAudit(ctx context.Context, e Event) error
}

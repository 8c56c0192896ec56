package run

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/resilience"
)

// UnusableError says a provider, or one of its models, cannot serve any
// call until someone changes it: its key cannot be decrypted with the
// worker's keyring, the worker does not speak its kind, it rejects the
// credentials, or it does not know the model. Retrying cannot help, so the
// unit fails at once and the run's other units on the same provider (or
// model) fail without calling it; see Handlers.unusable.
type UnusableError struct {
	ProviderID   uuid.UUID
	ProviderName string
	// ModelID is set when only this model is unusable (the provider does
	// not know it); zero when the whole provider is.
	ModelID uuid.UUID
	// Reason says what is wrong without naming the provider, as the failed
	// execution records it; it holds no key material.
	Reason string
	// HTTPStatus is the provider's answer, 0 when there was none.
	HTTPStatus int
	// Err is the underlying cause when there is one (secrets.ErrUnknownKey,
	// secrets.ErrDecrypt), for errors.Is.
	Err error
}

// Error names the provider and the reason.
func (e *UnusableError) Error() string {
	return fmt.Sprintf("provider %q (%s): %s", e.ProviderName, e.ProviderID, e.Reason)
}

// Unwrap returns the underlying cause.
func (e *UnusableError) Unwrap() error { return e.Err }

// scope is the field under which the run remembers the error: the
// provider, or the model for a model the provider does not know.
func (e *UnusableError) scope() string {
	if e.ModelID != uuid.Nil {
		return modelScope(e.ModelID)
	}
	return providerScope(e.ProviderID)
}

func providerScope(id uuid.UUID) string { return "provider:" + id.String() }
func modelScope(id uuid.UUID) string    { return "model:" + id.String() }

// circuitScope marks that a run's units gave up waiting on provider's open
// circuit, so the worker that noticed first logs it once. Units never check
// it: the provider may come back, and waiting units then go on.
func circuitScope(provider string) string { return "circuit:" + provider }

// questionScope marks that a question of the run cannot be scored, for
// the same once-only log.
func questionScope(id uuid.UUID) string { return "question:" + id.String() }

// Blocked is why a run's units on a provider (or model) fail without a
// call: an earlier unit of the run found it unusable.
type Blocked struct {
	Error      string `json:"error"`
	HTTPStatus int    `json:"http_status,omitempty"`
}

func blockedKey(id uuid.UUID) string { return runKey(id, "blocked") }

// Block records b for the run under scope unless something is recorded
// there already, and reports whether this call recorded it: the caller
// that did is the one to log it, so the log says it once per run and
// provider however many units meet it.
func (t *Tracker) Block(ctx context.Context, id uuid.UUID, scope string, b Blocked) (bool, error) {
	val, _ := json.Marshal(b)
	pipe := t.rdb.TxPipeline()
	set := pipe.HSetNX(ctx, blockedKey(id), scope, val)
	pipe.Expire(ctx, blockedKey(id), progressTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("block %s for run %s: %w", scope, id, err)
	}
	return set.Val(), nil
}

// blocked reads what the run recorded for the unit's provider and model,
// provider first; nil when neither is blocked.
func blocked(vals []any) *Blocked {
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var b Blocked
		if err := json.Unmarshal([]byte(s), &b); err == nil && b.Error != "" {
			return &b
		}
	}
	return nil
}

// hmget queues the read of the unit's blocked scopes on pipe.
func hmget(ctx context.Context, pipe redis.Pipeliner, id uuid.UUID, scopes []string) *redis.SliceCmd {
	if len(scopes) == 0 {
		return nil
	}
	return pipe.HMGet(ctx, blockedKey(id), scopes...)
}

// unusableAnswer is the UnusableError a call's failure amounts to, nil
// when it concerns only this request: rejected credentials, or a base URL
// that cannot be reached for good (unknown host, TLS failure, an address
// the guard refuses), make the whole provider unusable; "no such model"
// the model.
func unusableAnswer(conn *ProviderConn, m *SnapshotModel, pe *provider.Error) *UnusableError {
	if pe == nil || pe.Retryable || pe.Quota {
		return nil
	}
	ue := &UnusableError{ProviderID: conn.ID, ProviderName: conn.Name, HTTPStatus: pe.StatusCode}
	switch stage := pe.Stage(); stage {
	case provider.StageDNS, provider.StageTLS, provider.StageConnect:
		ue.Reason = fmt.Sprintf("the provider cannot be reached (%s): %s", stage, pe.Message)
	case provider.StageAuth:
		ue.Reason = fmt.Sprintf("the provider rejected the credentials (HTTP %d): %s", pe.StatusCode, pe.Message)
	case provider.StageModel:
		ue.ModelID = m.ModelID
		ue.Reason = fmt.Sprintf("the provider does not know model %q (HTTP %d): %s", m.ProviderModelID, pe.StatusCode, pe.Message)
	default:
		return nil
	}
	return ue
}

// unusable fails the unit for good with ue's reason and blocks the
// provider (or model) for the rest of the run, so its other units fail
// without a call or another decryption of the key. The worker that blocks
// it logs it: once per run and provider, however many units meet it.
func (h *Handlers) unusable(ctx context.Context, snap *cachedSnapshot, idx int, e *Execution, ue *UnusableError) error {
	return h.failBlocked(ctx, snap, idx, e, ue.scope(), Blocked{Error: ue.Reason, HTTPStatus: ue.HTTPStatus},
		"provider unusable: the run's units on it fail without calling it",
		"provider_id", ue.ProviderID, "provider", ue.ProviderName, "scope", ue.scope(), "cause", ue.Reason)
}

// giveUp fails a unit whose provider's circuit has been open for longer
// than BreakerMaxWait, with the provider's last error. It does not block
// the provider: when a probe finds it back, the units still waiting go on.
func (h *Handlers) giveUp(ctx context.Context, snap *cachedSnapshot, idx int, e *Execution, we *resilience.WaitError) error {
	reason := fmt.Sprintf("provider unavailable: its circuit breaker has been open since %s, longer than a unit may wait (%s)",
		we.OpenSince.UTC().Format(time.RFC3339), h.cfg.BreakerMaxWait)
	if we.LastError != "" {
		reason += "; last error: " + we.LastError
	}
	return h.failBlocked(ctx, snap, idx, e, circuitScope(we.Provider), Blocked{Error: reason},
		"provider down for longer than the breaker max wait: the run's units on it fail",
		"provider_id", we.Provider, "open_since", we.OpenSince.UTC(), "last_error", we.LastError)
}

// unscorable fails a unit whose question's scoring rule does not compile,
// without calling the provider: its answer could not be scored. The
// worker that notices first for the run logs it.
func (h *Handlers) unscorable(ctx context.Context, snap *cachedSnapshot, idx int, e *Execution, cause error) error {
	reason := "the question's scoring rule does not compile, so no answer to it can be scored: " + cause.Error()
	return h.failBlocked(ctx, snap, idx, e, questionScope(e.QuestionID), Blocked{Error: reason},
		"question cannot be scored: the run's units of it fail without a call",
		"question_id", e.QuestionID, "cause", cause)
}

// failBlocked records the unit failed for good with b's error, after
// recording b for the run under scope. The worker whose Block recorded it
// first logs msg with args, so the log says it once per run and scope
// however many units meet it.
func (h *Handlers) failBlocked(ctx context.Context, snap *cachedSnapshot, idx int, e *Execution, scope string, b Blocked, msg string, args ...any) error {
	first, err := h.tracker.Block(ctx, e.RunID, scope, b)
	if err != nil {
		return err
	}
	if first {
		h.log.ErrorContext(ctx, msg, append([]any{"run_id", e.RunID}, args...)...)
	}
	e.Status, e.Error, e.HTTPStatus = ExecFailed, b.Error, b.HTTPStatus
	return h.record(ctx, snap, idx, e)
}

// errorText is a call's error as the fleet keeps it for the provider.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

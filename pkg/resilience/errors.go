package resilience

import (
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Reason says why a call has to wait.
type Reason string

// The reasons a call waits.
const (
	ReasonOpen        Reason = "circuit open"
	ReasonPaused      Reason = "quota exhausted"
	ReasonRateLimit   Reason = "rate limit"
	ReasonConcurrency Reason = "concurrency cap"
)

// WaitError says a call may not go out before Until. It is not a failure
// of the call or of the provider: the caller should try again then, without
// counting an attempt.
type WaitError struct {
	// Provider is the provider's id.
	Provider string
	// Reason says what the call waits for.
	Reason Reason
	// Until is the earliest time worth trying again: the breaker's
	// half-open time, the end of a quota pause, or an estimate for limits.
	Until time.Time
	// OpenSince is, for ReasonOpen, when the circuit first opened in this
	// outage (failed half-open probes do not move it): callers bound how
	// long they keep waiting on a provider that stays down.
	OpenSince time.Time
	// LastError is, for ReasonOpen, the provider's last failure that
	// counted against it, scrubbed and short; empty when unknown.
	LastError string
}

// Error implements error.
func (e *WaitError) Error() string {
	return fmt.Sprintf("provider %s: %s, retry at %s", e.Provider, e.Reason, e.Until.UTC().Format(time.RFC3339Nano))
}

// Wait returns how long from now until the call is worth trying again, at
// least minWait so that a retry never spins.
func (e *WaitError) Wait(now time.Time) time.Duration {
	return max(e.Until.Sub(now), minWait)
}

// minWait is the shortest wait a WaitError asks for.
const minWait = 10 * time.Millisecond

// TooLargeError says a call can never go out: its estimated tokens exceed
// its provider's whole TokensPerMinute, so no minute could admit it, and
// the provider would refuse it as well. It wraps asynq.SkipRetry: a task
// handler that returns it fails its task at once instead of retrying what
// no retry mends.
type TooLargeError struct {
	// Provider is the provider's id.
	Provider string
	// Tokens is the call's estimate: input and the whole max tokens.
	Tokens int
	// TokensPerMinute is the provider's limit.
	TokensPerMinute int
}

// Error implements error.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("provider %s: the call needs about %d tokens (input and max tokens), more than the provider's limit of %d tokens a minute, so it can never run",
		e.Provider, e.Tokens, e.TokensPerMinute)
}

// Unwrap returns asynq.SkipRetry.
func (e *TooLargeError) Unwrap() error { return asynq.SkipRetry }

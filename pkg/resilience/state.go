package resilience

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// State is a provider's circuit as one process sees it.
type State int

// The circuit states, in the order the breaker-state gauge reports them.
const (
	StateClosed State = iota
	StateHalfOpen
	StateOpen
)

// String names the state.
func (s State) String() string {
	switch s {
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	}
	return "closed"
}

// Observer hears about what a Guard does, for metrics. Its methods
// must be fast and must not call back into the Guard.
type Observer interface {
	// BreakerStateChanged reports that provider's circuit moved from one
	// state to another as this process sees it.
	BreakerStateChanged(provider string, from, to State)
	// LimitWaited reports that a call to provider had to wait on a limit
	// ("rpm", "tpm" or "concurrency"); rescheduled says whether the wait
	// was too long to spend in process, so the task was put back.
	LimitWaited(provider, limit string, rescheduled bool)
}

// FleetObserver hears the fleet-wide circuit transitions, from the one
// worker that made each: the shared circuit opened for a new outage (the
// worker whose trip recorded it, or whose probe found no outage to
// continue) and closed after a successful probe (the probe's worker). Its
// methods are called on a goroutine of their own, never on a provider
// call's path, and may take their time. since is when the outage began
// (SharedBreaker.Since), the same for both of its transitions, and
// lastError the provider's last failure, scrubbed.
type FleetObserver interface {
	CircuitOpened(provider string, since time.Time, lastError string)
	CircuitClosed(provider string, since, closedAt time.Time, lastError string)
}

// Redis keys and channels. Every key starts with "sabe:".
const (
	// StateChannel carries a provider id whenever its shared breaker state
	// or pause changes, so every worker re-reads it at once.
	StateChannel = "sabe:resilience"
)

func breakerKey(provider string) string  { return "sabe:breaker:" + provider }
func probeKey(provider string) string    { return "sabe:breaker:" + provider + ":probe" }
func inflightKey(provider string) string { return "sabe:provider:" + provider + ":inflight" }
func rateKey(provider string) string     { return "sabe:provider:" + provider + ":rate" }

// PausedKey is the Redis key holding the time (Unix milliseconds) until
// which provider's calls are paused after a quota answer.
func PausedKey(provider string) string { return "sabe:provider:" + provider + ":paused_until" }

// BreakerKey is the Redis key of provider's shared circuit, present while
// it is open or half-open; its value is a SharedBreaker in JSON.
func BreakerKey(provider string) string { return breakerKey(provider) }

// SharedBreaker is the fleet's record of an open circuit.
type SharedBreaker struct {
	// OpenedAt is when the current open period began: a worker's breaker
	// tripped, or a half-open probe failed (Unix milliseconds).
	OpenedAt int64 `json:"opened_at"`
	// Until is when the circuit half-opens (Unix milliseconds).
	Until int64 `json:"until"`
	// Since is when the circuit first opened in this outage: kept when a
	// failed probe opens it again, so how long the provider has been
	// unavailable is known (Unix milliseconds). Records written before it
	// existed lack it; OpenedAt stands in.
	Since int64 `json:"since,omitempty"`
	// LastError is the provider's last failure that counted against it,
	// scrubbed of credentials and cut short, for the units that give up
	// waiting and for the API's waiting_on.
	LastError string `json:"last_error,omitempty"`
}

// ParseSharedBreaker decodes the value stored at BreakerKey.
func ParseSharedBreaker(s string) (SharedBreaker, error) {
	var b SharedBreaker
	err := json.Unmarshal([]byte(s), &b)
	if b.Since == 0 {
		b.Since = b.OpenedAt
	}
	return b, err
}

// maxLastError bounds SharedBreaker.LastError.
const maxLastError = 300

// shortError cuts a provider's error to maxLastError bytes on a rune
// boundary.
func shortError(s string) string {
	if len(s) <= maxLastError {
		return s
	}
	cut := maxLastError
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

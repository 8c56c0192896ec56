package resilience

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// HoldState says why the fleet holds a provider's calls back.
type HoldState string

// The hold states, as the API shows them on a run's waiting_on.
const (
	// HoldOpen: the circuit is open; no call goes out before Until.
	HoldOpen HoldState = "open"
	// HoldHalfOpen: the open period is over; one probe call decides.
	HoldHalfOpen HoldState = "half_open"
	// HoldQuotaPaused: the provider's quota is used up until Until.
	HoldQuotaPaused HoldState = "quota_paused"
)

// Hold is one reason a provider's calls are held back fleet-wide.
type Hold struct {
	// Provider is the provider's id.
	Provider string
	State    HoldState
	// Since is when the circuit first opened in this outage; zero for a
	// quota pause, whose start is not kept.
	Since time.Time
	// Until is when calls may go out again: the half-open time (past for
	// HoldHalfOpen) or the end of the quota pause.
	Until time.Time
	// LastError is the provider's last failure that counted against its
	// circuit, scrubbed and short; empty when unknown or for a pause.
	LastError string
}

// Holds reads, in one round trip, the shared state the fleet keeps for
// the given providers and returns what holds their calls back at now: an
// open or half-open circuit, a quota pause, or both. Providers with
// neither have no entry. It needs no Guard, so the API can show it.
func Holds(ctx context.Context, rdb redis.UniversalClient, now time.Time, providers ...string) ([]Hold, error) {
	if len(providers) == 0 {
		return nil, nil
	}
	states, err := readShared(ctx, rdb, providers)
	if err != nil {
		return nil, err
	}
	var out []Hold
	for i, p := range providers {
		sh := states[i]
		if sh.open {
			h := Hold{Provider: p, State: HoldOpen, Since: sh.since, Until: sh.until, LastError: sh.lastError}
			if !now.Before(sh.until) {
				h.State = HoldHalfOpen
			}
			out = append(out, h)
		}
		if sh.pausedUntil.After(now) {
			out = append(out, Hold{Provider: p, State: HoldQuotaPaused, Until: sh.pausedUntil})
		}
	}
	return out, nil
}

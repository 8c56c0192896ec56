package resilience

import (
	"context"
	"time"
)

// Clock is the time a Guard decides by: when an open period ends, how long
// an outage has lasted, how long a call may still wait in process. Tests
// give a Guard one they move by hand instead of sleeping. What Redis
// decides (TTLs, rate-limit windows, lease expiries) runs on Redis's own
// clock.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits d, or returns ctx's error if ctx is done first.
	Sleep(ctx context.Context, d time.Duration) error
}

// WallClock is the wall clock, the default of a Guard and of every other
// part that takes a Clock.
var WallClock Clock = realClock{}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

package resilience_test

import (
	"context"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// The rate limits are decided by Redis on its own clock; these tests
// choose limits whose next allowance is either far beyond MaxLocalWait or
// well within it, so how fast the machine runs decides nothing.
func TestGuard_RateLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const maxLocalWait = 100 * time.Millisecond

	t.Run("RequestsPerMinute", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		a, obs := guard(t, testenv.Redis(t), resilience.Config{MaxLocalWait: maxLocalWait, Clock: clk})
		// One per minute: a burst of 1, then one every minute.
		call := resilience.Call{Provider: "p3", Limits: resilience.Limits{RequestsPerMinute: 1}}
		acquire(t, a, call).Done(resilience.Succeeded)
		_, err := a.Acquire(ctx, call)
		we := wantWait(t, err, resilience.ReasonRateLimit)
		// Rescheduled at once: the guard's clock did not move, and the
		// retry time is the limiter's wait counted from it.
		if d := we.Until.Sub(clk.Now()); d <= maxLocalWait || d > time.Minute {
			t.Errorf("wait %s, want over MaxLocalWait and at most the 1m emission interval", d)
		}
		if obs.waited("rpm/rescheduled") != 1 || obs.waited("rpm") != 0 {
			t.Errorf("observed waits %v", obs.waits)
		}
	})

	t.Run("TokensPerMinute", func(t *testing.T) {
		t.Parallel()
		a, _ := guard(t, testenv.Redis(t), resilience.Config{MaxLocalWait: maxLocalWait, Clock: newClock()})
		call := resilience.Call{Provider: "p4", Limits: resilience.Limits{TokensPerMinute: 1000}, Tokens: 600}
		acquire(t, a, call).Done(resilience.Succeeded)
		_, err := a.Acquire(ctx, call)
		wantWait(t, err, resilience.ReasonRateLimit)
		// A call larger than the whole minute's tokens is charged the
		// minute, not refused for ever.
		big := resilience.Call{Provider: "p5", Limits: resilience.Limits{TokensPerMinute: 1000}, Tokens: 5000}
		acquire(t, a, big).Done(resilience.Succeeded)
	})

	t.Run("ShortWaitsInProcess", func(t *testing.T) {
		t.Parallel()
		// The clock moves only by what the guard sleeps, so a wait of about
		// one emission interval stays within MaxLocalWait however slowly
		// the calls run.
		a, obs := guard(t, testenv.Redis(t), resilience.Config{MaxLocalWait: 10 * time.Second, Clock: newClock()})
		// 60 per minute: a burst of 1, then one per second; the next call
		// right after an allowance always has to wait for one.
		call := resilience.Call{Provider: "p6", Limits: resilience.Limits{RequestsPerMinute: 60}}
		for range 3 {
			acquire(t, a, call).Done(resilience.Succeeded)
		}
		if obs.waited("rpm") == 0 || obs.waited("rpm/rescheduled") != 0 {
			t.Errorf("observed waits %v: want waits in process only", obs.waits)
		}
	})
}

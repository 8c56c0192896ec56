package resilience_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

func TestGuard_Concurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CapSharedByTheFleet", func(t *testing.T) {
		t.Parallel()
		rdb, clk := testenv.Redis(t), newClock()
		cfg := resilience.Config{MaxLocalWait: 100 * time.Millisecond, Clock: clk}
		a, obs := guard(t, rdb, cfg)
		b, _ := guard(t, rdb, cfg)
		call := resilience.Call{Provider: "p7", Limits: resilience.Limits{MaxConcurrency: 2}}
		p1, p2 := acquire(t, a, call), acquire(t, b, call)
		// The cap is full: the call polls until MaxLocalWait has passed on
		// the guards' clock, then is told to come back a second or so
		// later.
		start := clk.Now()
		_, err := a.Acquire(ctx, call)
		we := wantWait(t, err, resilience.ReasonConcurrency)
		// Each poll sleeps 50-100ms; the last one may end past MaxLocalWait.
		if waited := clk.Now().Sub(start); waited <= 0 || waited > 200*time.Millisecond {
			t.Errorf("waited %s in process, want some, and at most MaxLocalWait and one poll", waited)
		}
		if d := we.Until.Sub(clk.Now()); d < time.Second || d > 1500*time.Millisecond {
			t.Errorf("retry in %s, want 1s plus up to half a second of jitter", d)
		}
		if obs.waited("concurrency") != 1 || obs.waited("concurrency/rescheduled") != 1 {
			t.Errorf("observed waits %v", obs.waits)
		}
		p1.Done(resilience.Succeeded)
		p3 := acquire(t, b, call)
		p2.Done(resilience.Succeeded)
		p3.Done(resilience.Succeeded)
		p3.Done(resilience.Succeeded) // twice is harmless
		if n := rdb.ZCard(ctx, "sabe:provider:p7:inflight").Val(); n != 0 {
			t.Errorf("%d leases left after every call was done", n)
		}
	})

	t.Run("ExpiredLeasesFree", func(t *testing.T) {
		t.Parallel()
		rdb := testenv.Redis(t)
		a, _ := guard(t, rdb, resilience.Config{MaxLocalWait: 100 * time.Millisecond, Clock: newClock()})
		// Two leases of a worker that died long ago.
		key := "sabe:provider:p8:inflight"
		if err := rdb.ZAdd(ctx, key, redis.Z{Score: 1, Member: "dead-1"}, redis.Z{Score: 2, Member: "dead-2"}).Err(); err != nil {
			t.Fatal(err)
		}
		acquire(t, a, resilience.Call{Provider: "p8", Limits: resilience.Limits{MaxConcurrency: 2}}).Done(resilience.Succeeded)
		if n := rdb.ZCard(ctx, key).Val(); n != 0 {
			t.Errorf("%d leases left", n)
		}
	})
}

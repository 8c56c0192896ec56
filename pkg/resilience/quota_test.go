package resilience_test

import (
	"context"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

func TestGuard_Pause(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, clk := testenv.Redis(t), newClock()
	a, _ := guard(t, rdb, resilience.Config{Clock: clk})
	b, _ := guard(t, rdb, resilience.Config{Clock: clk})
	call := resilience.Call{Provider: "p2"}
	acquire(t, b, call).Done(resilience.Succeeded)
	// A reset time already past by the guards' clock pauses nothing.
	if err := a.Pause(ctx, "p2", clk.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, resilience.PausedKey("p2")).Val(); n != 0 {
		t.Fatal("a pause that ended already was recorded")
	}
	until := clk.Now().Add(time.Hour)
	if err := a.Pause(ctx, "p2", until); err != nil {
		t.Fatal(err)
	}
	// An earlier reset time does not shorten the pause.
	if err := a.Pause(ctx, "p2", until.Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "worker b to see the pause", propagation, func() bool {
		p, err := b.Acquire(ctx, call)
		if err == nil {
			p.Done(resilience.Succeeded)
			return false
		}
		we := wantWait(t, err, resilience.ReasonPaused)
		return we.Until.Equal(until)
	})
	ms, err := rdb.Get(ctx, resilience.PausedKey("p2")).Int64()
	if err != nil || ms != until.UnixMilli() {
		t.Errorf("%s = %d (%v), want %d", resilience.PausedKey("p2"), ms, err, until.UnixMilli())
	}
	// The key lives as long as the pause, by the guards' clock.
	if ttl := rdb.PTTL(ctx, resilience.PausedKey("p2")).Val(); ttl <= 0 || ttl > time.Hour+time.Millisecond {
		t.Errorf("pause key TTL %s: it must expire when the pause ends", ttl)
	}
	// The pause ends by the clock, even before its key expires.
	clk.Set(until)
	acquire(t, b, call).Done(resilience.Succeeded)
}

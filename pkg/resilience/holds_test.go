package resilience_test

import (
	"context"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// TestHolds: what the fleet holds back, read from Redis as the API reads
// it: an open circuit with its outage's start and last error, half-open
// once its period is over, a quota pause, and nothing for a healthy
// provider.
func TestHolds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	clk := newClock()
	g, _ := guard(t, rdb, resilience.Config{Failures: 1, OpenTimeout: time.Hour, Clock: clk})
	acquire(t, g, resilience.Call{Provider: "down"}).Report(resilience.Failed, "provider: connection refused")
	testenv.WaitFor(t, "the circuit to be shared", propagation, func() bool {
		return rdb.Exists(ctx, resilience.BreakerKey("down")).Val() == 1
	})
	pausedUntil := clk.Now().Add(time.Hour)
	if err := g.Pause(ctx, "quota", pausedUntil); err != nil {
		t.Fatal(err)
	}
	rec, err := resilience.ParseSharedBreaker(rdb.Get(ctx, resilience.BreakerKey("down")).Val())
	if err != nil {
		t.Fatal(err)
	}
	until := time.UnixMilli(rec.Until)
	if want := clk.Now().Add(time.Hour); !until.Equal(want) {
		t.Fatalf("circuit open until %s, want %s: an hour from the trip by the guard's clock", until, want)
	}

	t.Run("Open", func(t *testing.T) {
		holds, err := resilience.Holds(ctx, rdb, until.Add(-time.Minute), "down", "healthy", "quota")
		if err != nil {
			t.Fatal(err)
		}
		if len(holds) != 2 {
			t.Fatalf("holds %+v, want the open circuit and the pause", holds)
		}
		h := holds[0]
		if h.Provider != "down" || h.State != resilience.HoldOpen || !h.Until.Equal(until) ||
			h.Since.UnixMilli() != rec.Since || h.LastError != "provider: connection refused" {
			t.Errorf("circuit hold %+v, record %+v", h, rec)
		}
		q := holds[1]
		if q.Provider != "quota" || q.State != resilience.HoldQuotaPaused || !q.Until.Equal(pausedUntil) || !q.Since.IsZero() {
			t.Errorf("pause hold %+v", q)
		}
	})
	t.Run("HalfOpen", func(t *testing.T) {
		holds, err := resilience.Holds(ctx, rdb, until.Add(time.Second), "down")
		if err != nil {
			t.Fatal(err)
		}
		if len(holds) != 1 || holds[0].State != resilience.HoldHalfOpen {
			t.Errorf("holds %+v, want half-open after the open period", holds)
		}
	})
	t.Run("None", func(t *testing.T) {
		holds, err := resilience.Holds(ctx, rdb, clk.Now(), "healthy")
		if err != nil || len(holds) != 0 {
			t.Errorf("holds %+v (%v), want none", holds, err)
		}
	})
}

package resilience_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

func TestGuard_Breaker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	call := resilience.Call{Provider: "p1", Timeout: 5 * time.Second}
	const openFor = 30 * time.Second
	config := func(clk *clock) resilience.Config {
		return resilience.Config{Failures: 2, OpenTimeout: openFor, Clock: clk}
	}

	t.Run("OpensForTheFleetThenOneProbeCloses", func(t *testing.T) {
		t.Parallel()
		rdb, clk := testenv.Redis(t), newClock()
		a, obsA := guard(t, rdb, config(clk))
		b, obsB := guard(t, rdb, config(clk))
		// Both know the provider before the trip, as busy workers do.
		acquire(t, b, call).Done(resilience.Succeeded)
		trippedAt := clk.Now()
		for range 2 {
			acquire(t, a, call).Done(resilience.Failed)
		}
		testenv.WaitFor(t, "worker b to see the circuit open", propagation, func() bool { return b.State("p1") == resilience.StateOpen })
		_, err := b.Acquire(ctx, call)
		we := wantWait(t, err, resilience.ReasonOpen)
		v, err := rdb.Get(ctx, resilience.BreakerKey("p1")).Result()
		if err != nil {
			t.Fatal(err)
		}
		rec, err := resilience.ParseSharedBreaker(v)
		if err != nil || rec.OpenedAt != trippedAt.UnixMilli() || rec.Until != trippedAt.Add(openFor).UnixMilli() || !we.Until.Equal(time.UnixMilli(rec.Until)) {
			t.Fatalf("wait until %s, shared record %+v (%v): want open from %s for %s by the guards' clock", we.Until, rec, err, trippedAt, openFor)
		}

		// A moment before the half-open time the circuit is still open.
		clk.Set(we.Until.Add(-time.Millisecond))
		_, err = a.Acquire(ctx, call)
		wantWait(t, err, resilience.ReasonOpen)

		// At half-open exactly one of the two workers probes.
		clk.Set(we.Until)
		pa, errA := a.Acquire(ctx, call)
		pb, errB := b.Acquire(ctx, call)
		if (errA == nil) == (errB == nil) {
			t.Fatalf("a: %v, b: %v; want exactly one probe", errA, errB)
		}
		probe := pa
		if errA != nil {
			wantWait(t, errA, resilience.ReasonOpen)
			probe = pb
		} else {
			wantWait(t, errB, resilience.ReasonOpen)
		}
		if !probe.Probe() {
			t.Fatal("the admitted call is not marked as the probe")
		}
		probe.Done(resilience.Succeeded)
		if n, _ := rdb.Exists(ctx, resilience.BreakerKey("p1")).Result(); n != 0 {
			t.Error("shared circuit still recorded after the probe succeeded")
		}
		for name, g := range map[string]*resilience.Guard{"a": a, "b": b} {
			testenv.WaitFor(t, name+" to close", propagation, func() bool { return g.State("p1") == resilience.StateClosed })
			p, err := g.Acquire(ctx, call)
			if err != nil {
				t.Fatalf("%s after close: %v", name, err)
			}
			p.Done(resilience.Succeeded)
		}
		if !obsA.seen(resilience.StateOpen) || !obsB.seen(resilience.StateOpen) || !obsB.seen(resilience.StateHalfOpen) {
			t.Errorf("observed states a=%v b=%v", obsA.states, obsB.states)
		}
	})

	t.Run("FailedProbeReopens", func(t *testing.T) {
		t.Parallel()
		rdb, clk := testenv.Redis(t), newClock()
		a, _ := guard(t, rdb, config(clk))
		openedAt := clk.Now()
		for range 2 {
			acquire(t, a, call).Done(resilience.Failed)
		}
		// The trip is recorded moments after the breaker opens.
		testenv.WaitFor(t, "the circuit to be shared", propagation, func() bool {
			return rdb.Exists(ctx, resilience.BreakerKey("p1")).Val() == 1
		})
		_, err := a.Acquire(ctx, call)
		first := wantWait(t, err, resilience.ReasonOpen)
		if !first.OpenSince.Equal(openedAt) || !first.Until.Equal(openedAt.Add(openFor)) {
			t.Errorf("first wait: open since %s until %s, want since %s for %s", first.OpenSince, first.Until, openedAt, openFor)
		}
		if first.LastError != "" {
			t.Errorf("first wait: last error %q; want none (none was reported)", first.LastError)
		}
		clk.Set(first.Until.Add(5 * time.Second))
		probe, err := a.Acquire(ctx, call)
		if err != nil || !probe.Probe() {
			t.Fatalf("probe: %v", err)
		}
		probe.Report(resilience.Failed, "provider: dial tcp 127.0.0.1:9: connect: connection refused")
		_, err = a.Acquire(ctx, call)
		again := wantWait(t, err, resilience.ReasonOpen)
		// A new period from the failed probe; the outage goes on: it
		// started when the circuit first opened, and the failed probe's
		// error is the provider's last.
		if want := clk.Now().Add(openFor); !again.Until.Equal(want) {
			t.Errorf("reopened until %s, want a new period from the failed probe, to %s", again.Until, want)
		}
		if !again.OpenSince.Equal(openedAt) {
			t.Errorf("reopened: open since %s, want the outage's start %s", again.OpenSince, openedAt)
		}
		if again.LastError != "provider: dial tcp 127.0.0.1:9: connect: connection refused" {
			t.Errorf("last error %q", again.LastError)
		}
	})

	t.Run("TripKeepsLastError", func(t *testing.T) {
		t.Parallel()
		rdb := testenv.Redis(t)
		a, _ := guard(t, rdb, config(newClock()))
		for i := range 2 {
			acquire(t, a, call).Report(resilience.Failed, fmt.Sprintf("provider: HTTP 503: down %d", i))
		}
		testenv.WaitFor(t, "the circuit to be shared", propagation, func() bool {
			return rdb.Exists(ctx, resilience.BreakerKey("p1")).Val() == 1
		})
		rec, err := resilience.ParseSharedBreaker(rdb.Get(ctx, resilience.BreakerKey("p1")).Val())
		if err != nil || rec.LastError != "provider: HTTP 503: down 1" || rec.Since != rec.OpenedAt {
			t.Fatalf("shared record %+v (%v): want the last failure and the outage's start", rec, err)
		}
	})

	t.Run("IgnoredOutcomesDoNotTrip", func(t *testing.T) {
		t.Parallel()
		a, _ := guard(t, testenv.Redis(t), config(newClock()))
		for range 5 {
			acquire(t, a, call).Done(resilience.Ignored)
		}
		if s := a.State("p1"); s != resilience.StateClosed {
			t.Errorf("state %s after ignored outcomes, want closed", s)
		}
	})

	t.Run("SharedCloseResetsLocal", func(t *testing.T) {
		t.Parallel()
		rdb, clk := testenv.Redis(t), newClock()
		a, _ := guard(t, rdb, config(clk))
		for range 2 {
			acquire(t, a, call).Done(resilience.Failed)
		}
		testenv.WaitFor(t, "the shared record", propagation, func() bool { n, _ := rdb.Exists(ctx, resilience.BreakerKey("p1")).Result(); return n == 1 })
		// Another worker's probe closes the fleet's circuit a few seconds
		// later: this worker's own breaker, open for its whole period,
		// starts afresh too, whether it read the record before it went
		// (it saw the close) or not (a trip with no record after a few
		// seconds missed the close).
		clk.Add(5 * time.Second)
		if err := rdb.Del(ctx, resilience.BreakerKey("p1")).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Publish(ctx, resilience.StateChannel, "p1").Err(); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, "the local breaker to close", propagation, func() bool { return a.State("p1") == resilience.StateClosed })
		acquire(t, a, call).Done(resilience.Succeeded)
	})
}

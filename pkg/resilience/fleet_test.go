package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// observer records what a Fleet reports.
type observer struct {
	mu     sync.Mutex
	states []resilience.State
	waits  map[string]int
}

var _ resilience.Observer = (*observer)(nil)

func (o *observer) BreakerStateChanged(_ string, _, to resilience.State) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.states = append(o.states, to)
}

func (o *observer) LimitWaited(_, limit string, rescheduled bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.waits == nil {
		o.waits = map[string]int{}
	}
	key := limit
	if rescheduled {
		key += "/rescheduled"
	}
	o.waits[key]++
}

func (o *observer) seen(s resilience.State) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, x := range o.states {
		if x == s {
			return true
		}
	}
	return false
}

// fleet starts a Fleet over rdb, as one worker process would hold it.
func fleet(t *testing.T, rdb *redis.Client, opts resilience.Options) (*resilience.Fleet, *observer) {
	t.Helper()
	o := &observer{}
	opts.Observer = o
	f := resilience.New(rdb, opts)
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	return f, o
}

func wantWait(t *testing.T, err error, reason resilience.Reason) *resilience.WaitError {
	t.Helper()
	var we *resilience.WaitError
	if !errors.As(err, &we) || we.Reason != reason {
		t.Fatalf("err = %v, want a WaitError for %q", err, reason)
	}
	return we
}

func TestFleet_Breaker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	call := resilience.Call{Provider: "p1", Timeout: 5 * time.Second}
	opts := resilience.Options{Failures: 2, OpenTimeout: 400 * time.Millisecond}

	t.Run("OpensForTheFleetThenOneProbeCloses", func(t *testing.T) {
		t.Parallel()
		rdb := testenv.Redis(t)
		a, obsA := fleet(t, rdb, opts)
		b, obsB := fleet(t, rdb, opts)
		// Both know the provider before the trip, as busy workers do.
		pb, err := b.Acquire(ctx, call)
		if err != nil {
			t.Fatal(err)
		}
		pb.Done(resilience.Succeeded)
		for range 2 {
			p, err := a.Acquire(ctx, call)
			if err != nil {
				t.Fatal(err)
			}
			p.Done(resilience.Failed)
		}
		testenv.WaitFor(t, "worker b to see the circuit open", 5*time.Second, func() bool { return b.State("p1") == resilience.StateOpen })
		_, err = b.Acquire(ctx, call)
		we := wantWait(t, err, resilience.ReasonOpen)
		v, err := rdb.Get(ctx, resilience.BreakerKey("p1")).Result()
		if err != nil {
			t.Fatal(err)
		}
		rec, err := resilience.ParseSharedBreaker(v)
		if err != nil || !we.Until.Equal(time.UnixMilli(rec.Until)) || rec.Until-rec.OpenedAt != 400 {
			t.Fatalf("wait until %s, shared record %+v (%v)", we.Until, rec, err)
		}

		// At half-open exactly one of the two workers probes.
		time.Sleep(time.Until(we.Until))
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
		for name, f := range map[string]*resilience.Fleet{"a": a, "b": b} {
			testenv.WaitFor(t, name+" to close", 5*time.Second, func() bool { return f.State("p1") == resilience.StateClosed })
			p, err := f.Acquire(ctx, call)
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
		rdb := testenv.Redis(t)
		a, _ := fleet(t, rdb, opts)
		for range 2 {
			p, err := a.Acquire(ctx, call)
			if err != nil {
				t.Fatal(err)
			}
			p.Done(resilience.Failed)
		}
		// The trip is recorded moments after the breaker opens; until then
		// a wait does not know the outage's start.
		var first *resilience.WaitError
		testenv.WaitFor(t, "the circuit to open with its start", 5*time.Second, func() bool {
			_, err := a.Acquire(ctx, call)
			first = wantWait(t, err, resilience.ReasonOpen)
			return !first.OpenSince.IsZero()
		})
		if first.LastError != "" {
			t.Errorf("first wait: last error %q; want none (none was reported)", first.LastError)
		}
		time.Sleep(time.Until(first.Until))
		probe, err := a.Acquire(ctx, call)
		if err != nil || !probe.Probe() {
			t.Fatalf("probe: %v", err)
		}
		probe.Report(resilience.Failed, "provider: dial tcp 127.0.0.1:9: connect: connection refused")
		_, err = a.Acquire(ctx, call)
		again := wantWait(t, err, resilience.ReasonOpen)
		if !again.Until.After(first.Until) {
			t.Errorf("reopened until %s, want after the first period's end %s", again.Until, first.Until)
		}
		// The outage goes on: it started when the circuit first opened,
		// and the failed probe's error is the provider's last.
		if again.OpenSince.UnixMilli() != first.OpenSince.UnixMilli() {
			t.Errorf("reopened: open since %s, want the outage's start %s", again.OpenSince, first.OpenSince)
		}
		if again.LastError != "provider: dial tcp 127.0.0.1:9: connect: connection refused" {
			t.Errorf("last error %q", again.LastError)
		}
	})

	t.Run("TripKeepsLastError", func(t *testing.T) {
		t.Parallel()
		rdb := testenv.Redis(t)
		a, _ := fleet(t, rdb, opts)
		for i := range 2 {
			p, err := a.Acquire(ctx, call)
			if err != nil {
				t.Fatal(err)
			}
			p.Report(resilience.Failed, fmt.Sprintf("provider: HTTP 503: down %d", i))
		}
		testenv.WaitFor(t, "the circuit to be shared", 5*time.Second, func() bool {
			return rdb.Exists(ctx, resilience.BreakerKey("p1")).Val() == 1
		})
		rec, err := resilience.ParseSharedBreaker(rdb.Get(ctx, resilience.BreakerKey("p1")).Val())
		if err != nil || rec.LastError != "provider: HTTP 503: down 1" || rec.Since != rec.OpenedAt {
			t.Fatalf("shared record %+v (%v): want the last failure and the outage's start", rec, err)
		}
	})

	t.Run("IgnoredOutcomesDoNotTrip", func(t *testing.T) {
		t.Parallel()
		rdb := testenv.Redis(t)
		a, _ := fleet(t, rdb, opts)
		for range 5 {
			p, err := a.Acquire(ctx, call)
			if err != nil {
				t.Fatal(err)
			}
			p.Done(resilience.Ignored)
		}
		if s := a.State("p1"); s != resilience.StateClosed {
			t.Errorf("state %s after ignored outcomes, want closed", s)
		}
	})

	t.Run("SharedCloseResetsLocal", func(t *testing.T) {
		t.Parallel()
		rdb := testenv.Redis(t)
		a, _ := fleet(t, rdb, resilience.Options{Failures: 2, OpenTimeout: time.Hour})
		for range 2 {
			p, err := a.Acquire(ctx, call)
			if err != nil {
				t.Fatal(err)
			}
			p.Done(resilience.Failed)
		}
		testenv.WaitFor(t, "the shared record", 5*time.Second, func() bool { n, _ := rdb.Exists(ctx, resilience.BreakerKey("p1")).Result(); return n == 1 })
		// Another worker's probe closes the fleet's circuit: this worker's
		// own breaker, open for an hour, starts afresh too.
		if err := rdb.Del(ctx, resilience.BreakerKey("p1")).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Publish(ctx, resilience.StateChannel, "p1").Err(); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, "the local breaker to close", 5*time.Second, func() bool { return a.State("p1") == resilience.StateClosed })
		p, err := a.Acquire(ctx, call)
		if err != nil {
			t.Fatalf("after the fleet closed: %v", err)
		}
		p.Done(resilience.Succeeded)
	})
}

func TestFleet_Pause(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	a, _ := fleet(t, rdb, resilience.Options{})
	b, _ := fleet(t, rdb, resilience.Options{})
	call := resilience.Call{Provider: "p2"}
	p, err := b.Acquire(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	p.Done(resilience.Succeeded)
	until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := a.Pause(ctx, "p2", until); err != nil {
		t.Fatal(err)
	}
	// An earlier reset time does not shorten the pause.
	if err := a.Pause(ctx, "p2", until.Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "worker b to see the pause", 5*time.Second, func() bool {
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
	if ttl := rdb.PTTL(ctx, resilience.PausedKey("p2")).Val(); ttl <= 0 || ttl > time.Hour+time.Second {
		t.Errorf("pause key TTL %s: it must expire when the pause ends", ttl)
	}
}

func TestFleet_Limits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := resilience.Options{MaxLocalWait: 100 * time.Millisecond}

	t.Run("RequestsPerMinute", func(t *testing.T) {
		t.Parallel()
		a, obs := fleet(t, testenv.Redis(t), opts)
		// 60 per minute: a burst of 1, then one per second.
		call := resilience.Call{Provider: "p3", Limits: resilience.Limits{RequestsPerMinute: 60}}
		p, err := a.Acquire(ctx, call)
		if err != nil {
			t.Fatal(err)
		}
		p.Done(resilience.Succeeded)
		_, err = a.Acquire(ctx, call)
		we := wantWait(t, err, resilience.ReasonRateLimit)
		if d := time.Until(we.Until); d < 500*time.Millisecond || d > time.Second {
			t.Errorf("wait %s, want about the 1s emission interval", d)
		}
		if obs.waits["rpm/rescheduled"] != 1 {
			t.Errorf("observed waits %v", obs.waits)
		}
	})

	t.Run("TokensPerMinute", func(t *testing.T) {
		t.Parallel()
		a, _ := fleet(t, testenv.Redis(t), opts)
		call := resilience.Call{Provider: "p4", Limits: resilience.Limits{TokensPerMinute: 1000}, Tokens: 600}
		p, err := a.Acquire(ctx, call)
		if err != nil {
			t.Fatal(err)
		}
		p.Done(resilience.Succeeded)
		_, err = a.Acquire(ctx, call)
		wantWait(t, err, resilience.ReasonRateLimit)
		// A call larger than the whole minute's tokens is charged the
		// minute, not refused for ever.
		big := resilience.Call{Provider: "p5", Limits: resilience.Limits{TokensPerMinute: 1000}, Tokens: 5000}
		p, err = a.Acquire(ctx, big)
		if err != nil {
			t.Fatalf("oversized call: %v", err)
		}
		p.Done(resilience.Succeeded)
	})

	t.Run("ShortWaitsInProcess", func(t *testing.T) {
		t.Parallel()
		a, obs := fleet(t, testenv.Redis(t), resilience.Options{MaxLocalWait: time.Second})
		// 600 per minute: a burst of 10, then one every 100ms.
		call := resilience.Call{Provider: "p6", Limits: resilience.Limits{RequestsPerMinute: 600}}
		for range 12 {
			p, err := a.Acquire(ctx, call)
			if err != nil {
				t.Fatal(err)
			}
			p.Done(resilience.Succeeded)
		}
		if obs.waits["rpm"] == 0 || obs.waits["rpm/rescheduled"] != 0 {
			t.Errorf("observed waits %v: want waits in process only", obs.waits)
		}
	})

	t.Run("Concurrency", func(t *testing.T) {
		t.Parallel()
		rdb := testenv.Redis(t)
		a, _ := fleet(t, rdb, opts)
		b, _ := fleet(t, rdb, opts)
		call := resilience.Call{Provider: "p7", Limits: resilience.Limits{MaxConcurrency: 2}}
		p1, err := a.Acquire(ctx, call)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := b.Acquire(ctx, call)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Acquire(ctx, call)
		wantWait(t, err, resilience.ReasonConcurrency)
		p1.Done(resilience.Succeeded)
		p3, err := b.Acquire(ctx, call)
		if err != nil {
			t.Fatalf("after a release: %v", err)
		}
		p2.Done(resilience.Succeeded)
		p3.Done(resilience.Succeeded)
		p3.Done(resilience.Succeeded) // twice is harmless
	})

	t.Run("ExpiredLeasesFree", func(t *testing.T) {
		t.Parallel()
		rdb := testenv.Redis(t)
		a, _ := fleet(t, rdb, opts)
		// Two leases of a worker that died long ago.
		key := "sabe:provider:p8:inflight"
		if err := rdb.ZAdd(ctx, key, redis.Z{Score: 1, Member: "dead-1"}, redis.Z{Score: 2, Member: "dead-2"}).Err(); err != nil {
			t.Fatal(err)
		}
		p, err := a.Acquire(ctx, resilience.Call{Provider: "p8", Limits: resilience.Limits{MaxConcurrency: 2}})
		if err != nil {
			t.Fatalf("expired leases still count: %v", err)
		}
		p.Done(resilience.Succeeded)
		if n := rdb.ZCard(ctx, key).Val(); n != 0 {
			t.Errorf("%d leases left", n)
		}
	})
}

func TestWaitError_Wait(t *testing.T) {
	t.Parallel()
	now := time.Now()
	e := &resilience.WaitError{Provider: "p", Reason: resilience.ReasonOpen, Until: now.Add(3 * time.Second)}
	if d := e.Wait(now); d != 3*time.Second {
		t.Errorf("wait %s, want 3s", d)
	}
	past := &resilience.WaitError{Until: now.Add(-time.Second)}
	if d := past.Wait(now); d <= 0 {
		t.Errorf("wait %s for a past time: must stay positive so a retry does not spin", d)
	}
}

package resilience_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// fleet records the fleet-wide transitions a Guard reports, as a line
// per transition: "open p1 <since ms> <last error>" or "closed p1 <since
// ms> <closed ms> <last error>".
type fleet struct {
	mu    sync.Mutex
	lines []string
}

var _ resilience.FleetObserver = (*fleet)(nil)

func (f *fleet) CircuitOpened(provider string, since time.Time, lastError string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, fmt.Sprintf("open %s %d %s", provider, since.UnixMilli(), lastError))
}

func (f *fleet) CircuitClosed(provider string, since, closedAt time.Time, lastError string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, fmt.Sprintf("closed %s %d %d %s", provider, since.UnixMilli(), closedAt.UnixMilli(), lastError))
}

func (f *fleet) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

func TestGuard_FleetObserver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	call := resilience.Call{Provider: "p1", Timeout: 5 * time.Second}
	const openFor = 30 * time.Second
	rdb, clk := testenv.Redis(t), newClock()
	fa, fb := &fleet{}, &fleet{}
	a, _ := guard(t, rdb, resilience.Config{Failures: 2, OpenTimeout: openFor, Clock: clk, Fleet: fa})
	b, _ := guard(t, rdb, resilience.Config{Failures: 2, OpenTimeout: openFor, Clock: clk, Fleet: fb})
	all := func() []string { return append(fa.seen(), fb.seen()...) }

	// Both workers trip their own breakers; the fleet's circuit opens once.
	since := clk.Now()
	for _, g := range []*resilience.Guard{a, b} {
		acquire(t, g, call).Report(resilience.Failed, "provider: HTTP 503")
		acquire(t, g, call).Report(resilience.Failed, "provider: HTTP 503")
	}
	want := fmt.Sprintf("open p1 %d provider: HTTP 503", since.UnixMilli())
	testenv.WaitFor(t, "the opening to be reported", propagation, func() bool { return len(all()) > 0 })
	testenv.WaitFor(t, "both workers to see the circuit open", propagation, func() bool {
		return a.State("p1") == resilience.StateOpen && b.State("p1") == resilience.StateOpen
	})

	// A failed probe continues the outage: no second opening.
	clk.Set(since.Add(openFor))
	probe, err := a.Acquire(ctx, call)
	if err != nil || !probe.Probe() {
		t.Fatalf("probe: %v", err)
	}
	probe.Report(resilience.Failed, "provider: HTTP 502")

	// The next probe succeeds: the circuit closes, once, naming the outage.
	clk.Set(since.Add(2*openFor + time.Second))
	closedAt := clk.Now()
	probe, err = b.Acquire(ctx, call)
	if err != nil || !probe.Probe() {
		t.Fatalf("second probe: %v", err)
	}
	probe.Done(resilience.Succeeded)
	wantClosed := fmt.Sprintf("closed p1 %d %d provider: HTTP 502", since.UnixMilli(), closedAt.UnixMilli())
	testenv.WaitFor(t, "the closing to be reported", propagation, func() bool { return len(all()) >= 2 })
	if got := all(); len(got) != 2 || got[0] != want && got[1] != want || got[0] != wantClosed && got[1] != wantClosed {
		t.Errorf("fleet transitions = %q, want %q and %q once each", got, want, wantClosed)
	}
	if got := fb.seen(); len(got) == 0 || got[len(got)-1] != wantClosed {
		t.Errorf("worker b's transitions = %q, want the closing it made", got)
	}
}

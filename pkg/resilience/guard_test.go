package resilience_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/resilience"
)

// observer records what a Guard reports.
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

func (o *observer) waited(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.waits[key]
}

// guard starts a Guard over rdb, as one worker process would hold it.
func guard(t *testing.T, rdb *redis.Client, cfg resilience.Config) (*resilience.Guard, *observer) {
	t.Helper()
	o := &observer{}
	cfg.Observer = o
	g := resilience.NewGuard(rdb, cfg)
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	return g, o
}

// acquire takes a permit that the test expects to be given.
func acquire(t *testing.T, g *resilience.Guard, c resilience.Call) *resilience.Permit {
	t.Helper()
	p, err := g.Acquire(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantWait(t *testing.T, err error, reason resilience.Reason) *resilience.WaitError {
	t.Helper()
	var we *resilience.WaitError
	if !errors.As(err, &we) || we.Reason != reason {
		t.Fatalf("err = %v, want a WaitError for %q", err, reason)
	}
	return we
}

// propagation bounds how long the tests wait for a change to reach a
// Guard through Redis; it is a timeout, not a measure: they go on as soon
// as it has arrived.
const propagation = 30 * time.Second

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

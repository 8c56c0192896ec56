package resilience_test

import (
	"context"
	"sync"
	"time"

	"github.com/sabe-dev/sabe/pkg/resilience"
)

// clock is a Clock that moves only when the test sets it or a Guard
// sleeps on it. A sleep also waits as long on the wall clock, because what
// it waits for (a rate-limit allowance, a concurrency slot) is decided by
// Redis on its own clock; but how far the Guard's clock has moved is the
// sum of what it slept, not how slowly the machine ran. It starts far from
// the wall clock, so a decision taken by the wall clock shows.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

var _ resilience.Clock = (*clock)(nil)

func newClock() *clock {
	return &clock{now: time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Add moves the clock on by d.
func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		c.Add(d)
		return nil
	}
}

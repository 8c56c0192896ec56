package mockllm

import (
	"context"
	"time"
)

// clock is where the mock reads the time and waits: the wall clock, or a
// test's, which records the waits it is asked for and moves only by them.
type clock interface {
	Now() time.Time
	// Sleep waits d, or returns ctx's error if ctx is done first.
	Sleep(ctx context.Context, d time.Duration) error
}

// wallClock is time itself.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

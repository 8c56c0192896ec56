// Package startstop carries the lifecycle every long-running part of SABE
// shares (after river's startstop): Start begins the work in a goroutine of
// its own and fails when it is already under way; the work ends when the
// caller's context is cancelled or Stop is called; Stop waits for it and is
// safe to call twice, and before Start. A type embeds or holds a StartStop
// and gives it the function that does its work.
package startstop

import (
	"context"
	"errors"
	"sync"
)

// ErrStarted is what Start returns while the work is under way.
var ErrStarted = errors.New("already started")

// StartStop runs one goroutine at a time from Start until Stop. The zero
// value is ready to use; it must not be copied after first use.
type StartStop struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs work in its own goroutine with a context that ends when ctx
// does or Stop is called. It returns ErrStarted when work from an earlier
// Start has not been stopped.
func (s *StartStop) Start(ctx context.Context, work func(ctx context.Context)) error {
	return s.StartWith(ctx, func(ctx context.Context) (func(), error) {
		return func() { work(ctx) }, nil
	})
}

// StartWith is Start for work that must get ready before Start returns
// (a subscription confirmed, say): prepare runs first, in the caller's
// goroutine, with the work's context; when it fails, that context is
// cancelled and Start returns its error, nothing having started. Otherwise
// the function prepare returns runs in its own goroutine.
func (s *StartStop) StartWith(ctx context.Context, prepare func(ctx context.Context) (func(), error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return ErrStarted
	}
	ctx, cancel := context.WithCancel(ctx)
	work, err := prepare(ctx)
	if err != nil {
		cancel()
		return err
	}
	done := make(chan struct{})
	s.cancel, s.done = cancel, done
	go func() {
		defer close(done)
		work()
	}()
	return nil
}

// Stop cancels the work's context and waits for the work to return. It is
// safe to call twice, and before Start; after it, Start may begin again.
func (s *StartStop) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel, s.done = nil, nil
}

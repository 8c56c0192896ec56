package startstop_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/sabe-dev/sabe/internal/startstop"
)

// worker is work that says when it began and when it returned, and blocks
// until its context ends.
type worker struct {
	began, returned chan struct{}
	runs            atomic.Int32
}

func newWorker() *worker {
	return &worker{began: make(chan struct{}, 8), returned: make(chan struct{}, 8)}
}

func (w *worker) work(ctx context.Context) {
	w.runs.Add(1)
	w.began <- struct{}{}
	<-ctx.Done()
	w.returned <- struct{}{}
}

// started returns a StartStop running a fresh worker's work, begun.
func started(t *testing.T) (*startstop.StartStop, *worker) {
	t.Helper()
	var s startstop.StartStop
	w := newWorker()
	if err := s.Start(context.Background(), w.work); err != nil {
		t.Fatal(err)
	}
	<-w.began
	return &s, w
}

func TestStartStop_Start(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		s, w := started(t)
		s.Stop()
		// Stop waited: the work has returned by now, without blocking.
		select {
		case <-w.returned:
		default:
			t.Fatal("Stop returned before the work did")
		}
	})

	t.Run("ErrStarted", func(t *testing.T) {
		t.Parallel()
		s, w := started(t)
		defer s.Stop()
		if err := s.Start(context.Background(), w.work); !errors.Is(err, startstop.ErrStarted) {
			t.Fatalf("second Start: err = %v, want ErrStarted", err)
		}
		if n := w.runs.Load(); n != 1 {
			t.Errorf("work ran %d times, want 1", n)
		}
	})

	t.Run("AgainAfterStop", func(t *testing.T) {
		t.Parallel()
		var s startstop.StartStop
		w := newWorker()
		for range 2 {
			if err := s.Start(context.Background(), w.work); err != nil {
				t.Fatal(err)
			}
			<-w.began
			s.Stop()
			<-w.returned
		}
		if n := w.runs.Load(); n != 2 {
			t.Errorf("work ran %d times, want 2", n)
		}
	})

	t.Run("EndsWithContext", func(t *testing.T) {
		t.Parallel()
		var s startstop.StartStop
		w := newWorker()
		ctx, cancel := context.WithCancel(context.Background())
		if err := s.Start(ctx, w.work); err != nil {
			t.Fatal(err)
		}
		<-w.began
		cancel()
		// The work sees the caller's cancellation without any Stop.
		<-w.returned
		s.Stop()
	})
}

func TestStartStop_StartWith(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		var s startstop.StartStop
		w := newWorker()
		prepared := false
		err := s.StartWith(context.Background(), func(ctx context.Context) (func(), error) {
			prepared = true
			return func() { w.work(ctx) }, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// prepare ran before StartWith returned, in this goroutine.
		if !prepared {
			t.Fatal("prepare had not run when StartWith returned")
		}
		<-w.began
		s.Stop()
		<-w.returned
	})

	t.Run("ErrPrepare", func(t *testing.T) {
		t.Parallel()
		var s startstop.StartStop
		boom := errors.New("boom")
		var prepCtx context.Context
		err := s.StartWith(context.Background(), func(ctx context.Context) (func(), error) {
			prepCtx = ctx
			return nil, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		if prepCtx.Err() == nil {
			t.Error("the failed start's context was not cancelled")
		}
		// Nothing started: Stop has nothing to wait for, and Start works.
		s.Stop()
		w := newWorker()
		if err := s.Start(context.Background(), w.work); err != nil {
			t.Fatalf("Start after a failed StartWith: %v", err)
		}
		<-w.began
		s.Stop()
		<-w.returned
	})
}

func TestStartStop_Stop(t *testing.T) {
	t.Parallel()

	t.Run("BeforeStart", func(t *testing.T) {
		t.Parallel()
		var s startstop.StartStop
		s.Stop()
		s.Stop()
	})

	t.Run("Twice", func(t *testing.T) {
		t.Parallel()
		s, w := started(t)
		s.Stop()
		s.Stop()
		<-w.returned
		if n := w.runs.Load(); n != 1 {
			t.Errorf("work ran %d times, want 1", n)
		}
	})
}

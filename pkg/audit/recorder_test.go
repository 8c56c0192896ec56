package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/audit"
)

// fakeWriter records events; block, when set, holds every write until it
// is closed.
type fakeWriter struct {
	mu     sync.Mutex
	events []audit.Event
	block  chan struct{}
}

var _ audit.Writer = (*fakeWriter)(nil)

func (w *fakeWriter) InsertAudit(ctx context.Context, e audit.Event) error {
	if w.block != nil {
		select {
		case <-w.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, e)
	return nil
}

func (w *fakeWriter) snapshot() []audit.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]audit.Event(nil), w.events...)
}

func TestActorFrom(t *testing.T) {
	t.Parallel()
	t.Run("System", func(t *testing.T) {
		if a := audit.ActorFrom(context.Background()); a.TokenName != audit.SystemActor || a.TokenID != nil {
			t.Errorf("actor without one = %+v, want system", a)
		}
	})
	t.Run("OK", func(t *testing.T) {
		id := uuid.New()
		ctx := audit.WithActor(context.Background(), audit.Actor{TokenID: &id, TokenName: "ci", SourceIP: "10.0.0.1"})
		if a := audit.ActorFrom(ctx); a.TokenID == nil || *a.TokenID != id || a.TokenName != "ci" || a.SourceIP != "10.0.0.1" {
			t.Errorf("actor = %+v", a)
		}
	})
}

func TestRecorder_Failure(t *testing.T) {
	t.Parallel()
	t.Run("FloodFromOneSource", func(t *testing.T) {
		w := &fakeWriter{}
		// A window no test outlasts, so the limit is exact.
		r := audit.NewRecorder(w, nil, audit.RecorderConfig{PerSource: 10, Window: time.Hour, QueueSize: 2000})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx := audit.WithActor(context.Background(), audit.Actor{SourceIP: "203.0.113.9"})
		for range 1000 {
			r.Failure(ctx, audit.Event{Reason: "invalid token"})
		}
		r.Failure(audit.WithActor(context.Background(), audit.Actor{SourceIP: "198.51.100.1"}), audit.Event{Reason: "missing token"})
		r.Stop()
		got := w.snapshot()
		from := map[string]int{}
		for _, e := range got {
			from[e.Actor.SourceIP]++
			if e.Action != audit.ActionAuthFailure || e.Outcome != audit.OutcomeDenied || e.ID == uuid.Nil || e.Time.IsZero() {
				t.Errorf("event defaults not applied: %+v", e)
			}
		}
		if from["203.0.113.9"] != 10 || from["198.51.100.1"] != 1 {
			t.Errorf("written per source = %v, want 10 from the flood and 1 from the other", from)
		}
		if r.Dropped() != 990 {
			t.Errorf("Dropped = %d, want 990", r.Dropped())
		}
	})
	t.Run("NeverBlocks", func(t *testing.T) {
		w := &fakeWriter{block: make(chan struct{})}
		r := audit.NewRecorder(w, nil, audit.RecorderConfig{PerSource: 1000, QueueSize: 4, Window: time.Hour})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		// The writer is stuck: every Failure beyond the queue must return
		// at once (this loop would hang otherwise) and be counted.
		for i := range 1000 {
			r.Failure(audit.WithActor(context.Background(), audit.Actor{SourceIP: fmt.Sprintf("10.0.%d.%d", i/256, i%256)}), audit.Event{})
		}
		if d := r.Dropped(); d < 1000-5 {
			t.Errorf("Dropped = %d with a stuck writer and a queue of 4, want at least 995", d)
		}
		close(w.block)
		r.Stop()
		if n := len(w.snapshot()); n < 1 || n > 5 {
			t.Errorf("written = %d, want the queued few (1 to 5)", n)
		}
	})
	t.Run("StopTwice", func(t *testing.T) {
		r := audit.NewRecorder(&fakeWriter{}, nil, audit.RecorderConfig{})
		r.Stop()
		r.Stop()
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background()); err == nil {
			t.Error("second Start: no error")
		}
	})
}

package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

func TestStore_RecordCircuitEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	s := store.New(pool, testenv.Keyring(t))
	p := testfactory.Provider(ctx, t, s, nil)
	since := time.Date(2026, 12, 7, 9, 0, 0, 123e6, time.UTC)
	closed := since.Add(5 * time.Minute)

	opened := notify.CircuitChanged{ProviderID: p.ID, State: "open", Since: since, LastError: "provider: HTTP 503"}
	// Two workers report the same opening: one event.
	for i, want := range []bool{true, false} {
		got, err := s.RecordCircuitEvent(ctx, opened)
		if err != nil || got != want {
			t.Fatalf("report %d: written=%v err=%v, want %v", i, got, err, want)
		}
	}
	if got, err := s.RecordCircuitEvent(ctx, notify.CircuitChanged{ProviderID: p.ID, State: "closed", Since: since, ClosedAt: &closed, LastError: "provider: HTTP 503"}); err != nil || !got {
		t.Fatalf("closing: written=%v err=%v", got, err)
	}
	evs := eventsOf(t, pool, "provider_id", p.ID)
	if len(evs) != 2 || evs[0].Type != notify.CircuitOpened || evs[1].Type != notify.CircuitClosed {
		t.Fatalf("events = %+v, want one opening then one closing", evs)
	}
	if evs[0].DedupKey != "provider.circuit_opened:"+p.ID.String()+":1796634000123" || !evs[0].OccurredAt.Equal(since) || !evs[1].OccurredAt.Equal(closed) || evs[0].BenchmarkID != nil {
		t.Errorf("opening keyed %q at %v, closing at %v", evs[0].DedupKey, evs[0].OccurredAt, evs[1].OccurredAt)
	}
	var c notify.CircuitChanged
	if err := json.Unmarshal(evs[1].Payload, &c); err != nil {
		t.Fatal(err)
	}
	if c.ProviderName != p.Name || c.State != "closed" || !c.Since.Equal(since) || c.ClosedAt == nil || !c.ClosedAt.Equal(closed) || c.LastError != "provider: HTTP 503" {
		t.Errorf("closing payload = %+v", c)
	}

	if _, err := s.RecordCircuitEvent(ctx, notify.CircuitChanged{ProviderID: p.ID, State: "closed", Since: since}); err == nil {
		t.Error("a closing without closed_at was written")
	}
}

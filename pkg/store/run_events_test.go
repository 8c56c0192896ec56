package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// storedEvent is an outbox row as a test reads it.
type storedEvent struct {
	Type        string
	BenchmarkID *uuid.UUID
	DedupKey    string
	OccurredAt  time.Time
	Payload     []byte
}

// eventsOf returns the outbox's events whose payload names the run (or
// any other id under key), oldest first.
func eventsOf(t *testing.T, pool *pgxpool.Pool, key string, id uuid.UUID) []storedEvent {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT type, benchmark_id, dedup_key, occurred_at, payload FROM events WHERE payload->>$1 = $2 ORDER BY occurred_at, id`, key, id.String())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []storedEvent
	for rows.Next() {
		var e storedEvent
		if err := rows.Scan(&e.Type, &e.BenchmarkID, &e.DedupKey, &e.OccurredAt, &e.Payload); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStore_FinalizeWritesRunEvent(t *testing.T) {
	t.Parallel()
	testenv.OnEachStorage(t, testFinalizeWritesRunEvent)
}

func testFinalizeWritesRunEvent(t *testing.T, pool *pgxpool.Pool) {
	h := newHistory(t, pool)
	ctx := context.Background()
	// Model a passes every question, b only the math ones and fails one
	// unit: a partial run with a leaderboard of two.
	r := h.run(t, time.Now().Add(-time.Hour).UTC(), func(m uuid.UUID, q, sample int) unit {
		return unit{passed: m == h.a || q < 2, failed: m == h.b && q == 3 && sample == 1, latencyMs: 10}
	})
	if r.Status != run.StatusPartial {
		t.Fatalf("run %s, want partial", r.Status)
	}
	evs := eventsOf(t, pool, "run_id", r.ID)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	e := evs[0]
	if e.Type != notify.RunPartial || e.BenchmarkID == nil || *e.BenchmarkID != h.benchmark.ID || !e.OccurredAt.Equal(*r.FinishedAt) {
		t.Errorf("event %s about %v at %v, want run.partial about the benchmark at the run's finish", e.Type, e.BenchmarkID, e.OccurredAt)
	}
	var p notify.RunFinished
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.BenchmarkName != h.benchmark.Name || p.Status != "partial" || p.Total != 16 || p.Succeeded != 15 || p.Failed != 1 || p.Trigger != string(r.Trigger) {
		t.Errorf("payload = %+v", p)
	}
	if len(p.Leaderboard) != 2 || p.Leaderboard[0].ModelID != h.a || p.Leaderboard[0].ModelName != "model-a" ||
		p.Leaderboard[0].Rank != 1 || p.Leaderboard[1].ModelID != h.b || !(p.Leaderboard[0].Score > p.Leaderboard[1].Score) {
		t.Errorf("leaderboard = %+v, want model-a then model-b", p.Leaderboard)
	}
	if l := p.Leaderboard[0]; !(l.CILow <= l.Score && l.Score <= l.CIHigh) {
		t.Errorf("leader's interval %v–%v does not hold its score %v", l.CILow, l.CIHigh, l.Score)
	}

	// A second finalizer of the same round loses and writes nothing.
	if _, first, err := h.s.Finalize(ctx, r, run.StatusPartial, "", analytics.RankRun); err != nil || first {
		t.Fatalf("finalize again: first=%v err=%v", first, err)
	}
	if n := len(eventsOf(t, pool, "run_id", r.ID)); n != 1 {
		t.Errorf("%d events after a repeated finalize, want 1", n)
	}

	// A cancelled run with nothing ranked says so with an empty leaderboard.
	c := h.runAs(t, time.Now().Add(-30*time.Minute).UTC(), run.StatusCancelled, func(uuid.UUID, int, int) unit { return unit{cancelled: true} })
	evs = eventsOf(t, pool, "run_id", c.ID)
	if len(evs) != 1 || evs[0].Type != notify.RunCancelled {
		t.Fatalf("events of the cancelled run = %+v", evs)
	}
	var cp map[string]any
	if err := json.Unmarshal(evs[0].Payload, &cp); err != nil {
		t.Fatal(err)
	}
	if _, ok := cp["leaderboard"].([]any); !ok {
		t.Errorf("leaderboard = %v, want a JSON array", cp["leaderboard"])
	}
}

// TestStore_FailRunWritesRunEvent: a run closed as failed before it
// started (its task could not be queued) is announced like any other
// failed run, once, with the reason, even when it is closed twice.
func TestStore_FailRunWritesRunEvent(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	h := newHistory(t, pool)
	ctx := context.Background()
	r, err := h.s.CreateRun(ctx, store.NewRun{BenchmarkID: h.benchmark.ID, Trigger: run.TriggerAPI})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := h.s.FailRun(ctx, r, "could not enqueue: redis down"); err != nil {
			t.Fatal(err)
		}
	}
	evs := eventsOf(t, pool, "run_id", r.ID)
	if len(evs) != 1 || evs[0].Type != notify.RunFailed {
		t.Fatalf("events %+v, want one run.failed", evs)
	}
	var p notify.RunFinished
	if err := json.Unmarshal(evs[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != "failed" || p.Reason != "could not enqueue: redis down" {
		t.Errorf("payload = %+v, want failed with the reason", p)
	}
}

package run_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// TestTracker_RecordCall: a call's cost reaches the run's spend in the same
// round trip as the record, and again when the unit was recorded already
// (the second call was paid for too), while the unit counts once.
func TestTracker_RecordCall(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.Redis(t)
	tr := run.NewTracker(rdb)
	id := uuid.Must(uuid.NewV7())

	done, first, err := tr.RecordCall(ctx, id, 3, run.ExecSucceeded, 0.25)
	if err != nil || !first || done != 1 {
		t.Fatalf("first record: done=%d first=%v err=%v, want 1 true nil", done, first, err)
	}
	done, first, err = tr.RecordCall(ctx, id, 3, run.ExecSucceeded, 0.5)
	if err != nil || first || done != 0 {
		t.Fatalf("second record of one unit: done=%d first=%v err=%v, want 0 false nil", done, first, err)
	}
	spend, ok, err := tr.Spend(ctx, id)
	if err != nil || !ok || spend != 0.75 {
		t.Fatalf("spend = %v (held %v, err %v), want 0.75", spend, ok, err)
	}
	if ttl := rdb.TTL(ctx, run.SpendKey(id)).Val(); ttl <= 0 {
		t.Fatalf("spend key has TTL %v, want an expiry", ttl)
	}
	p, ok, err := tr.Progress(ctx, id)
	if err != nil || !ok || p.Succeeded != 1 {
		t.Fatalf("progress = %+v (held %v, err %v), want 1 succeeded", p, ok, err)
	}

	// A free call (or a unit recorded without a call) writes no spend.
	other := uuid.Must(uuid.NewV7())
	if _, _, err := tr.RecordCall(ctx, other, 0, run.ExecFailed, 0); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Get(ctx, run.SpendKey(other)).Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("spend key of a run without cost: err %v, want redis.Nil", err)
	}
}

// TestTracker_RecordAnswer: a judged answer counts once as recorded and
// once as waiting for its verdict, however often it is recorded, each
// call's cost reaches the spend, and the run is complete only when every
// waiting unit is judged.
func TestTracker_RecordAnswer(t *testing.T) {
	ctx := context.Background()
	rdb := testenv.Redis(t)
	tr := run.NewTracker(rdb)
	id := uuid.Must(uuid.NewV7())

	st, err := tr.RecordAnswer(ctx, id, 0, 0.25)
	if err != nil || st != (run.JudgeState{Done: 1, Needs: 1}) {
		t.Fatalf("first answer: %+v, %v; want done 1, needs 1", st, err)
	}
	st, err = tr.RecordAnswer(ctx, id, 0, 0.5)
	if err != nil || st != (run.JudgeState{Done: 1, Needs: 1}) {
		t.Fatalf("the same answer again: %+v, %v; want it counted once", st, err)
	}
	if _, _, err := tr.RecordCall(ctx, id, 1, run.ExecFailed, 0); err != nil {
		t.Fatal(err)
	}
	if st, err = tr.JudgeState(ctx, id); err != nil || st.Complete(2) {
		t.Fatalf("all answered, none judged: %+v complete, %v; want incomplete", st, err)
	}
	if st, err = tr.RecordJudged(ctx, id, 0, 1, false); err != nil || !st.Complete(2) {
		t.Fatalf("after the verdict: %+v, %v; want complete", st, err)
	}
	spend, ok, err := tr.Spend(ctx, id)
	if err != nil || !ok || spend != 0.75 {
		t.Fatalf("spend = %v (held %v, err %v), want 0.75: both calls were paid for", spend, ok, err)
	}
	p, ok, err := tr.Progress(ctx, id)
	if err != nil || !ok || p.Succeeded != 1 || p.Failed != 1 {
		t.Fatalf("progress = %+v (held %v, err %v), want 1 succeeded, 1 failed", p, ok, err)
	}
}

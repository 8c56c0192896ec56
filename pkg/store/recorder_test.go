package store_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// recorderRun creates a run of the history's benchmark (2 models × 4
// questions × 2 samples) and returns it with one execution per unit.
func recorderRun(t *testing.T, h *history) (*run.Run, []*run.Execution) {
	t.Helper()
	ctx := context.Background()
	r, err := h.s.CreateRun(ctx, store.NewRun{BenchmarkID: h.benchmark.ID, Trigger: run.TriggerAPI})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := h.s.LoadSnapshot(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var es []*run.Execution
	for _, m := range snap.Models {
		for _, q := range snap.Questions {
			for sample := range r.Samples {
				es = append(es, &run.Execution{
					RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: m.ModelID,
					QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Sample: sample, Category: q.Category,
					Status: run.ExecSucceeded, FinishedAt: time.Now(),
					Evaluation: run.Scored("contains", true, 1, ""),
				})
			}
		}
	}
	return r, es
}

// TestStore_RecordExecutionsAllOrNothing: a batch with a row PostgreSQL
// refuses writes none of its rows and says so for each.
func TestStore_RecordExecutionsAllOrNothing(t *testing.T) {
	t.Parallel()
	eachConnection(t, func(t *testing.T, pool *pgxpool.Pool) {
		ctx := context.Background()
		h := newHistory(t, pool)
		r, es := recorderRun(t, h)
		bad := *es[3]
		bad.Status = "bogus"
		batch := []*run.Execution{es[0], es[1], &bad, es[2]}
		inserted := make([]bool, len(batch))
		err := h.s.RecordExecutions(ctx, batch, inserted)
		if err == nil || !strings.Contains(err.Error(), "check constraint") {
			t.Fatalf("batch with a bad status: err %v, want a check constraint violation", err)
		}
		for i, ok := range inserted {
			if ok {
				t.Errorf("inserted[%d] = true after a failed batch", i)
			}
		}
		if c, err := h.s.Counts(ctx, r); err != nil || c.Succeeded != 0 {
			t.Fatalf("counts after a failed batch: %+v, %v; want nothing recorded", c, err)
		}

		batch[2] = es[3]
		if err := h.s.RecordExecutions(ctx, batch, inserted); err != nil {
			t.Fatal(err)
		}
		for i, ok := range inserted {
			if !ok {
				t.Errorf("inserted[%d] = false for a new unit", i)
			}
		}
		if err := h.s.RecordExecutions(ctx, batch[1:3], inserted[:2]); err != nil || inserted[0] || inserted[1] {
			t.Fatalf("recording twice: inserted %v, err %v; want false false nil", inserted[:2], err)
		}
	})
}

// TestRecorder_ConcurrentCallsRecordOnce: many goroutines recording the
// same units through one Recorder get exactly one "inserted" per unit, a
// bad row fails only its own caller, and after Close calls still write.
func TestRecorder_ConcurrentCallsRecordOnce(t *testing.T) {
	t.Parallel()
	eachConnection(t, func(t *testing.T, pool *pgxpool.Pool) {
		ctx := context.Background()
		h := newHistory(t, pool)
		r, es := recorderRun(t, h)
		var largest atomic.Int64
		rec := store.NewRecorder(h.s, store.RecorderConfig{Writers: 2, MaxBatch: 8, Linger: 2 * time.Millisecond, OnBatch: func(size int, _ time.Duration) {
			if int64(size) > largest.Load() {
				largest.Store(int64(size))
			}
			if size > 8 {
				t.Errorf("batch of %d, over MaxBatch 8", size)
			}
		}})

		last := es[len(es)-1]
		es = es[:len(es)-1]
		bad := *es[0]
		bad.Status = "bogus"
		const copies = 6
		insertedBy := make([]int, len(es))
		var (
			mu     sync.Mutex
			wg     sync.WaitGroup
			badErr error
		)
		for c := range copies {
			for i, e := range es {
				wg.Go(func() {
					ok, err := rec.RecordExecution(ctx, e)
					if err != nil {
						t.Errorf("unit %d copy %d: %v", i, c, err)
						return
					}
					if ok {
						mu.Lock()
						insertedBy[i]++
						mu.Unlock()
					}
				})
			}
		}
		wg.Go(func() { _, badErr = rec.RecordExecution(ctx, &bad) })
		wg.Wait()
		for i, n := range insertedBy {
			if n != 1 {
				t.Errorf("unit %d reported inserted %d times, want once", i, n)
			}
		}
		if largest.Load() < 2 {
			t.Errorf("largest batch %d: %d concurrent calls were never batched", largest.Load(), copies*len(es)+1)
		}
		if badErr == nil || !strings.Contains(badErr.Error(), "check constraint") {
			t.Errorf("bad row: err %v, want its check constraint violation", badErr)
		}

		rec.Close()
		if ok, err := rec.RecordExecution(ctx, last); err != nil || !ok {
			t.Fatalf("after Close: inserted %v, err %v; want a direct write", ok, err)
		}
		c, err := h.s.Counts(ctx, r)
		if err != nil || c.Succeeded != len(es)+1 {
			t.Fatalf("counts %+v, %v; want %d units recorded", c, err, len(es)+1)
		}
	})
}

// TestRecorder_EvaluationsBatchedOnce: verdicts recorded concurrently
// through a Recorder, several per unit (duplicated judge tasks with
// different verdicts), are stored once per key, the one stored becomes the
// unit's effective verdict when the run's verdicts are applied, and a unit
// a person reviewed keeps the reviewer's verdict.
func TestRecorder_EvaluationsBatchedOnce(t *testing.T) {
	t.Parallel()
	eachConnection(t, func(t *testing.T, pool *pgxpool.Pool) {
		ctx := context.Background()
		h := newHistory(t, pool)
		r, es := recorderRun(t, h)
		for _, e := range es {
			e.Evaluation = nil // judged: the answer is recorded without a verdict
			if _, err := h.s.RecordExecution(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		reviewed := es[0]
		id := run.ExecutionID{RunID: r.ID, ModelID: reviewed.ModelID, QuestionID: reviewed.QuestionID, Sample: reviewed.Sample}
		if _, err := h.s.ReviewExecution(ctx, id, run.Review{Passed: false, Reviewer: "test"}); err != nil {
			t.Fatalf("human review: %v", err)
		}

		var largest atomic.Int64
		rec := store.NewRecorder(h.s, store.RecorderConfig{Writers: 2, MaxBatch: 8, Linger: 2 * time.Millisecond, OnBatch: func(size int, _ time.Duration) {
			if int64(size) > largest.Load() {
				largest.Store(int64(size))
			}
		}})
		defer rec.Close()
		const copies = 4
		type won struct{ copy, n int }
		winners := make([]won, len(es))
		var mu sync.Mutex
		var wg sync.WaitGroup
		for c := range copies {
			for i, e := range es {
				wg.Go(func() {
					// Copy c passes iff c is even: duplicates disagree.
					ev := run.Scored("llm_judge", c%2 == 0, float64(c%2^1), "")
					k := run.UnitKey{ModelID: e.ModelID, QuestionID: e.QuestionID, Sample: e.Sample}
					ok, err := rec.RecordEvaluation(ctx, r, k, ev)
					if err != nil {
						t.Errorf("unit %d copy %d: %v", i, c, err)
						return
					}
					if ok {
						mu.Lock()
						winners[i] = won{copy: c, n: winners[i].n + 1}
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		if largest.Load() < 2 {
			t.Errorf("largest batch %d: %d concurrent verdicts were never batched", largest.Load(), copies*len(es))
		}
		if err := h.s.ApplyVerdicts(ctx, r); err != nil {
			t.Fatal(err)
		}
		for i, e := range es {
			if winners[i].n != 1 {
				t.Errorf("unit %d: inserted %d times, want once", i, winners[i].n)
				continue
			}
			var n int
			var passed *bool
			if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM evaluations v WHERE v.run_id = e.run_id AND v.model_id = e.model_id
			        AND v.question_id = e.question_id AND v.sample = e.sample AND v.scorer = 'llm_judge'), e.passed
			    FROM executions e WHERE e.run_id = $1 AND e.model_id = $2 AND e.question_id = $3 AND e.sample = $4`,
				r.ID, e.ModelID, e.QuestionID, e.Sample).Scan(&n, &passed); err != nil {
				t.Fatal(err)
			}
			want := winners[i].copy%2 == 0
			if e == reviewed {
				want = false // the reviewer's
			}
			if n != 1 || passed == nil || *passed != want {
				t.Errorf("unit %d: %d judge evaluations, effective passed %v; want 1, %v", i, n, passed, want)
			}
		}
	})
}

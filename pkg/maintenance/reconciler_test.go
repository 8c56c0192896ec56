package maintenance

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

func TestReconciler_StartsRunWithNoTask(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{})
	f := b.seed(t, []string{"mock-perfect"}, 5, catalog.BenchmarkConfig{Samples: 2})
	r := b.commitRun(t, f)
	b.startWorker(t, 4)
	_, log := b.startReconciler(t, Config{})

	fin := b.waitFinal(t, r.ID)
	if fin.Status != run.StatusCompleted {
		t.Fatalf("status %s (%s), want completed", fin.Status, fin.Error)
	}
	if execs, distinct, evals := b.rows(t, r.ID); execs != 10 || distinct != 10 || evals != 10 {
		t.Errorf("executions=%d distinct=%d evaluations=%d, want 10 each", execs, distinct, evals)
	}
	if !strings.Contains(log.String(), "type=run:start") {
		t.Errorf("the reconciler did not say it enqueued run:start:\n%s", log.String())
	}
}

func TestReconciler_FlushDBMidRun(t *testing.T) {
	t.Parallel()
	const concurrency, total = 4, 60
	b := setup(t, mockllm.Config{Latency: 100 * time.Millisecond})
	f := b.seed(t, []string{"mock-perfect"}, 30, catalog.BenchmarkConfig{Samples: 2})
	r := b.commitRun(t, f)
	if err := run.Enqueue(context.Background(), b.client, run.NewStartTask(context.Background(), r.ID)); err != nil {
		t.Fatal(err)
	}
	b.startWorker(t, concurrency)
	_, log := b.startReconciler(t, Config{})

	testenv.WaitFor(t, "a fifth of the units recorded", 30*time.Second, func() bool {
		execs, _, _ := b.rows(t, r.ID)
		return execs >= total/5
	})
	before := b.mock.Server.Requests()
	if err := b.rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	fin := b.waitFinal(t, r.ID)
	if fin.Status != run.StatusCompleted {
		t.Fatalf("status %s (%s), want completed", fin.Status, fin.Error)
	}
	if execs, distinct, evals := b.rows(t, r.ID); execs != total || distinct != total || evals != total {
		t.Errorf("executions=%d distinct=%d evaluations=%d, want %d each", execs, distinct, evals, total)
	}
	// Only the calls in flight when Redis was emptied can be made twice.
	if calls := b.mock.Server.Requests(); calls > total+concurrency {
		t.Errorf("provider calls = %d, want at most %d (flushed with %d calls made)", calls, total+concurrency, before)
	}
	if !strings.Contains(log.String(), "redis lost its state") {
		t.Errorf("the reconciler did not restore the run:\n%s", log.String())
	}
	t.Logf("calls before the flush %d, after the run %d", before, b.mock.Server.Requests())
}

func TestReconciler_ArchivedUnitRecordedFailed(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{})
	f := b.seed(t, []string{"mock-perfect"}, 3, catalog.BenchmarkConfig{})
	r := b.commitRun(t, f)
	queue := run.UnitQueue(r)
	// Units 1 and 2's tasks are archived, as asynq does when their retries
	// are used up; run:start's enqueue of those units is then a no-op, by
	// task id.
	insp := asynq.NewInspectorFromRedisClient(b.rdb)
	for _, unit := range []int{1, 2} {
		if err := run.Enqueue(context.Background(), b.client, run.NewExecuteTask(context.Background(), r.ID, unit, queue)); err != nil {
			t.Fatal(err)
		}
		if err := insp.ArchiveTask(queue, run.ExecuteTaskID(r.ID, unit)); err != nil {
			t.Fatal(err)
		}
	}
	id := run.ExecuteTaskID(r.ID, 1)
	if err := run.Enqueue(context.Background(), b.client, run.NewStartTask(context.Background(), r.ID)); err != nil {
		t.Fatal(err)
	}
	b.startWorker(t, 4)
	_, log := b.startReconciler(t, Config{})

	fin := b.waitFinal(t, r.ID)
	if fin.Status != run.StatusPartial || fin.Progress.Failed != 2 || fin.Progress.Succeeded != 1 {
		t.Fatalf("run %s %+v (%s), want partial with 2 failed and 1 succeeded", fin.Status, fin.Progress, fin.Error)
	}
	// Said once for the run, not once per unit.
	if n := strings.Count(log.String(), "archived units recorded failed"); n != 1 || !strings.Contains(log.String(), "units=2") {
		t.Errorf("logged %d times, want once for both units:\n%s", n, log.String())
	}
	var status, msg string
	err := b.pool.QueryRow(context.Background(),
		`SELECT status, coalesce(error, '') FROM executions WHERE run_id = $1 AND question_id = $2`, r.ID, f.questions[1].ID).Scan(&status, &msg)
	if err != nil {
		t.Fatal(err)
	}
	if status != "failed" || !strings.Contains(msg, "archived") {
		t.Errorf("unit 1: %s %q, want failed saying it was archived", status, msg)
	}
	if _, err := insp.GetTaskInfo(queue, id); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("archived task still there: %v", err)
	}
}

func TestReconciler_PastDeadlineSkipsMissingUnits(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{})
	f := b.seed(t, []string{"mock-perfect", "mock-weak"}, 3, catalog.BenchmarkConfig{Samples: 2, TimeoutSeconds: 3600})
	r := b.commitRun(t, f)
	// One unit ran; the others never will (no run:start, and the queued
	// grace keeps the reconciler from starting it).
	snap, err := b.store.LoadSnapshot(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	q := snap.Questions[0]
	if _, err := b.store.RecordExecution(context.Background(), &run.Execution{
		RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: snap.Models[0].ModelID,
		QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Category: q.Category, Status: run.ExecSucceeded,
		FinishedAt: time.Now(), Evaluation: run.Scored("numeric", true, 1, ""),
	}); err != nil {
		t.Fatal(err)
	}
	b.startWorker(t, 2)
	rec, _ := b.reconciler(t, Config{QueuedGrace: time.Hour})
	// The reconciler's clock is past the run's one-hour deadline.
	rec.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := rec.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Stop)

	fin := b.waitFinal(t, r.ID)
	const total = 2 * 3 * 2
	if fin.Status != run.StatusPartial || fin.Progress.Skipped != total-1 || fin.Progress.Succeeded != 1 {
		t.Fatalf("run %s %+v, want partial with %d skipped and 1 succeeded", fin.Status, fin.Progress, total-1)
	}
	if !strings.Contains(fin.Error, "deadline") {
		t.Errorf("reason %q does not name the deadline", fin.Error)
	}
	if got := b.statuses(t, r.ID); got["skipped"] != total-1 || got["succeeded"] != 1 {
		t.Errorf("executions by status %v", got)
	}
	if calls := b.mock.Server.Requests(); calls != 0 {
		t.Errorf("provider called %d times for a run past its deadline", calls)
	}
}

func TestReconciler_LeaseOnePassAtATime(t *testing.T) {
	t.Parallel()
	t.Run("Blocked", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mockllm.Config{})
		r1, _ := b.reconciler(t, Config{LeaseTTL: 300 * time.Millisecond})
		r2, _ := b.reconciler(t, Config{LeaseTTL: 300 * time.Millisecond})
		entered, release := make(chan struct{}), make(chan struct{})
		r1.onLocked = func() { close(entered); <-release }
		done := make(chan bool)
		go func() {
			ok, err := r1.pass(context.Background())
			if err != nil {
				t.Error(err)
			}
			done <- ok
		}()
		<-entered
		// r1 holds the lease for longer than its TTL: it extends it, so r2
		// never gets it.
		deadline := time.Now().Add(4 * 300 * time.Millisecond)
		tries := 0
		for time.Now().Before(deadline) {
			ok, err := r2.pass(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				t.Fatal("a second reconciler took the lease while the first held it")
			}
			tries++
			time.Sleep(20 * time.Millisecond)
		}
		close(release)
		if !<-done {
			t.Fatal("the first reconciler did not hold the lease")
		}
		if ok, err := r2.pass(context.Background()); err != nil || !ok {
			t.Fatalf("after release: ok=%v err=%v, want the lease", ok, err)
		}
		if r1.passes.Load() != 1 || r2.passes.Load() != 1 {
			t.Errorf("passes %d and %d after %d blocked tries, want 1 each", r1.passes.Load(), r2.passes.Load(), tries)
		}
	})
	t.Run("Loops", func(t *testing.T) {
		t.Parallel()
		b := setup(t, mockllm.Config{})
		var active, overlaps atomic.Int64
		hook := func() {
			if active.Add(1) > 1 {
				overlaps.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
			active.Add(-1)
		}
		var recs []*Reconciler
		for range 2 {
			r, _ := b.reconciler(t, Config{Interval: 5 * time.Millisecond})
			r.onLocked = hook
			recs = append(recs, r)
		}
		var wg sync.WaitGroup
		for _, r := range recs {
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := r.Start(context.Background()); err == nil {
				t.Error("a second Start succeeded")
			}
		}
		testenv.WaitFor(t, "40 passes", 20*time.Second, func() bool { return recs[0].passes.Load()+recs[1].passes.Load() >= 40 })
		for _, r := range recs {
			wg.Go(func() { r.Stop(); r.Stop() })
		}
		wg.Wait()
		if n := overlaps.Load(); n != 0 {
			t.Errorf("%d passes overlapped another", n)
		}
		after := recs[0].passes.Load() + recs[1].passes.Load()
		time.Sleep(30 * time.Millisecond)
		if now := recs[0].passes.Load() + recs[1].passes.Load(); now != after {
			t.Errorf("passes went on after Stop: %d, then %d", after, now)
		}
	})
}

func TestReconciler_StalledRunRestarted(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{})
	f := b.seed(t, []string{"mock-perfect"}, 4, catalog.BenchmarkConfig{})
	r := b.commitRun(t, f)
	// Redis has kept its state (the epoch is there), but unit 0's task is
	// lost once run:start has enqueued it.
	if err := b.rdb.Set(context.Background(), epochKey, 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.newHandlers(t).HandleStart(context.Background(), run.NewStartTask(context.Background(), r.ID)); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(b.rdb)
	if err := insp.DeleteTask(run.UnitQueue(r), run.ExecuteTaskID(r.ID, 0)); err != nil {
		t.Fatal(err)
	}
	b.startWorker(t, 1)
	_, log := b.startReconciler(t, Config{Stall: 300 * time.Millisecond})

	fin := b.waitFinal(t, r.ID)
	if fin.Status != run.StatusCompleted {
		t.Fatalf("status %s (%s), want completed", fin.Status, fin.Error)
	}
	if execs, distinct, evals := b.rows(t, r.ID); execs != 4 || distinct != 4 || evals != 4 {
		t.Errorf("executions=%d distinct=%d evaluations=%d, want 4 each", execs, distinct, evals)
	}
	if !strings.Contains(log.String(), "progress stalled") || strings.Contains(log.String(), "redis lost") {
		t.Errorf("want a restore for a stall only:\n%s", log.String())
	}
}

func TestReconciler_RestoreSpend(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{})
	f := b.seed(t, []string{"mock-perfect"}, 2, catalog.BenchmarkConfig{})
	r := b.commitRun(t, f)
	snap, err := b.store.LoadSnapshot(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range snap.Questions {
		if _, err := b.store.RecordExecution(context.Background(), &run.Execution{
			RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: snap.Models[0].ModelID,
			QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Category: q.Category, Status: run.ExecSucceeded,
			FinishedAt: time.Now(), CostUSD: 0.25 * float64(i+1),
		}); err != nil {
			t.Fatal(err)
		}
	}
	rec, _ := b.reconciler(t, Config{})
	spend := func() float64 {
		v, _, err := b.tracker.Spend(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name string
		have float64
		set  bool
		want float64
	}{
		{"Missing", 0, false, 0.75},
		{"Lower", 0.5, true, 0.75},
		{"Higher", 2, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = b.rdb.Del(context.Background(), run.SpendKey(r.ID)).Err()
			if tc.set {
				if err := b.tracker.AddSpend(context.Background(), r.ID, tc.have); err != nil {
					t.Fatal(err)
				}
			}
			if err := rec.restoreSpend(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if got := spend(); got != tc.want {
				t.Errorf("spend %v, want %v", got, tc.want)
			}
		})
	}
}

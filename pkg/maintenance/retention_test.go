package maintenance

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

func TestReconciler_Retention(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{})
	f := b.seed(t, []string{"mock-strong", "mock-weak"}, 4, catalog.BenchmarkConfig{Samples: 2})
	const total = 2 * 4 * 2
	b.startWorker(t, 8)
	ctx := context.Background()
	runToEnd := func() *run.Run {
		r := b.commitRun(t, f)
		if err := run.Enqueue(ctx, b.client, run.NewStartTask(ctx, r.ID)); err != nil {
			t.Fatal(err)
		}
		return b.waitFinal(t, r.ID)
	}
	old := runToEnd()
	// An unfinished run as old as the old one keeps its rows.
	unfinished := b.commitRun(t, f)
	snap, err := b.store.LoadSnapshot(ctx, unfinished.ID)
	if err != nil {
		t.Fatal(err)
	}
	q := snap.Questions[0]
	if _, err := b.store.RecordExecution(ctx, &run.Execution{
		RunID: unfinished.ID, RunCreatedAt: unfinished.CreatedAt, BenchmarkID: unfinished.BenchmarkID, ModelID: snap.Models[0].ModelID,
		QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Category: q.Category, Status: run.ExecSucceeded,
		FinishedAt: time.Now(), Evaluation: run.Scored("numeric", true, 1, ""),
	}); err != nil {
		t.Fatal(err)
	}
	recent := runToEnd()
	oldRanks, err := b.store.Rankings(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}

	// With a day's retention and a clock a day after the recent run was
	// created, only what came before it is old.
	rec, _ := b.reconciler(t, Config{Retention: 24 * time.Hour, RetentionBatch: 5})
	rec.now = func() time.Time { return recent.CreatedAt.Add(24 * time.Hour) }
	res, err := rec.retain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Evaluations != total || res.Executions != total || res.More {
		t.Fatalf("deleted %+v, want %d evaluations and %d executions", res, total, total)
	}
	// 16 rows of each in batches of 5: 4 batches each.
	if res.Batches != 8 {
		t.Errorf("%d batches, want 8", res.Batches)
	}
	if execs, _, evals := b.rows(t, old.ID); execs != 0 || evals != 0 {
		t.Errorf("old run keeps %d executions and %d evaluations", execs, evals)
	}
	if execs, _, evals := b.rows(t, recent.ID); execs != total || evals != total {
		t.Errorf("recent run has %d executions and %d evaluations, want %d", execs, evals, total)
	}
	if execs, _, evals := b.rows(t, unfinished.ID); execs != 1 || evals != 1 {
		t.Errorf("unfinished run has %d executions and %d evaluations, want 1", execs, evals)
	}

	// What comparisons read survives: the outcomes and the rankings.
	outs, err := b.store.Outcomes(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2*4 {
		t.Fatalf("%d outcomes, want one per model and question (8)", len(outs))
	}
	samples, correct := 0, 0
	for _, o := range outs {
		samples += o.Samples
		correct += o.Correct
		if o.Samples != 2 || o.Succeeded != 2 || o.MeanLatencyMs == nil || o.CostUSD <= 0 || o.Category == "" || o.RunCreatedAt.IsZero() {
			t.Errorf("outcome %+v", o)
		}
	}
	ranks, err := b.store.Rankings(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	rankCorrect := 0
	for _, e := range ranks.Overall {
		rankCorrect += e.Correct
	}
	if samples != total || correct != rankCorrect || len(ranks.Overall) != len(oldRanks.Overall) || !reflect.DeepEqual(ranks.Overall[0], oldRanks.Overall[0]) {
		t.Errorf("outcomes: %d samples %d correct; rankings now %+v, before %+v", samples, correct, ranks.Overall, oldRanks.Overall)
	}

	t.Run("BoundedPerPass", func(t *testing.T) {
		rec, _ := b.reconciler(t, Config{Retention: time.Nanosecond, RetentionBatch: 3, RetentionBatchesPerPass: 2})
		res, err := rec.retain(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !res.More || res.Batches != 2 || res.Evaluations != 6 {
			t.Errorf("first pass %+v, want 2 batches of 3 evaluations and more to do", res)
		}
		for res.More {
			if res, err = rec.retain(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if execs, _, evals := b.rows(t, recent.ID); execs != 0 || evals != 0 {
			t.Errorf("recent run keeps %d executions and %d evaluations", execs, evals)
		}
	})
}

func TestReconciler_AuditRetention(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{})
	ctx := context.Background()
	now := time.Now()
	for i := range 7 {
		at := now.Add(-400*24*time.Hour + time.Duration(i)*time.Minute)
		if i >= 5 {
			at = now.Add(-time.Duration(i) * time.Hour)
		}
		if err := b.store.InsertAudit(ctx, audit.Event{Time: at, Action: audit.ActionAuthFailure, ResourceType: audit.ResourceRoute, Outcome: audit.OutcomeDenied}); err != nil {
			t.Fatal(err)
		}
	}
	// Raw-row retention off: only the audit steps run.
	rec, _ := b.reconciler(t, Config{AuditRetention: 365 * 24 * time.Hour, RetentionBatch: 2})
	res, err := rec.retain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Audit != 5 || res.Batches != 3 || res.Evaluations != 0 || res.Executions != 0 || res.More {
		t.Errorf("retention %+v, want 5 audit rows in 3 batches", res)
	}
	left, err := b.store.ListAudit(ctx, store.AuditFilter{}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Items) != 2 {
		t.Errorf("%d audit rows left, want the 2 recent", len(left.Items))
	}
}

// TestReconciler_RefreshesRollups: a pass brings the time-series rollups up
// to date with the runs finished since the last one, and a second pass has
// nothing left to do.
func TestReconciler_RefreshesRollups(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{})
	f := b.seed(t, []string{"mock-strong", "mock-weak"}, 3, catalog.BenchmarkConfig{Samples: 2})
	b.startWorker(t, 4)
	ctx := context.Background()
	r := b.commitRun(t, f)
	if err := run.Enqueue(ctx, b.client, run.NewStartTask(ctx, r.ID)); err != nil {
		t.Fatal(err)
	}
	fin := b.waitFinal(t, r.ID)
	q := analytics.RollupQuery{BenchmarkID: fin.BenchmarkID, Bucket: analytics.Day,
		From: analytics.Day.Start(fin.CreatedAt), To: analytics.Day.Next(analytics.Day.Start(fin.CreatedAt))}
	rows, err := b.store.Rollups(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 0 {
		t.Fatalf("%d rollup rows before a maintenance pass, want 0", len(rows))
	}
	rec, _ := b.reconciler(t, Config{})
	if held, err := rec.pass(ctx); err != nil || !held {
		t.Fatalf("pass: held=%v err=%v", held, err)
	}
	rows, err = b.store.Rollups(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	units := int64(0)
	for _, row := range rows {
		units += row.N
	}
	if len(rows) != 2 || units != int64(fin.Total()) {
		t.Fatalf("after a pass: %d rows covering %d units, want 2 models covering %d", len(rows), units, fin.Total())
	}
	res, err := b.store.RefreshRollups(ctx)
	if err != nil || res.Runs != 0 {
		t.Fatalf("refresh after the pass: %+v, %v; want nothing left", res, err)
	}
}

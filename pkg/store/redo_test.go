package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// overall returns the run's overall ranking entry of a model.
func overall(t *testing.T, s *store.Store, runID, model uuid.UUID) analytics.Entry {
	t.Helper()
	rk, err := s.Rankings(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rk.Overall {
		if e.ModelID == model {
			return e
		}
	}
	t.Fatalf("model %s not ranked", model)
	return analytics.Entry{}
}

// questionStatRuns sums how many runs the benchmark's weekly question
// tallies count, and their units.
func questionStatRuns(t *testing.T, pool *pgxpool.Pool, benchmarkID uuid.UUID) (runs, n int) {
	t.Helper()
	err := pool.QueryRow(context.Background(),
		`SELECT coalesce(sum(runs), 0)::int, coalesce(sum(n), 0)::int FROM question_stats WHERE benchmark_id = $1 AND period = 'week'`,
		benchmarkID).Scan(&runs, &n)
	if err != nil {
		t.Fatal(err)
	}
	return runs, n
}

func TestStore_ReviewExecution(t *testing.T) {
	t.Parallel()
	testenv.OnEachStorage(t, testReviewExecution)
}

func testReviewExecution(t *testing.T, pool *pgxpool.Pool) {
	h := newHistory(t, pool)
	ctx := audit.WithActor(context.Background(), audit.Actor{TokenName: "alice"})
	at := time.Now().Add(-time.Hour).UTC()
	// Model a passes everything; model b fails everything, and its last
	// unit failed for good.
	r := h.run(t, at, func(m uuid.UUID, q, sample int) unit {
		return unit{passed: m == h.a, failed: m == h.b && q == 3 && sample == 1, latencyMs: 10}
	})
	if got := overall(t, h.s, r.ID, h.b).Correct; got != 0 {
		t.Fatalf("model b correct before review = %d", got)
	}
	runsBefore, nBefore := questionStatRuns(t, pool, h.benchmark.ID)
	id := run.ExecutionID{RunID: r.ID, ModelID: h.b, QuestionID: h.questions[0].ID, Sample: 0}

	t.Run("OK", func(t *testing.T) {
		ev, err := h.s.ReviewExecution(ctx, id, run.Review{Passed: true, Note: "the answer is right", Reviewer: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if ev.Scorer != "human" || ev.Passed == nil || !*ev.Passed || ev.Score == nil || *ev.Score != 1 || ev.Version != 1 ||
			ev.Reviewer != "alice" || ev.Note != "the answer is right" {
			t.Fatalf("evaluation %+v", ev)
		}
		// The rankings use the human verdict; the tallies count the run once.
		if got := overall(t, h.s, r.ID, h.b).Correct; got != 1 {
			t.Errorf("model b correct after review = %d, want 1", got)
		}
		if runs, n := questionStatRuns(t, pool, h.benchmark.ID); runs != runsBefore || n != nBefore {
			t.Errorf("question tallies runs=%d n=%d, want %d %d", runs, n, runsBefore, nBefore)
		}
		// The machine's evaluation stays as it was.
		var scorer string
		var passed bool
		if err := pool.QueryRow(ctx, `SELECT scorer, passed FROM evaluations WHERE run_id = $1 AND model_id = $2 AND question_id = $3 AND sample = 0 AND scorer <> 'human'`,
			r.ID, h.b, h.questions[0].ID).Scan(&scorer, &passed); err != nil || passed {
			t.Errorf("machine evaluation %s passed=%v err=%v, want kept as failed", scorer, passed, err)
		}
		// Audited, in the same transaction, under the reviewer's token.
		var actor, reason string
		if err := pool.QueryRow(ctx, `SELECT token_name, reason FROM audit_log WHERE action = $1 AND resource_id = $2`,
			audit.ActionExecutionReview, id.String()).Scan(&actor, &reason); err != nil || actor != "alice" || !strings.Contains(reason, "passed") {
			t.Errorf("audit actor=%q reason=%q err=%v", actor, reason, err)
		}
	})
	t.Run("SecondReviewIsNewVersion", func(t *testing.T) {
		half := 0.5
		ev, err := h.s.ReviewExecution(ctx, id, run.Review{Passed: false, Score: &half, Reviewer: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if ev.Version != 2 || *ev.Passed || *ev.Score != 0.5 {
			t.Fatalf("evaluation %+v, want version 2 failed 0.5", ev)
		}
		if got := overall(t, h.s, r.ID, h.b).Correct; got != 0 {
			t.Errorf("model b correct after second review = %d, want 0", got)
		}
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM evaluations WHERE run_id = $1 AND scorer = 'human'`, r.ID).Scan(&n); err != nil || n != 2 {
			t.Errorf("human evaluations = %d (%v), want 2", n, err)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		failed := run.ExecutionID{RunID: r.ID, ModelID: h.b, QuestionID: h.questions[3].ID, Sample: 1}
		if _, err := h.s.ReviewExecution(ctx, failed, run.Review{Passed: true, Reviewer: "alice"}); fault.KindOf(err) != fault.KindConflict {
			t.Fatalf("review of a failed unit: %v, want conflict", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, bad := range []run.ExecutionID{{RunID: uuid.New(), ModelID: h.a, QuestionID: h.questions[0].ID}, {RunID: r.ID, ModelID: uuid.New(), QuestionID: h.questions[0].ID}} {
			if _, err := h.s.ReviewExecution(ctx, bad, run.Review{Passed: true, Reviewer: "alice"}); fault.KindOf(err) != fault.KindNotFound {
				t.Errorf("review of %+v: %v, want not found", bad, err)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		two := 2.0
		for _, in := range []run.Review{
			{Passed: true, Reviewer: "alice", Note: strings.Repeat("é", run.MaxReviewNote+1)},
			{Passed: true, Reviewer: "alice", Score: &two},
		} {
			if _, err := h.s.ReviewExecution(ctx, id, in); fault.KindOf(err) != fault.KindInvalid {
				t.Errorf("review %+v: %v, want invalid", in, err)
			}
		}
	})
}

func TestStore_StartRetry(t *testing.T) {
	t.Parallel()
	testenv.OnEachStorage(t, testStartRetry)
}

func testStartRetry(t *testing.T, pool *pgxpool.Pool) {
	h := newHistory(t, pool)
	ctx := context.Background()
	at := time.Now().Add(-time.Hour).UTC()
	failedUnit := func(m uuid.UUID, q, sample int) bool { return m == h.b && q >= 2 && sample == 0 }
	r := h.run(t, at, func(m uuid.UUID, q, sample int) unit {
		return unit{passed: true, failed: failedUnit(m, q, sample), latencyMs: 10}
	})
	if r.Status != run.StatusPartial || r.Progress.Failed != 2 {
		t.Fatalf("run %s with %d failed, want partial with 2", r.Status, r.Progress.Failed)
	}

	t.Run("OK", func(t *testing.T) {
		got, err := h.s.StartRetry(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != run.StatusRunning || got.RetryRound != 1 || got.FinishedAt != nil {
			t.Fatalf("run %s round %d finished %v, want running round 1", got.Status, got.RetryRound, got.FinishedAt)
		}
		units, err := h.s.RecordedUnits(ctx, got)
		if err != nil || len(units) != 14 {
			t.Fatalf("recorded units %d (%v), want 14: the 2 failed ones deleted", len(units), err)
		}
		if _, err := h.s.Rankings(ctx, r.ID); fault.KindOf(err) != fault.KindConflict {
			t.Errorf("rankings of a reopened run: %v, want conflict", err)
		}
		if runs, _ := questionStatRuns(t, pool, h.benchmark.ID); runs != 0 {
			t.Errorf("question tallies still count %d runs", runs)
		}
		if _, err := h.s.StartRetry(ctx, r.ID); fault.KindOf(err) != fault.KindConflict {
			t.Errorf("retry of a running run: %v, want conflict", err)
		}
		// The round's units succeed this time; the run finalizes again.
		snap, err := h.s.LoadSnapshot(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for qi, q := range snap.Questions {
			if !failedUnit(h.b, qi, 0) {
				continue
			}
			score, passed := 1.0, true
			lat := 10.0
			e := &run.Execution{
				RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: h.b, QuestionID: q.QuestionID,
				QuestionRevisionID: q.RevisionID, Sample: 0, Category: q.Category, Status: run.ExecSucceeded, LatencyMs: &lat,
				FinishedAt: at.Add(2 * time.Minute),
				Evaluation: &run.Evaluation{Scorer: "contains", Status: run.EvalScored, Version: 1, Passed: &passed, Score: &score},
			}
			if _, err := h.s.RecordExecution(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		fin, first, err := h.s.Finalize(ctx, got, run.StatusCompleted, "", analytics.RankRun)
		if err != nil || !first || fin.Status != run.StatusCompleted || fin.Progress.Failed != 0 || fin.Progress.Succeeded != 16 {
			t.Fatalf("finalize again: %+v first=%v err=%v", fin, first, err)
		}
		if e := overall(t, h.s, r.ID, h.b); e.Correct != 8 || e.Failed != 0 {
			t.Errorf("model b after the retry: correct %d failed %d, want 8 and 0", e.Correct, e.Failed)
		}
		if runs, n := questionStatRuns(t, pool, h.benchmark.ID); runs != 8 || n != 16 {
			t.Errorf("question tallies runs=%d n=%d, want 8 and 16 (one run)", runs, n)
		}
		// The retry round's finish is news of its own: a second event.
		if evs := eventsOf(t, pool, "run_id", r.ID); len(evs) != 2 || evs[0].Type != notify.RunPartial || evs[1].Type != notify.RunCompleted || evs[0].DedupKey == evs[1].DedupKey {
			t.Errorf("events = %+v, want run.partial then run.completed", evs)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		// Completed with nothing failed now.
		if _, err := h.s.StartRetry(ctx, r.ID); fault.KindOf(err) != fault.KindConflict {
			t.Errorf("retry without failed units: %v, want conflict", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := h.s.StartRetry(ctx, uuid.New()); fault.KindOf(err) != fault.KindNotFound {
			t.Errorf("retry of no run: %v, want not found", err)
		}
	})
}

package maintenance

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// TestReconciler_RestoresLostJudgeTasks: every unit of a judged run is
// answered, but the evaluation:judge tasks vanished from Redis (a worker
// died after recording, or Redis lost them) while the run's progress
// survived. The reconciler gives each answer its judge task back, the
// answers are judged once each (the tested model is not called again)
// and the run finalizes.
func TestReconciler_RestoresLostJudgeTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, mockllm.Config{})
	const units = 3
	f := b.seed(t, []string{"mock-perfect"}, units, catalog.BenchmarkConfig{})
	judgeModel := testfactory.Model(ctx, t, b.store, &testfactory.ModelOpts{
		ProviderID: f.models[0].ProviderID, Name: "judge-" + uuid.NewString()[:8], ProviderModelID: "mock-judge",
	})
	testfactory.SetScoring(ctx, t, b.pool, scoring.Rule{Method: scoring.MethodLLMJudge,
		Config: judge.Config{ModelIDs: []uuid.UUID{judgeModel.ID}, Template: judge.TemplateClosedQA}}, f.questions)
	r := b.commitRun(t, f)
	// Redis keeps its state (the epoch is there): only the tasks go.
	if err := b.rdb.Set(ctx, epochKey, 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	h := b.newHandlers(t)
	if err := h.HandleStart(ctx, run.NewStartTask(ctx, r.ID)); err != nil {
		t.Fatal(err)
	}
	queue := run.UnitQueue(r)
	for i := range units {
		if err := h.HandleExecute(ctx, run.NewExecuteTask(ctx, r.ID, i, queue)); err != nil {
			t.Fatal(err)
		}
	}
	insp := asynq.NewInspectorFromRedisClient(b.rdb)
	for i := range units {
		if _, err := insp.GetTaskInfo(queue, run.JudgeTaskID(r.ID, i, 1)); err != nil {
			t.Fatalf("unit %d: its judge task was not enqueued after its answer: %v", i, err)
		}
	}
	// Every task of the run vanishes: the execute tasks run:start
	// enqueued (already handled above) and the judge tasks.
	if _, err := insp.DeleteAllPendingTasks(queue); err != nil {
		t.Fatal(err)
	}
	if p, ok, err := b.tracker.Progress(ctx, r.ID); err != nil || !ok || p.Answered != units || p.AwaitingJudgment != units {
		t.Fatalf("progress %+v (%v, %v), want %d answered awaiting judgment", p, ok, err, units)
	}

	b.startWorker(t, 2)
	_, log := b.startReconciler(t, Config{})
	fin := b.waitFinal(t, r.ID)
	if fin.Status != run.StatusCompleted {
		t.Fatalf("status %s (%s), want completed", fin.Status, fin.Error)
	}
	var judged, scored int
	if err := b.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'scored') FROM evaluations
	    WHERE run_id = $1 AND scorer = 'llm_judge' AND scorer_version = 1`, r.ID).Scan(&judged, &scored); err != nil {
		t.Fatal(err)
	}
	if judged != units || scored != units {
		t.Errorf("%d judge evaluations (%d scored), want %d scored", judged, scored, units)
	}
	if fin.Progress.Judged != units || fin.Unscored != 0 {
		t.Errorf("finished run judged %d unscored %d, want %d and 0", fin.Progress.Judged, fin.Unscored, units)
	}
	if n := b.mock.Server.CallsFor("mock-perfect"); n != units {
		t.Errorf("tested model called %d times, want once per unit (%d)", n, units)
	}
	if n := b.mock.Server.CallsFor("mock-judge"); n != units {
		t.Errorf("judge called %d times, want once per unit (%d)", n, units)
	}
	if got := strings.Count(log.String(), "type="+run.TypeJudge); got != units {
		t.Errorf("the reconciler enqueued %d judge tasks, want %d:\n%s", got, units, log.String())
	}
}

package run_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// waitRescore waits until a rescore is no longer running.
func (b *bundle) waitRescore(t *testing.T, runID uuid.UUID, version int) *run.Rescore {
	t.Helper()
	var res *run.Rescore
	testenv.WaitFor(t, "rescore to finish", 60*time.Second, func() bool {
		var err error
		if res, err = b.store.GetRescore(context.Background(), runID, version); err != nil {
			t.Fatal(err)
		}
		return res.Status != run.RescoreRunning
	})
	return res
}

func TestRun_Rescore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, mockllm.Config{}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "sk-test", []string{"mock-strong"}, 6, 1)
	b.startWorker(t, 4)
	r := b.waitFinal(t, b.startRun(t, f).ID)
	if r.Status != run.StatusCompleted {
		t.Fatalf("status %s (%s)", r.Status, r.Error)
	}
	calls := b.mock.Server.Requests()
	want := expectedCorrect("mock-strong", f.questions, 1)
	if want == 0 {
		t.Fatal("the mock answers nothing right: the test cannot tell versions apart")
	}
	deps := run.RedoDeps{Store: b.store, Queue: b.client}
	never := &scoring.Rule{Method: scoring.MethodContains, Value: "no answer contains this"}

	if _, err := run.RequestRescore(ctx, deps, r.ID, run.RescoreRequest{}); err != nil {
		t.Fatalf("rescore with the run's own scoring: %v", err)
	}
	if got, _ := b.store.GetRun(ctx, r.ID); got.ScoringVersion != 1 {
		t.Fatalf("rescoring with the same rules made version %d", got.ScoringVersion)
	}

	res, err := run.RequestRescore(ctx, deps, r.ID, run.RescoreRequest{Override: never})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Version != 2 || res.Total != 6 {
		t.Fatalf("rescore %+v, want version 2 of 6 units", res)
	}
	if _, err := run.RequestRescore(ctx, deps, r.ID, run.RescoreRequest{Override: never}); fault.KindOf(err) != fault.KindConflict && err != nil {
		t.Fatalf("rescore while one runs: %v, want conflict or the same version", err)
	}
	if res = b.waitRescore(t, r.ID, 2); res.Status != run.RescoreCompleted || res.Done != 6 {
		t.Fatalf("rescore ended %+v", res)
	}
	got, _ := b.store.GetRun(ctx, r.ID)
	if got.ScoringVersion != 2 {
		t.Fatalf("scoring version %d, want 2", got.ScoringVersion)
	}
	if rk, err := b.store.Rankings(ctx, r.ID); err != nil || rk.Overall[0].Correct != 0 {
		t.Fatalf("rankings after the rescore: %+v %v, want nothing correct", rk, err)
	}
	// Twice: the same scoring is the same version.
	again, err := run.RequestRescore(ctx, deps, r.ID, run.RescoreRequest{Override: never})
	if err != nil || again.Created || again.Version != 2 {
		t.Fatalf("second rescore %+v %v, want version 2 again", again, err)
	}
	// Old evaluations stay.
	var v1, v2 int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE scorer_version = 1), count(*) FILTER (WHERE scorer_version = 2) FROM evaluations WHERE run_id = $1`, r.ID).Scan(&v1, &v2); err != nil || v1 != 6 || v2 != 6 {
		t.Fatalf("evaluations v1=%d v2=%d (%v), want 6 each", v1, v2, err)
	}
	// Back to the questions' own rules: a new version, the old verdicts.
	res, err = run.RequestRescore(ctx, deps, r.ID, run.RescoreRequest{})
	if err != nil || res.Version != 3 {
		t.Fatalf("rescore back: %+v %v, want version 3", res, err)
	}
	b.waitRescore(t, r.ID, 3)
	if rk, err := b.store.Rankings(ctx, r.ID); err != nil || rk.Overall[0].Correct != want {
		t.Fatalf("rankings after rescoring back: %+v %v, want %d correct", rk, err, want)
	}
	if n := b.mock.Server.Requests(); n != calls {
		t.Errorf("the tested model was called %d more times by rescoring", n-calls)
	}
	// A bad override names its field.
	if _, err := run.RequestRescore(ctx, deps, r.ID, run.RescoreRequest{Override: &scoring.Rule{Method: "nope"}}); fault.KindOf(err) != fault.KindInvalid {
		t.Errorf("bad override: %v, want invalid", err)
	}
	// A rescored run's failed units are not retried: the worker would
	// score them by the run's first rules.
	if _, err := run.RequestRetryFailed(ctx, deps, r.ID); fault.KindOf(err) != fault.KindConflict || !strings.Contains(err.Error(), "rescored") {
		t.Errorf("retry after a rescore: %v, want a conflict naming the rescore", err)
	}
}

func TestRun_RetryFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The first worker speaks no OpenAI: every unit fails without a call.
	b := setupWith(t, mockllm.Config{}, settings{unspoken: []catalog.ProviderKind{catalog.KindOpenAI}})
	f := b.seed(t, b.mock.URL+"/v1", "sk-test", []string{"mock-strong"}, 3, 1)
	_, first := b.buildWorker(t, 4)
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r := b.waitFinal(t, b.startRun(t, f).ID)
	first.Stop()
	if r.Status != run.StatusFailed || r.Progress.Failed != 3 || b.mock.Server.Requests() != 0 {
		t.Fatalf("first round: %s, %d failed, %d calls", r.Status, r.Progress.Failed, b.mock.Server.Requests())
	}
	deps := run.RedoDeps{Store: b.store, Queue: b.client}
	if _, err := run.RequestRescore(ctx, deps, uuid.New(), run.RescoreRequest{}); fault.KindOf(err) != fault.KindNotFound {
		t.Errorf("rescore of no run: %v", err)
	}

	b.settings.unspoken = nil
	b.startWorker(t, 4)
	got, err := run.RequestRetryFailed(ctx, deps, r.ID)
	if err != nil || got.Status != run.StatusRunning || got.RetryRound != 1 {
		t.Fatalf("retry: %+v %v", got, err)
	}
	if _, err := run.RequestRetryFailed(ctx, deps, r.ID); fault.KindOf(err) != fault.KindConflict {
		t.Errorf("retry while running: %v, want conflict", err)
	}
	if _, err := run.RequestRescore(ctx, deps, r.ID, run.RescoreRequest{}); fault.KindOf(err) != fault.KindConflict {
		t.Errorf("rescore while running: %v, want conflict", err)
	}
	r = b.waitFinal(t, r.ID)
	if r.Status != run.StatusCompleted || r.Progress.Succeeded != 3 {
		t.Fatalf("after the retry: %s (%s), %+v", r.Status, r.Error, r.Progress)
	}
	if n := b.mock.Server.Requests(); n != 3 {
		t.Errorf("tested model called %d times, want 3 (each failed unit once)", n)
	}
	if execs, distinct, _ := b.rows(t, r.ID); execs != 3 || distinct != 3 {
		t.Errorf("executions %d distinct %d, want 3: a failed row is replaced", execs, distinct)
	}
	if _, err := run.RequestRetryFailed(ctx, deps, r.ID); fault.KindOf(err) != fault.KindConflict {
		t.Errorf("retry without failed units: %v, want conflict", err)
	}
}

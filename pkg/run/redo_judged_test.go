package run_test

import (
	"context"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// evalStamp is what must not change about a unit's verdict when the unit
// is left alone: when it was written and what it says.
type evalStamp struct {
	createdAt time.Time
	passed    *bool
	judgeCost float64
}

// evalStamps returns the evaluations of a run's model, by question.
func (b *bundle) evalStamps(t *testing.T, runID, modelID uuid.UUID) map[uuid.UUID]evalStamp {
	t.Helper()
	rows, err := b.pool.Query(context.Background(),
		`SELECT question_id, created_at, passed, judge_cost_usd FROM evaluations WHERE run_id = $1 AND model_id = $2`, runID, modelID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[uuid.UUID]evalStamp{}
	for rows.Next() {
		var q uuid.UUID
		var s evalStamp
		if err := rows.Scan(&q, &s.createdAt, &s.passed, &s.judgeCost); err != nil {
			t.Fatal(err)
		}
		out[q] = s
	}
	return out
}

// judgedRetryWorld is a judged benchmark of n questions whose units of
// one model fail for good: the mock wants a key, and the provider of
// mock-weak has none (401); mock-strong and the judge, on a provider
// with a key, work. It returns the keyless provider and mock-weak.
func judgedRetryWorld(t *testing.T, n int) (*bundle, fixture, *catalog.Provider, *catalog.Model) {
	t.Helper()
	ctx := context.Background()
	b := setup(t, mockllm.Config{RequireKey: true}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "sk-test", []string{"mock-strong"}, n, 1)
	keyless := testfactory.Provider(ctx, t, b.store, &testfactory.ProviderOpts{Name: "keyless", BaseURL: b.mock.URL + "/v1"})
	weak := testfactory.Model(ctx, t, b.store, &testfactory.ModelOpts{ProviderID: keyless.ID, Name: "mock-weak", ProviderModelID: "mock-weak", InputCostPerMTok: 1, OutputCostPerMTok: 2})
	f.benchmark = testfactory.Benchmark(ctx, t, b.store, &testfactory.BenchmarkOpts{
		SuiteIDs: []uuid.UUID{f.questions[0].SuiteID}, ModelIDs: []uuid.UUID{f.models[0].ID, weak.ID},
	})
	b.judged(t, f, f.providerID, "mock-judge")
	return b, f, keyless, weak
}

// TestRun_RetrySeedsJudging: a retry round tells the tracker which
// succeeded units were judged already, so the run's progress counts them
// and the round's last verdict finds the run complete.
func TestRun_RetrySeedsJudging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 3
	b, f, keyless, _ := judgedRetryWorld(t, n)
	_, first := b.buildWorker(t, 4)
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r := b.waitFinal(t, b.startRun(t, f).ID)
	first.Stop()
	if r.Status != run.StatusPartial || r.Progress.Failed != n {
		t.Fatalf("first round: %s (%s), %+v", r.Status, r.Error, r.Progress)
	}
	key := "sk-test"
	if _, err := b.store.UpdateProvider(ctx, keyless.ID, catalog.ProviderPatch{APIKey: &key}); err != nil {
		t.Fatal(err)
	}
	if _, err := run.RequestRetryFailed(ctx, run.RedoDeps{Store: b.store, Queue: b.client}, r.ID); err != nil {
		t.Fatal(err)
	}
	// No worker serves the queues yet: the round's task runs here.
	if err := b.handlers.HandleRetryFailed(ctx, run.NewRetryFailedTask(r.ID, 1)); err != nil {
		t.Fatal(err)
	}
	p, ok, err := run.NewTracker(b.rdb).Progress(ctx, r.ID)
	if err != nil || !ok {
		t.Fatalf("progress %v %v", ok, err)
	}
	if p.Answered != n || p.Judged != n || p.AwaitingJudgment != 0 {
		t.Fatalf("progress after seeding %+v, want %d answered and judged, none awaiting", p, n)
	}
	b.startWorker(t, 4)
	if r = b.waitFinal(t, r.ID); r.Status != run.StatusCompleted {
		t.Fatalf("after the retry: %s (%s)", r.Status, r.Error)
	}
	if c := b.mock.Server.CallsFor("mock-judge"); c != 2*n {
		t.Errorf("judge called %d times, want %d", c, 2*n)
	}
}

// TestRun_RetryFailedJudged retries a judged run some of whose units
// failed for good, end to end through the task handlers: the run finishes
// as soon as the retried units are answered and judged (no reconciler
// runs here), the units that succeeded are neither executed nor judged
// again, and their evaluations are untouched.
func TestRun_RetryFailedJudged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 4
	b, f, keyless, weak := judgedRetryWorld(t, n)
	w1, w2 := b.startWorker(t, 4), b.startWorker(t, 4)
	r := b.waitFinal(t, b.startRun(t, f).ID)
	if r.Status != run.StatusPartial || r.Progress.Failed != n || r.Progress.Succeeded != n {
		t.Fatalf("first round: %s (%s), %+v", r.Status, r.Error, r.Progress)
	}
	if c := b.mock.Server.CallsFor("mock-judge"); c != n {
		t.Fatalf("judge called %d times in the first round, want %d", c, n)
	}
	before := b.evalStamps(t, r.ID, f.models[0].ID)
	if len(before) != n {
		t.Fatalf("%d evaluations of the succeeded units, want %d", len(before), n)
	}
	weakCalls := b.mock.Server.CallsFor("mock-weak")

	key := "sk-test"
	if _, err := b.store.UpdateProvider(ctx, keyless.ID, catalog.ProviderPatch{APIKey: &key}); err != nil {
		t.Fatal(err)
	}
	w1.handlers.ProviderChanged(keyless.ID) // as the api's notice does
	w2.handlers.ProviderChanged(keyless.ID)
	deps := run.RedoDeps{Store: b.store, Queue: b.client}
	if _, err := run.RequestRetryFailed(ctx, deps, r.ID); err != nil {
		t.Fatal(err)
	}
	r = b.waitFinal(t, r.ID)
	if r.Status != run.StatusCompleted || r.Progress.Succeeded != 2*n || r.RetryRound != 1 {
		t.Fatalf("after the retry: %s (%s), %+v round %d", r.Status, r.Error, r.Progress, r.RetryRound)
	}
	if c := b.mock.Server.CallsFor("mock-strong"); c != n {
		t.Errorf("mock-strong called %d times, want %d: its units succeeded in the first round", c, n)
	}
	if c := b.mock.Server.CallsFor("mock-weak") - weakCalls; c != n {
		t.Errorf("mock-weak called %d times, want once per retried unit (%d)", c, n)
	}
	if c := b.mock.Server.CallsFor("mock-judge"); c != 2*n {
		t.Errorf("judge called %d times, want %d: each answer judged once", c, 2*n)
	}
	after := b.evalStamps(t, r.ID, f.models[0].ID)
	for q, s := range before {
		a, ok := after[q]
		if !ok || !a.createdAt.Equal(s.createdAt) || (a.passed == nil) != (s.passed == nil) || (a.passed != nil && *a.passed != *s.passed) || a.judgeCost != s.judgeCost {
			t.Errorf("evaluation of question %s changed: %+v -> %+v", q, s, a)
		}
	}
	if got := b.evalStamps(t, r.ID, weak.ID); len(got) != n {
		t.Errorf("%d evaluations of the retried units, want %d", len(got), n)
	}
	if execs, distinct, evals := b.rows(t, r.ID); execs != 2*n || distinct != 2*n || evals != 2*n {
		t.Errorf("executions %d distinct %d evaluations %d, want %d each", execs, distinct, evals, 2*n)
	}
	if r.JudgeCostUSD <= 0 {
		t.Errorf("judge cost %v after the retry", r.JudgeCostUSD)
	}
}

// TestRun_RescoreWithJudgePanel rescores a deterministically scored run
// with a panel of judges the run never had: the workers, which cached the
// run's snapshot without them, judge with them; the verdicts are the
// mock's, the panel's agreement is computed, the run's unscored count and
// judge totals are the new version's, and the tested model is never
// called.
func TestRun_RescoreWithJudgePanel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, mockllm.Config{}, run.Config{})
	const n = 8
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-weak"}, n, 1)
	workers := []*worker{b.startWorker(t, 4), b.startWorker(t, 4)}
	r := b.waitFinal(t, b.startRun(t, f).ID)
	if r.Status != run.StatusCompleted || r.JudgeCostUSD != 0 {
		t.Fatalf("first round: %s (%s), judge cost %v", r.Status, r.Error, r.JudgeCostUSD)
	}
	// Both workers cache the finished run's snapshot (a unit's task of a
	// finished run loads it and does nothing), without the judges.
	for _, w := range workers {
		if err := w.handlers.HandleExecute(ctx, run.NewExecuteTask(ctx, r.ID, 0, run.QueueBulk)); err != nil {
			t.Fatal(err)
		}
	}
	tested := b.mock.Server.CallsFor("mock-weak")
	var ids []uuid.UUID
	for _, name := range []string{"mock-judge", "mock-judge-2", "mock-judge-3"} {
		ids = append(ids, testfactory.Model(ctx, t, b.store, &testfactory.ModelOpts{
			ProviderID: f.providerID, Name: name, ProviderModelID: name, InputCostPerMTok: 3, OutputCostPerMTok: 5,
		}).ID)
	}
	rule := &scoring.Rule{Method: scoring.MethodLLMJudge, Config: judge.Config{Template: judge.TemplateClosedQA}}
	res, err := run.RequestRescore(ctx, run.RedoDeps{Store: b.store, Queue: b.client}, r.ID, run.RescoreRequest{Override: rule, JudgeModelIDs: ids})
	if err != nil || res.Version != 2 {
		t.Fatalf("rescore %+v %v", res, err)
	}
	if res = b.waitRescore(t, r.ID, 2); res.Status != run.RescoreCompleted || res.Done != n {
		t.Fatalf("rescore ended %+v", res)
	}
	if c := b.mock.Server.CallsFor("mock-weak"); c != tested {
		t.Errorf("the tested model was called %d times by the rescore", c-tested)
	}
	for _, name := range []string{"mock-judge", "mock-judge-2", "mock-judge-3"} {
		if c := b.mock.Server.CallsFor(name); c != n {
			t.Errorf("%s called %d times, want once per unit (%d)", name, c, n)
		}
	}
	// Each judge's verdict as the mock gives it; the panel's by majority.
	wantPassed := 0
	for _, u := range b.units(t, r.ID) {
		ans, key := strings.ToLower(u.response), strings.ToLower(u.expected)
		votes := 0
		for _, pass := range []bool{
			strings.Contains(ans, key),
			regexp.MustCompile(`\b` + regexp.QuoteMeta(key) + `\b`).MatchString(ans),
			strings.Contains(strings.SplitN(ans, "\n", 2)[0], key),
		} {
			if pass {
				votes++
			}
		}
		want := votes >= 2
		if u.passed == nil || *u.passed != want {
			t.Errorf("answer %q (expected %q): passed %v, want %v (%d of 3 judges pass)", u.response, u.expected, u.passed, want, votes)
		}
		if want {
			wantPassed++
		}
	}
	got, err := b.store.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var cost float64
	var in, out int64
	if err := b.pool.QueryRow(ctx, `SELECT sum(judge_cost_usd), sum(judge_input_tokens), sum(judge_output_tokens) FROM evaluations WHERE run_id = $1 AND scorer_version = 2`, r.ID).Scan(&cost, &in, &out); err != nil {
		t.Fatal(err)
	}
	if cost <= 0 || math.Abs(got.JudgeCostUSD-cost) > 1e-9 || got.JudgeInputTokens != in || got.JudgeOutputTokens != out {
		t.Errorf("run judge totals %v/%d/%d, want version 2's %v/%d/%d", got.JudgeCostUSD, got.JudgeInputTokens, got.JudgeOutputTokens, cost, in, out)
	}
	if got.Unscored != 0 {
		t.Errorf("run unscored %d, want 0", got.Unscored)
	}
	if rk, err := b.store.Rankings(ctx, r.ID); err != nil || rk.Overall[0].Correct != wantPassed {
		t.Errorf("rankings %+v %v, want %d correct", rk, err, wantPassed)
	}
	ag, err := b.store.Agreement(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ag.ScoringVersion != 2 || len(ag.Panels) != 1 || len(ag.Panels[0].Judges) != 3 || ag.Panels[0].Units != n {
		t.Fatalf("agreement %+v, want one panel of 3 judges over %d units", ag, n)
	}

	// A judge whose verdicts never parse leaves every unit unscored: the
	// run counts them, and its judge totals are version 3's.
	bad := b.judgeProvider(t, "malformed-judge", b.mock.URL+"/faults/judge_malformed_rate=1/v1")
	badJudge := testfactory.Model(ctx, t, b.store, &testfactory.ModelOpts{ProviderID: bad, Name: "bad judge", ProviderModelID: "mock-judge", InputCostPerMTok: 3, OutputCostPerMTok: 5})
	if res, err = run.RequestRescore(ctx, run.RedoDeps{Store: b.store, Queue: b.client}, r.ID, run.RescoreRequest{Override: rule, JudgeModelIDs: []uuid.UUID{badJudge.ID}}); err != nil || res.Version != 3 {
		t.Fatalf("rescore %+v %v", res, err)
	}
	if res = b.waitRescore(t, r.ID, 3); res.Status != run.RescoreCompleted {
		t.Fatalf("rescore ended %+v", res)
	}
	if got, err = b.store.GetRun(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.pool.QueryRow(ctx, `SELECT sum(judge_cost_usd), sum(judge_input_tokens), sum(judge_output_tokens) FROM evaluations WHERE run_id = $1 AND scorer_version = 3`, r.ID).Scan(&cost, &in, &out); err != nil {
		t.Fatal(err)
	}
	if got.Unscored != n || math.Abs(got.JudgeCostUSD-cost) > 1e-9 || got.JudgeInputTokens != in || got.JudgeOutputTokens != out {
		t.Errorf("run unscored %d, judge totals %v/%d/%d; want %d and version 3's %v/%d/%d", got.Unscored, got.JudgeCostUSD, got.JudgeInputTokens, got.JudgeOutputTokens, n, cost, in, out)
	}
}

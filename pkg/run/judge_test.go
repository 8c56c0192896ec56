package run_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/judge"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// judged makes every question of f judged by the given judge models
// (registered on providerID under their mock names) against its expected
// answer, and returns the judges' ids.
func (b *bundle) judged(t *testing.T, f fixture, providerID uuid.UUID, judges ...string) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	ids := make([]uuid.UUID, len(judges))
	for i, name := range judges {
		m := testfactory.Model(ctx, t, b.store, &testfactory.ModelOpts{
			ProviderID: providerID, Name: name + "-" + uuid.NewString()[:8], ProviderModelID: name, InputCostPerMTok: 3, OutputCostPerMTok: 5,
		})
		ids[i] = m.ID
	}
	testfactory.SetScoring(ctx, t, b.pool, scoring.Rule{Method: scoring.MethodLLMJudge,
		Config: judge.Config{ModelIDs: ids, Template: judge.TemplateClosedQA}}, f.questions)
	return ids
}

// judgeProvider registers a provider for judges only.
func (b *bundle) judgeProvider(t *testing.T, name, baseURL string) uuid.UUID {
	t.Helper()
	return testfactory.Provider(context.Background(), t, b.store, &testfactory.ProviderOpts{Name: name, BaseURL: baseURL}).ID
}

type unitRow struct {
	model, response, expected string
	passed                    *bool
	unscored                  *string
	latency                   *float64
	inTok, outTok             int
	cost                      float64
}

func (b *bundle) units(t *testing.T, id uuid.UUID) []unitRow {
	t.Helper()
	rows, err := b.pool.Query(context.Background(), `
		SELECT rm.provider_model_id, e.response, qr.expected_answer, e.passed, e.unscored_reason, e.latency_ms,
		       e.input_tokens, e.output_tokens, e.cost_usd
		FROM executions e
		JOIN run_models rm ON rm.run_id = e.run_id AND rm.model_id = e.model_id
		JOIN question_revisions qr ON qr.id = e.question_revision_id
		WHERE e.run_id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []unitRow
	for rows.Next() {
		var u unitRow
		if err := rows.Scan(&u.model, &u.response, &u.expected, &u.passed, &u.unscored, &u.latency, &u.inTok, &u.outTok, &u.cost); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// evalCounts counts a run's evaluations by status, and sums their judge
// cost.
func (b *bundle) evalCounts(t *testing.T, id uuid.UUID) (scored, unscored int, judgeCost float64, reasons map[string]int) {
	t.Helper()
	rows, err := b.pool.Query(context.Background(),
		`SELECT status, coalesce(reason, ''), judge_cost_usd FROM evaluations WHERE run_id = $1 AND scorer = 'llm_judge' AND scorer_version = 1`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	reasons = map[string]int{}
	for rows.Next() {
		var status, reason string
		var cost float64
		if err := rows.Scan(&status, &reason, &cost); err != nil {
			t.Fatal(err)
		}
		judgeCost += cost
		if status == run.EvalScored {
			scored++
		} else {
			unscored++
			reasons[reason]++
		}
	}
	return scored, unscored, judgeCost, reasons
}

func TestJudge_EndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{}, run.Config{})
	models := []string{"mock-weak", "mock-strong"}
	f := b.seed(t, b.mock.URL+"/v1", "", models, 12, 1)
	b.judged(t, f, f.providerID, "mock-judge")
	b.startWorker(t, 8)
	r := b.waitFinal(t, b.startRun(t, f).ID)
	if r.Status != run.StatusCompleted || r.Error != "" {
		t.Fatalf("status %s (%s), want completed without a detail", r.Status, r.Error)
	}
	total := len(models) * 12
	// The finished run's progress, read back from PostgreSQL, still says
	// how many units were judged.
	if p := r.Progress; p.Judged != total || p.Answered != total || p.AwaitingJudgment != 0 || p.Unscored != 0 {
		t.Errorf("finished run progress %+v, want %d answered and judged", p, total)
	}
	scored, unscored, judgeCost, _ := b.evalCounts(t, r.ID)
	if scored != total || unscored != 0 {
		t.Fatalf("evaluations: %d scored, %d unscored, want %d scored", scored, unscored, total)
	}
	var testedCost float64
	correct := map[string]int{}
	for _, u := range b.units(t, r.ID) {
		// The mock judge passes an answer that contains the reference.
		want := strings.Contains(strings.ToLower(u.response), strings.ToLower(u.expected))
		if u.passed == nil || *u.passed != want {
			t.Errorf("%s answered %q (expected %q): passed %v, want %v", u.model, u.response, u.expected, u.passed, want)
		}
		if want {
			correct[u.model]++
		}
		// The execution keeps the tested model's own figures: its price
		// is 1 and 2 dollars per million tokens, the judge's 3 and 5.
		if c := run.Cost(u.inTok, u.outTok, 1, 2); math.Abs(c-u.cost) > 1e-12 {
			t.Errorf("execution cost %v, want the tested model's %v", u.cost, c)
		}
		testedCost += u.cost
	}
	for _, m := range models {
		if n := b.mock.Server.CallsFor(m); n != 12 {
			t.Errorf("%s called %d times, want once per unit (12)", m, n)
		}
	}
	if n := b.mock.Server.CallsFor("mock-judge"); n != int64(total) {
		t.Errorf("judge called %d times, want %d", n, total)
	}
	if judgeCost <= 0 || math.Abs(r.JudgeCostUSD-judgeCost) > 1e-9 {
		t.Errorf("run judge_cost_usd %v, evaluations sum %v", r.JudgeCostUSD, judgeCost)
	}
	if math.Abs(r.CostUSD-testedCost) > 1e-9 {
		t.Errorf("run cost_usd %v, want the tested models' %v (judges apart)", r.CostUSD, testedCost)
	}
	if r.JudgeInputTokens <= 0 || r.JudgeOutputTokens <= 0 {
		t.Errorf("judge tokens %d/%d", r.JudgeInputTokens, r.JudgeOutputTokens)
	}
	rk, err := b.store.Rankings(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rk.Overall {
		if e.N != 12 || e.Unscored != 0 {
			t.Errorf("%s: n %d unscored %d", e.ModelName, e.N, e.Unscored)
		}
		if e.Correct != correct[e.ModelName] {
			t.Errorf("%s: correct %d, want %d", e.ModelName, e.Correct, correct[e.ModelName])
		}
	}
}

func TestJudge_MalformedVerdictsAreUnscored(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong"}, 6, 1)
	bad := b.judgeProvider(t, "malformed-judge", b.mock.URL+"/faults/judge_malformed_rate=1/v1")
	b.judged(t, f, bad, "mock-judge")
	b.startWorker(t, 4)
	r := b.waitFinal(t, b.startRun(t, f).ID)
	if r.Status != run.StatusCompleted {
		t.Fatalf("status %s (%s)", r.Status, r.Error)
	}
	scored, unscored, _, reasons := b.evalCounts(t, r.ID)
	if scored != 0 || unscored != 6 || reasons[judge.ReasonParseFailure] != 6 {
		t.Fatalf("evaluations: %d scored, %d unscored %v; want 6 unscored judge_parse_failure", scored, unscored, reasons)
	}
	for _, u := range b.units(t, r.ID) {
		if u.passed != nil || u.unscored == nil || *u.unscored != judge.ReasonParseFailure {
			t.Errorf("unit passed=%v unscored=%v, want no verdict, judge_parse_failure", u.passed, u.unscored)
		}
	}
	if r.Unscored != 6 || !strings.Contains(r.Error, "6 units unscored (judge_parse_failure: 6)") {
		t.Errorf("run unscored %d, detail %q", r.Unscored, r.Error)
	}
	// Unscored verdicts are verdicts: the units count as judged.
	if p := r.Progress; p.Judged != 6 || p.Unscored != 6 || p.AwaitingJudgment != 0 {
		t.Errorf("finished run progress %+v, want 6 judged, 6 unscored", p)
	}
	rk, err := b.store.Rankings(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The model has no verdict at all, yet it is ranked: n 0, 6 unscored.
	if len(rk.Overall) != 1 {
		t.Fatalf("%d ranking entries, want the model's (n 0, unscored 6)", len(rk.Overall))
	}
	if e := rk.Overall[0]; e.N != 0 || e.Correct != 0 || e.Unscored != 6 {
		t.Errorf("ranking %+v: unscored units must count in no score", e)
	}
}

// TestJudge_CallOverTokenLimit: a judge whose provider's whole tokens per
// minute is below one judging call can never be asked; each verdict ends
// as a judge error at once and the run finishes, rather than the judge
// tasks being archived for the reconciler to find.
func TestJudge_CallOverTokenLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong"}, 4, 1)
	limited := b.judgeProvider(t, "small-judge", b.mock.URL+"/v1")
	b.setLimits(t, limited, catalog.ProviderLimits{TokensPerMinute: 10})
	b.judged(t, f, limited, "mock-judge")
	b.startWorker(t, 4)
	r := b.waitFinal(t, b.startRun(t, f).ID)
	if r.Status != run.StatusCompleted || r.Progress.Succeeded != 4 {
		t.Fatalf("run %s (%s), progress %+v", r.Status, r.Error, r.Progress)
	}
	scored, unscored, _, reasons := b.evalCounts(t, r.ID)
	if scored != 0 || unscored != 4 || reasons[judge.ReasonError] != 4 {
		t.Fatalf("evaluations: %d scored, %d unscored %v; want 4 unscored judge_error", scored, unscored, reasons)
	}
}

func TestJudge_PanelWithOneFailingJudge(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{}, run.Config{MaxRetry: 2, RetryMaxDelay: 20 * time.Millisecond})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong"}, 4, 1)
	ctx := context.Background()
	failing := b.judgeProvider(t, "failing-judge", b.mock.URL+"/faults/judge_error_rate=1/v1")
	ok := b.judged(t, f, f.providerID, "mock-judge", "mock-judge-2")
	down := testfactory.Model(ctx, t, b.store, &testfactory.ModelOpts{ProviderID: failing, Name: "down judge", ProviderModelID: "mock-judge-3"})
	// A panel of three with min_judges 2: one judge failing for good
	// still leaves a verdict, and its failure is recorded.
	rule := scoring.Rule{Method: scoring.MethodLLMJudge, Config: judge.Config{
		ModelIDs: append(ok, down.ID), Template: judge.TemplateClosedQA, Aggregate: judge.AggregateMajority, MinJudges: 2}}
	raw, _ := json.Marshal(rule)
	if _, err := b.pool.Exec(ctx, `UPDATE question_revisions SET scoring = $1 WHERE question_id IN (SELECT id FROM questions WHERE suite_id = (SELECT suite_id FROM questions WHERE id = $2))`, raw, f.questions[0].ID); err != nil {
		t.Fatal(err)
	}
	b.startWorker(t, 4)
	r := b.waitFinal(t, b.startRun(t, f).ID)
	if r.Status != run.StatusCompleted {
		t.Fatalf("status %s (%s)", r.Status, r.Error)
	}
	rows, err := b.pool.Query(ctx, `SELECT status, judges FROM evaluations WHERE run_id = $1`, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var status string
		var raw []byte
		if err := rows.Scan(&status, &raw); err != nil {
			t.Fatal(err)
		}
		var results []judge.Result
		if err := json.Unmarshal(raw, &results); err != nil {
			t.Fatal(err)
		}
		failed := 0
		for _, j := range results {
			if j.Verdict == nil {
				failed++
				if j.ModelID != down.ID || j.Reason != judge.ReasonError {
					t.Errorf("judge %s failed with %q, want only the down judge with judge_error", j.ModelID, j.Reason)
				}
			}
		}
		if len(results) != 3 || failed != 1 {
			t.Errorf("%d judge results, %d failed; want 3 and 1", len(results), failed)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("%d evaluations, want 4", n)
	}
	if calls := b.mock.Server.CallsFor("mock-strong"); calls != 4 {
		t.Errorf("tested model called %d times, want 4", calls)
	}
}

// A judge provider that is down during the run: the tested model is
// called once per unit, and the run ends once the judge recovers.
func TestJudge_OutageNeverRecallsTheTestedModel(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{}, run.Config{MaxRetry: 1000, RetryMaxDelay: 20 * time.Millisecond, BreakerMaxWait: time.Hour})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-weak", "mock-strong"}, 5, 1)
	judgeProvider := b.judgeProvider(t, "judge-provider", b.mock.URL+"/faults/judge_error_rate=1/v1")
	b.judged(t, f, judgeProvider, "mock-judge")
	w := b.startWorker(t, 4)
	r := b.startRun(t, f)
	ctx := context.Background()
	// Wait until every answer is recorded while the judge keeps failing.
	testenv.WaitFor(t, "every answer recorded", 60*time.Second, func() bool {
		var n int
		_ = b.pool.QueryRow(ctx, `SELECT count(*) FROM executions WHERE run_id = $1`, r.ID).Scan(&n)
		return n == 10 && b.mock.Server.StatusCount(500) > 10
	})
	healthy := b.mock.URL + "/v1"
	if _, err := b.store.UpdateProvider(ctx, judgeProvider, catalog.ProviderPatch{BaseURL: &healthy}); err != nil {
		t.Fatal(err)
	}
	w.handlers.ProviderChanged(judgeProvider)
	fin := b.waitFinal(t, r.ID)
	if fin.Status != run.StatusCompleted {
		t.Fatalf("status %s (%s)", fin.Status, fin.Error)
	}
	for _, m := range []string{"mock-weak", "mock-strong"} {
		if n := b.mock.Server.CallsFor(m); n != 5 {
			t.Errorf("%s called %d times, want once per unit (5)", m, n)
		}
	}
	if scored, unscored, _, _ := b.evalCounts(t, r.ID); scored != 10 || unscored != 0 {
		t.Errorf("evaluations: %d scored %d unscored, want 10 scored", scored, unscored)
	}
}

// A worker that dies after recording the answer, and duplicated judge
// tasks: exactly one evaluation per unit, and the run finalizes.
func TestJudge_CrashBetweenAnswerAndVerdict(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong"}, 3, 1)
	b.judged(t, f, f.providerID, "mock-judge")
	ctx := context.Background()
	r := testfactory.Run(ctx, t, b.store, &testfactory.RunOpts{BenchmarkID: f.benchmark.ID})
	if err := b.handlers.HandleStart(ctx, run.NewStartTask(ctx, r.ID)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := b.handlers.HandleExecute(ctx, run.NewExecuteTask(ctx, r.ID, i, run.QueueInteractive)); err != nil {
			t.Fatal(err)
		}
	}
	// The judge tasks the units enqueued are lost, as when the worker
	// died before enqueuing them: finalize must refuse and re-enqueue.
	if err := b.handlers.HandleFinalize(ctx, run.NewFinalizeTask(ctx, r.ID)); err == nil {
		t.Fatal("finalize accepted a run whose answers await their verdict")
	}
	// Two deliveries of each judge task, as a crash after the verdict's
	// record or a duplicate would make.
	for range 2 {
		for i := range 3 {
			if err := b.handlers.HandleJudge(ctx, run.NewJudgeTask(r.ID, i, 1, run.QueueInteractive)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.handlers.HandleFinalize(ctx, run.NewFinalizeTask(ctx, r.ID)); err != nil {
		t.Fatal(err)
	}
	var evals int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM evaluations WHERE run_id = $1`, r.ID).Scan(&evals); err != nil {
		t.Fatal(err)
	}
	if evals != 3 {
		t.Fatalf("%d evaluations, want exactly one per unit (3)", evals)
	}
	got, _ := b.store.GetRun(ctx, r.ID)
	if got.Status != run.StatusCompleted {
		t.Fatalf("status %s (%s)", got.Status, got.Error)
	}
	if n := b.mock.Server.CallsFor("mock-judge"); n != 3 {
		t.Errorf("judge called %d times, want 3 (a judged unit is not judged again)", n)
	}
}

// Judging that would start with the run's max_cost_usd reached leaves the
// unit unscored, never scored or zero.
func TestJudge_MaxCostSkipsJudging(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong"}, 2, 1)
	b.judged(t, f, f.providerID, "mock-judge")
	ctx := context.Background()
	limit := 1e-12
	r := testfactory.Run(ctx, t, b.store, &testfactory.RunOpts{BenchmarkID: f.benchmark.ID, MaxCostUSD: &limit})
	if err := b.handlers.HandleStart(ctx, run.NewStartTask(ctx, r.ID)); err != nil {
		t.Fatal(err)
	}
	if err := b.handlers.HandleExecute(ctx, run.NewExecuteTask(ctx, r.ID, 0, run.QueueInteractive)); err != nil {
		t.Fatal(err)
	}
	// The first answer's cost reached the cap: its judging is skipped.
	if err := b.handlers.HandleJudge(ctx, run.NewJudgeTask(r.ID, 0, 1, run.QueueInteractive)); err != nil {
		t.Fatal(err)
	}
	_, unscored, _, reasons := b.evalCounts(t, r.ID)
	if unscored != 1 || reasons[judge.ReasonSkippedMaxCost] != 1 {
		t.Fatalf("unscored %d %v, want 1 judge_skipped_max_cost", unscored, reasons)
	}
	if n := b.mock.Server.CallsFor("mock-judge"); n != 0 {
		t.Errorf("judge called %d times after the cap", n)
	}
}

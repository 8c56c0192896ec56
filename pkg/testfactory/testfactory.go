// Package testfactory builds the catalog a test needs — provider, models,
// suite, questions, benchmark and run — through the store, with a default
// for every field, so that a test names only the fields it is about
// (river's testfactory). Each function takes a context, the test, the
// store and its options (nil for all defaults), fails the test on error and
// returns what the store returned.
//
// The defaults make a working benchmark against mockllm: questions are
// mockllm's arithmetic (mockllm.Question), scored numerically, and models
// name mockllm's models. Providers point at a closed port unless BaseURL
// says where a mock listens.
package testfactory

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/store"
)

// seq numbers the default names, which must be unique in a database.
var seq atomic.Int64

func name(kind string) string { return fmt.Sprintf("%s %d", kind, seq.Add(1)) }

// ProviderOpts are a provider's fields; zero fields take their default.
type ProviderOpts struct {
	Name string // default "provider N"
	// Kind defaults to openai.
	Kind catalog.ProviderKind
	// BaseURL defaults to a closed port on loopback.
	BaseURL string
	APIKey  string
	Headers map[string]string
	Limits  catalog.ProviderLimits
}

// Provider creates a provider.
func Provider(ctx context.Context, t testing.TB, st *store.Store, opts *ProviderOpts) *catalog.Provider {
	t.Helper()
	o := deref(opts)
	p, err := st.CreateProvider(ctx, catalog.ProviderInput{
		Name:    cmp.Or(o.Name, name("provider")),
		Kind:    cmp.Or(o.Kind, catalog.KindOpenAI),
		BaseURL: cmp.Or(o.BaseURL, "http://127.0.0.1:1/v1"),
		APIKey:  o.APIKey,
		Headers: o.Headers,
		Limits:  o.Limits,
	})
	if err != nil {
		t.Fatalf("testfactory.Provider: %v", err)
	}
	return p
}

// ModelOpts are a model's fields; zero fields take their default.
type ModelOpts struct {
	// ProviderID defaults to a new Provider with its defaults.
	ProviderID uuid.UUID
	Name       string // default "model N"
	// ProviderModelID defaults to "mock-perfect", the mockllm model that
	// answers every question right.
	ProviderModelID   string
	InputCostPerMTok  float64
	OutputCostPerMTok float64
	Overrides         catalog.RequestOverrides
}

// Model creates a model.
func Model(ctx context.Context, t testing.TB, st *store.Store, opts *ModelOpts) *catalog.Model {
	t.Helper()
	o := deref(opts)
	if o.ProviderID == uuid.Nil {
		o.ProviderID = Provider(ctx, t, st, nil).ID
	}
	m, err := st.CreateModel(ctx, catalog.Model{
		ProviderID:        o.ProviderID,
		Name:              cmp.Or(o.Name, name("model")),
		ProviderModelID:   cmp.Or(o.ProviderModelID, "mock-perfect"),
		InputCostPerMTok:  o.InputCostPerMTok,
		OutputCostPerMTok: o.OutputCostPerMTok,
		Overrides:         o.Overrides,
	})
	if err != nil {
		t.Fatalf("testfactory.Model: %v", err)
	}
	return m
}

// SuiteOpts are a suite's fields; zero fields take their default.
type SuiteOpts struct {
	Name        string // default "suite N"
	Description string
	// FewShot are the suite's few-shot turns (default none).
	FewShot []catalog.Message
	// PromptTemplate is the suite's prompt template (default none).
	PromptTemplate string
}

// Suite creates an empty suite.
func Suite(ctx context.Context, t testing.TB, st *store.Store, opts *SuiteOpts) *catalog.Suite {
	t.Helper()
	o := deref(opts)
	su, err := st.CreateSuite(ctx, catalog.SuiteInput{
		Name: cmp.Or(o.Name, name("suite")), Description: o.Description, FewShot: o.FewShot, PromptTemplate: o.PromptTemplate,
	})
	if err != nil {
		t.Fatalf("testfactory.Suite: %v", err)
	}
	return su
}

// Question is mockllm's arithmetic question i, scored numerically, in
// category: the question mockllm's models answer with known accuracy.
func Question(i int, category string) catalog.QuestionInput {
	prompt, answer := mockllm.Question(i)
	return catalog.QuestionInput{
		Prompt: prompt, Category: category, ExpectedAnswer: fmt.Sprint(answer),
		Scoring: scoring.Rule{Method: scoring.MethodNumeric},
	}
}

// MessageQuestion is Question(i, category) asked as chat turns: a system
// turn, then the arithmetic question as the user turn.
func MessageQuestion(i int, category string) catalog.QuestionInput {
	q := Question(i, category)
	q.Messages = []catalog.Message{
		{Role: catalog.RoleSystem, Content: "Answer with the number only."},
		{Role: catalog.RoleUser, Content: q.Prompt},
	}
	q.Prompt = ""
	return q
}

// JudgedQuestion is Question(i, category) judged by an llm_judge rule
// (closed_qa: the answer against the expected answer, which mockllm's
// judges look for in the answer) with the given judges; none leaves them
// to the benchmark's config.judge_model_ids.
func JudgedQuestion(i int, category string, judges ...uuid.UUID) catalog.QuestionInput {
	q := Question(i, category)
	q.Scoring = scoring.Rule{Method: scoring.MethodLLMJudge}
	q.Scoring.Template = "closed_qa"
	q.Scoring.ModelIDs = judges
	return q
}

// ChoiceQuestion is a multiple-choice question whose right option is the
// first, with no scoring of its own (set Scoring, or give the benchmark a
// default such as multiple_choice).
func ChoiceQuestion(i int) catalog.QuestionInput {
	prompt, answer := mockllm.Question(i)
	return catalog.QuestionInput{
		Prompt:         prompt,
		Choices:        []string{fmt.Sprint(answer), fmt.Sprint(answer + 1), fmt.Sprint(answer + 2)},
		ExpectedAnswer: "A",
	}
}

// QuestionsOpts say which questions to add to which suite.
type QuestionsOpts struct {
	// SuiteID defaults to a new Suite with its defaults.
	SuiteID uuid.UUID
	// Questions defaults to Count questions made by Question(i, c) for i
	// in 0..Count-1, where c is Categories[i%len(Categories)], or "" when
	// Categories is empty.
	Questions []catalog.QuestionInput
	// Count defaults to 1; it is ignored when Questions is set.
	Count int
	// Categories are the default questions' categories, taken in turn; it
	// is ignored when Questions is set.
	Categories []string
}

// Questions adds questions to a suite and returns them in order.
func Questions(ctx context.Context, t testing.TB, st *store.Store, opts *QuestionsOpts) []catalog.Question {
	t.Helper()
	o := deref(opts)
	if o.SuiteID == uuid.Nil {
		o.SuiteID = Suite(ctx, t, st, nil).ID
	}
	if o.Questions == nil {
		for i := range cmp.Or(o.Count, 1) {
			category := ""
			if len(o.Categories) > 0 {
				category = o.Categories[i%len(o.Categories)]
			}
			o.Questions = append(o.Questions, Question(i, category))
		}
	}
	qs, err := st.CreateQuestions(ctx, o.SuiteID, o.Questions)
	if err != nil {
		t.Fatalf("testfactory.Questions: %v", err)
	}
	return qs
}

// BenchmarkOpts are a benchmark's fields; zero fields take their default.
type BenchmarkOpts struct {
	Name string // default "benchmark N"
	// SuiteIDs defaults to a new suite of one Question.
	SuiteIDs []uuid.UUID
	// ModelIDs defaults to a new Model with its defaults.
	ModelIDs []uuid.UUID
	// Config's MaxTokens defaults to 64 and Samples to 1; its other
	// fields are taken as they are.
	Config   catalog.BenchmarkConfig
	Schedule *catalog.Schedule
	// Alerts are the regression alert settings (nil: none).
	Alerts *catalog.AlertSettings
	// MaxUnits is the store's cap on units (0: none).
	MaxUnits int
}

// Benchmark creates a benchmark, and what it runs where opts names none.
func Benchmark(ctx context.Context, t testing.TB, st *store.Store, opts *BenchmarkOpts) *catalog.Benchmark {
	t.Helper()
	o := deref(opts)
	if o.SuiteIDs == nil {
		su := Suite(ctx, t, st, nil)
		Questions(ctx, t, st, &QuestionsOpts{SuiteID: su.ID})
		o.SuiteIDs = []uuid.UUID{su.ID}
	}
	if o.ModelIDs == nil {
		o.ModelIDs = []uuid.UUID{Model(ctx, t, st, nil).ID}
	}
	o.Config.MaxTokens = cmp.Or(o.Config.MaxTokens, 64)
	o.Config.Samples = cmp.Or(o.Config.Samples, 1)
	b, err := st.CreateBenchmark(ctx, catalog.BenchmarkInput{
		Name: cmp.Or(o.Name, name("benchmark")), SuiteIDs: o.SuiteIDs, ModelIDs: o.ModelIDs,
		Config: o.Config, Schedule: o.Schedule, Alerts: o.Alerts,
	}, o.MaxUnits)
	if err != nil {
		t.Fatalf("testfactory.Benchmark: %v", err)
	}
	return b
}

// RunOpts are a run's fields; zero fields take their default.
type RunOpts struct {
	// BenchmarkID defaults to a new Benchmark with its defaults.
	BenchmarkID uuid.UUID
	// Trigger defaults to api.
	Trigger run.Trigger
	// MaxCostUSD overrides the benchmark's spend cap for this run (nil:
	// the benchmark's).
	MaxCostUSD *float64
}

// Run creates a queued run, as the API does before it enqueues run:start.
func Run(ctx context.Context, t testing.TB, st *store.Store, opts *RunOpts) *run.Run {
	t.Helper()
	o := deref(opts)
	if o.BenchmarkID == uuid.Nil {
		o.BenchmarkID = Benchmark(ctx, t, st, nil).ID
	}
	r, err := st.CreateRun(ctx, store.NewRun{
		BenchmarkID: o.BenchmarkID, Trigger: cmp.Or(o.Trigger, run.TriggerAPI), MaxCostUSD: o.MaxCostUSD,
	})
	if err != nil {
		t.Fatalf("testfactory.Run: %v", err)
	}
	return r
}

// Unit is what one (model, question, sample) of a FinishedRun did: it
// passed or not, or failed; zero latency and cost take 100 ms and $0.001.
type Unit struct {
	Passed, Failed bool
	LatencyMs      float64
	CostUSD        float64
}

// FinishedRunOpts say what a FinishedRun recorded.
type FinishedRunOpts struct {
	BenchmarkID uuid.UUID
	// CreatedAt places the run in time (zero: now).
	CreatedAt time.Time
	// Outcome says what each unit did, by model id, question position
	// and sample (nil: every unit passed).
	Outcome func(model uuid.UUID, question, sample int) Unit
}

// FinishedRun creates a run, records every unit of it (scored by a
// deterministic verdict) and finalizes it, completed, or partial when a
// unit failed, as the worker would; it returns the finalized run.
func FinishedRun(ctx context.Context, t testing.TB, st *store.Store, o FinishedRunOpts) *run.Run {
	t.Helper()
	r := Run(ctx, t, st, &RunOpts{BenchmarkID: o.BenchmarkID})
	if !o.CreatedAt.IsZero() {
		if _, err := st.Pool().Exec(ctx, `UPDATE runs SET created_at = $2 WHERE id = $1`, r.ID, o.CreatedAt); err != nil {
			t.Fatalf("testfactory.FinishedRun: %v", err)
		}
	}
	snap, err := st.LoadSnapshot(ctx, r.ID)
	if err != nil {
		t.Fatalf("testfactory.FinishedRun: %v", err)
	}
	r = snap.Run
	status := run.StatusCompleted
	for _, m := range snap.Models {
		for qi, q := range snap.Questions {
			for sample := range r.Config.Samples {
				u := Unit{Passed: true}
				if o.Outcome != nil {
					u = o.Outcome(m.ModelID, qi, sample)
				}
				lat := cmp.Or(u.LatencyMs, 100)
				e := &run.Execution{
					RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: m.ModelID, QuestionID: q.QuestionID,
					QuestionRevisionID: q.RevisionID, Sample: sample, Category: q.Category, Status: run.ExecSucceeded,
					LatencyMs: &lat, InputTokens: 10, OutputTokens: 20, CostUSD: cmp.Or(u.CostUSD, 0.001), FinishedAt: r.CreatedAt.Add(time.Minute),
				}
				if u.Failed {
					status = run.StatusPartial
					e.Status, e.Error, e.LatencyMs = run.ExecFailed, "500", nil
				} else {
					e.Evaluation = run.Scored("contains", u.Passed, map[bool]float64{true: 1}[u.Passed], "")
				}
				if _, err := st.RecordExecution(ctx, e); err != nil {
					t.Fatalf("testfactory.FinishedRun: %v", err)
				}
			}
		}
	}
	fin, _, err := st.Finalize(ctx, r, status, "", analytics.RankRun)
	if err != nil {
		t.Fatalf("testfactory.FinishedRun: %v", err)
	}
	return fin
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// MockBenchmarkOpts say which mockllm world MockBenchmark builds.
type MockBenchmarkOpts struct {
	// BaseURL is the mock provider's /v1 URL; APIKey its key, if any.
	BaseURL, APIKey string
	// Models are mockllm model names; each becomes a model of that name
	// and provider model id, priced 1 and 2 dollars per million tokens.
	Models []string
	// Questions is how many arithmetic questions the suite has, easy and
	// hard in turn.
	Questions int
	// Config is the benchmark's; zero fields take Benchmark's defaults.
	Config catalog.BenchmarkConfig
}

// MockBenchmarkWorld is what MockBenchmark made.
type MockBenchmarkWorld struct {
	Provider  *catalog.Provider
	Models    []catalog.Model
	Questions []catalog.Question
	Benchmark *catalog.Benchmark
}

// MockBenchmark registers a provider named "mock" at o.BaseURL, the named
// mock models, a suite of arithmetic questions and a benchmark over them:
// the world the run and maintenance tests run against the mock provider.
func MockBenchmark(ctx context.Context, t testing.TB, st *store.Store, o MockBenchmarkOpts) MockBenchmarkWorld {
	t.Helper()
	w := MockBenchmarkWorld{Provider: Provider(ctx, t, st, &ProviderOpts{Name: "mock", BaseURL: o.BaseURL, APIKey: o.APIKey})}
	ids := make([]uuid.UUID, 0, len(o.Models))
	for _, name := range o.Models {
		m := Model(ctx, t, st, &ModelOpts{
			ProviderID: w.Provider.ID, Name: name, ProviderModelID: name, InputCostPerMTok: 1, OutputCostPerMTok: 2,
		})
		w.Models = append(w.Models, *m)
		ids = append(ids, m.ID)
	}
	su := Suite(ctx, t, st, nil)
	w.Questions = Questions(ctx, t, st, &QuestionsOpts{SuiteID: su.ID, Count: o.Questions, Categories: []string{"easy", "hard"}})
	w.Benchmark = Benchmark(ctx, t, st, &BenchmarkOpts{SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: ids, Config: o.Config})
	return w
}

// SetScoring gives questions the scoring rule in place, on their current
// revisions, without making new ones (as editing through the API would):
// for tests that need a rule on questions a fixture already made.
func SetScoring(ctx context.Context, t testing.TB, pool *pgxpool.Pool, rule scoring.Rule, questions []catalog.Question) {
	t.Helper()
	raw, err := json.Marshal(rule)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]uuid.UUID, len(questions))
	for i, q := range questions {
		ids[i] = q.ID
	}
	if _, err := pool.Exec(ctx, `UPDATE question_revisions SET scoring = $1 WHERE question_id = ANY($2)`, raw, ids); err != nil {
		t.Fatal(err)
	}
}

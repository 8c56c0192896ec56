package httpapi_test

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
)

// spendWorld is a benchmark whose estimate is worked out by hand below:
// two models, two questions, three samples, max_tokens 50 and a system
// prompt.
type spendWorld struct {
	cheap, dear oapi.Model
	benchmark   oapi.Benchmark
}

func (b *bundle) spendWorld(t *testing.T, config map[string]any) spendWorld {
	t.Helper()
	p := b.provider(t, nil)
	w := spendWorld{
		cheap: b.model(t, p.Id.String(), map[string]any{"name": "cheap", "input_cost_per_mtok": 1.5, "output_cost_per_mtok": 2}),
		dear:  b.model(t, p.Id.String(), map[string]any{"name": "dear", "input_cost_per_mtok": 3, "output_cost_per_mtok": 15}),
	}
	s := b.suite(t)
	for _, prompt := range []string{
		"Combien font 2 × 3?", // 19 characters (20 bytes: tokens are counted in characters)
		"What is 12 + 30?",    // 16 characters
	} {
		body := map[string]any{"prompt": prompt, "expected_answer": "6", "scoring": map[string]any{"method": "numeric"}}
		call[oapi.Question](t, b, "POST", "/v1/suites/"+s.Id.String()+"/questions", mustJSON(t, body), http.StatusCreated)
	}
	cfg := map[string]any{"temperature": 0, "max_tokens": 50, "samples": 3, "system_prompt": "Answer with a number."} // 21 characters
	for k, v := range config {
		cfg[k] = v
	}
	body := map[string]any{"name": "spend", "suite_ids": []string{s.Id.String()}, "model_ids": []string{w.cheap.Id.String(), w.dear.Id.String()}, "config": cfg}
	w.benchmark = call[oapi.Benchmark](t, b, "POST", "/v1/benchmarks", mustJSON(t, body), http.StatusCreated)
	return w
}

// Input tokens of the spend world, per model: ceil((21+19)/4) = 10 and
// ceil((21+16)/4) = 10 per sample, times 3 samples = 60; 6 units.
const (
	spendInputPerModel = 60
	spendUnitsPerModel = 6
)

func TestServer_Estimate(t *testing.T) {
	t.Parallel()

	t.Run("OKMaxTokens", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.spendWorld(t, nil)
		est := call[oapi.Estimate](t, b, "GET", "/v1/benchmarks/"+w.benchmark.Id.String()+"/estimate", "", http.StatusOK)
		// No history: every answer is taken to use all 50 tokens, 6 × 50 = 300.
		// cheap: (60 × 1.5 + 300 × 2) / 1e6 = 690e-6; dear: (60 × 3 + 300 × 15) / 1e6 = 4680e-6.
		wantModelEstimate(t, est.ByModel, 0, w.cheap, 300, 690e-6, "max_tokens")
		wantModelEstimate(t, est.ByModel, 1, w.dear, 300, 4680e-6, "max_tokens")
		wantEstimate(t, est, 600, 5370e-6, "max_tokens")
	})

	t.Run("OKHistory", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.spendWorld(t, nil)
		r := call[oapi.Run](t, b, "POST", "/v1/benchmarks/"+w.benchmark.Id.String()+"/runs", "", http.StatusAccepted)
		snap, err := b.store.LoadSnapshot(context.Background(), r.Id)
		if err != nil {
			t.Fatal(err)
		}
		record := func(model uuid.UUID, question, sample int, status run.ExecutionStatus, outputTokens int) {
			t.Helper()
			q := snap.Questions[question]
			e := &run.Execution{
				RunID: r.Id, RunCreatedAt: snap.Run.CreatedAt, BenchmarkID: w.benchmark.Id, ModelID: model,
				QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Sample: sample, Category: q.Category,
				Status: status, OutputTokens: outputTokens, FinishedAt: time.Now(),
			}
			if ok, err := b.store.RecordExecution(context.Background(), e); err != nil || !ok {
				t.Fatalf("RecordExecution: %v, %v", ok, err)
			}
		}
		// cheap: succeeded with 10, 20 and 30 output tokens (mean 20); a
		// failed unit and one without usage say nothing about answers.
		record(w.cheap.Id, 0, 0, run.ExecSucceeded, 10)
		record(w.cheap.Id, 0, 1, run.ExecSucceeded, 20)
		record(w.cheap.Id, 0, 2, run.ExecSucceeded, 30)
		record(w.cheap.Id, 1, 0, run.ExecFailed, 4000)
		record(w.cheap.Id, 1, 1, run.ExecSucceeded, 0)

		est := call[oapi.Estimate](t, b, "GET", "/v1/benchmarks/"+w.benchmark.Id.String()+"/estimate", "", http.StatusOK)
		// cheap: 6 × 20 = 120 output tokens, (60 × 1.5 + 120 × 2) / 1e6 = 330e-6.
		wantModelEstimate(t, est.ByModel, 0, w.cheap, 120, 330e-6, "history")
		wantModelEstimate(t, est.ByModel, 1, w.dear, 300, 4680e-6, "max_tokens")
		wantEstimate(t, est, 420, 5010e-6, "mixed")

		// dear answered longer than this benchmark now allows (80 > 50): its
		// mean is capped at max_tokens.
		record(w.dear.Id, 0, 0, run.ExecSucceeded, 80)
		est = call[oapi.Estimate](t, b, "GET", "/v1/benchmarks/"+w.benchmark.Id.String()+"/estimate", "", http.StatusOK)
		wantModelEstimate(t, est.ByModel, 1, w.dear, 300, 4680e-6, "history")
		wantEstimate(t, est, 420, 5010e-6, "history")
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		wantError(t, b.do(t, "GET", "/v1/benchmarks/"+uuid.NewString()+"/estimate", ""), http.StatusNotFound, "")
	})
}

func wantModelEstimate(t *testing.T, got []oapi.ModelEstimate, i int, m oapi.Model, outputTokens int64, cost float64, basis string) {
	t.Helper()
	if len(got) <= i {
		t.Fatalf("by_model has %d entries, want at least %d", len(got), i+1)
	}
	e := got[i]
	if e.ModelId != m.Id || e.ModelName != m.Name || e.Units != spendUnitsPerModel || e.InputTokens != spendInputPerModel ||
		e.OutputTokens != outputTokens || math.Abs(e.CostUsd-cost) > 1e-12 || string(e.Basis) != basis {
		t.Errorf("by_model[%d] = %+v; want %s with %d units, %d input and %d output tokens, $%g, basis %s",
			i, e, m.Name, spendUnitsPerModel, spendInputPerModel, outputTokens, cost, basis)
	}
}

func wantEstimate(t *testing.T, got oapi.Estimate, outputTokens int64, cost float64, basis string) {
	t.Helper()
	if got.Units != 2*spendUnitsPerModel || got.InputTokens != 2*spendInputPerModel || got.OutputTokens != outputTokens ||
		math.Abs(got.CostUsd-cost) > 1e-12 || string(got.Basis) != basis {
		t.Errorf("estimate = %+v; want %d units, %d input and %d output tokens, $%g, basis %s",
			got, 2*spendUnitsPerModel, 2*spendInputPerModel, outputTokens, cost, basis)
	}
}

func TestServer_SpendLimits(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.spendWorld(t, map[string]any{"max_cost_usd": 2.5, "timeout_seconds": 3600})
		c := w.benchmark.Config
		if c.MaxCostUsd == nil || *c.MaxCostUsd != 2.5 || c.TimeoutSeconds == nil || *c.TimeoutSeconds != 3600 {
			t.Fatalf("benchmark config = %+v; want max_cost_usd 2.5 and timeout_seconds 3600", c)
		}
		path := "/v1/benchmarks/" + w.benchmark.Id.String() + "/runs"

		r := call[oapi.Run](t, b, "POST", path, "", http.StatusAccepted)
		if r.MaxCostUsd == nil || *r.MaxCostUsd != 2.5 {
			t.Errorf("run max_cost_usd = %v, want the benchmark's 2.5", r.MaxCostUsd)
		}
		if r.DeadlineAt == nil || !r.DeadlineAt.Equal(r.CreatedAt.Add(time.Hour)) {
			t.Errorf("deadline_at = %v, want created_at %v + 3600s", r.DeadlineAt, r.CreatedAt)
		}
		if r.Config.MaxCostUsd == nil || *r.Config.MaxCostUsd != 2.5 || r.Config.TimeoutSeconds == nil || *r.Config.TimeoutSeconds != 3600 {
			t.Errorf("run config = %+v; want the benchmark's spend settings", r.Config)
		}
		got := call[oapi.Run](t, b, "GET", "/v1/runs/"+r.Id.String(), "", http.StatusOK)
		if got.MaxCostUsd == nil || *got.MaxCostUsd != 2.5 || got.DeadlineAt == nil || !got.DeadlineAt.Equal(*r.DeadlineAt) {
			t.Errorf("get = %+v; want the same cap and deadline", got)
		}

		// The run request's cap replaces the benchmark's.
		r2 := call[oapi.Run](t, b, "POST", path, `{"max_cost_usd":0.75}`, http.StatusAccepted)
		if r2.MaxCostUsd == nil || *r2.MaxCostUsd != 0.75 {
			t.Errorf("run max_cost_usd = %v, want the request's 0.75", r2.MaxCostUsd)
		}
	})

	t.Run("OKNone", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		r := call[oapi.Run](t, b, "POST", "/v1/benchmarks/"+w.benchmark.Id.String()+"/runs", "{}", http.StatusAccepted)
		if r.MaxCostUsd != nil || r.DeadlineAt != nil || r.Progress.Skipped != 0 {
			t.Errorf("run = %+v; want no cap, no deadline, nothing skipped", r)
		}
	})

	t.Run("SkippedResults", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		r := call[oapi.Run](t, b, "POST", "/v1/benchmarks/"+w.benchmark.Id.String()+"/runs", "", http.StatusAccepted)
		snap, err := b.store.LoadSnapshot(context.Background(), r.Id)
		if err != nil {
			t.Fatal(err)
		}
		q := snap.Questions[0]
		e := &run.Execution{
			RunID: r.Id, RunCreatedAt: snap.Run.CreatedAt, BenchmarkID: w.benchmark.Id, ModelID: w.models[0].Id,
			QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Category: q.Category,
			Status: run.ExecSkipped, Error: "run spend cap reached", FinishedAt: time.Now(),
		}
		if _, err := b.store.RecordExecution(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		res := call[oapi.ExecutionList](t, b, "GET", "/v1/runs/"+r.Id.String()+"/results", "", http.StatusOK)
		if len(res.Items) != 1 || res.Items[0].Status != "skipped" {
			t.Fatalf("results = %+v; want the skipped unit", res.Items)
		}
		if got := call[oapi.Run](t, b, "GET", "/v1/runs/"+r.Id.String(), "", http.StatusOK); got.Progress.Skipped != 1 {
			t.Errorf("progress = %+v; want 1 skipped", got.Progress)
		}
	})

	t.Run("ErrBounds", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		path := "/v1/benchmarks/" + w.benchmark.Id.String()
		for field, cfg := range map[string]map[string]any{
			"config.max_cost_usd":    {"max_cost_usd": 0},
			"config.timeout_seconds": {"timeout_seconds": 30*24*3600 + 1},
		} {
			cfg["temperature"], cfg["max_tokens"], cfg["samples"] = 0, 10, 1
			wantError(t, b.do(t, "PATCH", path, mustJSON(t, map[string]any{"config": cfg})), http.StatusUnprocessableEntity, field)
		}
		wantError(t, b.do(t, "PATCH", path, `{"config":{"temperature":0,"max_tokens":10,"samples":1,"max_cost_usd":-1}}`), http.StatusUnprocessableEntity, "config.max_cost_usd")
		wantError(t, b.do(t, "PATCH", path, `{"config":{"temperature":0,"max_tokens":10,"samples":1,"timeout_seconds":-1}}`), http.StatusUnprocessableEntity, "config.timeout_seconds")
		for _, body := range []string{`{"max_cost_usd":0}`, `{"max_cost_usd":-3}`, `{"max_cost_usd":1e10}`} {
			wantError(t, b.do(t, "POST", path+"/runs", body), http.StatusUnprocessableEntity, "max_cost_usd")
		}
		if page := call[oapi.RunList](t, b, "GET", "/v1/runs?benchmark_id="+w.benchmark.Id.String(), "", http.StatusOK); len(page.Items) != 0 {
			t.Errorf("refused run requests made %d runs", len(page.Items))
		}
	})
}

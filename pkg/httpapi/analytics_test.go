package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// The analytics history: two models answer four questions (q0 and q1 in
// math, q2 and q3 in geo) twice each, in two runs a week apart, with q3
// edited between them.
//
//	run 1 (Tuesday 6 October, the week of Monday 5 October):
//	  alpha passes everything, 100 ms, $0.001 a unit;
//	  beta passes math and fails geo, 200 ms, $0.001 a unit.
//	run 2 (Tuesday 13 October, the week of Monday 12 October):
//	  alpha passes math and fails geo (a regression);
//	  beta as before, except that q0's first sample fails for good
//	  (no latency, no cost).
//
// alpha streams: its units report a first token after 10 ms × (question
// index + 1), a median of 25 ms; beta's report none.
//
// Per question (pass rate): alpha [1 1 1 1] then [1 1 0 0]; beta
// [1 1 0 0] then [.5 1 0 0]. q3 is a new revision in run 2, so a
// comparison pairs only q0..q2.
var (
	week1 = time.Date(2026, 10, 6, 10, 0, 0, 0, time.UTC)
	week2 = time.Date(2026, 10, 13, 10, 0, 0, 0, time.UTC)
	mon1  = time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	mon2  = time.Date(2026, 10, 12, 0, 0, 0, 0, time.UTC)
)

type analyticsHistory struct {
	b *bundle
	// gamma is a model outside the benchmark.
	alpha, beta, gamma oapi.Model
	questions          []oapi.Question
	benchmark          oapi.Benchmark
	// other is a benchmark with no finished run.
	other      oapi.Benchmark
	run1, run2 *run.Run
	// unfinished is a run of benchmark still going; otherRun one of other.
	unfinished, otherRun *run.Run
}

// setupOn is setup over pool instead of the default test database, so that
// the same tests run on each storage path; mods adjust the rest as setup's do.
func setupOn(t *testing.T, pool *pgxpool.Pool, mods ...func(*httpapi.Deps)) *bundle {
	t.Helper()
	st := store.New(pool, testenv.Keyring(t))
	b := setup(t, append([]func(*httpapi.Deps){func(d *httpapi.Deps) { d.Store = st }}, mods...)...)
	b.store = st
	b.token = b.newToken(t, apitoken.ScopeAdmin)
	return b
}

func newAnalyticsHistory(t *testing.T, b *bundle) *analyticsHistory {
	t.Helper()
	ctx := context.Background()
	p := b.provider(t, nil)
	h := &analyticsHistory{
		b:     b,
		alpha: b.model(t, p.Id.String(), map[string]any{"name": "alpha"}),
		beta:  b.model(t, p.Id.String(), map[string]any{"name": "beta"}),
		gamma: b.model(t, p.Id.String(), map[string]any{"name": "gamma"}),
	}
	s := b.suite(t)
	for i, cat := range []string{"math", "math", "geo", "geo"} {
		body := map[string]any{"prompt": "q" + string(rune('0'+i)), "category": cat, "expected_answer": "x", "scoring": map[string]any{"method": "exact_match"}}
		h.questions = append(h.questions, call[oapi.Question](t, b, "POST", "/v1/suites/"+s.Id.String()+"/questions", mustJSON(t, body), http.StatusCreated))
	}
	bench := func(name string) oapi.Benchmark {
		body := map[string]any{
			"name": name, "suite_ids": []string{s.Id.String()}, "model_ids": []string{h.alpha.Id.String(), h.beta.Id.String()},
			"config": map[string]any{"temperature": 0, "max_tokens": 16, "samples": 2},
		}
		return call[oapi.Benchmark](t, b, "POST", "/v1/benchmarks", mustJSON(t, body), http.StatusCreated)
	}
	h.benchmark, h.other = bench("history"), bench("empty")

	h.run1 = h.record(t, week1, func(m uuid.UUID, q, _ int) (bool, bool, float64) {
		if m == h.alpha.Id {
			return true, false, 100
		}
		return q < 2, false, 200
	})
	call[oapi.Question](t, b, "PATCH", "/v1/questions/"+h.questions[3].Id.String(), `{"prompt":"q3, reworded"}`, http.StatusOK)
	h.run2 = h.record(t, week2, func(m uuid.UUID, q, sample int) (bool, bool, float64) {
		if m == h.alpha.Id {
			return q < 2, false, 100
		}
		if q == 0 && sample == 0 {
			return false, true, 0
		}
		return q < 2, false, 200
	})
	var err error
	if h.unfinished, err = b.store.CreateRunAt(ctx, h.benchmark.Id, week2.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if h.otherRun, err = b.store.CreateRunAt(ctx, h.other.Id, week2); err != nil {
		t.Fatal(err)
	}
	for {
		res, err := b.store.RefreshRollups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !res.More {
			break
		}
	}
	return h
}

// record makes a finished run of the benchmark created at `at`; outcome
// says whether each unit passed, failed for good, and its latency.
func (h *analyticsHistory) record(t *testing.T, at time.Time, outcome func(model uuid.UUID, q, sample int) (passed, failed bool, latencyMs float64)) *run.Run {
	t.Helper()
	ctx := context.Background()
	st := h.b.store
	r, err := st.CreateRunAt(ctx, h.benchmark.Id, at)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := st.LoadSnapshot(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	status := run.StatusCompleted
	for _, m := range snap.Models {
		for _, q := range snap.Questions {
			qi := slices.IndexFunc(h.questions, func(x oapi.Question) bool { return x.Id == q.QuestionID })
			for sample := range 2 {
				passed, failed, lat := outcome(m.ModelID, qi, sample)
				e := &run.Execution{
					RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: m.ModelID,
					QuestionID: q.QuestionID, QuestionRevisionID: q.RevisionID, Sample: sample, Category: q.Category,
					Status: run.ExecSucceeded, LatencyMs: &lat, InputTokens: 10, OutputTokens: 5, CostUSD: 0.001,
					FinishedAt: at.Add(time.Minute),
				}
				if ttft := 10 * float64(qi+1); m.ModelID == h.alpha.Id {
					e.TTFTMs = &ttft
				}
				if failed {
					status = run.StatusPartial
					e.Status, e.Error, e.LatencyMs, e.CostUSD = run.ExecFailed, "HTTP 500", nil, 0
				} else {
					score := 0.0
					if passed {
						score = 1
					}
					e.Evaluation = run.Scored("exact_match", passed, score, "")
				}
				if ok, err := st.RecordExecution(ctx, e); err != nil || !ok {
					t.Fatalf("RecordExecution: %v, %v", ok, err)
				}
			}
		}
	}
	fin, first, err := st.Finalize(ctx, r, status, "", analytics.RankRun)
	if err != nil || !first {
		t.Fatalf("Finalize: first %v, %v", first, err)
	}
	return fin
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestServer_Analytics checks the analytics routes against the figures
// worked out by hand above, on each storage path.
func TestServer_Analytics(t *testing.T) {
	t.Parallel()
	testenv.OnEachStorage(t, func(t *testing.T, pool *pgxpool.Pool) {
		h := newAnalyticsHistory(t, setupOn(t, pool))
		t.Run("Leaderboard", h.testLeaderboard)
		t.Run("Compare", h.testCompare)
		t.Run("Drift", h.testDrift)
		t.Run("Timeseries", h.testTimeseries)
		t.Run("RankingsTTFT", h.testRankingsTTFT)
		t.Run("BadInput", h.testBadInput)
		t.Run("Scopes", h.testScopes)
		t.Run("Readable", h.testReadable)
	})
}

// testReadable: every figure a run or analytics route writes is rounded to
// 9 decimal places, rankings say rank as the leaderboard does, and ids
// come with the names a person reads.
func (h *analyticsHistory) testReadable(t *testing.T) {
	b, id, run2 := h.b, h.benchmark.Id.String(), h.run2.ID.String()

	t.Run("Rounded", func(t *testing.T) {
		t.Parallel()
		from, to := "2026-10-01T00:00:00Z", "2026-10-31T00:00:00Z"
		paths := []string{
			"/v1/runs/" + run2, "/v1/runs/" + run2 + "/rankings", "/v1/runs/" + run2 + "/results?limit=200",
			"/v1/benchmarks/" + id + "/estimate",
			h.path("/v1/leaderboard", "benchmark_id", id),
			h.path("/v1/leaderboard", "benchmark_id", id, "period", "month", "at", week2.Format(time.RFC3339)),
			h.path("/v1/analytics/compare", "benchmark_id", id),
			h.path("/v1/models/"+h.alpha.Id.String()+"/drift", "benchmark_id", id),
		}
		for _, metric := range []string{"score", "latency_ms", "cost_usd"} {
			paths = append(paths, h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", metric, "bucket", "week", "from", from, "to", to))
		}
		for _, path := range paths {
			resp := b.do(t, "GET", path, "")
			if resp.status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, resp.status, resp.body)
			}
			dec := json.NewDecoder(bytes.NewReader(resp.body))
			dec.UseNumber()
			var doc any
			if err := dec.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			walkNumbers(doc, "", func(at string, n json.Number) {
				v, err := n.Float64()
				if err != nil || v != math.Round(v*1e9)/1e9 {
					t.Errorf("GET %s: %s = %s, not rounded to 9 decimal places", path, at, n)
				}
			})
		}
	})

	t.Run("RankAndPosition", func(t *testing.T) {
		t.Parallel()
		rk := call[oapi.Rankings](t, b, "GET", "/v1/runs/"+run2+"/rankings", "", http.StatusOK)
		lb := call[oapi.Leaderboard](t, b, "GET", h.path("/v1/leaderboard", "benchmark_id", id), "", http.StatusOK)
		if len(rk.Overall) != 2 || len(lb.Entries) != 2 {
			t.Fatalf("rankings %+v, leaderboard %+v", rk.Overall, lb.Entries)
		}
		for i, e := range rk.Overall {
			if e.Rank != i+1 || e.Position != e.Rank || lb.Entries[i].ModelId != e.ModelId || lb.Entries[i].Rank != e.Rank {
				t.Errorf("ranking %d: rank %d, position %d; leaderboard has %s at rank %d", i, e.Rank, e.Position, lb.Entries[i].ModelName, lb.Entries[i].Rank)
			}
		}
	})

	t.Run("Names", func(t *testing.T) {
		t.Parallel()
		names := map[uuid.UUID]string{h.alpha.Id: "alpha", h.beta.Id: "beta"}
		// Run 2 asked q3's second revision.
		prompts := map[uuid.UUID]string{
			h.questions[0].Id: "q0", h.questions[1].Id: "q1", h.questions[2].Id: "q2", h.questions[3].Id: "q3, reworded",
		}
		res := call[oapi.ExecutionList](t, b, "GET", "/v1/runs/"+run2+"/results?limit=200", "", http.StatusOK)
		if len(res.Items) != 16 {
			t.Fatalf("%d results, want 16", len(res.Items))
		}
		for _, e := range res.Items {
			q := h.questions[slices.IndexFunc(h.questions, func(q oapi.Question) bool { return q.Id == e.QuestionId })]
			if e.ModelName != names[e.ModelId] || e.PromptExcerpt != prompts[e.QuestionId] || e.Category != q.Category {
				t.Errorf("result %s/%s: model_name %q, prompt_excerpt %q, category %q", e.ModelId, e.QuestionId, e.ModelName, e.PromptExcerpt, e.Category)
			}
		}
		d := call[oapi.Drift](t, b, "GET", h.path("/v1/models/"+h.alpha.Id.String()+"/drift", "benchmark_id", id), "", http.StatusOK)
		if d.ModelName != "alpha" || len(d.Questions) != 2 {
			t.Fatalf("drift %+v: want alpha's, with two questions", d)
		}
		for _, q := range d.Questions {
			if q.PromptExcerpt != prompts[q.QuestionId] {
				t.Errorf("drift question %s: prompt_excerpt %q, want %q", q.QuestionId, q.PromptExcerpt, prompts[q.QuestionId])
			}
		}
		c := call[oapi.Comparison](t, b, "GET", h.path("/v1/analytics/compare", "benchmark_id", id, "period", "mom"), "", http.StatusOK)
		// September has no run: both models are unpaired, and named.
		if len(c.UnpairedModels) != 2 || len(c.UnpairedModelNames) != 2 ||
			c.UnpairedModelNames[0] != names[c.UnpairedModels[0]] || c.UnpairedModelNames[1] != names[c.UnpairedModels[1]] {
			t.Errorf("unpaired %v named %v", c.UnpairedModels, c.UnpairedModelNames)
		}
	})
}

// walkNumbers calls f with every number in a decoded JSON document and
// its path.
func walkNumbers(v any, at string, f func(at string, n json.Number)) {
	switch x := v.(type) {
	case json.Number:
		f(at, x)
	case map[string]any:
		for k, e := range x {
			walkNumbers(e, at+"."+k, f)
		}
	case []any:
		for i, e := range x {
			walkNumbers(e, fmt.Sprintf("%s[%d]", at, i), f)
		}
	}
}

func (h *analyticsHistory) path(route string, params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	return route + "?" + q.Encode()
}

// wantEntry checks a leaderboard entry's figures.
func wantEntry(t *testing.T, e oapi.LeaderboardEntry, m oapi.Model, rank, questions, n int, score, errorRate, latency, costPer1k float64, passAtK ...float64) {
	t.Helper()
	if e.ModelId != m.Id || e.ModelName != m.Name || e.Rank != rank || e.Questions != questions || e.N != n ||
		!approx(e.Score, score) || !approx(e.ErrorRate, errorRate) || e.MeanLatencyMs == nil || !approx(*e.MeanLatencyMs, latency) ||
		!approx(e.CostPer1kQuestions, costPer1k) {
		t.Errorf("entry %+v (latency %v)\nwant %s rank %d, %d questions, n %d, score %g, error rate %g, latency %g, $%g per 1k",
			e, e.MeanLatencyMs, m.Name, rank, questions, n, score, errorRate, latency, costPer1k)
	}
	if e.CiLow > e.Score || e.CiHigh < e.Score || e.CiLow < 0 || e.CiHigh > 1 {
		t.Errorf("%s: interval [%g, %g] does not bracket the score %g", m.Name, e.CiLow, e.CiHigh, e.Score)
	}
	if len(e.PassAtK) != len(passAtK) {
		t.Fatalf("%s: pass@k %+v, want %v", m.Name, e.PassAtK, passAtK)
	}
	for i, v := range passAtK {
		if e.PassAtK[i].K != []int{1, 2}[i] || !approx(e.PassAtK[i].Value, v) {
			t.Errorf("%s: pass@k %+v, want %v for k = 1, 2", m.Name, e.PassAtK, passAtK)
		}
	}
}

// wantBands recomputes the rank bands from the entries' intervals.
func wantBands(t *testing.T, entries []oapi.LeaderboardEntry) {
	t.Helper()
	for _, e := range entries {
		low, high := 1, 1
		for _, o := range entries {
			if o.ModelId == e.ModelId {
				continue
			}
			if o.CiLow > e.CiHigh {
				low++
			}
			if !(o.CiHigh < e.CiLow) {
				high++
			}
		}
		if e.RankLow != low || e.RankHigh != high || e.RankLow > e.Rank || e.Rank > e.RankHigh {
			t.Errorf("%s: rank %d band [%d, %d], want [%d, %d] around it", e.ModelName, e.Rank, e.RankLow, e.RankHigh, low, high)
		}
	}
}

func (h *analyticsHistory) testLeaderboard(t *testing.T) {
	b, id := h.b, h.benchmark.Id.String()

	t.Run("OKLatest", func(t *testing.T) {
		t.Parallel()
		lb := call[oapi.Leaderboard](t, b, "GET", h.path("/v1/leaderboard", "benchmark_id", id), "", http.StatusOK)
		if lb.Period != oapi.LeaderboardPeriodLatest || lb.RunId == nil || *lb.RunId != h.run2.ID || lb.Start != nil ||
			lb.Category != nil || lb.Seed != 1 || lb.Resamples != 1000 || len(lb.Entries) != 2 {
			t.Fatalf("leaderboard = %+v; want run 2's, seed 1, 1000 resamples, 2 entries", lb)
		}
		// alpha [1 1 0 0]: .5, pass@2 .5. beta [.5 1 0 0]: .375, one unit
		// of 8 failed; q0 cost $0.001, the others $0.002: $1.75 per 1k;
		// pass@2 = (1 + 1 + 0 + 0)/4.
		wantEntry(t, lb.Entries[0], h.alpha, 1, 4, 8, 0.5, 0, 100, 2, 0.5, 0.5)
		wantEntry(t, lb.Entries[1], h.beta, 2, 4, 8, 0.375, 0.125, 200, 1.75, 0.375, 0.5)
		// sd of [1 1 0 0] is sqrt(1/3); over sqrt(4): 0.288675.
		if se := lb.Entries[0].StdError; math.Abs(se-0.2886751) > 1e-6 {
			t.Errorf("alpha std error %g, want 0.288675", se)
		}
		wantBands(t, lb.Entries)

		again := b.do(t, "GET", h.path("/v1/leaderboard", "benchmark_id", id, "seed", "1"), "")
		first := b.do(t, "GET", h.path("/v1/leaderboard", "benchmark_id", id), "")
		if !bytes.Equal(again.body, first.body) {
			t.Errorf("seed 1 and the default seed answered differently:\n%s\n%s", first.body, again.body)
		}
	})

	t.Run("OKWeek", func(t *testing.T) {
		t.Parallel()
		lb := call[oapi.Leaderboard](t, b, "GET", h.path("/v1/leaderboard", "benchmark_id", id, "period", "week", "at", week1.Add(48*time.Hour).Format(time.RFC3339)), "", http.StatusOK)
		if lb.Period != oapi.LeaderboardPeriodWeek || lb.RunId != nil || lb.Start == nil || !lb.Start.Equal(mon1) || !lb.End.Equal(mon2) || len(lb.Entries) != 2 {
			t.Fatalf("leaderboard = %+v; want the week of %s", lb, mon1)
		}
		wantEntry(t, lb.Entries[0], h.alpha, 1, 4, 8, 1, 0, 100, 2, 1, 1)
		wantEntry(t, lb.Entries[1], h.beta, 2, 4, 8, 0.5, 0, 200, 2, 0.5, 0.5)
		if e := lb.Entries[0]; e.CiLow != 1 || e.CiHigh != 1 {
			t.Errorf("alpha passed everything; interval [%g, %g], want [1, 1]", e.CiLow, e.CiHigh)
		}
		wantBands(t, lb.Entries)
	})

	t.Run("OKMonth", func(t *testing.T) {
		t.Parallel()
		// October pools both runs per question revision; q3's two
		// revisions are two questions. alpha: q0 1, q1 1, q2 2/4, q3 1, q3'
		// 0: 3.5/5. beta: q0 3/4, q1 1, q2 0, q3 0, q3' 0: 1.75/5.
		lb := call[oapi.Leaderboard](t, b, "GET", h.path("/v1/leaderboard", "benchmark_id", id, "period", "month"), "", http.StatusOK)
		oct := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		if lb.Period != oapi.LeaderboardPeriodMonth || lb.Start == nil || !lb.Start.Equal(oct) || len(lb.Entries) != 2 {
			t.Fatalf("leaderboard = %+v; want October", lb)
		}
		// pass@2 of q2 (n 4, c 2) is 1 - C(2,2)/C(4,2) = 5/6.
		wantEntry(t, lb.Entries[0], h.alpha, 1, 5, 16, 0.7, 0, 100, 2, 0.7, (3+5.0/6)/5)
		// beta's cost: q0 $0.003 over 2 runs, q3 and q3' one run each.
		wantEntry(t, lb.Entries[1], h.beta, 2, 5, 16, 0.35, 1.0/16, 200, 1000*(0.0015+0.002*4)/5, 0.35, 0.4)
	})

	t.Run("OKCategory", func(t *testing.T) {
		t.Parallel()
		lb := call[oapi.Leaderboard](t, b, "GET", h.path("/v1/leaderboard", "benchmark_id", id, "category", "geo"), "", http.StatusOK)
		if lb.Category == nil || *lb.Category != "geo" || len(lb.Entries) != 2 {
			t.Fatalf("leaderboard = %+v; want geo only", lb)
		}
		// Both fail geo in run 2: a tie at 0, broken by name.
		wantEntry(t, lb.Entries[0], h.alpha, 1, 2, 4, 0, 0, 100, 2, 0, 0)
		wantEntry(t, lb.Entries[1], h.beta, 2, 2, 4, 0, 0, 200, 2, 0, 0)
		for _, e := range lb.Entries {
			if e.RankLow != 1 || e.RankHigh != 2 {
				t.Errorf("%s: band [%d, %d], want [1, 2] for a tie", e.ModelName, e.RankLow, e.RankHigh)
			}
		}
	})

	t.Run("ErrNoFinishedRun", func(t *testing.T) {
		t.Parallel()
		for _, period := range []string{"latest", "week", "month"} {
			wantError(t, b.do(t, "GET", h.path("/v1/leaderboard", "benchmark_id", h.other.Id.String(), "period", period), ""), http.StatusNotFound, "benchmark_id")
		}
	})
}

// wantChange checks a metric's change; the interval must bracket the
// difference, and significance must mean it excludes 0.
func wantChange(t *testing.T, what string, c *oapi.MetricChange, questions int, current, previous float64) {
	t.Helper()
	if c == nil {
		t.Fatalf("%s: no change reported", what)
	}
	if c.Questions != questions || !approx(c.Current, current) || !approx(c.Previous, previous) || !approx(c.Diff, current-previous) {
		t.Errorf("%s = %+v; want %d questions, %g → %g", what, *c, questions, previous, current)
	}
	if c.CiLow > c.Diff+1e-12 || c.CiHigh < c.Diff-1e-12 || c.Significant != (c.CiLow > 0 || c.CiHigh < 0) {
		t.Errorf("%s: interval [%g, %g], significant %v, around diff %g", what, c.CiLow, c.CiHigh, c.Significant, c.Diff)
	}
}

func (h *analyticsHistory) testCompare(t *testing.T) {
	b, id := h.b, h.benchmark.Id.String()
	// The paired questions are q0..q2 (q3 was edited). alpha [1 1 1] →
	// [1 1 0]; beta [1 1 0] → [.5 1 0], and q0's cost went from $0.002 to
	// $0.001 with its failed unit. Latency did not move.
	check := func(t *testing.T, c oapi.Comparison) {
		t.Helper()
		if len(c.Models) != 2 || len(c.UnpairedModels) != 0 || c.Seed != 1 || c.Resamples != 1000 {
			t.Fatalf("comparison = %+v; want both models paired, seed 1, 1000 resamples", c)
		}
		a, be := c.Models[0], c.Models[1]
		if a.ModelId != h.alpha.Id || a.ModelName != "alpha" || a.Questions != 3 || be.ModelId != h.beta.Id || be.Questions != 3 {
			t.Fatalf("models = %+v; want alpha then beta on 3 questions", c.Models)
		}
		wantChange(t, "alpha score", &a.Score, 3, 2.0/3, 1)
		wantChange(t, "alpha latency", a.LatencyMs, 3, 100, 100)
		wantChange(t, "alpha cost", &a.CostUsd, 3, 0.002, 0.002)
		wantChange(t, "beta score", &be.Score, 3, 0.5, 2.0/3)
		wantChange(t, "beta latency", be.LatencyMs, 3, 200, 200)
		wantChange(t, "beta cost", &be.CostUsd, 3, 0.005/3, 0.002)
		if l := a.LatencyMs; l.CiLow != 0 || l.CiHigh != 0 || l.Significant {
			t.Errorf("alpha latency = %+v; an unchanged metric has the interval [0, 0]", *l)
		}
		// The verdicts flip by question, as drift counts them: alpha's geo
		// questions regressed (q3 too, though edited in between), beta's
		// q0 still passes at 1/2.
		if a.Regressed != 2 || a.Improved != 0 || a.Unchanged != 2 || len(a.ChangedQuestions) != 2 {
			t.Fatalf("alpha: %d regressed, %d improved, %d unchanged, changed %+v; want q2 and q3 regressed",
				a.Regressed, a.Improved, a.Unchanged, a.ChangedQuestions)
		}
		// Regressions are listed by question id.
		order := []int{2, 3}
		if bytes.Compare(h.questions[3].Id[:], h.questions[2].Id[:]) < 0 {
			order = []int{3, 2}
		}
		for i, want := range order {
			q, wq := a.ChangedQuestions[i], h.questions[want]
			revision := 1
			if want == 3 {
				revision = 2
			}
			if q.QuestionId != wq.Id || q.Category != "geo" || q.Change != oapi.DriftRegressed || q.PreviousPassRate != 1 ||
				q.CurrentPassRate != 0 || q.PreviousRevision != 1 || q.CurrentRevision != revision || q.PromptExcerpt == "" {
				t.Errorf("alpha changed question %d = %+v; want q%d regressed, revision 1 → %d", i, q, want, revision)
			}
		}
		if be.Regressed != 0 || be.Improved != 0 || be.Unchanged != 4 || be.ChangedQuestions == nil || len(be.ChangedQuestions) != 0 {
			t.Errorf("beta: %d regressed, %d improved, %d unchanged, changed %v; want 4 unchanged and an empty list",
				be.Regressed, be.Improved, be.Unchanged, be.ChangedQuestions)
		}
	}

	t.Run("OKWeekOverWeek", func(t *testing.T) {
		t.Parallel()
		c := call[oapi.Comparison](t, b, "GET", h.path("/v1/analytics/compare", "benchmark_id", id), "", http.StatusOK)
		if c.Period != oapi.ComparisonPeriodWow || c.Current.Start == nil || !c.Current.Start.Equal(mon2) || !c.Current.End.Equal(mon2.AddDate(0, 0, 7)) ||
			c.Previous.Start == nil || !c.Previous.Start.Equal(mon1) || !c.Previous.End.Equal(mon2) || c.Current.RunId != nil {
			t.Fatalf("periods = %+v → %+v; want the week of %s against the one before", c.Previous, c.Current, mon2)
		}
		check(t, c)
		// Pinned to the same week by `at`: the same answer.
		at := call[oapi.Comparison](t, b, "GET", h.path("/v1/analytics/compare", "benchmark_id", id, "period", "wow", "at", week2.Format(time.RFC3339)), "", http.StatusOK)
		check(t, at)
	})

	t.Run("OKRuns", func(t *testing.T) {
		t.Parallel()
		c := call[oapi.Comparison](t, b, "GET", h.path("/v1/analytics/compare", "benchmark_id", id,
			"current_run_id", h.run2.ID.String(), "previous_run_id", h.run1.ID.String()), "", http.StatusOK)
		if c.Period != oapi.ComparisonPeriodRuns || c.Current.RunId == nil || *c.Current.RunId != h.run2.ID ||
			c.Previous.RunId == nil || *c.Previous.RunId != h.run1.ID || c.Current.Start != nil {
			t.Fatalf("sides = %+v, %+v; want the two runs", c.Current, c.Previous)
		}
		check(t, c)
	})

	t.Run("OKCategory", func(t *testing.T) {
		t.Parallel()
		c := call[oapi.Comparison](t, b, "GET", h.path("/v1/analytics/compare", "benchmark_id", id, "category", "math"), "", http.StatusOK)
		if c.Category == nil || *c.Category != "math" || len(c.Models) != 2 {
			t.Fatalf("comparison = %+v; want math for both models", c)
		}
		wantChange(t, "alpha math", &c.Models[0].Score, 2, 1, 1)
		wantChange(t, "beta math", &c.Models[1].Score, 2, 0.75, 1)
	})

	t.Run("OKUnpaired", func(t *testing.T) {
		t.Parallel()
		want := []uuid.UUID{h.alpha.Id, h.beta.Id}
		slices.SortFunc(want, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
		// The week before the first run, and September, are empty.
		for _, params := range [][]string{
			{"at", week1.Format(time.RFC3339)},
			{"period", "mom"},
		} {
			c := call[oapi.Comparison](t, b, "GET", h.path("/v1/analytics/compare", append([]string{"benchmark_id", id}, params...)...), "", http.StatusOK)
			if len(c.Models) != 0 || !slices.Equal(c.UnpairedModels, want) {
				t.Errorf("%v: models %+v, unpaired %v; want none paired, %v unpaired", params, c.Models, c.UnpairedModels, want)
			}
		}
	})

	t.Run("Err", func(t *testing.T) {
		t.Parallel()
		r1, r2 := h.run1.ID.String(), h.run2.ID.String()
		for _, tc := range []struct {
			name   string
			params []string
			status int
			field  string
		}{
			{"OnlyCurrent", []string{"current_run_id", r2}, http.StatusBadRequest, "previous_run_id"},
			{"OnlyPrevious", []string{"previous_run_id", r1}, http.StatusBadRequest, "current_run_id"},
			{"RunsAndPeriod", []string{"current_run_id", r2, "previous_run_id", r1, "period", "wow"}, http.StatusBadRequest, "period"},
			{"RunsAndAt", []string{"current_run_id", r2, "previous_run_id", r1, "at", week2.Format(time.RFC3339)}, http.StatusBadRequest, "at"},
			{"SameRun", []string{"current_run_id", r2, "previous_run_id", r2}, http.StatusUnprocessableEntity, "previous_run_id"},
			{"UnknownRun", []string{"current_run_id", uuid.NewString(), "previous_run_id", r1}, http.StatusNotFound, "current_run_id"},
			{"Unfinished", []string{"current_run_id", h.unfinished.ID.String(), "previous_run_id", r1}, http.StatusConflict, "current_run_id"},
			{"OtherBenchmark", []string{"current_run_id", r2, "previous_run_id", h.otherRun.ID.String()}, http.StatusUnprocessableEntity, "previous_run_id"},
			{"BadPeriod", []string{"period", "yoy"}, http.StatusBadRequest, "period"},
			{"BadAt", []string{"at", "last week"}, http.StatusBadRequest, "at"},
			{"BadRunID", []string{"current_run_id", "run-2", "previous_run_id", r1}, http.StatusBadRequest, "current_run_id"},
			{"SeedZero", []string{"seed", "0"}, http.StatusBadRequest, "seed"},
			{"SeedNotNumber", []string{"seed", "lucky"}, http.StatusBadRequest, "seed"},
			{"SeedTooLarge", []string{"seed", "9007199254740992"}, http.StatusBadRequest, "seed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				path := h.path("/v1/analytics/compare", append([]string{"benchmark_id", id}, tc.params...)...)
				wantError(t, b.do(t, "GET", path, ""), tc.status, tc.field)
			})
		}
		wantError(t, b.do(t, "GET", h.path("/v1/analytics/compare", "benchmark_id", h.other.Id.String()), ""), http.StatusNotFound, "benchmark_id")
		wantError(t, b.do(t, "GET", h.path("/v1/analytics/compare", "benchmark_id", uuid.NewString(),
			"current_run_id", r2, "previous_run_id", r1), ""), http.StatusNotFound, "benchmark_id")
	})
}

func (h *analyticsHistory) testDrift(t *testing.T) {
	b, id := h.b, h.benchmark.Id.String()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		d := call[oapi.Drift](t, b, "GET", h.path("/v1/models/"+h.alpha.Id.String()+"/drift", "benchmark_id", id), "", http.StatusOK)
		if d.ModelId != h.alpha.Id || d.BenchmarkId != h.benchmark.Id || d.CurrentRun.Id != h.run2.ID || d.PreviousRun.Id != h.run1.ID ||
			!d.CurrentRun.CreatedAt.Equal(week2) || !d.PreviousRun.CreatedAt.Equal(week1) {
			t.Fatalf("drift = %+v; want alpha's run 2 against run 1", d)
		}
		if d.Regressed != 2 || d.Improved != 0 || d.Unchanged != 2 || len(d.Questions) != 2 {
			t.Fatalf("drift = %+v; want q2 and q3 regressed, q0 and q1 unchanged", d)
		}
		want := []oapi.Question{h.questions[2], h.questions[3]}
		slices.SortFunc(want, func(a, b oapi.Question) int { return bytes.Compare(a.Id[:], b.Id[:]) })
		for i, q := range d.Questions {
			rev := 1
			if q.QuestionId == h.questions[3].Id {
				rev = 2 // edited between the runs: still the same question
			}
			if q.QuestionId != want[i].Id || q.Category != "geo" || q.Change != oapi.DriftRegressed || q.PreviousPassRate != 1 ||
				q.CurrentPassRate != 0 || q.PreviousRevision != 1 || q.CurrentRevision != rev {
				t.Errorf("question %d = %+v; want %s regressed from 1 to 0, revision 1 → %d", i, q, want[i].Id, rev)
			}
		}

		// beta's q0 fell to 1/2, which still passes: nothing flipped.
		d = call[oapi.Drift](t, b, "GET", h.path("/v1/models/"+h.beta.Id.String()+"/drift", "benchmark_id", id), "", http.StatusOK)
		if d.Regressed != 0 || d.Improved != 0 || d.Unchanged != 4 || d.Questions == nil || len(d.Questions) != 0 {
			t.Errorf("beta's drift = %+v; want 4 unchanged and an empty list", d)
		}
	})

	t.Run("Err", func(t *testing.T) {
		t.Parallel()
		drift := func(model, benchmark string) response {
			return b.do(t, "GET", h.path("/v1/models/"+model+"/drift", "benchmark_id", benchmark), "")
		}
		// gamma exists but never ran; the empty benchmark has no run.
		wantError(t, drift(h.gamma.Id.String(), id), http.StatusConflict, "")
		wantError(t, drift(h.alpha.Id.String(), h.other.Id.String()), http.StatusConflict, "")
		wantError(t, drift(uuid.NewString(), id), http.StatusNotFound, "id")
		wantError(t, drift(h.alpha.Id.String(), uuid.NewString()), http.StatusNotFound, "benchmark_id")
		wantError(t, drift("alpha", id), http.StatusBadRequest, "id")
		wantError(t, b.do(t, "GET", "/v1/models/"+h.alpha.Id.String()+"/drift", ""), http.StatusBadRequest, "benchmark_id")
	})
}

// testRankingsTTFT: a run's overall ranking carries each model's median
// time to first token, null for a model none of whose units reported one
// and in the per-category rankings.
func (h *analyticsHistory) testRankingsTTFT(t *testing.T) {
	t.Parallel()
	for _, r := range []*run.Run{h.run1, h.run2} {
		rk := call[oapi.Rankings](t, h.b, "GET", "/v1/runs/"+r.ID.String()+"/rankings", "", http.StatusOK)
		if len(rk.Overall) != 2 {
			t.Fatalf("run %s: overall %+v, want two models", r.ID, rk.Overall)
		}
		for _, e := range rk.Overall {
			switch {
			case e.ModelId == h.alpha.Id && (e.TtftP50Ms == nil || !approx(*e.TtftP50Ms, 25)):
				t.Errorf("run %s, alpha: ttft_p50_ms %v, want 25", r.ID, deref(e.TtftP50Ms))
			case e.ModelId == h.beta.Id && e.TtftP50Ms != nil:
				t.Errorf("run %s, beta: ttft_p50_ms %v, want null", r.ID, *e.TtftP50Ms)
			}
		}
		for cat, entries := range rk.ByCategory {
			for _, e := range entries {
				if e.TtftP50Ms != nil {
					t.Errorf("run %s, %s, %s: ttft_p50_ms %v, want null", r.ID, cat, e.ModelName, *e.TtftP50Ms)
				}
			}
		}
	}
}

// point is a point of a series as the tests write it.
type point struct {
	bucket time.Time
	value  *float64
	n      int64
}

func pv(v float64) *float64 { return &v }

func wantSeries(t *testing.T, ts oapi.Timeseries, want map[string][]point) {
	t.Helper()
	if len(ts.Series) != len(want) {
		t.Fatalf("%d series, want %d: %+v", len(ts.Series), len(want), ts.Series)
	}
	for i, s := range ts.Series {
		if i > 0 && ts.Series[i-1].ModelName > s.ModelName {
			t.Errorf("series out of order: %s before %s", ts.Series[i-1].ModelName, s.ModelName)
		}
		w, ok := want[s.ModelName]
		if !ok || len(s.Points) != len(w) {
			t.Errorf("%s: %+v, want %+v", s.ModelName, s.Points, w)
			continue
		}
		for j, p := range s.Points {
			same := p.Value == nil && w[j].value == nil || p.Value != nil && w[j].value != nil && approx(*p.Value, *w[j].value)
			if !p.Bucket.Equal(w[j].bucket) || p.N != w[j].n || !same {
				t.Errorf("%s point %d: %s %v n %d; want %s %v n %d", s.ModelName, j, p.Bucket, deref(p.Value), p.N, w[j].bucket, deref(w[j].value), w[j].n)
			}
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func (h *analyticsHistory) testTimeseries(t *testing.T) {
	b, id := h.b, h.benchmark.Id.String()
	from, to := "2026-10-01T00:00:00Z", "2026-10-31T00:00:00Z"
	series := func(t *testing.T, params ...string) oapi.Timeseries {
		t.Helper()
		return call[oapi.Timeseries](t, b, "GET", h.path("/v1/analytics/timeseries", append([]string{"benchmark_id", id, "from", from, "to", to}, params...)...), "", http.StatusOK)
	}

	t.Run("OKWeekly", func(t *testing.T) {
		t.Parallel()
		ts := series(t, "metric", "score", "bucket", "week")
		// from is floored to Monday 28 September, to rounded up to Monday 2 November.
		if ts.Metric != oapi.TimeseriesMetricScore || ts.Bucket != oapi.TimeBucketWeek || ts.Category != nil ||
			!ts.From.Equal(time.Date(2026, 9, 28, 0, 0, 0, 0, time.UTC)) || !ts.To.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("timeseries = %+v; want weekly score over [28 Sep, 2 Nov)", ts)
		}
		// beta's week 2: 3 of 8 units passed (the failed one scores 0).
		wantSeries(t, ts, map[string][]point{
			"alpha": {{mon1, pv(1), 8}, {mon2, pv(0.5), 8}},
			"beta":  {{mon1, pv(0.5), 8}, {mon2, pv(0.375), 8}},
		})
	})

	t.Run("OKMetrics", func(t *testing.T) {
		t.Parallel()
		wantSeries(t, series(t, "metric", "latency_ms", "bucket", "week"), map[string][]point{
			"alpha": {{mon1, pv(100), 8}, {mon2, pv(100), 8}},
			"beta":  {{mon1, pv(200), 8}, {mon2, pv(200), 8}},
		})
		wantSeries(t, series(t, "metric", "cost_usd", "bucket", "week"), map[string][]point{
			"alpha": {{mon1, pv(0.008), 8}, {mon2, pv(0.008), 8}},
			"beta":  {{mon1, pv(0.008), 8}, {mon2, pv(0.007), 8}},
		})
		// beta's units reported no first token: its points are there,
		// empty.
		wantSeries(t, series(t, "metric", "ttft_ms", "bucket", "week"), map[string][]point{
			"alpha": {{mon1, pv(25), 8}, {mon2, pv(25), 8}},
			"beta":  {{mon1, nil, 8}, {mon2, nil, 8}},
		})
		// Every latency of a model is the same here, so its p95 is its
		// median (the store's tests check the percentile itself).
		wantSeries(t, series(t, "metric", "latency_p95_ms", "bucket", "week"), map[string][]point{
			"alpha": {{mon1, pv(100), 8}, {mon2, pv(100), 8}},
			"beta":  {{mon1, pv(200), 8}, {mon2, pv(200), 8}},
		})
	})

	t.Run("OKBuckets", func(t *testing.T) {
		t.Parallel()
		// Days, the default bucket: only days with results have points.
		d1, d2 := time.Date(2026, 10, 6, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 13, 0, 0, 0, 0, time.UTC)
		wantSeries(t, series(t, "metric", "score"), map[string][]point{
			"alpha": {{d1, pv(1), 8}, {d2, pv(0.5), 8}},
			"beta":  {{d1, pv(0.5), 8}, {d2, pv(0.375), 8}},
		})
		// October as a whole: the mean over its 16 units each.
		oct := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		wantSeries(t, series(t, "metric", "score", "bucket", "month"), map[string][]point{
			"alpha": {{oct, pv(12.0 / 16), 16}},
			"beta":  {{oct, pv(7.0 / 16), 16}},
		})
	})

	t.Run("OKFilters", func(t *testing.T) {
		t.Parallel()
		wantSeries(t, series(t, "metric", "score", "bucket", "week", "category", "geo"), map[string][]point{
			"alpha": {{mon1, pv(1), 4}, {mon2, pv(0), 4}},
			"beta":  {{mon1, pv(0), 4}, {mon2, pv(0), 4}},
		})
		ts := series(t, "metric", "score", "bucket", "week", "model_id", h.beta.Id.String())
		wantSeries(t, ts, map[string][]point{"beta": {{mon1, pv(0.5), 8}, {mon2, pv(0.375), 8}}})
		if ts.Series[0].ModelId != h.beta.Id {
			t.Errorf("series of %s, want beta %s", ts.Series[0].ModelId, h.beta.Id)
		}
		// A benchmark without results has no series, not an error.
		empty := call[oapi.Timeseries](t, b, "GET", h.path("/v1/analytics/timeseries", "benchmark_id", h.other.Id.String(), "metric", "score"), "", http.StatusOK)
		if empty.Series == nil || len(empty.Series) != 0 || !empty.From.Before(empty.To) {
			t.Errorf("timeseries of an empty benchmark = %+v; want [] over the default range", empty)
		}
	})
}

func (h *analyticsHistory) testBadInput(t *testing.T) {
	b, id := h.b, h.benchmark.Id.String()
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		path   string
		status int
		field  string
	}{
		{"TimeseriesNoBenchmark", h.path("/v1/analytics/timeseries", "metric", "score"), http.StatusBadRequest, "benchmark_id"},
		{"TimeseriesBadBenchmark", h.path("/v1/analytics/timeseries", "benchmark_id", "bench", "metric", "score"), http.StatusBadRequest, "benchmark_id"},
		{"TimeseriesNoMetric", h.path("/v1/analytics/timeseries", "benchmark_id", id), http.StatusBadRequest, "metric"},
		{"TimeseriesBadMetric", h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "accuracy"), http.StatusBadRequest, "metric"},
		{"TimeseriesBadBucket", h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "score", "bucket", "year"), http.StatusBadRequest, "bucket"},
		{"TimeseriesBadFrom", h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "score", "from", "yesterday"), http.StatusBadRequest, "from"},
		{"TimeseriesBadTo", h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "score", "to", "2026-10-01"), http.StatusBadRequest, "to"},
		{"TimeseriesBadModel", h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "score", "model_id", "alpha"), http.StatusBadRequest, "model_id"},
		{"TimeseriesEmptyCategory", h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "score", "category", ""), http.StatusBadRequest, "category"},
		{"TimeseriesLongCategory", h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "score", "category", strings.Repeat("c", 201)), http.StatusBadRequest, "category"},
		{"TimeseriesFromAfterTo", h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "score",
			"from", week2.Format(time.RFC3339), "to", week1.Format(time.RFC3339)), http.StatusUnprocessableEntity, "from"},
		{"TimeseriesTooManyBuckets", h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "score",
			"from", start.Format(time.RFC3339), "to", start.AddDate(0, 0, 1001).Format(time.RFC3339)), http.StatusUnprocessableEntity, "from"},
		{"TimeseriesUnknownBenchmark", h.path("/v1/analytics/timeseries", "benchmark_id", uuid.NewString(), "metric", "score"), http.StatusNotFound, "benchmark_id"},
		{"TimeseriesUnknownModel", h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "score", "model_id", uuid.NewString()), http.StatusNotFound, "model_id"},
		{"LeaderboardNoBenchmark", "/v1/leaderboard", http.StatusBadRequest, "benchmark_id"},
		{"LeaderboardBadPeriod", h.path("/v1/leaderboard", "benchmark_id", id, "period", "year"), http.StatusBadRequest, "period"},
		{"LeaderboardAtWithLatest", h.path("/v1/leaderboard", "benchmark_id", id, "at", week2.Format(time.RFC3339)), http.StatusBadRequest, "at"},
		{"LeaderboardBadSeed", h.path("/v1/leaderboard", "benchmark_id", id, "seed", "-3"), http.StatusBadRequest, "seed"},
		{"LeaderboardUnknownBenchmark", h.path("/v1/leaderboard", "benchmark_id", uuid.NewString()), http.StatusNotFound, "benchmark_id"},
		{"CompareNoBenchmark", "/v1/analytics/compare", http.StatusBadRequest, "benchmark_id"},
		{"CompareUnknownBenchmark", h.path("/v1/analytics/compare", "benchmark_id", uuid.NewString()), http.StatusNotFound, "benchmark_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantError(t, b.do(t, "GET", tc.path, ""), tc.status, tc.field)
		})
	}
	t.Run("TimeseriesMaxBuckets", func(t *testing.T) {
		t.Parallel()
		path := h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "score",
			"from", start.Format(time.RFC3339), "to", start.AddDate(0, 0, 1000).Format(time.RFC3339))
		call[oapi.Timeseries](t, b, "GET", path, "", http.StatusOK)
	})
}

func (h *analyticsHistory) testScopes(t *testing.T) {
	b, id := h.b, h.benchmark.Id.String()
	read := b.newToken(t, apitoken.ScopeRead)
	for _, path := range []string{
		h.path("/v1/analytics/timeseries", "benchmark_id", id, "metric", "score"),
		h.path("/v1/analytics/compare", "benchmark_id", id),
		h.path("/v1/leaderboard", "benchmark_id", id),
		h.path("/v1/models/"+h.alpha.Id.String()+"/drift", "benchmark_id", id),
	} {
		if r := b.do(t, "GET", path, "", as(read)); r.status != http.StatusOK {
			t.Errorf("GET %s with a read token: %d %s", path, r.status, r.body)
		}
		wantError(t, b.do(t, "GET", path, "", as("")), http.StatusUnauthorized, "")
	}
}

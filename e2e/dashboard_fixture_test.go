package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/browser"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/services/cli"
)

// startDashboard starts the stack and the browser, and creates the
// fixture. With SABE_DOCS_SCREENSHOTS=1 it first seeds a small history, so
// the README's screenshots have trends to show.
func startDashboard(t *testing.T) *dashboard {
	t.Helper()
	b := testenv.Browser(t, browser.Options{})
	dbURL := testenv.DatabaseURL(t)
	d := &dashboard{}
	if os.Getenv("SABE_DOCS_SCREENSHOTS") == "1" {
		getenv := func(k string) string { return map[string]string{"SABE_DATABASE_URL": dbURL}[k] }
		err := cli.Run(context.Background(), []string{"seed-history", "--executions", "12000", "--weeks", "12",
			"--models", "4", "--questions", "250", "--samples", "1", "--benchmark", "history"}, getenv, io.Discard, cli.Services{})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The webhooks page's receiver listens on loopback.
	d.s = startOn(t, dbURL, map[string]string{"SABE_ALLOW_PRIVATE_WEBHOOKS": "true"})
	d.tab = newTab(t, b, d.s.api)
	d.fx = newDashFixture(t, d.s)
	if os.Getenv("SABE_DOCS_SCREENSHOTS") == "1" {
		id, found, err := d.s.c.FindByName(context.Background(), "/v1/benchmarks", "history")
		if err != nil || !found {
			t.Fatalf("seeded benchmark: found %v: %v", found, err)
		}
		d.history = id
	}
	return d
}

// dashFixture is a small benchmark through the API: two models × five
// numeric questions × one sample. Model flip answers as mock-strong until
// the test switches it to flipTo, which gets at least one of the questions
// right that mock-strong gets wrong and one the other way round.
type dashFixture struct {
	provider  string
	bench     uuid.UUID
	flip      uuid.UUID
	flipTo    string
	questions []uuid.UUID
	prompts   map[uuid.UUID]string
}

func newDashFixture(t *testing.T, s *system) dashFixture {
	t.Helper()
	ctx := context.Background()
	const from, to = "mock-strong", "mock-weak"
	// Five questions: one that switching from to to loses, one it gains
	// and three it leaves as they are.
	var same, lost, gained []int
	for i := 0; i < 10_000 && (len(same) < 3 || len(lost) < 1 || len(gained) < 1); i++ {
		p, _ := mockllm.Question(i)
		switch a, b := mockllm.Correct(from, p, 0), mockllm.Correct(to, p, 0); {
		case a && !b && len(lost) < 1:
			lost = append(lost, i)
		case !a && b && len(gained) < 1:
			gained = append(gained, i)
		case a == b && len(same) < 3:
			same = append(same, i)
		}
	}
	idx := slices.Concat(same, lost, gained)
	if len(idx) != 5 {
		t.Fatalf("no five questions where %s and %s differ both ways: %v", from, to, idx)
	}

	fx := dashFixture{provider: "mock-dashboard", flipTo: to, prompts: map[uuid.UUID]string{}}
	prov, err := s.c.CreateProvider(ctx, oapi.CreateProviderRequest{
		Name: fx.provider, Kind: oapi.Openai, BaseUrl: s.mock.URL + "/v1", ApiKey: "sk-dashboard",
	})
	if err != nil {
		t.Fatal(err)
	}
	var models []uuid.UUID
	for _, m := range []struct{ name, id string }{{"flip", from}, {"steady", "mock-medium"}} {
		out, err := s.c.CreateModel(ctx, oapi.CreateModelRequest{
			ProviderId: prov.Id, Name: m.name, ProviderModelId: m.id, InputCostPerMtok: 1, OutputCostPerMtok: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, out.Id)
	}
	fx.flip = models[0]
	suite, err := s.c.CreateSuite(ctx, oapi.CreateSuiteRequest{Name: "dashboard-arith"})
	if err != nil {
		t.Fatal(err)
	}
	var qs []oapi.CreateQuestionRequest
	for n, i := range idx {
		p, a := mockllm.Question(i)
		category := []string{"add", "mixed"}[n%2]
		qs = append(qs, oapi.CreateQuestionRequest{Prompt: p, Category: &category, ExpectedAnswer: fmt.Sprint(a), Scoring: oapi.Scoring{Method: oapi.Numeric}})
	}
	imported, err := s.c.ImportQuestions(ctx, suite.Id, qs)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range imported.Items {
		fx.questions = append(fx.questions, q.Id)
		fx.prompts[q.Id] = q.Prompt
	}
	temperature, maxTokens, samples := 0.0, 32, 1
	bench, err := s.c.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{
		Name: "dashboard-e2e", SuiteIds: []uuid.UUID{suite.Id}, ModelIds: models,
		Config: &oapi.BenchmarkConfigInput{Temperature: &temperature, MaxTokens: &maxTokens, Samples: &samples},
	})
	if err != nil {
		t.Fatal(err)
	}
	fx.bench = bench.Id
	return fx
}

// runBenchmark runs the fixture's benchmark through the API to the end.
func (d *dashboard) runBenchmark(t *testing.T) uuid.UUID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := d.s.c.StartRun(ctx, d.fx.bench)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = d.s.c.WaitRun(ctx, r.Id, 100*time.Millisecond, nil); err != nil || r.Status != oapi.RunStatusCompleted {
		t.Fatalf("run ended as %+v: %v", r, err)
	}
	return r.Id
}

// verdictChanges returns, for each question whose verdict changed for some
// model between the runs, how many models gained it minus how many lost it.
func (d *dashboard) verdictChanges(t *testing.T, prev, cur uuid.UUID) map[string]int {
	t.Helper()
	passed := func(run uuid.UUID) map[[2]uuid.UUID]bool {
		res, err := d.s.c.Results(context.Background(), run)
		if err != nil {
			t.Fatal(err)
		}
		out := map[[2]uuid.UUID]bool{}
		for _, e := range res {
			out[[2]uuid.UUID{e.QuestionId, e.ModelId}] = e.Verdict.Passed != nil && *e.Verdict.Passed
		}
		return out
	}
	before, after := passed(prev), passed(cur)
	delta := map[string]int{}
	for k, now := range after {
		was, ok := before[k]
		if !ok || was == now {
			continue
		}
		if now {
			delta[k[0].String()]++
		} else {
			delta[k[0].String()]--
		}
	}
	return delta
}

// docsScreenshots writes the README's screenshots at 1280×800 from the
// seeded history benchmark.
func (d *dashboard) docsScreenshots(t *testing.T) {
	t.Helper()
	if d.history == uuid.Nil {
		t.Fatal("no seeded history")
	}
	root := filepath.Join("..", "docs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	var runs struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	d.s.call(t, "GET", "/v1/runs?limit=1&benchmark_id="+d.history.String(), "", nil, 200, &runs)
	if len(runs.Items) == 0 {
		t.Fatal("the seeded benchmark has no runs")
	}
	b := d.tab
	b.do(t, browser.Emulate(browser.Options{Width: 1280, Height: 800}))
	for _, p := range []struct{ file, path, page string }{
		{"dashboard-leaderboard", "/benchmarks/" + d.history.String() + "/leaderboard", "leaderboard"},
		{"dashboard-run", "/runs/" + runs.Items[0].ID, "run-detail"},
		{"dashboard-trends", "/benchmarks/" + d.history.String() + "/trends", "trends"},
	} {
		b.open(t, p.path, p.page)
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p.file+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files of e2e/testdata/cli from what the commands print")

// cliFixture is what the client commands' tests run against: a benchmark
// "nightly" (models strong and weak over 20 arithmetic questions) with two
// finished runs, between which strong went from mock-strong to mock-zero
// (a planted regression), and a benchmark "hang" whose provider never
// answers in time, for a run that stays running.
type cliFixture struct {
	s         *system
	prev, cur oapi.Run
	strong    oapi.Model
	suite     oapi.Suite
	names     map[string]string // id -> placeholder in golden files
	mockProv  oapi.Provider
	hangBench oapi.Benchmark
	nightlyID uuid.UUID
	hangModel oapi.Model
}

func newCLIFixture(t *testing.T) *cliFixture {
	t.Helper()
	// Webhook receivers in these tests listen on loopback.
	s := startOn(t, testenv.DatabaseURL(t), map[string]string{"SABE_ALLOW_PRIVATE_WEBHOOKS": "true"})
	ctx := context.Background()
	f := &cliFixture{s: s, names: map[string]string{}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.mockProv, err = s.c.CreateProvider(ctx, oapi.CreateProviderRequest{Name: "mock", Kind: oapi.Openai, BaseUrl: s.mock.URL + "/v1", ApiKey: "sk-cli-secret"})
	must(err)
	f.strong, err = s.c.CreateModel(ctx, oapi.CreateModelRequest{ProviderId: f.mockProv.Id, Name: "strong", ProviderModelId: "mock-strong", InputCostPerMtok: 1, OutputCostPerMtok: 2})
	must(err)
	weak, err := s.c.CreateModel(ctx, oapi.CreateModelRequest{ProviderId: f.mockProv.Id, Name: "weak", ProviderModelId: "mock-weak", InputCostPerMtok: 1, OutputCostPerMtok: 2})
	must(err)
	desc := "arithmetic, 20 questions"
	f.suite, err = s.c.CreateSuite(ctx, oapi.CreateSuiteRequest{Name: "arith", Description: &desc})
	must(err)
	qs := make([]oapi.CreateQuestionRequest, 20)
	for i := range qs {
		p, a := mockllm.Question(i)
		category := []string{"a", "b"}[i%2]
		qs[i] = oapi.CreateQuestionRequest{Prompt: p, Category: &category, ExpectedAnswer: fmt.Sprint(a), Scoring: oapi.Scoring{Method: oapi.Numeric}}
	}
	_, err = s.c.ImportQuestions(ctx, f.suite.Id, qs)
	must(err)
	temperature, maxTokens, samples := 0.0, 32, 1
	cfg := &oapi.BenchmarkConfigInput{Temperature: &temperature, MaxTokens: &maxTokens, Samples: &samples}
	// Alerts on score: the planted regression raises one (sabe alerts).
	alerts := &oapi.BenchmarkAlertsInput{Metrics: &[]oapi.AlertMetric{oapi.AlertMetricScore}}
	bench, err := s.c.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{Name: "nightly", SuiteIds: []uuid.UUID{f.suite.Id}, ModelIds: []uuid.UUID{f.strong.Id, weak.Id}, Config: cfg, Alerts: alerts})
	must(err)
	f.nightlyID = bench.Id
	finish := func() oapi.Run {
		t.Helper()
		r, err := s.c.StartRun(ctx, bench.Id)
		must(err)
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		r, err = s.c.WaitRun(wctx, r.Id, 50*time.Millisecond, nil)
		if err != nil || r.Status != oapi.RunStatusCompleted {
			t.Fatalf("run ended as %+v: %v", r, err)
		}
		return r
	}
	f.prev = finish()
	zero := "mock-zero"
	_, err = s.c.UpdateModel(ctx, f.strong.Id, oapi.UpdateModelRequest{ProviderModelId: &zero})
	must(err)
	f.cur = finish()

	// A provider that takes an hour to answer keeps its run running.
	slow, err := mockllm.Listen(t.Context(), "127.0.0.1:0", mockllm.Config{Latency: time.Hour})
	must(err)
	hangProv, err := s.c.CreateProvider(ctx, oapi.CreateProviderRequest{Name: "slow", Kind: oapi.Openai, BaseUrl: slow.URL + "/v1", ApiKey: "sk-cli-slow"})
	must(err)
	f.hangModel, err = s.c.CreateModel(ctx, oapi.CreateModelRequest{ProviderId: hangProv.Id, Name: "sloth", ProviderModelId: "mock-strong"})
	must(err)
	f.hangBench, err = s.c.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{Name: "hang", SuiteIds: []uuid.UUID{f.suite.Id}, ModelIds: []uuid.UUID{f.hangModel.Id}, Config: cfg})
	must(err)

	for id, name := range map[uuid.UUID]string{
		f.prev.Id: "<run-1>", f.cur.Id: "<run-2>", bench.Id: "<nightly>", f.strong.Id: "<strong>", weak.Id: "<weak>",
		f.suite.Id: "<arith>", f.mockProv.Id: "<mock>", hangProv.Id: "<slow>", f.hangBench.Id: "<hang>",
	} {
		f.names[id.String()] = name
	}
	return f
}

var (
	uuidRE    = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	minuteRE  = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}`)
	latencyRE = regexp.MustCompile(`\d+ ms`)
	ciRE      = regexp.MustCompile(`\[[-+]?\d+\.\d+, [-+]?\d+\.\d+\]`)
	spacesRE  = regexp.MustCompile(` {2,}`)
)

// normalise makes output comparable from one test run to the next: known
// ids become their names, other ids <id>, times <time>, latencies <ms>,
// intervals [<ci>] (the bootstrap is seeded with the model's id, new in
// each test);
// runs of spaces become two, since a latency's width moves the columns
// after it (the tests of fitting check the widths).
func (f *cliFixture) normalise(s string) string {
	s = uuidRE.ReplaceAllStringFunc(s, func(id string) string {
		if n, ok := f.names[id]; ok {
			return n
		}
		return "<id>"
	})
	s = minuteRE.ReplaceAllString(s, "<time>")
	s = latencyRE.ReplaceAllString(s, "<ms>")
	s = ciRE.ReplaceAllString(s, "[<ci>]")
	return spacesRE.ReplaceAllString(s, "  ")
}

// golden compares got with e2e/testdata/cli/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "cli", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (-update rewrites it)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// decode decodes a command's --json output into v.
func decode(t *testing.T, r cliResult, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Out), v); err != nil {
		t.Fatalf("--json printed what is not JSON: %v\n%s", err, r.Out)
	}
}

// TestCLI_Commands runs the client commands against a real system: their
// tables against golden files, their --json against the API, and their
// exit codes.
func TestCLI_Commands(t *testing.T) {
	t.Parallel()
	f := newCLIFixture(t)
	s := f.s
	o := cliOpts{}

	t.Run("RunsList", func(t *testing.T) {
		// 120 columns: the whole run ids (which are never cut) and the rest.
		r := s.mustSabe(t, cliOpts{Width: 120}, "runs", "ls", "--benchmark", "nightly")
		golden(t, "runs_ls.golden", f.normalise(r.Out))

		var runs []oapi.Run
		decode(t, s.mustSabe(t, o, "runs", "ls", "--benchmark", "nightly", "--json"), &runs)
		if len(runs) != 2 || runs[0].Id != f.cur.Id || runs[1].Id != f.prev.Id {
			t.Errorf("runs ls --json listed %+v, want the two runs newest first", runs)
		}
		decode(t, s.mustSabe(t, o, "runs", "ls", "--benchmark", "nightly", "--status", "failed", "--json"), &runs)
		if len(runs) != 0 {
			t.Errorf("runs ls --status failed listed %d runs, want none", len(runs))
		}
		r = s.mustSabe(t, o, "runs", "ls", "--benchmark", "nightly", "--limit", "1")
		if strings.Count(r.Out, "\n") != 2 || !strings.Contains(r.Err, "--all") {
			t.Errorf("runs ls --limit 1 printed\n%s\nand on stderr %q, want one row and a note about --all", r.Out, r.Err)
		}
		r = s.mustSabe(t, o, "runs", "ls", "--benchmark", "nightly", "--limit", "1", "--all", "--json")
		decode(t, r, &runs)
		if len(runs) != 2 {
			t.Errorf("runs ls --limit 1 --all listed %d runs, want every page (2)", len(runs))
		}
		if r := s.mustSabe(t, cliOpts{}, "runs", "ls", "--quiet"); r.Out != "" {
			t.Errorf("runs ls --quiet printed %q", r.Out)
		}
	})

	t.Run("RunsShow", func(t *testing.T) {
		r := s.mustSabe(t, o, "runs", "show", f.cur.Id.String())
		golden(t, "runs_show.golden", f.normalise(r.Out))

		var d struct {
			oapi.Run
			Rankings *oapi.Rankings `json:"rankings"`
		}
		decode(t, s.mustSabe(t, o, "runs", "show", f.cur.Id.String(), "--json"), &d)
		if d.Id != f.cur.Id || d.Status != oapi.RunStatusCompleted || d.Rankings == nil || len(d.Rankings.Overall) != 2 {
			t.Fatalf("runs show --json = %+v", d)
		}
		if d.Rankings.Overall[0].ModelName != "weak" {
			t.Errorf("after the regression weak should lead: %+v", d.Rankings.Overall)
		}
		decode(t, s.mustSabe(t, o, "runs", "show", "latest:nightly", "--json"), &d)
		if d.Id != f.cur.Id {
			t.Errorf("runs show latest:nightly showed run %s, want the newest, %s", d.Id, f.cur.Id)
		}
	})

	t.Run("Leaderboard", func(t *testing.T) {
		r := s.mustSabe(t, o, "leaderboard", "nightly")
		golden(t, "leaderboard.golden", f.normalise(r.Out))
		var lb oapi.Leaderboard
		decode(t, s.mustSabe(t, o, "leaderboard", "nightly", "--json"), &lb)
		want, err := s.c.Leaderboard(context.Background(), f.nightlyID)
		if err != nil {
			t.Fatal(err)
		}
		if len(lb.Entries) != 2 || lb.Entries[0].Score != want.Entries[0].Score || lb.RunId == nil || *lb.RunId != f.cur.Id {
			t.Errorf("leaderboard --json = %+v, want the API's %+v", lb, want)
		}
		r = s.mustSabe(t, o, "leaderboard", "nightly", "--category", "a")
		if !strings.Contains(r.Out, "category a") {
			t.Errorf("leaderboard --category a printed\n%s", r.Out)
		}
	})

	t.Run("CompareRuns", func(t *testing.T) {
		r := s.mustSabe(t, o, "compare", "--runs", f.prev.Id.String(), f.cur.Id.String(), "--questions")
		golden(t, "compare_runs.golden", f.normalise(r.Out))
		var cmp oapi.Comparison
		decode(t, s.mustSabe(t, o, "compare", "--runs", f.prev.Id.String(), f.cur.Id.String(), "--json"), &cmp)
		if cmp.Previous.RunId == nil || *cmp.Previous.RunId != f.prev.Id || *cmp.Current.RunId != f.cur.Id {
			t.Fatalf("compare --runs PREVIOUS CURRENT compared %+v with %+v", cmp.Previous, cmp.Current)
		}
		for _, m := range cmp.Models {
			if m.ModelName == "strong" && (!m.Score.Significant || m.Score.Diff >= 0 || m.Regressed == 0) {
				t.Errorf("strong went from mock-strong to mock-zero, but compare says %+v", m.Score)
			}
		}
	})

	t.Run("Providers", func(t *testing.T) {
		r := s.mustSabe(t, o, "providers", "ls")
		golden(t, "providers_ls.golden", f.normalise(strings.ReplaceAll(strings.ReplaceAll(r.Out, s.mock.URL, "<mock-url>"), f.slowURL(t), "<slow-url>")))
		r = s.mustSabe(t, o, "providers", "test", "mock")
		if !strings.Contains(r.Out, "provider mock: ok") {
			t.Errorf("providers test mock printed %q", r.Out)
		}
		r = s.sabe(t, o, "providers", "test", "mock", "--model", "no-such-model")
		if r.Code != 1 || !strings.Contains(r.Err, "stage model") {
			t.Errorf("providers test of a missing model: exit %d, stderr %q; want 1 naming the stage", r.Code, r.Err)
		}
		var res oapi.ProviderTestResult
		r = s.sabe(t, o, "providers", "test", "mock", "--model", "no-such-model", "--json")
		decode(t, r, &res)
		if r.Code != 1 || res.Ok || res.Stage != oapi.ProviderTestStageModel {
			t.Errorf("providers test --json: exit %d, %+v", r.Code, res)
		}
		if strings.Contains(r.Out+r.Err, "sk-cli-secret") {
			t.Error("the provider's key was printed")
		}
	})

	t.Run("SuitesList", func(t *testing.T) {
		r := s.mustSabe(t, o, "suites", "ls")
		golden(t, "suites_ls.golden", f.normalise(r.Out))
		var suites []oapi.Suite
		decode(t, s.mustSabe(t, o, "suites", "ls", "--json"), &suites)
		if len(suites) != 1 || suites[0].QuestionCount != 20 {
			t.Errorf("suites ls --json = %+v", suites)
		}
	})

	t.Run("SuitesImport", func(t *testing.T) {
		ctx := context.Background()
		tmpl := oapi.PromptTemplate("Answer briefly: {{question}}")
		suite, err := s.c.CreateSuite(ctx, oapi.CreateSuiteRequest{Name: "support", PromptTemplate: &tmpl})
		if err != nil {
			t.Fatal(err)
		}
		count := func() int {
			t.Helper()
			got, err := s.c.GetSuite(ctx, suite.Id)
			if err != nil {
				t.Fatal(err)
			}
			return got.QuestionCount
		}

		r := s.mustSabe(t, o, "suites", "import", "support", "../testdata/import/promptfoo.yaml")
		if !strings.Contains(r.Err, "format: promptfoo (guessed from ../testdata/import/promptfoo.yaml") || !strings.Contains(r.Out, "imported 4 questions into suite support") {
			t.Errorf("import of promptfoo.yaml: stdout %q, stderr %q", r.Out, r.Err)
		}
		evals, err := os.ReadFile("../testdata/import/openai-evals.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		var res oapi.ImportQuestionsResult
		r = s.mustSabe(t, cliOpts{Stdin: string(evals)}, "suites", "import", "support", "-", "--format", "openai-evals", "--json")
		decode(t, r, &res)
		if res.Imported != 3 || len(res.Items) != 3 || strings.Contains(r.Err, "guessed") {
			t.Errorf("import of openai-evals from stdin: %+v, stderr %q", res, r.Err)
		}
		if n := count(); n != 7 {
			t.Fatalf("the suite holds %d questions after two imports, want 7", n)
		}

		// A broken file: every bad line, on stderr, and nothing imported.
		r = s.sabe(t, o, "suites", "import", "support", "../testdata/import/broken-promptfoo.yaml")
		lines := regexp.MustCompile(`(?m)^\.\./testdata/import/broken-promptfoo\.yaml: line \d+: `).FindAllString(r.Err, -1)
		if r.Code != 1 || len(lines) < 3 || !strings.Contains(r.Err, "javascript") || !strings.Contains(r.Err, "nothing was imported") {
			t.Errorf("import of a broken file: exit %d, stderr:\n%s\nwant 1 with every bad line", r.Code, r.Err)
		}
		if n := count(); n != 7 {
			t.Errorf("a refused import left %d questions, want 7", n)
		}

		// An assertion SABE cannot score: refused, unless skipped.
		js := "- vars:\n    question: Is this polite\n  assert:\n    - type: contains\n      value: please\n    - type: javascript\n      value: output.length < 100\n"
		r = s.sabe(t, cliOpts{Stdin: js}, "suites", "import", "support", "-", "--format", "promptfoo")
		if r.Code != 1 || !strings.Contains(r.Err, "javascript") {
			t.Errorf("import of an unsupported assertion: exit %d, stderr %q", r.Code, r.Err)
		}
		r = s.mustSabe(t, cliOpts{Stdin: js}, "suites", "import", "support", "-", "--format", "promptfoo", "--skip-unsupported")
		if !strings.Contains(r.Err, "warning: line ") || !strings.Contains(r.Err, "javascript") || !strings.Contains(r.Out, "imported 1 questions") {
			t.Errorf("import with --skip-unsupported: stdout %q, stderr %q", r.Out, r.Err)
		}
		if n := count(); n != 8 {
			t.Errorf("the suite holds %d questions, want 8", n)
		}

		for _, c := range []struct {
			args  []string
			stdin string
			code  int
			err   string
		}{
			{[]string{"suites", "import", "support", "-", "--format", "excel"}, "", 2, "--format"},
			{[]string{"suites", "import", "support", "-"}, "just some words\n", 2, "--format"},
			{[]string{"suites", "import", "support", "../testdata/import/no-such-file.csv"}, "", 1, "no such file"},
			{[]string{"suites", "import", "nope", "../testdata/import/sabe.jsonl"}, "", 1, `no suite named "nope"`},
			{[]string{"suites", "import", "support"}, "", 2, "accepts 2 arg"},
		} {
			r := s.sabe(t, cliOpts{Stdin: c.stdin}, c.args...)
			if r.Code != c.code || !strings.Contains(r.Err, c.err) {
				t.Errorf("sabe %s: exit %d, stderr %q; want %d and %q", strings.Join(c.args, " "), r.Code, r.Err, c.code, c.err)
			}
		}
	})

	t.Run("Completions", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"__complete", "leaderboard", "ni"}, "nightly"},
			{[]string{"__complete", "compare", ""}, "hang"},
			{[]string{"__complete", "providers", "test", ""}, "slow"},
			{[]string{"__complete", "suites", "import", "ar"}, "arith"},
			{[]string{"__complete", "runs", "show", ""}, f.cur.Id.String() + "\tnightly completed"},
			{[]string{"__complete", "runs", "ls", "--status", ""}, "partial"},
		} {
			r := s.mustSabe(t, o, c.args...)
			if !strings.Contains(r.Out, c.want) {
				t.Errorf("sabe %s completed\n%s\nwant %q among them", strings.Join(c.args, " "), r.Out, c.want)
			}
		}
		if r := s.mustSabe(t, o, "completion", "bash"); !strings.Contains(r.Out, "__start_sabe") {
			t.Errorf("completion bash printed no bash completion:\n%.200s", r.Out)
		}
	})

	t.Run("Quiet", func(t *testing.T) {
		for _, args := range [][]string{
			{"runs", "ls"}, {"runs", "show", f.cur.Id.String()}, {"leaderboard", "nightly"},
			{"compare", "--runs", f.prev.Id.String(), f.cur.Id.String()}, {"providers", "ls"}, {"providers", "test", "mock"}, {"suites", "ls"},
		} {
			r := s.mustSabe(t, o, append(args, "--quiet")...)
			if r.Out != "" || r.Err != "" {
				t.Errorf("sabe %s --quiet printed %q and %q", strings.Join(args, " "), r.Out, r.Err)
			}
		}
	})

	t.Run("TablesFitTheWidth", func(t *testing.T) {
		// suites ls is left out: its last column, a description, runs on.
		for _, args := range [][]string{{"leaderboard", "nightly"}, {"providers", "ls"}} {
			narrow := s.mustSabe(t, cliOpts{Width: 60}, args...)
			for _, l := range strings.Split(strings.TrimRight(narrow.Out, "\n"), "\n") {
				if n := utf8.RuneCountInString(l); n > 60 && !strings.HasPrefix(l, "latest finished run") {
					t.Errorf("%v at width 60: a line of %d columns: %q", args, n, l)
				}
			}
			wide := s.mustSabe(t, cliOpts{Width: 120}, args...)
			if strings.Contains(wide.Out, "…") {
				t.Errorf("%v at width 120 cut a cell:\n%s", args, wide.Out)
			}
			if !strings.Contains(narrow.Out, "…") && narrow.Out != wide.Out {
				t.Errorf("%v: the narrow table differs from the wide one without a cut cell", args)
			}
		}
		// Run ids are never cut: the next command needs them whole.
		r := s.mustSabe(t, cliOpts{Width: 60}, "runs", "ls", "--benchmark", "nightly")
		if !strings.Contains(r.Out, f.cur.Id.String()) {
			t.Errorf("runs ls at width 60 cut the run ids:\n%s", r.Out)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		run, err := s.c.StartRun(context.Background(), f.hangBench.Id)
		if err != nil {
			t.Fatal(err)
		}
		id := run.Id.String()
		if r := s.sabe(t, o, "runs", "cancel", id); r.Code != 2 || !strings.Contains(r.Err, "--yes") {
			t.Errorf("cancel without --yes off a terminal: exit %d, stderr %q; want 2 asking for --yes", r.Code, r.Err)
		}
		r := s.sabe(t, cliOpts{Terminal: true, Stdin: "n\n"}, "runs", "cancel", id)
		if r.Code != 0 || !strings.Contains(r.Err, "Cancel run "+id) || !strings.Contains(r.Err, "left running") {
			t.Errorf("cancel answered no: exit %d, stderr %q", r.Code, r.Err)
		}
		if got, _ := s.c.GetRun(context.Background(), run.Id); got.CancelRequestedAt != nil {
			t.Fatalf("a no cancelled the run: %+v", got)
		}
		r = s.sabe(t, cliOpts{Terminal: true, Stdin: "y\n"}, "runs", "cancel", id)
		if r.Code != 0 || !strings.Contains(r.Out, "cancel requested") {
			t.Errorf("cancel answered yes: exit %d, stdout %q, stderr %q", r.Code, r.Out, r.Err)
		}
		if got, _ := s.c.GetRun(context.Background(), run.Id); got.CancelRequestedAt == nil {
			t.Errorf("a yes did not cancel the run: %+v", got)
		}
		// A finished run cannot be cancelled: the API's 409, exit 1.
		r = s.sabe(t, o, "runs", "cancel", f.cur.Id.String(), "--yes")
		if r.Code != 1 || !strings.Contains(r.Err, "HTTP 409") || strings.Contains(r.Err, "POST /v1") {
			t.Errorf("cancel of a finished run: exit %d, stderr %q; want 1 with the API's message", r.Code, r.Err)
		}
	})

	t.Run("RetryFailedAndRescore", func(t *testing.T) {
		r := s.sabe(t, o, "runs", "retry-failed", f.cur.Id.String())
		if r.Code != 1 || !strings.Contains(r.Err, "HTTP 409") {
			t.Errorf("retry-failed of a run without failures: exit %d, stderr %q", r.Code, r.Err)
		}
		r = s.mustSabe(t, o, "runs", "rescore", f.cur.Id.String(), "--wait")
		if !strings.Contains(r.Err, "nothing changed") || !strings.Contains(r.Out, "scoring version 1 completed") {
			t.Errorf("rescore with the same rules: stdout %q, stderr %q", r.Out, r.Err)
		}
		var rs oapi.Rescore
		decode(t, s.mustSabe(t, o, "runs", "rescore", f.cur.Id.String(), "--json"), &rs)
		if rs.Created || rs.RunId != f.cur.Id {
			t.Errorf("rescore --json = %+v", rs)
		}
	})

	t.Run("ExitCodes", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			code int
			err  string
		}{
			{[]string{"runs", "show", uuid.NewString()}, 1, "not found"},
			{[]string{"runs", "show", "not-an-id"}, 2, "is not a run id"},
			{[]string{"runs", "show"}, 2, "accepts 1 arg"},
			{[]string{"runs", "show", "latest:"}, 2, "latest:nightly"},
			{[]string{"runs", "show", "latest:nope"}, 1, `no benchmark named "nope"`},
			{[]string{"runs", "ls", "--status", "done"}, 2, "--status"},
			{[]string{"runs", "ls", "--limit", "0"}, 2, "--limit"},
			{[]string{"leaderboard", "no-such-bench"}, 1, `no benchmark named "no-such-bench"`},
			{[]string{"leaderboard", "nightly", "--period", "year"}, 2, "--period"},
			{[]string{"leaderboard", "nightly", "--at", "yesterday"}, 2, "--at"},
			{[]string{"compare", "nightly", "--period", "yoy"}, 2, "--period"},
			{[]string{"compare", "--runs", f.prev.Id.String()}, 2, "two run ids"},
			{[]string{"compare", "--runs", f.prev.Id.String(), f.cur.Id.String(), "--period", "mom"}, 2, "leave out --period"},
			{[]string{"providers", "test", "nope"}, 1, `no provider named "nope"`},
			{[]string{"runs", "frobnicate"}, 2, "unknown command"},
		} {
			r := s.sabe(t, o, c.args...)
			if r.Code != c.code || !strings.Contains(r.Err, c.err) {
				t.Errorf("sabe %s: exit %d, stderr %q; want %d and %q", strings.Join(c.args, " "), r.Code, r.Err, c.code, c.err)
			}
		}
		// Without a server the commands say how to give one (usage, 2).
		r := s.sabe(t, cliOpts{Env: map[string]string{"SABE_URL": ""}}, "runs", "ls")
		if r.Code != 2 || !strings.Contains(r.Err, "SABE_URL") {
			t.Errorf("runs ls without a server: exit %d, stderr %q", r.Code, r.Err)
		}
	})
	t.Run("Alerts", f.testAlerts)
	t.Run("Webhooks", f.testWebhooks)
}

// slowURL is the base URL of the provider "slow", as the API lists it.
func (f *cliFixture) slowURL(t *testing.T) string {
	t.Helper()
	ps, err := f.s.c.AllProviders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Name == "slow" {
			return strings.TrimSuffix(p.BaseUrl, "/v1")
		}
	}
	t.Fatal("no provider slow")
	return ""
}

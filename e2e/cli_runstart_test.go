package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/services/cli"
)

// runStartWorld is what `sabe runs start` is tried on: benchmarks over one
// suite of arithmetic questions, each with models the mock answers in a
// known way.
type runStartWorld struct {
	s       *system
	prompts []string
	models  map[string]oapi.Model // by name
	benches map[string]oapi.Benchmark
}

// runStartQuestions is the size of the world's suite.
const runStartQuestions = 10

func newRunStartWorld(t *testing.T) *runStartWorld {
	t.Helper()
	s := start(t)
	ctx := context.Background()
	w := &runStartWorld{s: s, models: map[string]oapi.Model{}, benches: map[string]oapi.Benchmark{}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	fast, err := s.c.CreateProvider(ctx, oapi.CreateProviderRequest{Name: "mock", Kind: oapi.Openai, BaseUrl: s.mock.URL + "/v1", ApiKey: "sk-start"})
	must(err)
	// 300 ms an answer keeps a run of 200 units running for a few
	// seconds, long enough to interrupt.
	slow, err := s.c.CreateProvider(ctx, oapi.CreateProviderRequest{Name: "slowish", Kind: oapi.Openai, BaseUrl: s.mock.URL + "/faults/latency=300ms/v1", ApiKey: "sk-start"})
	must(err)
	for _, m := range []struct {
		name, mock string
		prov       uuid.UUID
	}{
		{"strong", "mock-strong", fast.Id}, {"weak", "mock-weak", fast.Id},
		{"ghost", "no-such-model", fast.Id}, // the mock answers 404: every unit fails
		{"regm", "mock-strong", fast.Id}, {"sloth", "mock-strong", slow.Id},
	} {
		w.models[m.name], err = s.c.CreateModel(ctx, oapi.CreateModelRequest{ProviderId: m.prov, Name: m.name, ProviderModelId: m.mock, InputCostPerMtok: 1, OutputCostPerMtok: 2})
		must(err)
	}
	suite, err := s.c.CreateSuite(ctx, oapi.CreateSuiteRequest{Name: "arith"})
	must(err)
	qs := make([]oapi.CreateQuestionRequest, runStartQuestions)
	for i := range qs {
		p, a := mockllm.Question(i)
		w.prompts = append(w.prompts, p)
		qs[i] = oapi.CreateQuestionRequest{Prompt: p, ExpectedAnswer: fmt.Sprint(a), Scoring: oapi.Scoring{Method: oapi.Numeric}}
	}
	_, err = s.c.ImportQuestions(ctx, suite.Id, qs)
	must(err)
	for name, b := range map[string]struct {
		models  []string
		samples int
	}{
		"ok": {[]string{"strong", "weak"}, 1}, "fails": {[]string{"ghost"}, 1}, "mixed": {[]string{"strong", "ghost"}, 1},
		"reg": {[]string{"regm"}, 1}, "slow": {[]string{"sloth"}, 20},
	} {
		ids := make([]uuid.UUID, len(b.models))
		for i, m := range b.models {
			ids[i] = w.models[m].Id
		}
		temperature, maxTokens, samples := 0.0, 32, b.samples
		w.benches[name], err = s.c.CreateBenchmark(ctx, oapi.CreateBenchmarkRequest{
			Name: name, SuiteIds: []uuid.UUID{suite.Id}, ModelIds: ids,
			Config: &oapi.BenchmarkConfigInput{Temperature: &temperature, MaxTokens: &maxTokens, Samples: &samples},
		})
		must(err)
	}
	return w
}

// score is what the mock model scores over the world's questions with
// samples samples: the share of its answers that are right.
func (w *runStartWorld) score(mock string, samples int) float64 {
	right := 0
	for _, p := range w.prompts {
		for smp := range samples {
			if mockllm.Correct(mock, p, smp) {
				right++
			}
		}
	}
	return float64(right) / float64(len(w.prompts)*samples)
}

// runs lists the runs of a benchmark, newest first.
func (w *runStartWorld) runs(t *testing.T, bench string) []oapi.Run {
	t.Helper()
	id := w.benches[bench].Id
	page, err := w.s.c.ListRuns(context.Background(), client.RunFilter{BenchmarkID: &id}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// interruptWhenRunning cancels the returned context once the newest run
// of bench is running with a unit answered: the Ctrl-C of a person (or a
// CI runner) in the middle of a run.
func (w *runStartWorld) interruptWhenRunning(t *testing.T, bench string, before int) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	id := w.benches[bench].Id
	go func() {
		defer cancel()
		for ctx.Err() == nil {
			page, err := w.s.c.ListRuns(ctx, client.RunFilter{BenchmarkID: &id}, 100, "")
			if err == nil && len(page.Items) > before {
				if r, err := w.s.c.GetRun(ctx, page.Items[0].Id); err == nil && r.Status == oapi.RunStatusRunning && r.Progress.Answered > 0 {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return ctx
}

// waitFinal waits for a run to end, for the runs a test left running.
func (w *runStartWorld) waitFinal(t *testing.T, id uuid.UUID) oapi.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := w.s.c.WaitRun(ctx, id, 50*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("run %s did not end: %v", id, err)
	}
	return r
}

// progressLineRE is one plain progress line as CI logs show it.
var progressLineRE = regexp.MustCompile(`^run [0-9a-f-]{36} (queued|running|completed|partial|failed|cancelled) \d+/\d+ \(\d+%\)( \d+\.\d units/s eta \d+[hms0-9]*)? failed \d+ spent \$\d+\.\d{4}$`)

func TestCLI_RunsStart(t *testing.T) {
	t.Parallel()
	w := newRunStartWorld(t)
	s := w.s
	strong := w.score("mock-strong", 2)

	t.Run("WaitCompletedLines", func(t *testing.T) {
		pass := fmt.Sprintf("strong=%g", strong)
		r := s.sabe(t, cliOpts{}, "runs", "start", "ok", "--wait", "--samples", "2", "--fail-under", pass, "--fail-under", "0")
		if r.Code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Out, r.Err)
		}
		lines := strings.Split(strings.TrimSpace(r.Err), "\n")
		if !strings.HasPrefix(lines[0], "started run ") || !strings.HasSuffix(lines[0], " of ok: 40 units") {
			t.Errorf("first stderr line %q, want the run started with 40 units (2 samples)", lines[0])
		}
		id := strings.Fields(lines[0])[2]
		if want := "run " + id + " queued 0/40 (0%) failed 0 spent $0.0000"; lines[1] != want {
			t.Errorf("first progress line %q, want %q", lines[1], want)
		}
		for _, l := range lines[1:] {
			if !progressLineRE.MatchString(l) {
				t.Errorf("progress line %q is not in the CI log format", l)
			}
		}
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "run "+id+" completed 40/40 (100%) failed 0 spent $") {
			t.Errorf("last progress line %q, want the run completed", last)
		}
		for _, want := range []string{"run " + id + " completed: 40/40 units, 0 failed", "RANK", "strong", "weak", "--fail-under: passed"} {
			if !strings.Contains(r.Out, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.Out)
			}
		}
	})

	t.Run("JSON", func(t *testing.T) {
		r := s.sabe(t, cliOpts{}, "runs", "start", "ok", "--wait", "--json", "--fail-under", "strong=1")
		if r.Code != 4 {
			t.Fatalf("exit %d, want 4 (strong is under 1)\nstdout:\n%s\nstderr:\n%s", r.Code, r.Out, r.Err)
		}
		var got struct {
			Run      oapi.Run      `json:"run"`
			Rankings oapi.Rankings `json:"rankings"`
			Gates    struct {
				Passed    bool `json:"passed"`
				FailUnder []struct {
					Model  string  `json:"model"`
					Score  float64 `json:"score"`
					Min    float64 `json:"min"`
					Passed bool    `json:"passed"`
				} `json:"fail_under"`
			} `json:"gates"`
		}
		dec := json.NewDecoder(strings.NewReader(r.Out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil || dec.More() {
			t.Fatalf("stdout is not one JSON result (%v):\n%s", err, r.Out)
		}
		want1 := w.score("mock-strong", 1)
		if got.Run.Status != oapi.RunStatusCompleted || got.Run.Progress.Total != 20 || got.Run.Config.Samples != 1 || len(got.Rankings.Overall) != 2 ||
			got.Gates.Passed || len(got.Gates.FailUnder) != 1 || got.Gates.FailUnder[0].Model != "strong" || got.Gates.FailUnder[0].Score != want1 || got.Gates.FailUnder[0].Passed {
			t.Errorf("result = %+v", got)
		}
		if !strings.Contains(r.Err, "completed 20/20 (100%)") {
			t.Errorf("--json took the progress off stderr:\n%s", r.Err)
		}
		if !strings.Contains(r.Err, fmt.Sprintf("CI gate failed: strong scored %.3f < 1", want1)) {
			t.Errorf("stderr does not say which gate failed:\n%s", r.Err)
		}
	})

	t.Run("TerminalBar", func(t *testing.T) {
		r := s.sabe(t, cliOpts{Terminal: true}, "runs", "start", "mixed", "--wait", "--allow-partial", "--fail-under", fmt.Sprintf("strong=%g", w.score("mock-strong", 1)))
		if r.Code != 0 {
			t.Fatalf("exit %d, want 0 (partial allowed, strong at its score)\nstdout:\n%s\nstderr:\n%s", r.Code, r.Out, r.Err)
		}
		last := r.Err[strings.LastIndex(r.Err, "\r")+1:]
		for _, want := range []string{"100%", "(20/20)", "partial", "failed 10"} {
			if !strings.Contains(last, want) {
				t.Errorf("the bar's last render %q lacks %q", last, want)
			}
		}
		if !strings.Contains(r.Out, "partial: 20/20 units, 10 failed") {
			t.Errorf("stdout lacks the final status:\n%s", r.Out)
		}
	})

	t.Run("ExitRunFailed", func(t *testing.T) {
		r := s.sabe(t, cliOpts{}, "runs", "start", "fails", "--wait", "--fail-under", "0")
		if r.Code != 3 || !strings.Contains(r.Err, "ended failed") {
			t.Errorf("a failed run: exit %d, stderr:\n%s", r.Code, r.Err)
		}
		if strings.Contains(r.Out, "--fail-under") {
			t.Errorf("the gates were checked for a failed run:\n%s", r.Out)
		}
		r = s.sabe(t, cliOpts{}, "runs", "start", "mixed", "--wait")
		if r.Code != 3 || !strings.Contains(r.Err, "ended partial") || !strings.Contains(r.Err, "--allow-partial") {
			t.Errorf("a partial run without --allow-partial: exit %d, stderr:\n%s", r.Code, r.Err)
		}
	})

	t.Run("ErrUsage", func(t *testing.T) {
		before := len(w.runs(t, "ok"))
		for _, args := range [][]string{
			{"runs", "start", "ok", "--wait", "--fail-under", "nosuch=0.5"},
			{"runs", "start", "ok", "--wait", "--fail-under", "weak=0.5", "--fail-under", "ghost=0.5"}, // ghost is not in ok
			{"runs", "start", "ok", "--fail-under", "0.5"},                                             // gates need --wait
			{"runs", "start", "ok", "--samples", "0"},
			{"runs", "start", "ok", "--wait", "--fail-under", "2"},
		} {
			if r := s.sabe(t, cliOpts{}, args...); r.Code != 2 {
				t.Errorf("sabe %s: exit %d, want 2\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Err)
			}
		}
		if r := s.sabe(t, cliOpts{}, "runs", "start", "ok", "--samples", "101"); r.Code != 1 || !strings.Contains(r.Err, "samples") {
			t.Errorf("--samples 101: exit %d, stderr %q; want the API's 422 on samples", r.Code, r.Err)
		}
		if after := len(w.runs(t, "ok")); after != before {
			t.Errorf("refused command lines started %d runs", after-before)
		}
	})

	t.Run("Regression", func(t *testing.T) {
		r := s.sabe(t, cliOpts{}, "runs", "start", "reg", "--wait", "--fail-on-regression")
		if r.Code != 0 || !strings.Contains(r.Out, "--fail-on-regression: passed (no earlier finished run") {
			t.Fatalf("first run: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Out, r.Err)
		}
		first := w.runs(t, "reg")[0]
		// The model behind regm gets worse: every question it answered
		// right now fails.
		zero := "mock-zero"
		if _, err := s.c.UpdateModel(context.Background(), w.models["regm"].Id, oapi.UpdateModelRequest{ProviderModelId: &zero}); err != nil {
			t.Fatal(err)
		}
		r = s.sabe(t, cliOpts{Width: 200}, "runs", "start", "reg", "--wait", "--fail-on-regression")
		if r.Code != 4 {
			t.Fatalf("regressed run: exit %d, want 4\nstdout:\n%s\nstderr:\n%s", r.Code, r.Out, r.Err)
		}
		if !strings.Contains(r.Out, "--fail-on-regression: failed (significantly worse than in run "+first.Id.String()+": regm)") ||
			!strings.Contains(r.Err, "CI gate failed: regressed: regm") {
			t.Errorf("the regression is not named:\nstdout:\n%s\nstderr:\n%s", r.Out, r.Err)
		}
		// Every question regm answered right before is listed as regressed.
		for _, p := range w.prompts {
			right := mockllm.Correct("mock-strong", p, 0)
			if listed := regexp.MustCompile(`(?m)^regm +regressed .*` + regexp.QuoteMeta(p)).MatchString(r.Out); listed != right {
				t.Errorf("question %q: listed as regressed %v, want %v\n%s", p, listed, right, r.Out)
			}
		}
		// The same gate, again, on the finished run.
		g := s.sabe(t, cliOpts{}, "runs", "gate", "latest:reg", "--fail-on-regression", "--json")
		var res struct {
			Gates struct {
				Passed     bool `json:"passed"`
				Regression struct {
					PreviousRunID uuid.UUID `json:"previous_run_id"`
					Regressed     []string  `json:"regressed"`
				} `json:"regression"`
			} `json:"gates"`
		}
		if err := json.Unmarshal([]byte(g.Out), &res); err != nil || g.Code != 4 || res.Gates.Passed ||
			res.Gates.Regression.PreviousRunID != first.Id || strings.Join(res.Gates.Regression.Regressed, ",") != "regm" {
			t.Errorf("runs gate: exit %d, %+v (%v)\n%s", g.Code, res, err, g.Out)
		}
	})

	t.Run("InterruptTerminalCancel", func(t *testing.T) {
		ctx := w.interruptWhenRunning(t, "slow", len(w.runs(t, "slow")))
		r := s.sabeCtx(ctx, t, cliOpts{Terminal: true, Stdin: "y\n"}, "runs", "start", "slow", "--wait")
		run := w.runs(t, "slow")[0]
		if r.Code != 3 || !strings.Contains(r.Err, "Cancel run "+run.Id.String()+"? [y/N]") {
			t.Errorf("Ctrl-C answered y: exit %d, want 3\nstderr:\n%s", r.Code, r.Err)
		}
		if got, _ := s.c.GetRun(context.Background(), run.Id); got.Status != oapi.RunStatusCancelled || got.Progress.Answered >= got.Progress.Total && got.Progress.Cancelled == 0 {
			t.Errorf("run after a yes: %s %+v, want cancelled mid-run", got.Status, got.Progress)
		}
		if !strings.Contains(r.Out, "run "+run.Id.String()+" cancelled: ") {
			t.Errorf("stdout lacks the final status:\n%s", r.Out)
		}
	})

	t.Run("InterruptTerminalDetach", func(t *testing.T) {
		ctx := w.interruptWhenRunning(t, "slow", len(w.runs(t, "slow")))
		r := s.sabeCtx(ctx, t, cliOpts{Terminal: true, Stdin: "n\n"}, "runs", "start", "slow", "--wait")
		run := w.runs(t, "slow")[0]
		if r.Code != 130 || !strings.Contains(r.Err, "sabe runs cancel "+run.Id.String()) {
			t.Errorf("Ctrl-C answered n: exit %d, want 130 and how to cancel it\nstderr:\n%s", r.Code, r.Err)
		}
		if got := w.waitFinal(t, run.Id); got.Status != oapi.RunStatusCompleted || got.CancelRequestedAt != nil {
			t.Errorf("a detached run ended %s (cancel requested at %v), want completed", got.Status, got.CancelRequestedAt)
		}
	})

	t.Run("InterruptCI", func(t *testing.T) {
		ctx := w.interruptWhenRunning(t, "slow", len(w.runs(t, "slow")))
		r := s.sabeCtx(ctx, t, cliOpts{}, "runs", "start", "slow", "--wait")
		run := w.runs(t, "slow")[0]
		if r.Code != 3 || !strings.Contains(r.Err, "interrupted: cancelling run "+run.Id.String()) {
			t.Errorf("interrupted in CI: exit %d, want 3\nstderr:\n%s", r.Code, r.Err)
		}
		if got, _ := s.c.GetRun(context.Background(), run.Id); got.Status != oapi.RunStatusCancelled {
			t.Errorf("an interrupted CI job left its run %s", got.Status)
		}
	})

	t.Run("InterruptCIDetach", func(t *testing.T) {
		ctx := w.interruptWhenRunning(t, "slow", len(w.runs(t, "slow")))
		r := s.sabeCtx(ctx, t, cliOpts{}, "runs", "start", "slow", "--wait", "--detach-on-interrupt")
		run := w.runs(t, "slow")[0]
		if r.Code != 130 || strings.Contains(r.Err, "cancelling") {
			t.Errorf("interrupted with --detach-on-interrupt: exit %d, want 130\nstderr:\n%s", r.Code, r.Err)
		}
		if got := w.waitFinal(t, run.Id); got.Status != oapi.RunStatusCompleted {
			t.Errorf("a detached run ended %s, want completed", got.Status)
		}
	})

	t.Run("NoWait", func(t *testing.T) {
		r := s.mustSabe(t, cliOpts{}, "runs", "start", "ok", "--samples", "3")
		id, err := uuid.Parse(strings.TrimSpace(r.Out))
		if err != nil {
			t.Fatalf("stdout %q is not a run id", r.Out)
		}
		r = s.mustSabe(t, cliOpts{}, "runs", "start", "ok", "--json", "--max-cost", "5")
		var run oapi.Run
		if err := json.Unmarshal([]byte(r.Out), &run); err != nil || run.MaxCostUsd == nil || *run.MaxCostUsd != 5 || run.Progress.Total != 20 {
			t.Fatalf("--json printed %s (%v)", r.Out, err)
		}
		if got := w.waitFinal(t, id); got.Progress.Total != 60 || got.Config.Samples != 3 {
			t.Errorf("run with --samples 3: total %d, samples %d; want 60 and 3", got.Progress.Total, got.Config.Samples)
		}
		w.waitFinal(t, run.Id)
	})
}

// TestCLI_GitHubActionsWorkflow keeps the CI workflow the README shows
// working: docs/github-actions-sabe.yml is valid YAML with the secrets
// sabe reads, each `sabe` command in its steps parses (its flags exist
// and their values are good: --help after them stops it before it
// calls anything), and the README shows the file as it is.
func TestCLI_GitHubActionsWorkflow(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../docs/github-actions-sabe.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				Env  map[string]string `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatalf("the workflow is not YAML: %v", err)
	}
	var commands int
	for name, job := range wf.Jobs {
		for _, step := range job.Steps {
			for _, line := range strings.Split(step.Run, "\n") {
				fields := strings.Fields(line)
				if len(fields) == 0 || fields[0] != "sabe" {
					continue
				}
				commands++
				if step.Env["SABE_URL"] != "${{ secrets.SABE_URL }}" || step.Env["SABE_TOKEN"] != "${{ secrets.SABE_TOKEN }}" {
					t.Errorf("job %s: the step running %q does not take SABE_URL and SABE_TOKEN from the secrets: %v", name, line, step.Env)
				}
				var out bytes.Buffer
				args := append(fields[1:], "--help")
				if err := cli.Run(context.Background(), args, func(string) string { return "" }, &out, cli.Services{}); err != nil {
					t.Errorf("job %s: `%s` does not parse: %v", name, line, err)
				} else if !strings.Contains(out.String(), "Usage:") {
					t.Errorf("job %s: `%s --help` printed no usage:\n%s", name, line, out.String())
				}
			}
		}
	}
	if commands == 0 {
		t.Fatal("found no sabe command in the workflow")
	}
	if !strings.Contains(readme(t), "```yaml\n"+string(raw)+"```\n") {
		t.Error("the README's CI section does not show docs/github-actions-sabe.yml as it is")
	}
}

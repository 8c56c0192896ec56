package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/secrets"
)

// exampleKey is the provider key the example file's reference resolves
// to in these tests.
const exampleKey = "sk-apply-e2e"

// applyEnv is the environment the example file needs.
var applyEnv = cliOpts{Env: map[string]string{"OPENROUTER_API_KEY": exampleKey}}

// exampleFile writes examples/sabe.yaml, pointed at s's mock provider,
// into a directory of the test's, with edit applied to its text, and
// returns its path.
func exampleFile(t *testing.T, s *system, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile("../examples/sabe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "https://openrouter.ai/api/v1", s.mock.URL+"/v1")
	if edit != nil {
		text = edit(text)
	}
	return writeFile(t, text)
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sabe.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// replace is strings.Replace that fails the test when old is not there.
func replace(t *testing.T, old, new string) func(string) string {
	return func(s string) string {
		t.Helper()
		if !strings.Contains(s, old) {
			t.Fatalf("the example has no %q", old)
		}
		return strings.Replace(s, old, new, 1)
	}
}

// snapshot is every catalog object of s with its revision or update
// time: two equal snapshots mean nothing was written in between.
func snapshot(t *testing.T, s *system) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	ps, err := s.c.AllProviders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		fmt.Fprintf(&b, "provider %s %s\n", p.Name, p.UpdatedAt)
	}
	ms, err := s.c.AllModels(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		fmt.Fprintf(&b, "model %s %s\n", m.Name, m.UpdatedAt)
	}
	ss, err := s.c.AllSuites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, su := range ss {
		fmt.Fprintf(&b, "suite %s %s\n", su.Name, su.UpdatedAt)
		qs, err := s.c.AllQuestions(ctx, su.Id)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			fmt.Fprintf(&b, "  question %v rev %d %s\n", deref(q.Key), q.Revision, q.UpdatedAt)
		}
	}
	bs, err := s.c.AllBenchmarks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, bm := range bs {
		fmt.Fprintf(&b, "benchmark %s %s\n", bm.Name, bm.UpdatedAt)
	}
	return b.String()
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// questionsByKey reads a suite's active questions by key.
func questionsByKey(t *testing.T, s *system, suite string) map[string]oapi.Question {
	t.Helper()
	id, found, err := s.c.FindByName(context.Background(), "/v1/suites", suite)
	if err != nil || !found {
		t.Fatalf("suite %s: found %v, %v", suite, found, err)
	}
	qs, err := s.c.AllQuestions(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]oapi.Question{}
	for _, q := range qs {
		out[deref(q.Key)] = q
	}
	return out
}

func TestCLI_Apply(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	empty := snapshot(t, s)

	t.Run("ErrLiteralKey", func(t *testing.T) {
		f := exampleFile(t, s, replace(t, "${OPENROUTER_API_KEY}", "sk-live-literal"))
		r := s.sabe(t, applyEnv, "apply", "-f", f)
		if r.Code != 1 || !strings.Contains(r.Err, "providers[0].api_key: api_key must be a ${ENV_VAR} reference") {
			t.Fatalf("exit %d, stderr:\n%s", r.Code, r.Err)
		}
		if strings.Contains(r.Out+r.Err, "sk-live-literal") {
			t.Fatalf("the literal key is echoed:\n%s%s", r.Out, r.Err)
		}
	})
	t.Run("ErrUnknownField", func(t *testing.T) {
		f := exampleFile(t, s, replace(t, `cron: "0 3 * * *"`, `crn: "0 3 * * *"`))
		r := s.sabe(t, applyEnv, "apply", "-f", f)
		if r.Code != 1 || !strings.Contains(r.Err, "benchmarks[0].schedule.crn: unknown field") {
			t.Fatalf("exit %d, stderr:\n%s", r.Code, r.Err)
		}
	})
	t.Run("ErrUnsetVariable", func(t *testing.T) {
		r := s.sabe(t, cliOpts{}, "apply", "-f", exampleFile(t, s, nil))
		if r.Code != 1 || !strings.Contains(r.Err, "OPENROUTER_API_KEY") || !strings.Contains(r.Err, "providers[0].api_key") {
			t.Fatalf("exit %d, stderr:\n%s", r.Code, r.Err)
		}
	})
	t.Run("ErrReference", func(t *testing.T) {
		f := exampleFile(t, s, replace(t, "models: [gpt-4o-mini, claude-haiku]", "models: [gpt-4o-mini, gpt-5]"))
		r := s.sabe(t, applyEnv, "apply", "-f", f)
		if r.Code != 1 || !strings.Contains(r.Err, `benchmarks[0].models[1]: no model named "gpt-5"`) {
			t.Fatalf("exit %d, stderr:\n%s", r.Code, r.Err)
		}
	})
	if got := snapshot(t, s); got != empty {
		t.Fatalf("refused files wrote:\n%s", got)
	}

	file := exampleFile(t, s, nil)
	t.Run("DryRun", func(t *testing.T) {
		r := s.mustSabe(t, applyEnv, "apply", "-f", file, "--dry-run")
		for _, want := range []string{
			"+ create provider openrouter\n", "+ create model gpt-4o-mini\n", "+ create suite geography\n",
			"+ create question geography/capital-fr\n", "+ create benchmark nightly\n",
			"Plan: 11 to create, 0 to update, 0 to archive, 0 unchanged.\n", "Dry run: nothing was changed.\n",
		} {
			if !strings.Contains(r.Out, want) {
				t.Errorf("the plan lacks %q:\n%s", want, r.Out)
			}
		}
		if got := snapshot(t, s); got != empty {
			t.Fatalf("--dry-run wrote:\n%s", got)
		}
	})

	t.Run("Create", func(t *testing.T) {
		r := s.mustSabe(t, applyEnv, "apply", "-f", file)
		if !strings.Contains(r.Out, "Applied 11 changes.\n") {
			t.Fatalf("stdout:\n%s", r.Out)
		}
		if strings.Contains(r.Out+r.Err, exampleKey) {
			t.Fatalf("the key is in the output")
		}
		ps, err := s.c.AllProviders(ctx)
		if err != nil || len(ps) != 1 {
			t.Fatalf("providers %v, %v", ps, err)
		}
		if fp := ps[0].ApiKeyFingerprint; fp == nil || *fp != secrets.KeyFingerprint(exampleKey) {
			t.Fatalf("the provider's key fingerprint is %v, want the example key's", fp)
		}
		if _, ok := ps[0].Headers["HTTP-Referer"]; !ok || ps[0].Limits.RequestsPerMinute == nil || *ps[0].Limits.RequestsPerMinute != 600 {
			t.Fatalf("provider = %+v", ps[0])
		}
		geo := questionsByKey(t, s, "geography")
		if len(geo) != 3 || geo["capital-fr"].ExpectedAnswer != "Paris" || geo["longest-river"].Choices == nil {
			t.Fatalf("geography's questions: %+v", geo)
		}
		if md := questionsByKey(t, s, "arithmetic")["mul-1"].Metadata; md["difficulty"] != "easy" {
			t.Fatalf("mul-1's metadata = %v", md)
		}
		bs, err := s.c.AllBenchmarks(ctx)
		if err != nil || len(bs) != 1 {
			t.Fatalf("benchmarks %v, %v", bs, err)
		}
		b := bs[0]
		if len(b.SuiteIds) != 2 || len(b.ModelIds) != 2 || b.Config.MaxTokens != 256 || b.Schedule == nil ||
			b.Schedule.Cron != "0 3 * * *" || b.Schedule.Timezone != "Europe/Berlin" || !b.Schedule.Enabled {
			t.Fatalf("benchmark = %+v, schedule %+v", b, b.Schedule)
		}
	})

	t.Run("Unchanged", func(t *testing.T) {
		before := snapshot(t, s)
		r := s.mustSabe(t, applyEnv, "apply", "-f", file)
		if !strings.Contains(r.Out, "= 11 unchanged\n") || !strings.Contains(r.Out, "Nothing to change.\n") {
			t.Fatalf("second apply:\n%s", r.Out)
		}
		if after := snapshot(t, s); after != before {
			t.Fatalf("the second apply wrote:\n%s\n---\n%s", before, after)
		}
	})

	edited := exampleFile(t, s, func(text string) string {
		text = replace(t, "What is the capital of France? Answer with one word.", "Name the capital of France, in one word.")(text)
		return replace(t, "input_cost_per_mtok: 0.15", "input_cost_per_mtok: 0.2")(text)
	})
	t.Run("Update", func(t *testing.T) {
		r := s.mustSabe(t, applyEnv, "apply", "-f", edited, "--dry-run")
		for _, want := range []string{
			"~ update model gpt-4o-mini: input_cost_per_mtok 0.15 → 0.2\n",
			`~ update question geography/capital-fr: prompt "What is the capital of France? Answer with one word." → "Name the capital of France, in one word." (revision 2)` + "\n",
			"Plan: 0 to create, 2 to update, 0 to archive, 9 unchanged.\n",
		} {
			if !strings.Contains(r.Out, want) {
				t.Errorf("the plan lacks %q:\n%s", want, r.Out)
			}
		}
		s.mustSabe(t, applyEnv, "apply", "-f", edited)
		q := questionsByKey(t, s, "geography")["capital-fr"]
		if q.Revision != 2 || q.Prompt != "Name the capital of France, in one word." {
			t.Fatalf("capital-fr is revision %d: %q", q.Revision, q.Prompt)
		}
		id, _, _ := s.c.FindByName(ctx, "/v1/models", "gpt-4o-mini")
		var m oapi.Model
		s.call(t, "GET", "/v1/models/"+id.String(), "", nil, 200, &m)
		if m.InputCostPerMtok != 0.2 {
			t.Fatalf("gpt-4o-mini's input price = %v", m.InputCostPerMtok)
		}
		if r := s.mustSabe(t, applyEnv, "apply", "-f", edited); !strings.Contains(r.Out, "Nothing to change.\n") {
			t.Fatalf("the edited file applied twice changes:\n%s", r.Out)
		}
	})

	t.Run("KeyRotation", func(t *testing.T) {
		opts := cliOpts{Env: map[string]string{"OPENROUTER_API_KEY": "sk-rotated"}}
		r := s.mustSabe(t, opts, "apply", "-f", edited, "--dry-run")
		if !strings.Contains(r.Out, "~ update provider openrouter: api_key (set) → (changed)\n") || strings.Contains(r.Out, "sk-rotated") {
			t.Fatalf("plan:\n%s", r.Out)
		}
	})

	t.Run("Budget", func(t *testing.T) {
		budgeted := exampleFile(t, s, func(text string) string {
			text = replace(t, "input_cost_per_mtok: 0.15", "input_cost_per_mtok: 0.2")(text)
			text = replace(t, "What is the capital of France? Answer with one word.", "Name the capital of France, in one word.")(text)
			return text + "    budget: {max_cost_usd_per_month: 50}\n"
		})
		r := s.mustSabe(t, applyEnv, "apply", "-f", budgeted)
		if !strings.Contains(r.Out, "~ update benchmark nightly: budget.max_cost_usd_per_month (none) → 50\n") {
			t.Fatalf("plan:\n%s", r.Out)
		}
		bs, err := s.c.AllBenchmarks(ctx)
		if err != nil || bs[0].Budget.MaxCostUsdPerMonth == nil || *bs[0].Budget.MaxCostUsdPerMonth != 50 {
			t.Fatalf("benchmarks %+v, %v", bs, err)
		}
		if r := s.mustSabe(t, applyEnv, "apply", "-f", budgeted); !strings.Contains(r.Out, "Nothing to change.\n") {
			t.Fatalf("the budget applied twice changes:\n%s", r.Out)
		}
	})

	t.Run("Prune", func(t *testing.T) {
		pruned := exampleFile(t, s, func(text string) string {
			text = replace(t, "input_cost_per_mtok: 0.15", "input_cost_per_mtok: 0.2")(text)
			text = replace(t, "What is the capital of France? Answer with one word.", "Name the capital of France, in one word.")(text)
			// capital-jp goes, and the arithmetic suite with its place in the benchmark.
			i, j := strings.Index(text, "      - key: capital-jp"), strings.Index(text, "      - key: longest-river")
			text = text[:i] + text[j:]
			i, j = strings.Index(text, "  - name: arithmetic"), strings.Index(text, "\nbenchmarks:")
			text = text[:i] + text[j+1:]
			return replace(t, "suites: [geography, arithmetic]", "suites: [geography]")(text)
		})
		// Without --prune what the file leaves out stays.
		r := s.mustSabe(t, applyEnv, "apply", "-f", pruned, "--dry-run")
		if strings.Contains(r.Out, "- archive") || !strings.Contains(r.Out, "~ update benchmark nightly: suites") {
			t.Fatalf("plan without --prune:\n%s", r.Out)
		}
		r = s.mustSabe(t, applyEnv, "apply", "-f", pruned, "--prune")
		for _, want := range []string{"- archive question geography/capital-jp\n", "- archive suite arithmetic (2 questions)\n"} {
			if !strings.Contains(r.Out, want) {
				t.Errorf("the plan lacks %q:\n%s", want, r.Out)
			}
		}
		if i, j := strings.Index(r.Out, "~ update benchmark nightly"), strings.Index(r.Out, "- archive suite arithmetic"); i < 0 || j < i {
			t.Errorf("the suite is archived before the benchmark leaves it go:\n%s", r.Out)
		}
		names, err := s.c.Names(ctx, "/v1/suites")
		if err != nil || !slices.Equal(names, []string{"geography"}) {
			t.Fatalf("suites after --prune: %v, %v", names, err)
		}
		geo := questionsByKey(t, s, "geography")
		if _, ok := geo["capital-jp"]; ok || len(geo) != 2 {
			t.Fatalf("geography after --prune: %v", geo)
		}
		if r := s.mustSabe(t, applyEnv, "apply", "-f", pruned, "--prune"); !strings.Contains(r.Out, "Nothing to change.\n") {
			t.Fatalf("a second --prune changes:\n%s", r.Out)
		}
	})

	t.Run("JSON", func(t *testing.T) {
		r := s.mustSabe(t, applyEnv, "apply", "-f", file, "--dry-run", "--json")
		var out struct {
			DryRun  bool           `json:"dry_run"`
			Summary map[string]int `json:"summary"`
			Changes []struct {
				Action, Kind, Name, Suite, Path string
			} `json:"changes"`
		}
		if err := json.Unmarshal([]byte(r.Out), &out); err != nil {
			t.Fatalf("%v:\n%s", err, r.Out)
		}
		// The full example again: the arithmetic suite anew (its name
		// is free once archived), capital-jp anew, the edits undone.
		if !out.DryRun || out.Summary["create"] != 4 || out.Summary["update"] != 3 {
			t.Fatalf("summary %v:\n%s", out.Summary, r.Out)
		}
	})
}

// export-config writes a file that applies to the same SABE as no
// change, and to an empty one as the same setup.
func TestCLI_ApplyExportConfig(t *testing.T) {
	t.Parallel()
	a := start(t)
	a.mustSabe(t, applyEnv, "apply", "-f", exampleFile(t, a, nil))
	// A question without a key, as made before keys existed.
	suite, _, err := a.c.FindByName(context.Background(), "/v1/suites", "geography")
	if err != nil {
		t.Fatal(err)
	}
	var q oapi.Question
	a.call(t, "POST", "/v1/suites/"+suite.String()+"/questions", "application/json",
		map[string]any{"prompt": "Capital of Italy?", "expected_answer": "Rome", "scoring": map[string]any{"method": "contains"}}, 201, &q)

	out := filepath.Join(t.TempDir(), "exported.yaml")
	r := a.mustSabe(t, cliOpts{}, "export-config", "-o", out)
	if !strings.Contains(r.Err, "set OPENROUTER_API_KEY, OPENROUTER_HEADER_HTTP_REFERER") || !strings.Contains(r.Err, "1 questions have no key") {
		t.Fatalf("notes:\n%s", r.Err)
	}
	exported, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(exported), "key: "+q.Id.String()) || strings.Contains(string(exported), exampleKey) {
		t.Fatalf("exported:\n%s", exported)
	}
	env := cliOpts{Env: map[string]string{"OPENROUTER_API_KEY": exampleKey, "OPENROUTER_HEADER_HTTP_REFERER": "https://sabe.example.com"}}

	before := snapshot(t, a)
	r = a.mustSabe(t, env, "apply", "-f", out)
	if !strings.Contains(r.Out, "Nothing to change.\n") {
		t.Fatalf("the export applied to its own SABE:\n%s", r.Out)
	}
	if after := snapshot(t, a); after != before {
		t.Fatalf("applying the export wrote:\n%s\n---\n%s", before, after)
	}

	// The same file from stdin.
	if r := a.mustSabe(t, cliOpts{Env: env.Env, Stdin: string(exported)}, "apply", "-f", "-"); !strings.Contains(r.Out, "Nothing to change.\n") {
		t.Fatalf("the export from stdin:\n%s", r.Out)
	}

	b := start(t)
	b.mustSabe(t, env, "apply", "-f", out)
	again := b.mustSabe(t, cliOpts{}, "export-config").Out
	if again != string(exported) {
		t.Fatalf("the fresh SABE exports another file:\n%s\n---\n%s", exported, again)
	}
	ps, err := b.c.AllProviders(context.Background())
	if err != nil || len(ps) != 1 || ps[0].ApiKeyFingerprint == nil || *ps[0].ApiKeyFingerprint != secrets.KeyFingerprint(exampleKey) {
		t.Fatalf("the fresh SABE's provider: %+v, %v", ps, err)
	}
	if r := b.mustSabe(t, env, "apply", "-f", out); !strings.Contains(r.Out, "Nothing to change.\n") {
		t.Fatalf("the export applied twice to the fresh SABE:\n%s", r.Out)
	}

	// A benchmark the file gives no schedule stops running by itself.
	unscheduled := exampleFile(t, a, replace(t, "    schedule:\n      cron: \"0 3 * * *\"\n      timezone: Europe/Berlin\n      overlap: skip\n", ""))
	r = a.mustSabe(t, applyEnv, "apply", "-f", unscheduled)
	if !strings.Contains(r.Out, "~ update benchmark nightly: schedule.enabled true → false\n") {
		t.Fatalf("plan:\n%s", r.Out)
	}
	bs, err := a.c.AllBenchmarks(context.Background())
	if err != nil || bs[0].Schedule == nil || bs[0].Schedule.Enabled {
		t.Fatalf("benchmarks %+v, %v", bs, err)
	}
	if r := a.mustSabe(t, applyEnv, "apply", "-f", unscheduled); !strings.Contains(r.Out, "Nothing to change.\n") {
		t.Fatalf("applied twice:\n%s", r.Out)
	}

	// The example's alerts block, as the API keeps it.
	al := bs[0].Alerts
	if al == nil || !al.Enabled || len(al.Metrics) != 2 || al.MinEffect.Score == nil || *al.MinEffect.Score != 0.03 ||
		al.MinEffect.LatencyP95 == nil || *al.MinEffect.LatencyP95 != 0.25 || al.Alpha != 0.05 || al.CompareTo != oapi.CompareToPreviousRun {
		t.Fatalf("the benchmark's alerts after apply: %+v", al)
	}
	// A changed field is planned and applied alone; the rest stays.
	stricter := exampleFile(t, a, replace(t, "      alpha: 0.05\n", "      alpha: 0.01\n"))
	if r := a.mustSabe(t, applyEnv, "apply", "-f", stricter, "--dry-run"); !strings.Contains(r.Out, "alerts.alpha 0.05 → 0.01") {
		t.Fatalf("plan of a changed alpha:\n%s", r.Out)
	}
	a.mustSabe(t, applyEnv, "apply", "-f", stricter)
	bs, err = a.c.AllBenchmarks(context.Background())
	if err != nil || bs[0].Alerts == nil || bs[0].Alerts.Alpha != 0.01 || *bs[0].Alerts.MinEffect.Score != 0.03 {
		t.Fatalf("alerts after the alpha change: %+v, %v", bs[0].Alerts, err)
	}
	// A file without the block turns the alerts off, keeping the settings.
	noAlerts := exampleFile(t, a, func(text string) string { return text[:strings.Index(text, "    # Regression alerts")] })
	if r := a.mustSabe(t, applyEnv, "apply", "-f", noAlerts); !strings.Contains(r.Out, "alerts.enabled true → false") {
		t.Fatalf("plan without an alerts block:\n%s", r.Out)
	}
	bs, err = a.c.AllBenchmarks(context.Background())
	if err != nil || bs[0].Alerts == nil || bs[0].Alerts.Enabled || bs[0].Alerts.Alpha != 0.01 {
		t.Fatalf("alerts after a file without them: %+v, %v", bs[0].Alerts, err)
	}
	if r := a.mustSabe(t, applyEnv, "apply", "-f", noAlerts); !strings.Contains(r.Out, "Nothing to change.\n") {
		t.Fatalf("applied twice without alerts:\n%s", r.Out)
	}
	// A bad value is refused before anything is read, with its path.
	bad := exampleFile(t, a, replace(t, "compare_to: previous_run", "compare_to: last_month"))
	if r := a.sabe(t, applyEnv, "apply", "-f", bad); r.Code == 0 || !strings.Contains(r.Err, "benchmarks[0].alerts.compare_to") {
		t.Fatalf("a bad compare_to: exit %d, stderr %q", r.Code, r.Err)
	}
}

// A suite's questions_from files are read with the importers, keyed by
// their rows' ids or by derived keys, and applied like inline questions.
func TestCLI_ApplyQuestionsFrom(t *testing.T) {
	t.Parallel()
	s := start(t)
	dir := t.TempDir()
	evals, err := os.ReadFile("../testdata/import/openai-evals.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	inspect, err := os.ReadFile("../testdata/import/inspect.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("evals.jsonl", evals)
	write("inspect.jsonl", inspect)
	write("sabe.yaml", []byte(`apiVersion: sabe/v1
suites:
  - name: imported
    questions:
      - {key: inline-1, prompt: "What is 1 + 1?", expected_answer: "2", scoring: {method: numeric}}
    questions_from:
      - {file: evals.jsonl, format: openai-evals}
      - {file: inspect.jsonl}
`))
	file := filepath.Join(dir, "sabe.yaml")

	r := s.mustSabe(t, cliOpts{}, "apply", "-f", file)
	if !strings.Contains(r.Out, "+ create 7 questions in suite imported: inline-1, h-") || !strings.Contains(r.Out, "Applied 8 changes.\n") {
		t.Fatalf("apply:\n%s", r.Out)
	}
	qs := questionsByKey(t, s, "imported")
	if len(qs) != 7 || qs["capital-fr"].ExpectedAnswer != "Paris" || qs["3"].Choices == nil {
		t.Fatalf("questions: %v", slices.Collect(maps.Keys(qs)))
	}
	before := snapshot(t, s)
	if r := s.mustSabe(t, cliOpts{}, "apply", "-f", file); !strings.Contains(r.Out, "= 8 unchanged\n") {
		t.Fatalf("second apply:\n%s", r.Out)
	}
	if after := snapshot(t, s); after != before {
		t.Fatalf("the second apply wrote:\n%s\n---\n%s", before, after)
	}

	// The first openai/evals row leaves the file: --prune archives it.
	lines := strings.SplitAfter(string(evals), "\n")
	write("evals.jsonl", []byte(strings.Join(lines[1:], "")))
	r = s.mustSabe(t, cliOpts{}, "apply", "-f", file, "--prune")
	if !strings.Contains(r.Out, "- archive question imported/h-") || !strings.Contains(r.Out, "Plan: 0 to create, 0 to update, 1 to archive, 7 unchanged.\n") {
		t.Fatalf("--prune:\n%s", r.Out)
	}
	if got := len(questionsByKey(t, s, "imported")); got != 6 {
		t.Fatalf("%d questions after --prune, want 6", got)
	}

	// A change the API refuses stops the apply: what came before it is
	// made, what comes after is not, and the error names the file's field.
	bad := exampleFile(t, s, replace(t, "input_cost_per_mtok: 0.8", "input_cost_per_mtok: -1"))
	r = s.sabe(t, applyEnv, "apply", "-f", bad)
	if r.Code != 1 || !strings.Contains(r.Out, "+ create model claude-haiku  FAILED: models[1].input_cost_per_mtok: ") ||
		!strings.Contains(r.Out, "+ create benchmark nightly  (not applied)\n") ||
		!strings.Contains(r.Err, "applied 2 of 11 changes; not applied: suite geography, question geography/capital-fr") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", r.Code, r.Out, r.Err)
	}
	if names, _ := s.c.Names(context.Background(), "/v1/models"); !slices.Equal(names, []string{"gpt-4o-mini"}) {
		t.Fatalf("models after the failed apply: %v", names)
	}

	// A bad row is refused with its file and line; nothing is written.
	write("inspect.jsonl", append(inspect, []byte(`{"id": 9, "target": "no input"}`+"\n")...))
	before = snapshot(t, s)
	r = s.sabe(t, cliOpts{}, "apply", "-f", file)
	if r.Code != 1 || !strings.Contains(r.Err, "suites[0].questions_from[1] (inspect.jsonl): line 4") {
		t.Fatalf("exit %d, stderr:\n%s", r.Code, r.Err)
	}
	if after := snapshot(t, s); after != before {
		t.Fatalf("a refused file wrote")
	}
}

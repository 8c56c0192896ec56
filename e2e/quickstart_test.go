package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadme_QuickStart walks the README's quick start against a real
// system: apply examples/quickstart (a promptfoo test file as a suite, the
// mock's models and judge), run it with --wait, and gate on it as CI
// would, the second run against the first.
func TestReadme_QuickStart(t *testing.T) {
	t.Parallel()
	s := start(t)
	dir := t.TempDir()
	for _, name := range []string{"sabe.yaml", "tests.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "quickstart", name))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "http://127.0.0.1:8090/v1", s.mock.URL+"/v1")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := cliOpts{Env: map[string]string{"MOCK_API_KEY": "any"}}
	file := filepath.Join(dir, "sabe.yaml")

	plan := s.mustSabe(t, env, "apply", "-f", file, "--dry-run")
	if !strings.Contains(plan.Out, "+ create benchmark quickstart") || !strings.Contains(plan.Out, "Plan: ") {
		t.Fatalf("the dry run's plan:\n%s", plan.Out)
	}
	s.mustSabe(t, env, "apply", "-f", file)
	if again := s.mustSabe(t, env, "apply", "-f", file); !strings.Contains(again.Out, "0 to create, 0 to update, 0 to archive") {
		t.Fatalf("a second apply changed something:\n%s", again.Out)
	}

	first := s.mustSabe(t, cliOpts{}, "runs", "start", "quickstart", "--wait")
	for _, want := range []string{"completed", "strong", "medium", "weak"} {
		if !strings.Contains(first.Out+first.Err, want) {
			t.Errorf("runs start --wait printed no %q:\n%s\n%s", want, first.Out, first.Err)
		}
	}
	// The mock answers the same way every time: no regression, and every
	// model clears a low bar; an impossible bar fails the gate.
	s.mustSabe(t, cliOpts{}, "runs", "start", "quickstart", "--wait", "--fail-under", "0.2", "--fail-on-regression")
	if r := s.sabe(t, cliOpts{}, "runs", "start", "quickstart", "--wait", "--fail-under", "0.99"); r.Code != 4 {
		t.Fatalf("--fail-under 0.99: exit %d, want 4\n%s\n%s", r.Code, r.Out, r.Err)
	}
}

package cli

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/pkg/client"
)

func TestTable_Render(t *testing.T) {
	t.Parallel()
	id := "0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f"
	tb := table{
		Header: []string{"ID", "BENCHMARK", "STATUS"},
		Rows:   [][]string{{id, "a-benchmark-with-a-long-name", "completed"}},
		Fixed:  1,
	}
	t.Run("Natural", func(t *testing.T) {
		got := tb.render(0)
		want := "ID                                    BENCHMARK                     STATUS\n" +
			id + "  a-benchmark-with-a-long-name  completed\n"
		if got != want {
			t.Errorf("render(0) =\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("FixedColumnsAreNeverCut", func(t *testing.T) {
		got := tb.render(60)
		if !strings.Contains(got, id) {
			t.Errorf("the id was cut:\n%s", got)
		}
		for _, l := range strings.Split(strings.TrimRight(got, "\n"), "\n") {
			if utf8.RuneCountInString(l) > 60 {
				t.Errorf("line of %d columns at width 60: %q", utf8.RuneCountInString(l), l)
			}
		}
		if !strings.Contains(got, "a-bench") || !strings.Contains(got, "…") {
			t.Errorf("the benchmark was not cut to fit:\n%s", got)
		}
	})
	t.Run("WidestCutFirst", func(t *testing.T) {
		tb := table{Header: []string{"A", "B"}, Rows: [][]string{{"short", strings.Repeat("x", 40)}}}
		got := tb.render(30)
		if !strings.HasPrefix(strings.Split(got, "\n")[1], "short  xxx") || !strings.Contains(got, "…") {
			t.Errorf("render(30) =\n%s", got)
		}
	})
}

func TestAPIFailure_Message(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  *client.Error
		want string
	}{
		{&client.Error{Method: "GET", Path: "/v1/runs/x", Status: 404, Code: "not_found", Message: "run not found"}, "run not found (HTTP 404 not_found)"},
		{&client.Error{Method: "POST", Path: "/v1/x", Status: 422, Code: "invalid", Message: "must be at least 1", Field: "samples"}, "samples: must be at least 1 (HTTP 422 invalid)"},
		{&client.Error{Method: "GET", Path: "/v1/x", Status: 502, Body: "<html>bad gateway"}, "GET /v1/x: status 502: <html>bad gateway"},
	} {
		if got := (&apiFailure{c.err}).Error(); got != c.want {
			t.Errorf("%+v printed %q, want %q", c.err, got, c.want)
		}
	}
}

// TestCommands_Documented: every client command has an example in its
// help, and each one that prints data takes --json (a persistent flag of
// the root, so checked once).
func TestCommands_Documented(t *testing.T) {
	t.Parallel()
	root := newRoot(&env{getenv: func(string) string { return "" }})
	if root.PersistentFlags().Lookup("json") == nil || root.PersistentFlags().Lookup("quiet") == nil {
		t.Fatal("the root has no --json or --quiet")
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Example == "" && c.GroupID != groupOps && (c.Parent() == nil || c.Parent().GroupID != groupOps) && c.Name() != "help" && c.Name() != "completion" && c != root {
			t.Errorf("sabe %s has no example in its help", strings.TrimPrefix(c.CommandPath(), "sabe "))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

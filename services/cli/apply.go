package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/pkg/apply"
)

// applyCommand is `sabe apply`: a benchmark-as-code file made true on
// the server, after showing what changes.
func applyCommand(e *env) *cobra.Command {
	var file string
	var dryRun, prune bool
	cmd := &cobra.Command{
		Use:     "apply -f FILE [--dry-run] [--prune]",
		Short:   "Create or update providers, models, suites, questions and benchmarks from a YAML file",
		GroupID: groupSetup,
		Long: `apply makes the server hold what the file says, matching objects by name
(questions within a suite by key): what is missing is created, what differs
is updated (a question's change is a new revision), what is equal is left
alone. It prints the plan first; --dry-run stops there. Provider keys are
${ENV_VAR} references, resolved now. --prune also archives what the file
does not name, of each kind it lists. See "Benchmarks as code" in the README.`,
		Example: `  # what would change, without changing anything
  sabe apply -f sabe.yaml --dry-run

  OPENROUTER_API_KEY=sk-... sabe apply -f sabe.yaml

  # and archive what the file no longer names
  sabe apply -f sabe.yaml --prune`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := e.readApplyFile(file)
			if err != nil {
				return err
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			plan, err := apply.Build(cmd.Context(), c, f, apply.Options{
				Prune:  prune,
				Expand: func(s string) (string, error) { return expandEnv(s, e.getenv) },
			})
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			if dryRun || plan.Pending() == 0 {
				return e.printPlan(plan, nil, dryRun)
			}
			res, applyErr := plan.Apply(cmd.Context())
			if err := e.printPlan(plan, &res, false); err != nil {
				return err
			}
			if applyErr != nil {
				var notDone []string
				for _, ch := range plan.Changes {
					if ch.Status == apply.StatusNotApplied {
						notDone = append(notDone, ch.Label())
					}
				}
				e.notef("applied %d of %d changes; not applied: %s\n", res.Applied, res.Pending, strings.Join(notDone, ", "))
				return applyErr
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "the file to apply (- reads stdin)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "archive what the file does not name, of each kind it lists")
	_ = cmd.MarkFlagRequired("filename")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	return cmd
}

// readApplyFile parses the file at name, or stdin for "-".
func (e *env) readApplyFile(name string) (*apply.File, error) {
	var r io.Reader
	dir := "."
	if name == "-" {
		r = e.io.In
	} else {
		fh, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r, dir = fh, filepath.Dir(name)
	}
	f, err := apply.Parse(r, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// planJSON is what --json prints of a plan.
type planJSON struct {
	DryRun  bool            `json:"dry_run"`
	Summary map[string]int  `json:"summary"`
	Applied *int            `json:"applied,omitempty"`
	Changes []*apply.Change `json:"changes"`
}

// printPlan writes the plan (and, after Apply, how it went) as lines a
// reviewer reads, or as JSON.
func (e *env) printPlan(p *apply.Plan, res *apply.Result, dryRun bool) error {
	summary := map[string]int{}
	for _, a := range []apply.Action{apply.Create, apply.Update, apply.Unchanged, apply.Archive} {
		summary[string(a)] = p.Count(a)
	}
	if e.global.json {
		out := planJSON{DryRun: dryRun, Summary: summary, Changes: p.Changes}
		if out.Changes == nil {
			out.Changes = []*apply.Change{}
		}
		if res != nil {
			out.Applied = &res.Applied
		}
		return e.printJSON(out)
	}
	var b bytes.Buffer
	writePlan(&b, p)
	fmt.Fprintf(&b, "Plan: %d to create, %d to update, %d to archive, %d unchanged.\n",
		summary["create"], summary["update"], summary["archive"], summary["unchanged"])
	switch {
	case dryRun:
		b.WriteString("Dry run: nothing was changed.\n")
	case res != nil && res.Failed == nil:
		fmt.Fprintf(&b, "Applied %d changes.\n", res.Applied)
	case res == nil:
		b.WriteString("Nothing to change.\n")
	}
	e.printf("%s", b.String())
	return nil
}

// collapseAt is how many new questions of one suite are listed one by
// one; more are summed up in one line.
const collapseAt = 5

// writePlan writes one line per change that writes ("+ create model x",
// "~ update model x: input_cost_per_mtok 2.5 → 3", "- archive suite y"),
// the unchanged ones as a count. A failed change is marked with its error.
func writePlan(w io.Writer, p *apply.Plan) {
	unchanged := 0
	for i := 0; i < len(p.Changes); i++ {
		c := p.Changes[i]
		if c.Action == apply.Unchanged {
			unchanged++
			continue
		}
		// A run of new questions in one suite: one line when long.
		if c.Kind == apply.KindQuestion && c.Action == apply.Create {
			j := i
			for j < len(p.Changes) && p.Changes[j].Kind == apply.KindQuestion && p.Changes[j].Action == apply.Create && p.Changes[j].Suite == c.Suite {
				j++
			}
			if j-i > collapseAt {
				keys := make([]string, 0, 3)
				for _, q := range p.Changes[i : i+3] {
					keys = append(keys, q.Name)
				}
				fmt.Fprintf(w, "+ create %d questions in suite %s: %s, … (+%d)%s\n", j-i, c.Suite, strings.Join(keys, ", "), j-i-3, statusMark(p.Changes[i]))
				i = j - 1
				continue
			}
		}
		sign := map[apply.Action]string{apply.Create: "+", apply.Update: "~", apply.Archive: "-"}[c.Action]
		line := fmt.Sprintf("%s %s %s", sign, c.Action, c.Label())
		if len(c.Fields) > 0 {
			parts := make([]string, len(c.Fields))
			for k, f := range c.Fields {
				parts[k] = fmt.Sprintf("%s %s → %s", f.Field, f.Old, f.New)
			}
			line += ": " + strings.Join(parts, ", ")
		}
		if c.Note != "" {
			line += " (" + c.Note + ")"
		}
		fmt.Fprintf(w, "%s%s\n", line, statusMark(c))
	}
	if unchanged > 0 {
		fmt.Fprintf(w, "= %d unchanged\n", unchanged)
	}
}

// statusMark is how a change ended, when it did not simply succeed.
func statusMark(c *apply.Change) string {
	switch c.Status {
	case apply.StatusFailed:
		return "  FAILED: " + c.Error
	case apply.StatusNotApplied:
		return "  (not applied)"
	}
	return ""
}

// exportConfigCommand is `sabe export-config`: the server's setup as a
// file `sabe apply` takes.
func exportConfigCommand(e *env) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:     "export-config [-o FILE]",
		Short:   "Write the server's providers, models, suites, questions and benchmarks as a file for sabe apply",
		GroupID: groupSetup,
		Long: `export-config writes the current setup as a benchmark-as-code file:
applying it to the same server changes nothing, and applying it to an
empty one recreates the setup. Provider keys and header values are never
read back: they are written as ${ENV_VAR} references (OPENROUTER_API_KEY
for a provider "openrouter") that must be set when the file is applied.`,
		Example: `  sabe export-config -o sabe.yaml
  sabe --context staging export-config | sabe --context prod apply -f - --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			f, notes, err := apply.Export(cmd.Context(), c)
			if err != nil {
				return err
			}
			for _, n := range notes {
				e.notef("note: %s\n", n)
			}
			if e.global.json && out == "" {
				return e.printJSON(f)
			}
			b, err := f.Marshal()
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := e.io.Out.Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return err
			}
			e.notef("wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the file to write (default: stdout)")
	return cmd
}

package cli

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// compareCommand compares a benchmark's models between two periods or two
// runs.
func compareCommand(e *env) *cobra.Command {
	var (
		period    string
		at        string
		category  string
		runs      bool
		questions bool
	)
	cmd := &cobra.Command{
		Use:   "compare BENCHMARK [--period wow|mom] [--at TIME] | compare --runs PREVIOUS CURRENT",
		Short: "What changed per model, week over week, month over month, or from one run to another",
		Long: `compare prints each model's score in the previous and the current period
(or run), the difference with its 95% paired bootstrap interval, whether
the change is significant (its interval excludes 0), and how many
questions regressed (passed before, fail now) or improved.

With --runs the two runs are given as PREVIOUS CURRENT, "from the first
to the second"; both must be finished runs of one benchmark. --questions
lists the questions whose verdict flipped.`,
		Example: `  sabe compare nightly                      # this week against last week
  sabe compare nightly --period mom --at 2026-11-15
  sabe compare --runs 0190b3a4-... 0190c2d7-... --questions
  sabe compare nightly --json | jq '.models[] | select(.score.significant)'`,
		GroupID:           groupUse,
		ValidArgsFunction: e.completeNames("/v1/benchmarks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := client.CompareQuery{Category: category}
			var bench string
			if runs {
				if len(args) != 2 {
					return command.Usagef(cmd.UsageString(), "--runs takes two run ids: PREVIOUS CURRENT")
				}
				if cmd.Flags().Changed("period") || at != "" {
					return command.Usagef(cmd.UsageString(), "--runs compares two runs: leave out --period and --at")
				}
				ids, err := parseRunIDs(cmd, args)
				if err != nil {
					return err
				}
				q.PreviousRunID, q.CurrentRunID = &ids[0], &ids[1]
			} else {
				if len(args) != 1 {
					return command.Usagef(cmd.UsageString(), "give one benchmark (or --runs PREVIOUS CURRENT)")
				}
				bench = args[0]
				p := oapi.ComparePeriod(period)
				if !p.Valid() {
					return command.Usagef(cmd.UsageString(), "--period %q: give wow or mom", period)
				}
				q.Period = p
				t, err := parseAt(cmd, at)
				if err != nil {
					return err
				}
				q.At = t
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var benchID uuid.UUID
			if runs {
				// The API compares within a benchmark: the current run says which.
				r, err := c.GetRun(ctx, *q.CurrentRunID)
				if err != nil {
					return err
				}
				benchID = r.BenchmarkId
			} else if benchID, err = resolve(ctx, c, "/v1/benchmarks", bench); err != nil {
				return err
			}
			cmp, err := c.Compare(ctx, benchID, q)
			if err != nil {
				return err
			}
			return e.printComparison(cmp, questions)
		},
	}
	f := cmd.Flags()
	f.StringVar(&period, "period", string(oapi.ComparePeriodWow), "wow (week over week) or mom (month over month)")
	f.StringVar(&at, "at", "", "a time (RFC 3339, or a date YYYY-MM-DD) in the current week or month; default the newest with a finished run")
	f.StringVar(&category, "category", "", "compare only the questions of this category")
	f.BoolVar(&runs, "runs", false, "compare two finished runs, given as PREVIOUS CURRENT, instead of periods")
	f.BoolVar(&questions, "questions", false, "also list the questions whose verdict flipped")
	return cmd
}

// printComparison prints a comparison: with --json the API's Comparison as
// it came; otherwise what was compared, a table with one row per model
// and, with showQuestions, the questions whose verdict flipped.
// `sabe runs start --fail-on-regression` prints its verdict through it.
func (e *env) printComparison(cmp oapi.Comparison, showQuestions bool) error {
	if e.global.json {
		return e.printJSON(cmp)
	}
	if e.global.quiet {
		return nil
	}
	e.printf("%s\n\n", comparisonHeading(cmp))
	e.printf("%s", comparisonTable(cmp).render(e.io.Width))
	if len(cmp.UnpairedModelNames) > 0 {
		e.printf("\nnot compared (in one side only, or no question in common): %s\n", strings.Join(cmp.UnpairedModelNames, ", "))
	}
	if showQuestions {
		t := changedQuestionsTable(cmp, false)
		if len(t.Rows) == 0 {
			e.printf("\nno question changed its verdict\n")
		} else {
			e.printf("\n%s", t.render(e.io.Width))
		}
	}
	return nil
}

// comparisonHeading says what was compared with what.
func comparisonHeading(cmp oapi.Comparison) string {
	side := func(s oapi.ComparisonSide) string {
		switch {
		case s.RunId != nil:
			return "run " + s.RunId.String()
		case s.Start != nil && s.End != nil:
			return s.Start.UTC().Format("2006-01-02") + " to " + s.End.UTC().Format("2006-01-02")
		}
		return "?"
	}
	what := map[oapi.ComparisonPeriod]string{"wow": "week over week", "mom": "month over month", "runs": "run against run"}[cmp.Period]
	h := fmt.Sprintf("%s: %s (previous) -> %s (current)", what, side(cmp.Previous), side(cmp.Current))
	if cmp.Category != nil {
		h += ", category " + *cmp.Category
	}
	return h
}

// comparisonTable is one row per compared model: the score before and
// now, the difference with its interval, and the questions that flipped.
func comparisonTable(cmp oapi.Comparison) table {
	t := table{Header: []string{"MODEL", "PREVIOUS", "CURRENT", "DIFF", "95% CI", "CHANGE", "REGRESSED", "IMPROVED", "QUESTIONS"}}
	for _, m := range cmp.Models {
		s := m.Score
		t.Rows = append(t.Rows, []string{
			m.ModelName,
			fmt.Sprintf("%.3f", s.Previous),
			fmt.Sprintf("%.3f", s.Current),
			fmt.Sprintf("%+.3f", s.Diff),
			fmt.Sprintf("[%+.3f, %+.3f]", s.CiLow, s.CiHigh),
			scoreChange(s),
			fmt.Sprint(m.Regressed),
			fmt.Sprint(m.Improved),
			fmt.Sprint(m.Questions),
		})
	}
	return t
}

// scoreChange names a significant change of a score: worse or better,
// or "-" when the interval holds 0 and the data cannot tell.
func scoreChange(s oapi.MetricChange) string {
	switch {
	case !s.Significant:
		return "-"
	case s.Diff < 0:
		return "worse"
	default:
		return "better"
	}
}

// changedQuestionsTable lists each model's questions whose verdict
// flipped, regressions first; onlyRegressed leaves the improvements out
// (what a failed regression gate shows).
func changedQuestionsTable(cmp oapi.Comparison, onlyRegressed bool) table {
	t := table{Header: []string{"MODEL", "CHANGE", "QUESTION", "CATEGORY", "PASS RATE", "PROMPT"}, Wrap: true}
	for _, m := range cmp.Models {
		for _, q := range m.ChangedQuestions {
			if onlyRegressed && q.Change != oapi.DriftRegressed {
				continue
			}
			t.Rows = append(t.Rows, []string{
				m.ModelName,
				string(q.Change),
				q.QuestionId.String(),
				q.Category,
				fmt.Sprintf("%.2f -> %.2f", q.PreviousPassRate, q.CurrentPassRate),
				q.PromptExcerpt,
			})
		}
	}
	return t
}

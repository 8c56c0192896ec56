package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// alertMetrics are the metrics an alert can be about.
var alertMetrics = []string{string(oapi.AlertMetricScore), string(oapi.AlertMetricLatencyP95), string(oapi.AlertMetricCost)}

// alertsCommand is `sabe alerts`.
func alertsCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Regression alerts: a model got significantly worse than in the baseline run",
		Long: `alerts lists the regression alerts finished runs raised: a model whose
score, p95 latency or cost got worse than in the benchmark's baseline run by
at least the benchmark's minimum effect, significantly after the
Holm–Bonferroni correction for every (model, metric) pair compared.`,
		Example: `  sabe alerts ls --benchmark nightly --since 7d
  sabe alerts show 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f`,
		GroupID: groupUse,
		Args:    cobra.ArbitraryArgs,
		RunE:    needSubcommand,
	}
	cmd.AddCommand(alertsListCommand(e), alertsShowCommand(e))
	return cmd
}

// parseSince reads --since: a duration back from now (90m, 36h, 7d) or
// a time (RFC 3339 or a date, midnight UTC).
func parseSince(cmd *cobra.Command, s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, command.Usagef(cmd.UsageString(), "--since %q: give a duration such as 24h or 7d, or a time such as 2026-11-15T00:00:00Z or 2026-11-15", s)
}

// metricValue is a value of a metric as a person reads it: a score to
// three decimals, a latency in ms, a cost in dollars.
func metricValue(m oapi.AlertMetric, v float64) string {
	switch m {
	case oapi.AlertMetricLatencyP95:
		return fmt.Sprintf("%.0f ms", v)
	case oapi.AlertMetricCost:
		return usd(v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// metricDiff is a signed difference of a metric.
func metricDiff(m oapi.AlertMetric, v float64) string {
	sign := "+"
	if v < 0 {
		sign, v = "-", -v
	}
	return sign + metricValue(m, v)
}

// alertChange is "previous → current".
func alertChange(a oapi.Alert) string {
	return metricValue(a.Metric, a.Previous) + " → " + metricValue(a.Metric, a.Current)
}

// alertDiff is the difference with its 95% interval, and the relative
// change when there is one.
func alertDiff(a oapi.Alert) string {
	s := fmt.Sprintf("%s [%s, %s]", metricDiff(a.Metric, a.Diff), metricDiff(a.Metric, a.CiLow), metricDiff(a.Metric, a.CiHigh))
	if a.RelativeChange != nil {
		s += fmt.Sprintf(" (%+.1f%%)", *a.RelativeChange*100)
	}
	return s
}

// pValue is a p-value as tables show it.
func pValue(p float64) string {
	if p < 0.0001 {
		return "<0.0001"
	}
	return fmt.Sprintf("%.4f", p)
}

// resolveGiven is resolve of a flag's value, nil when the flag was not
// given.
func resolveGiven(ctx context.Context, c *client.Client, collection, arg string) (*uuid.UUID, error) {
	if arg == "" {
		return nil, nil
	}
	id, err := resolve(ctx, c, collection, arg)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// alertsListCommand is `sabe alerts ls`.
func alertsListCommand(e *env) *cobra.Command {
	var (
		bench, model, run, metric, since string
		limit                            int
		all                              bool
	)
	cmd := &cobra.Command{
		Use:     "ls [--benchmark B] [--model M] [--run ID] [--metric M] [--since DURATION|TIME] [--limit N | --all]",
		Aliases: []string{"list"},
		Short:   "List regression alerts, newest first",
		Example: `  sabe alerts ls
  sabe alerts ls --benchmark nightly --metric score --since 7d
  sabe alerts ls --run 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f --json | jq -r '.[].model_name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var f client.AlertFilter
			if metric != "" {
				m := oapi.AlertMetric(metric)
				if !m.Valid() {
					return command.Usagef(cmd.UsageString(), "--metric %q: give score, latency_p95 or cost", metric)
				}
				f.Metric = &m
			}
			if run != "" {
				id, err := uuid.Parse(run)
				if err != nil {
					return command.Usagef(cmd.UsageString(), "--run %q is not a run id (sabe runs ls lists them)", run)
				}
				f.RunID = &id
			}
			if since != "" {
				t, err := parseSince(cmd, since, time.Now())
				if err != nil {
					return err
				}
				f.From = &t
			}
			if limit < 1 || limit > 200 {
				return command.Usagef(cmd.UsageString(), "--limit %d: give 1 to 200 (or --all)", limit)
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if f.BenchmarkID, err = resolveGiven(ctx, c, "/v1/benchmarks", bench); err != nil {
				return err
			}
			if f.ModelID, err = resolveGiven(ctx, c, "/v1/models", model); err != nil {
				return err
			}
			alerts := []oapi.Alert{}
			more := false
			err = c.EachAlert(ctx, f, func(a oapi.Alert) bool {
				if !all && len(alerts) == limit {
					more = true
					return false
				}
				alerts = append(alerts, a)
				return true
			})
			if err != nil {
				return err
			}
			t := table{Header: []string{"ID", "BENCHMARK", "MODEL", "METRIC", "CHANGE", "DIFF [95% CI]", "P ADJ", "RAISED", "RUN"}, Fixed: 1}
			for _, a := range alerts {
				t.Rows = append(t.Rows, []string{
					a.Id.String(), a.BenchmarkName, a.ModelName, string(a.Metric), alertChange(a), alertDiff(a),
					pValue(a.PAdjusted), when(a.CreatedAt), a.RunId.String(),
				})
			}
			if err := e.print(alerts, t); err != nil {
				return err
			}
			if more {
				e.notef("more alerts: raise --limit or give --all\n")
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&bench, "benchmark", "", "only alerts of this benchmark (name or id)")
	fl.StringVar(&model, "model", "", "only alerts about this model (name or id)")
	fl.StringVar(&run, "run", "", "only alerts raised by this run (id)")
	fl.StringVar(&metric, "metric", "", "only alerts on this metric: score, latency_p95, cost")
	fl.StringVar(&since, "since", "", "only alerts raised since then: a duration back from now (24h, 7d) or a time")
	fl.IntVar(&limit, "limit", 20, "how many alerts to list (1 to 200)")
	fl.BoolVar(&all, "all", false, "list every alert, page after page")
	_ = cmd.RegisterFlagCompletionFunc("benchmark", e.completeNames("/v1/benchmarks"))
	_ = cmd.RegisterFlagCompletionFunc("model", e.completeNames("/v1/models"))
	_ = cmd.RegisterFlagCompletionFunc("run", func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return e.completeRuns(cmd, nil, prefix)
	})
	_ = cmd.RegisterFlagCompletionFunc("metric", cobra.FixedCompletions(alertMetrics, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// alertSummary is an alert's evidence, one "key  value" line each.
func alertSummary(a oapi.Alert) string {
	var b strings.Builder
	add := func(k, v string) { fmt.Fprintf(&b, "%-12s %s\n", k, v) }
	add("alert", a.Id.String())
	add("benchmark", fmt.Sprintf("%s (%s)", a.BenchmarkName, a.BenchmarkId))
	add("model", fmt.Sprintf("%s (%s)", a.ModelName, a.ModelId))
	add("metric", string(a.Metric))
	add("run", a.RunId.String())
	add("baseline", a.BaselineRunId.String())
	add("change", alertChange(a))
	add("diff", alertDiff(a)+" (95% paired bootstrap interval)")
	add("min effect", minEffect(a.Metric, a.MinEffect))
	add("p-value", fmt.Sprintf("%s, %s-adjusted %s over %d comparisons", pValue(a.PValue), a.Correction, pValue(a.PAdjusted), a.Comparisons))
	add("questions", fmt.Sprintf("%d paired: %d regressed, %d improved", a.Questions, a.Regressed, a.Improved))
	add("raised", when(a.CreatedAt))
	return b.String()
}

// minEffect is a metric's minimum effect as the benchmark set it: score
// points, or a fraction of the baseline for latency and cost.
func minEffect(m oapi.AlertMetric, v float64) string {
	if m == oapi.AlertMetricScore {
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.0f%% of the baseline", v*100)
}

// alertsShowCommand is `sabe alerts show`.
func alertsShowCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an alert's evidence: previous → current, the difference with its interval, p-values, flipped questions",
		Example: `  sabe alerts show 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f
  sabe alerts show 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f --json | jq '.flipped'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return command.Usagef(cmd.UsageString(), "%q is not an alert id (sabe alerts ls lists them)", args[0])
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			a, err := c.GetAlert(cmd.Context(), id)
			if err != nil {
				return err
			}
			if e.global.json {
				return e.printJSON(a)
			}
			e.printf("%s", alertSummary(a))
			if len(a.Flipped) > 0 {
				t := table{Header: []string{"CHANGE", "QUESTION", "CATEGORY", "PASS RATE", "PROMPT"}, Wrap: true, Fixed: 2}
				for _, q := range a.Flipped {
					t.Rows = append(t.Rows, []string{
						string(q.Change), q.QuestionId.String(), q.Category,
						fmt.Sprintf("%.2f → %.2f", q.PreviousPassRate, q.CurrentPassRate), q.PromptExcerpt,
					})
				}
				e.printf("\nflipped questions:\n%s", t.render(e.io.Width))
			}
			return nil
		},
	}
}

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// leaderboardCommand ranks a benchmark's models.
func leaderboardCommand(e *env) *cobra.Command {
	var period, category, at string
	cmd := &cobra.Command{
		Use:   "leaderboard BENCHMARK [--period latest|week|month] [--category C] [--at TIME]",
		Short: "Rank a benchmark's models, with 95% intervals and rank bands",
		Long: `leaderboard ranks the models of a benchmark's latest finished run, or of
the finished runs of a week or month. RANK shows the band the intervals
allow ("2 (1-3)"): models whose bands overlap cannot be told apart by
this data. PASS@K is the largest k every question was sampled for.`,
		Example: `  sabe leaderboard nightly
  sabe leaderboard nightly --period week --at 2026-11-15 --category math
  sabe leaderboard nightly --json | jq -r '.entries[0].model_name'`,
		GroupID:           groupUse,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeNames("/v1/benchmarks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := client.LeaderboardQuery{Period: oapi.LeaderboardPeriod(period), Category: category}
			if !q.Period.Valid() {
				return command.Usagef(cmd.UsageString(), "--period %q: give latest, week or month", period)
			}
			t, err := parseAt(cmd, at)
			if err != nil {
				return err
			}
			q.At = t
			c, err := e.client()
			if err != nil {
				return err
			}
			id, err := resolve(cmd.Context(), c, "/v1/benchmarks", args[0])
			if err != nil {
				return err
			}
			lb, err := c.LeaderboardOf(cmd.Context(), id, q)
			if err != nil {
				return err
			}
			if e.global.json {
				return e.printJSON(lb)
			}
			if e.global.quiet {
				return nil
			}
			e.printf("%s\n\n%s", leaderboardHeading(lb), leaderboardTable(lb).render(e.io.Width))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&period, "period", string(oapi.LeaderboardPeriodLatest), "latest (the latest finished run), week or month")
	f.StringVar(&category, "category", "", "rank only the questions of this category")
	f.StringVar(&at, "at", "", "a time (RFC 3339, or a date YYYY-MM-DD) in the week or month to rank; default the newest with a finished run")
	_ = cmd.RegisterFlagCompletionFunc("period", cobra.FixedCompletions([]string{"latest", "week", "month"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// leaderboardHeading says which runs a leaderboard ranks.
func leaderboardHeading(lb oapi.Leaderboard) string {
	h := "latest finished run"
	switch {
	case lb.RunId != nil:
		h += " " + lb.RunId.String()
	case lb.Start != nil && lb.End != nil:
		h = fmt.Sprintf("%s of %s to %s", lb.Period, lb.Start.UTC().Format("2006-01-02"), lb.End.UTC().Format("2006-01-02"))
	}
	if lb.Category != nil {
		h += ", category " + *lb.Category
	}
	return h
}

// leaderboardTable is one row per model, best first.
func leaderboardTable(lb oapi.Leaderboard) table {
	t := table{Header: []string{"RANK", "MODEL", "SCORE", "95% CI", "PASS@K", "ERR%", "LATENCY", "COST/1K"}}
	for _, x := range lb.Entries {
		passK := "-"
		if n := len(x.PassAtK); n > 0 {
			p := x.PassAtK[n-1]
			passK = fmt.Sprintf("@%d %.3f", p.K, p.Value)
		}
		t.Rows = append(t.Rows, []string{
			rankBand(x.Rank, x.RankLow, x.RankHigh), x.ModelName,
			fmt.Sprintf("%.3f", x.Score), fmt.Sprintf("[%.3f, %.3f]", x.CiLow, x.CiHigh),
			passK, fmt.Sprintf("%.1f", 100*x.ErrorRate), ms(x.MeanLatencyMs),
			usd(x.CostPer1kQuestions),
		})
	}
	return t
}

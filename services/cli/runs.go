package cli

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// runsCommand is `sabe runs`: the runs of benchmarks, their results and
// what can be done to them.
func runsCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "Start, list, inspect, cancel, retry, rescore and export runs",
		Long: `runs manages the runs of benchmarks. RUN is a run's id (sabe runs ls lists
them), or latest:BENCHMARK for the benchmark's newest run.`,
		Example: `  sabe runs ls --benchmark nightly --status completed
  sabe runs show 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f
  sabe runs cancel 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f --yes`,
		GroupID: groupUse,
		Args:    cobra.ArbitraryArgs,
		RunE:    needSubcommand,
	}
	cmd.AddCommand(
		runsListCommand(e),
		runsShowCommand(e),
		runsCancelCommand(e),
		runsRetryFailedCommand(e),
		runsRescoreCommand(e),
		runsExportCommand(e),
		runsStartCommand(e),
		runsGateCommand(e),
	)
	return cmd
}

// runArg reads a RUN argument: a run id, or latest:BENCHMARK for the
// benchmark's newest run (in any status), and returns it with the client
// to call. An argument that is neither is a usage error, found before any
// server is needed.
func (e *env) runArg(cmd *cobra.Command, arg string) (*client.Client, uuid.UUID, error) {
	bench, latest := strings.CutPrefix(arg, "latest:")
	var id uuid.UUID
	if !latest {
		ids, err := parseRunIDs(cmd, []string{arg})
		if err != nil {
			return nil, uuid.Nil, err
		}
		id = ids[0]
	} else if bench == "" {
		return nil, uuid.Nil, command.Usagef(cmd.UsageString(), "latest: needs a benchmark, as in latest:nightly")
	}
	c, err := e.client()
	if err != nil || !latest {
		return c, id, err
	}
	ctx := cmd.Context()
	benchID, err := resolve(ctx, c, "/v1/benchmarks", bench)
	if err != nil {
		return nil, uuid.Nil, err
	}
	page, err := c.ListRuns(ctx, client.RunFilter{BenchmarkID: &benchID}, 1, "")
	if err != nil {
		return nil, uuid.Nil, err
	}
	if len(page.Items) == 0 {
		return nil, uuid.Nil, fmt.Errorf("benchmark %s has no runs", bench)
	}
	return c, page.Items[0].Id, nil
}

// runsListCommand is `sabe runs ls`.
func runsListCommand(e *env) *cobra.Command {
	var (
		bench, status, trigger string
		limit                  int
		all                    bool
	)
	cmd := &cobra.Command{
		Use:     "ls [--benchmark B] [--status S] [--trigger T] [--limit N | --all]",
		Aliases: []string{"list"},
		Short:   "List runs, newest first",
		Example: `  sabe runs ls
  sabe runs ls --benchmark nightly --status failed --limit 5
  sabe runs ls --trigger schedule --all --json | jq -r '.[].id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var f client.RunFilter
			if status != "" {
				s := oapi.RunStatus(status)
				if !s.Valid() {
					return command.Usagef(cmd.UsageString(), "--status %q: give queued, running, completed, partial, failed or cancelled", status)
				}
				f.Status = &s
			}
			if trigger != "" {
				t := oapi.RunTrigger(trigger)
				if !t.Valid() {
					return command.Usagef(cmd.UsageString(), "--trigger %q: give api, manual or schedule", trigger)
				}
				f.Trigger = &t
			}
			if limit < 1 || limit > 200 {
				return command.Usagef(cmd.UsageString(), "--limit %d: give 1 to 200 (or --all)", limit)
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if bench != "" {
				id, err := resolve(ctx, c, "/v1/benchmarks", bench)
				if err != nil {
					return err
				}
				f.BenchmarkID = &id
			}
			runs := []oapi.Run{}
			cursor, more := "", false
			for {
				page, err := c.ListRuns(ctx, f, limit, cursor)
				if err != nil {
					return err
				}
				runs = append(runs, page.Items...)
				more = page.NextCursor != nil && *page.NextCursor != ""
				if !more || (!all && len(runs) >= limit) {
					break
				}
				cursor = *page.NextCursor
			}
			if !all && len(runs) > limit {
				runs, more = runs[:limit], true
			}
			t := table{Header: []string{"ID", "BENCHMARK", "STATUS", "TRIGGER", "PROGRESS", "FAILED", "COST", "CREATED"}, Fixed: 1}
			for _, r := range runs {
				t.Rows = append(t.Rows, []string{
					r.Id.String(), r.BenchmarkName, string(r.Status), string(r.Trigger),
					fmt.Sprintf("%d/%d", r.Progress.Answered, r.Progress.Total),
					fmt.Sprint(r.Progress.Failed), usd(r.CostUsd + r.JudgeCostUsd), when(r.CreatedAt),
				})
			}
			if err := e.print(runs, t); err != nil {
				return err
			}
			if more && !all {
				e.notef("more runs: raise --limit or give --all\n")
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&bench, "benchmark", "", "only the runs of this benchmark (name or id)")
	fl.StringVar(&status, "status", "", "only runs in this status: queued, running, completed, partial, failed, cancelled")
	fl.StringVar(&trigger, "trigger", "", "only runs started this way: api, manual, schedule")
	fl.IntVar(&limit, "limit", 20, "how many runs to list (1 to 200)")
	fl.BoolVar(&all, "all", false, "list every run, page after page")
	_ = cmd.RegisterFlagCompletionFunc("benchmark", e.completeNames("/v1/benchmarks"))
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]string{"queued", "running", "completed", "partial", "failed", "cancelled"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("trigger", cobra.FixedCompletions([]string{"api", "manual", "schedule"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// runDetail is what `sabe runs show --json` prints: the API's run with,
// once it has finished, its rankings and its first failed units.
type runDetail struct {
	oapi.Run
	Rankings    *oapi.Rankings   `json:"rankings,omitempty"`
	FailedUnits []oapi.Execution `json:"failed_units,omitempty"`
}

// failedShown is how many failed units `sabe runs show` lists.
const failedShown = 10

// runsShowCommand is `sabe runs show`.
func runsShowCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run: status, progress, totals, cost, rankings and failed units",
		Example: `  sabe runs show 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f
  sabe runs show latest:nightly --json | jq '.rankings.overall[0]'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeRuns,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, id, err := e.runArg(cmd, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			d := runDetail{}
			if d.Run, err = c.GetRun(ctx, id); err != nil {
				return err
			}
			if client.Final(d.Run) {
				// A run that ended before ranking anything has none (409).
				rk, err := c.Rankings(ctx, d.Run.Id)
				if err != nil && client.StatusOf(err) != http.StatusConflict {
					return err
				}
				if err == nil {
					d.Rankings = &rk
				}
			}
			if d.Run.Progress.Failed > 0 {
				failed := oapi.ExecutionStatusFailed
				page, err := c.ResultsPage(ctx, d.Run.Id, client.ResultFilter{Status: &failed}, failedShown, "")
				if err != nil {
					return err
				}
				d.FailedUnits = page.Items
			}
			if e.global.json {
				return e.printJSON(d)
			}
			if e.global.quiet {
				return nil
			}
			e.printf("%s", runSummary(d.Run))
			if d.Rankings != nil {
				e.printf("\n%s", rankingsTable(*d.Rankings).render(e.io.Width))
			}
			if len(d.FailedUnits) > 0 {
				t := table{Header: []string{"MODEL", "QUESTION", "SAMPLE", "ERROR"}, Wrap: true}
				for _, x := range d.FailedUnits {
					t.Rows = append(t.Rows, []string{x.ModelName, x.QuestionId.String(), fmt.Sprint(x.Sample), deref(x.Error)})
				}
				e.printf("\nfailed units (the first %d of %d):\n%s", len(d.FailedUnits), d.Run.Progress.Failed, t.render(e.io.Width))
			}
			return nil
		},
	}
}

// runSummary is a run's fields, one "key  value" line each, in the order
// a person reads them.
func runSummary(r oapi.Run) string {
	var kv [][2]string
	add := func(k, v string) { kv = append(kv, [2]string{k, v}) }
	add("run", r.Id.String())
	add("benchmark", fmt.Sprintf("%s (%s)", r.BenchmarkName, r.BenchmarkId))
	add("status", string(r.Status))
	add("trigger", string(r.Trigger))
	add("created", when(r.CreatedAt))
	if r.StartedAt != nil {
		add("started", when(*r.StartedAt))
	}
	if r.FinishedAt != nil {
		add("finished", when(*r.FinishedAt))
	}
	p := r.Progress
	add("progress", fmt.Sprintf("%d/%d units: %d succeeded, %d failed, %d cancelled, %d skipped", p.Answered, p.Total, p.Succeeded, p.Failed, p.Cancelled, p.Skipped))
	if p.AwaitingJudgment > 0 || p.Judged > 0 || p.Unscored > 0 {
		add("judging", fmt.Sprintf("%d judged, %d waiting, %d unscored", p.Judged, p.AwaitingJudgment, p.Unscored))
	}
	cost := usd(r.CostUsd)
	if r.JudgeCostUsd > 0 {
		cost += fmt.Sprintf(" (+ %s judges)", usd(r.JudgeCostUsd))
	}
	if r.MaxCostUsd != nil {
		cost += fmt.Sprintf(", cap %s", usd(*r.MaxCostUsd))
	}
	add("cost", cost)
	add("tokens", fmt.Sprintf("%d in, %d out", r.InputTokens, r.OutputTokens))
	if r.LatencyP50Ms != nil {
		add("latency", fmt.Sprintf("p50 %s, p95 %s", ms(r.LatencyP50Ms), ms(r.LatencyP95Ms)))
	}
	if r.RetryRound > 0 {
		add("retry round", fmt.Sprint(r.RetryRound))
	}
	if r.ScoringVersion > 1 {
		add("scoring", fmt.Sprintf("version %d", r.ScoringVersion))
	}
	if r.WaitingOn != nil {
		for _, w := range *r.WaitingOn {
			v := fmt.Sprintf("provider %s: %s until %s", w.ProviderName, w.State, when(w.Until))
			if w.LastError != nil {
				v += ": " + *w.LastError
			}
			add("waiting on", v)
		}
	}
	if r.Error != nil {
		add("error", *r.Error)
	}
	var b strings.Builder
	for _, x := range kv {
		fmt.Fprintf(&b, "%-12s %s\n", x[0], x[1])
	}
	return b.String()
}

// rankingsTable is a finished run's overall ranking, one row per model:
// its rank band, score with the 95% interval, errors, latency and cost.
func rankingsTable(rk oapi.Rankings) table {
	t := table{Header: []string{"RANK", "MODEL", "SCORE", "95% CI", "N", "FAILED", "UNSCORED", "LATENCY", "COST"}}
	for _, x := range rk.Overall {
		t.Rows = append(t.Rows, []string{
			rankBand(x.Rank, x.RankLow, x.RankHigh), x.ModelName,
			fmt.Sprintf("%.3f", x.Score), fmt.Sprintf("[%.3f, %.3f]", x.CiLow, x.CiHigh),
			fmt.Sprint(x.N), fmt.Sprint(x.Failed), fmt.Sprint(x.Unscored),
			fmt.Sprintf("%.0f ms", x.MeanLatencyMs), usd(x.CostUsd),
		})
	}
	return t
}

// rankBand is a rank with the band its interval allows when that is
// more than the rank itself: "2 (1-3)".
func rankBand(rank, low, high int) string {
	if low == high {
		return fmt.Sprint(rank)
	}
	return fmt.Sprintf("%d (%d-%d)", rank, low, high)
}

// runsCancelCommand is `sabe runs cancel`.
func runsCancelCommand(e *env) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "cancel RUN [--yes]",
		Short: "Cancel a queued or running run (asks first on a terminal; give --yes elsewhere)",
		Long: `cancel stops a run: no new provider call starts for it, calls in flight
are recorded, and it finishes as cancelled. On a terminal it asks first;
where no one can answer (a script, CI) it needs --yes.`,
		Example: `  sabe runs cancel 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f
  sabe runs cancel 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f --yes`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeRuns,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes && !e.io.Terminal {
				return command.Usagef(cmd.UsageString(), "cancelling run %s needs --yes when no one is at a terminal to confirm", args[0])
			}
			c, id, err := e.runArg(cmd, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if !yes {
				r, err := c.GetRun(ctx, id)
				if err != nil {
					return err
				}
				q := fmt.Sprintf("Cancel run %s of %s (%s, %d/%d units)?", r.Id, r.BenchmarkName, r.Status, r.Progress.Answered, r.Progress.Total)
				if !e.confirm(q) {
					e.notef("left running\n")
					return nil
				}
			}
			r, err := c.CancelRun(ctx, id)
			if err != nil {
				return err
			}
			if e.global.json {
				return e.printJSON(r)
			}
			e.printf("run %s: cancel requested; it finishes as cancelled shortly\n", r.Id)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	return cmd
}

// confirm asks question on stderr and reads the answer from stdin: only
// y or yes is a yes.
func (e *env) confirm(question string) bool {
	fmt.Fprintf(e.io.Err, "%s [y/N] ", question)
	line, _ := bufio.NewReader(e.io.In).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

// runsRetryFailedCommand is `sabe runs retry-failed`.
func runsRetryFailedCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "retry-failed RUN",
		Short: "Run a finished run's failed units again (units that succeeded are not called again)",
		Example: `  sabe runs retry-failed 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f
  sabe runs show 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f   # follow the retry round`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeRuns,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, id, err := e.runArg(cmd, args[0])
			if err != nil {
				return err
			}
			r, err := c.RetryFailed(cmd.Context(), id)
			if err != nil {
				return err
			}
			if e.global.json {
				return e.printJSON(r)
			}
			e.printf("run %s: retry round %d started, %s\n", r.Id, r.RetryRound, r.Status)
			return nil
		},
	}
}

// runsRescoreCommand is `sabe runs rescore`.
func runsRescoreCommand(e *env) *cobra.Command {
	var (
		judges   []string
		wait     bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "rescore RUN [--judge MODEL ...] [--wait]",
		Short: "Score a finished run's stored answers again, under each question's current scoring",
		Long: `rescore scores a finished run's stored answers again under a new scoring
version: each question's current scoring (and expected answer), and with
--judge those judge models for every judged rule. No tested model is
called. When nothing would change, the run's current version is the
answer and nothing is queued.`,
		Example: `  sabe runs rescore 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f --wait
  sabe runs rescore 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f --judge judge-a --judge judge-b`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeRuns,
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return command.Usagef(cmd.UsageString(), "--interval %s: give a positive duration", interval)
			}
			c, id, err := e.runArg(cmd, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var in oapi.RescoreRequest
			if len(judges) > 0 {
				ms := make([]uuid.UUID, 0, len(judges))
				for _, j := range judges {
					id, err := resolve(ctx, c, "/v1/models", j)
					if err != nil {
						return err
					}
					ms = append(ms, id)
				}
				in.JudgeModelIds = &ms
			}
			rs, err := c.Rescore(ctx, id, in)
			if err != nil {
				return err
			}
			if !rs.Created {
				e.notef("nothing changed: scoring version %d is the run's current one\n", rs.Version)
			} else if wait {
				e.notef("rescore %d of run %s: scoring %d units\n", rs.Version, rs.RunId, rs.Total)
				if rs, err = waitRescore(ctx, c, rs, interval); err != nil {
					return err
				}
			}
			if e.global.json {
				return e.printJSON(rs)
			}
			e.printf("run %s: scoring version %d %s (%d/%d units)\n", rs.RunId, rs.Version, rs.Status, rs.Done, rs.Total)
			if rs.Status == oapi.RescoreStatusFailed {
				return fmt.Errorf("rescore %d of run %s failed: %s", rs.Version, rs.RunId, deref(rs.Error))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&judges, "judge", nil, "judge every judged rule with this model (name or id); repeat for a panel")
	f.BoolVar(&wait, "wait", false, "wait until the rescore has finished")
	f.DurationVar(&interval, "interval", time.Second, "with --wait, how often to read the rescore's progress")
	_ = cmd.RegisterFlagCompletionFunc("judge", e.completeNames("/v1/models"))
	return cmd
}

// waitRescore waits for a rescore to leave running.
func waitRescore(ctx context.Context, c *client.Client, rs oapi.Rescore, interval time.Duration) (oapi.Rescore, error) {
	if rs.Status != oapi.RescoreStatusRunning {
		return rs, nil
	}
	return c.WaitRescore(ctx, rs.RunId, rs.Version, interval)
}

// completeRuns completes a run id from the newest runs, each described by
// its benchmark and status.
func (e *env) completeRuns(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := e.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	page, err := c.ListRuns(cmd.Context(), client.RunFilter{}, 50, "")
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, r := range page.Items {
		if id := r.Id.String(); strings.HasPrefix(id, prefix) {
			out = append(out, id+"\t"+r.BenchmarkName+" "+string(r.Status)+" "+when(r.CreatedAt))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

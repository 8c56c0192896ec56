package cli

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// startOpts are the flags of `sabe runs start`.
type startOpts struct {
	wait, allowPartial, detach bool
	samples                    int
	maxCost                    float64
	interval                   time.Duration
	gates                      gates
}

// Bounds of the waiting: how often the run is read when the server
// streams no events, and how long a run asked to cancel may take to end.
const (
	pollInterval  = 2 * time.Second
	cancelTimeout = 2 * time.Minute
)

// runsStartCommand is `sabe runs start`.
func runsStartCommand(e *env) *cobra.Command {
	var o startOpts
	cmd := &cobra.Command{
		Use:   "start BENCHMARK [--wait] [--samples N] [--max-cost USD] [gates]",
		Short: "Start a run of a benchmark; with --wait, follow it to its end and hold it to CI gates",
		Long: `start starts a run of a benchmark (a name or an id) and prints its id.

With --wait it follows the run until it ends: a live bar on a terminal
(units done/total, units/s, time left, failures, spend), a plain line every
--interval and at every change of status otherwise (a CI log). At the end
it prints the run's rankings, holds the run to the gates asked for, and
exits:

  0  the run completed (or ended partial, with --allow-partial) and passed its gates
  3  the run failed, was cancelled, or ended partial
  4  a gate failed: a score under --fail-under, or a regression

Ctrl-C while waiting asks on a terminal whether to cancel the run (y:
cancel it, wait for it to end, exit 3; otherwise leave it running and exit
130). Where no one can answer (CI), the run is cancelled, since a stopped
job must not keep spending, unless --detach-on-interrupt.`,
		Example: `  sabe runs start nightly
  sabe runs start nightly --wait --samples 3 --max-cost 5

  # in CI: fail the job on a regression or a score under 0.7
  sabe runs start nightly --wait --fail-on-regression --fail-under 0.7

  # one model held higher than the rest
  sabe runs start nightly --wait --fail-under 0.7 --fail-under gpt-4o=0.85`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeNames("/v1/benchmarks"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runsStart(cmd, args[0], &o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.wait, "wait", "w", false, "follow the run to its end; exit non-zero when it does not complete or fails a gate")
	f.IntVar(&o.samples, "samples", 0, "ask each question `N` times per model in this run (default: the benchmark's)")
	f.Float64Var(&o.maxCost, "max-cost", 0, "stop starting units once the run has cost `USD` dollars (default: the benchmark's cap)")
	f.BoolVar(&o.allowPartial, "allow-partial", false, "with --wait: a run that ends partial exits 0 and is held to the gates")
	f.BoolVar(&o.detach, "detach-on-interrupt", false, "with --wait: on an interrupt where no one can be asked, leave the run running instead of cancelling it")
	f.DurationVar(&o.interval, "interval", 10*time.Second, "with --wait and no terminal: a progress line this often")
	o.gates.register(cmd)
	return cmd
}

// runsStart starts the run and, with --wait, sees it to its end.
func (e *env) runsStart(cmd *cobra.Command, benchmark string, o *startOpts) error {
	if err := o.check(cmd); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	benchID, err := resolve(ctx, c, "/v1/benchmarks", benchmark)
	if err != nil {
		return err
	}
	if len(o.gates.perModel) > 0 {
		b, err := c.GetBenchmark(ctx, benchID)
		if err != nil {
			return err
		}
		if err := o.gates.checkModels(ctx, cmd, c, b.ModelIds); err != nil {
			return err
		}
	}
	var req oapi.CreateRunRequest
	if cmd.Flags().Changed("samples") {
		req.Samples = &o.samples
	}
	if cmd.Flags().Changed("max-cost") {
		req.MaxCostUsd = &o.maxCost
	}
	r, err := c.StartRunWith(ctx, benchID, req)
	if err != nil {
		return err
	}
	if !o.wait {
		if e.global.json {
			return e.printJSON(r)
		}
		e.printf("%s\n", r.Id)
		return nil
	}
	e.notef("started run %s of %s: %d units\n", r.Id, r.BenchmarkName, r.Progress.Total)
	p := e.newProgress(r.Progress.Total)
	final, err := e.follow(ctx, c, r, p, o.progressEvery(e))
	if err != nil && ctx.Err() != nil {
		return e.interrupted(ctx, c, r, p, o)
	}
	if err != nil {
		p.clear()
		return err
	}
	p.end(final)
	return e.finish(ctx, c, final, o.allowPartial, &o.gates)
}

// check refuses flags that do not go together, before anything starts.
func (o *startOpts) check(cmd *cobra.Command) error {
	if !o.wait {
		for _, name := range []string{"allow-partial", "detach-on-interrupt", "interval", "fail-under", "fail-on-regression"} {
			if cmd.Flags().Changed(name) {
				return command.Usagef(cmd.UsageString(), "--%s needs --wait", name)
			}
		}
	}
	if cmd.Flags().Changed("samples") && o.samples < 1 {
		return command.Usagef(cmd.UsageString(), "--samples %d: give 1 or more", o.samples)
	}
	if cmd.Flags().Changed("max-cost") && !(o.maxCost > 0) {
		return command.Usagef(cmd.UsageString(), "--max-cost %g: give an amount above 0", o.maxCost)
	}
	if o.interval <= 0 {
		return command.Usagef(cmd.UsageString(), "--interval %s: give a duration above 0, such as 10s", o.interval)
	}
	return o.gates.parse(cmd)
}

// progressEvery is how often the progress is redrawn without news: every
// --interval for plain lines; every second for a bar, so its time left
// keeps moving.
func (o *startOpts) progressEvery(e *env) time.Duration {
	if e.io.Terminal {
		return time.Second
	}
	return o.interval
}

// follow watches r until it ends, feeding p with its news and a tick
// every interval, and returns it as it ended. It returns ctx's error when
// ctx ends first.
func (e *env) follow(ctx context.Context, c *client.Client, r oapi.Run, p progress, interval time.Duration) (oapi.Run, error) {
	news := make(chan oapi.Run, 64)
	type result struct {
		r   oapi.Run
		err error
	}
	done := make(chan result, 1)
	go func() {
		final, err := c.WatchRun(ctx, r.Id, pollInterval, func(r oapi.Run) error {
			select {
			case news <- r:
			case <-ctx.Done():
			}
			return nil
		})
		done <- result{final, err}
	}()
	p.observe(r)
	tick, stop := e.clk().Tick(interval)
	defer stop()
	for {
		select {
		case r := <-news:
			p.observe(r)
		case <-tick:
			p.tick()
		case res := <-done:
			for len(news) > 0 {
				p.observe(<-news)
			}
			return res.r, res.err
		}
	}
}

// interrupted is what Ctrl-C (or SIGTERM) while waiting for r does: on a
// terminal ask whether to cancel the run; elsewhere cancel it, unless
// --detach-on-interrupt. ctx is already done: what is sent to the server
// now goes under a context of its own.
func (e *env) interrupted(ctx context.Context, c *client.Client, r oapi.Run, p progress, o *startOpts) error {
	p.clear()
	fmt.Fprintln(e.io.Err)
	cancel := false
	switch {
	case e.io.Terminal:
		cancel = e.confirm(fmt.Sprintf("Cancel run %s?", r.Id))
	case o.detach:
		e.notef("interrupted; run %s goes on (--detach-on-interrupt)\n", r.Id)
	default:
		e.notef("interrupted: cancelling run %s (--detach-on-interrupt leaves it running)\n", r.Id)
		cancel = true
	}
	if !cancel {
		e.notef("run %s goes on: follow it with `sabe runs show %s`, stop it with `sabe runs cancel %s`\n", r.Id, r.Id, r.Id)
		return fmt.Errorf("stopped waiting for run %s: %w", r.Id, context.Cause(ctx))
	}
	bg, stop := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer stop()
	if _, err := c.CancelRun(bg, r.Id); err != nil && client.StatusOf(err) != http.StatusConflict {
		return fmt.Errorf("cancel run %s: %w", r.Id, err)
	}
	final, err := c.WaitRun(bg, r.Id, 250*time.Millisecond, nil)
	if err != nil {
		return command.Exitf(command.ExitRunFailed, "run %s was asked to cancel, but had not ended %s later: check it with `sabe runs show %s`", r.Id, cancelTimeout, r.Id)
	}
	p.end(final)
	e.printf("%s\n", finalLine(final))
	if final.Status == oapi.RunStatusCompleted {
		// It finished before the cancel reached it; the gates were not
		// checked, so this is no success either.
		return fmt.Errorf("run %s completed before it could be cancelled; its gates were not checked: %w", r.Id, context.Cause(ctx))
	}
	if e.global.json {
		if err := e.printJSON(startResult{Run: final}); err != nil {
			return err
		}
	}
	return command.Exitf(command.ExitRunFailed, "run %s %s", final.Id, final.Status)
}

// startResult is what `sabe runs start --wait --json` prints: the run as
// it ended, its rankings when it has any, and how it fared at its gates
// when it was held to them.
type startResult struct {
	Run      oapi.Run       `json:"run"`
	Rankings *oapi.Rankings `json:"rankings"`
	Gates    *gateReport    `json:"gates"`
}

// finish reports a finished run r (its status, rankings and gates) and
// returns the error its exit code calls for.
func (e *env) finish(ctx context.Context, c *client.Client, r oapi.Run, allowPartial bool, g *gates) error {
	res := startResult{Run: r}
	if r.Status == oapi.RunStatusCompleted || r.Status == oapi.RunStatusPartial {
		rk, err := c.Rankings(ctx, r.Id)
		switch {
		case err == nil:
			res.Rankings = &rk
		case client.StatusOf(err) != http.StatusConflict: // 409: nothing scored
			return err
		}
	}
	ok := r.Status == oapi.RunStatusCompleted || (r.Status == oapi.RunStatusPartial && allowPartial)
	if ok && g.any() {
		rk := oapi.Rankings{RunId: r.Id}
		if res.Rankings != nil {
			rk = *res.Rankings
		}
		rep, err := g.evaluate(ctx, c, r, rk)
		if err != nil {
			return err
		}
		res.Gates = &rep
	}
	if e.global.json {
		if err := e.printJSON(res); err != nil {
			return err
		}
	} else {
		e.printf("%s\n", finalLine(r))
		if res.Rankings != nil {
			e.printf("\n%s", rankingsTable(*res.Rankings).render(e.io.Width))
		}
		if res.Gates != nil {
			if err := e.printGates(*res.Gates); err != nil {
				return err
			}
		}
	}
	switch {
	case !ok:
		msg := fmt.Sprintf("run %s ended %s", r.Id, r.Status)
		if r.Error != nil {
			msg += ": " + *r.Error
		}
		if r.Status == oapi.RunStatusPartial {
			msg += " (--allow-partial accepts a partial run)"
		}
		return command.Exitf(command.ExitRunFailed, "%s", msg)
	case res.Gates != nil && !res.Gates.Passed:
		return gateError(*res.Gates)
	}
	return nil
}

// finalLine says how a run ended, in one line:
// "run 0190b3a4-… completed: 3000/3000 units, 3 failed, $0.4200 in 1m25s".
func finalLine(r oapi.Run) string {
	p := r.Progress
	s := fmt.Sprintf("run %s %s: %d/%d units, %d failed", r.Id, r.Status, p.Answered, p.Total, p.Failed)
	if p.Skipped > 0 {
		s += fmt.Sprintf(", %d skipped", p.Skipped)
	}
	if p.Cancelled > 0 {
		s += fmt.Sprintf(", %d cancelled", p.Cancelled)
	}
	s += ", " + usd(r.CostUsd+r.JudgeCostUsd)
	if r.StartedAt != nil && r.FinishedAt != nil {
		s += " in " + r.FinishedAt.Sub(*r.StartedAt).Round(time.Second).String()
	}
	return s
}

// runsGateCommand is `sabe runs gate`: a finished run held to the gates
// again, without starting one.
func runsGateCommand(e *env) *cobra.Command {
	var (
		g            gates
		allowPartial bool
	)
	cmd := &cobra.Command{
		Use:   "gate RUN|latest:BENCHMARK [--fail-under SCORE|MODEL=SCORE ...] [--fail-on-regression]",
		Short: "Hold a finished run to CI gates (as runs start --wait does), exiting 3 or 4 when it does not pass",
		Example: `  sabe runs gate latest:nightly --fail-on-regression
  sabe runs gate 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f --fail-under 0.7 --fail-under gpt-4o=0.85`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: e.completeRuns,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.parse(cmd); err != nil {
				return err
			}
			if !g.any() {
				return command.Usagef(cmd.UsageString(), "give --fail-under, --fail-on-regression or both")
			}
			c, id, err := e.runArg(cmd, args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			r, err := c.GetRun(ctx, id)
			if err != nil {
				return err
			}
			if !client.Final(r) {
				return fmt.Errorf("run %s is %s: gates hold a finished run (sabe runs start --wait waits for it)", r.Id, r.Status)
			}
			if err := g.checkModels(ctx, cmd, c, r.Config.ModelIds); err != nil {
				return err
			}
			return e.finish(ctx, c, r, allowPartial, &g)
		},
	}
	g.register(cmd)
	cmd.Flags().BoolVar(&allowPartial, "allow-partial", false, "hold a run that ended partial to the gates instead of exiting 3")
	return cmd
}

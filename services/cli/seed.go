package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/store"
)

// `sabe seed-history` writes a synthetic history of a benchmark: a
// provider, models, a suite, a benchmark and runs spread over past weeks,
// for demos, tests and the bench harness. The numbers come from a model of
// the world fixed by --seed (see planHistory), so two seeds with the same
// flags write the same history; only ids and the present moment differ,
// and --end pins the latter. The executions are written with COPY; every
// run is then finalized by the store's own Finalize, so its rankings,
// outcomes and question stats are the real thing, and the rollups are
// refreshed as the maintenance task would.
//
// The runs stay queued until they are finalized, and are dated in the
// past: a worker serving the same database meanwhile would take them for
// runs whose start task was lost and start them. Seed a database no worker
// serves (stop `sabe dev` first).

const seedUsage = `usage: sabe seed-history [--executions N] [--weeks N] [--models N] [--questions N] [--samples N]
                         [--benchmark NAME] [--seed N] [--end RFC3339] [--parallel N]
(no worker may serve the database meanwhile)`

// Bounds of seed-history's flags.
const (
	maxSeedModels   = len(seedModelNames)
	maxSeedWeeks    = 520
	maxSeedRuns     = 10_000
	maxSeedNameLen  = 120
	seedOutageEvery = 6 // about one run in this many has an outage
)

// seedRegression is how much the last model's accuracy drops in the week
// of the newest run: the regression a week-over-week comparison must find.
const seedRegression = 0.15

var (
	seedModelNames = [...]string{
		"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett", "kilo", "lima",
		"mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray",
	}
	seedCategories = []string{"arithmetic", "reasoning", "coding", "knowledge", "language"}
	// The first models' traits, so the default history tells a known
	// story: two leaders close enough for their rank bands to overlap, a
	// middle model, and a weak, cheap, fast one that regresses. Further
	// models draw theirs from the seed.
	seedAccuracy = []float64{0.82, 0.80, 0.70, 0.62}
	seedLatency  = []float64{1300, 900, 650, 420} // median ms
	seedPrices   = [][2]float64{{3, 15}, {2.5, 10}, {0.5, 1.5}, {0.15, 0.6}}
)

// seedOptions are seed-history's flags.
type seedOptions struct {
	executions int
	weeks      int
	models     int
	questions  int
	samples    int
	benchmark  string
	seed       uint64
	end        time.Time
	parallel   int
}

func (o seedOptions) unitsPerRun() int { return o.models * o.questions * o.samples }

// validate checks the flags, naming the one at fault.
func (o seedOptions) validate() error {
	switch {
	case o.models < 1 || o.models > maxSeedModels:
		return fmt.Errorf("--models must be between 1 and %d", maxSeedModels)
	case o.questions < 1 || o.questions > store.MaxImportQuestions:
		return fmt.Errorf("--questions must be between 1 and %d", store.MaxImportQuestions)
	case o.samples < 1 || o.samples > catalog.MaxSamples:
		return fmt.Errorf("--samples must be between 1 and %d", catalog.MaxSamples)
	case o.weeks < 1 || o.weeks > maxSeedWeeks:
		return fmt.Errorf("--weeks must be between 1 and %d", maxSeedWeeks)
	case o.executions < o.unitsPerRun():
		return fmt.Errorf("--executions must be at least one run's units: %d models × %d questions × %d samples = %d",
			o.models, o.questions, o.samples, o.unitsPerRun())
	case o.executions/o.unitsPerRun() > maxSeedRuns:
		return fmt.Errorf("--executions makes %d runs of %d units, over the limit of %d runs: ask more questions or fewer executions",
			o.executions/o.unitsPerRun(), o.unitsPerRun(), maxSeedRuns)
	case strings.TrimSpace(o.benchmark) == "" || utf8.RuneCountInString(o.benchmark) > maxSeedNameLen:
		return fmt.Errorf("--benchmark must be a name of 1 to %d characters", maxSeedNameLen)
	case o.parallel < 1 || o.parallel > 64:
		return errors.New("--parallel must be between 1 and 64")
	}
	return nil
}

// seeded is what seed-history created, with the ids the store gave it.
type seeded struct {
	benchmark   *catalog.Benchmark
	modelIDs    []string
	questions   []catalog.Question
	runs        []*run.Run
	executions  int64
	evaluations int64
	failed      int
	// Where the time went: writing the runs' executions, finalizing the
	// runs, refreshing the rollups.
	copyTook, finalizeTook, rollupsTook time.Duration
}

func runSeedHistory(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed-history", flag.ContinueOnError)
	var o seedOptions
	var end string
	fs.IntVar(&o.executions, "executions", 1_000_000, "executions to write (rounded down to whole runs)")
	fs.IntVar(&o.weeks, "weeks", 26, "weeks of history, ending now")
	fs.IntVar(&o.models, "models", 4, "models")
	fs.IntVar(&o.questions, "questions", 2500, "questions")
	fs.IntVar(&o.samples, "samples", 2, "samples per question and model in each run")
	fs.StringVar(&o.benchmark, "benchmark", "synthetic", "benchmark name (models, suite and provider are named after it)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the synthetic numbers")
	fs.StringVar(&end, "end", "", "time of the newest run, RFC 3339 (default now)")
	fs.IntVar(&o.parallel, "parallel", 2, "runs written and finalized at once")
	if help, err := command.Parse(fs, seedUsage, args, stdout); help || err != nil {
		return err
	}
	o.end = time.Now()
	if end != "" {
		t, err := time.Parse(time.RFC3339, end)
		if err != nil {
			return command.Usagef(command.Usage(fs, seedUsage), "seed-history: --end must be an RFC 3339 time such as 2026-01-31T12:00:00Z: %w", err)
		}
		o.end = t
	}
	h, err := planHistory(o)
	if err != nil {
		return command.Usagef(command.Usage(fs, seedUsage), "seed-history: %w", err)
	}
	db, err := database(getenv)
	if err != nil {
		return err
	}
	pool, err := db.Open(ctx, int32(o.parallel+2))
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.CheckSchema(ctx, pool); err != nil {
		return err
	}
	// Provider keys are not needed: the synthetic provider has none.
	st := store.New(pool, nil)
	ctx = audit.WithActor(ctx, audit.Actor{TokenName: "cli"})
	start := time.Now()
	out, err := h.write(ctx, st, stdout)
	if err != nil {
		return fmt.Errorf("seed-history: %w", err)
	}
	h.report(stdout, out, time.Since(start))
	return nil
}

// write creates the history's catalog, then its runs (in time order, so
// their ids sort like their times), writes every run's executions, then
// finalizes the runs, o.parallel at a time for both, and refreshes the
// rollups.
func (h *history) write(ctx context.Context, st *store.Store, stdout io.Writer) (*seeded, error) {
	out := &seeded{}
	name := h.o.benchmark
	prov, err := st.CreateProvider(ctx, catalog.ProviderInput{
		Name: name + " (seed-history)", Kind: catalog.KindOpenAI, BaseURL: "http://synthetic.invalid/v1",
	})
	if err != nil {
		return nil, fmt.Errorf("create provider: %w", err)
	}
	modelIDs := make([]uuid.UUID, len(h.models))
	for i, m := range h.models {
		cm, err := st.CreateModel(ctx, catalog.Model{
			ProviderID: prov.ID, Name: m.name, ProviderModelID: seedModelNames[i],
			InputCostPerMTok: m.inPerMTok, OutputCostPerMTok: m.outPerMTok,
		})
		if err != nil {
			return nil, fmt.Errorf("create model %s: %w", m.name, err)
		}
		modelIDs[i] = cm.ID
		out.modelIDs = append(out.modelIDs, cm.ID.String())
	}
	suite, err := st.CreateSuite(ctx, catalog.SuiteInput{Name: name + " questions", Description: "Synthetic questions written by sabe seed-history."})
	if err != nil {
		return nil, fmt.Errorf("create suite: %w", err)
	}
	in := make([]catalog.QuestionInput, len(h.questions))
	for i, q := range h.questions {
		in[i] = catalog.QuestionInput{
			Prompt:   fmt.Sprintf("Synthetic %s question %d: answer with the number.", q.category, i+1),
			Category: q.category, ExpectedAnswer: strconv.Itoa(q.answer),
			Scoring: scoring.Rule{Method: scoring.MethodNumeric},
		}
	}
	if out.questions, err = st.CreateQuestions(ctx, suite.ID, in); err != nil {
		return nil, fmt.Errorf("create questions: %w", err)
	}
	if out.benchmark, err = st.CreateBenchmark(ctx, catalog.BenchmarkInput{
		Name: name, SuiteIDs: []uuid.UUID{suite.ID}, ModelIDs: modelIDs,
		Config: catalog.BenchmarkConfig{MaxTokens: 256, Samples: h.o.samples, SystemPrompt: "Answer with the number."},
	}, 0); err != nil {
		return nil, fmt.Errorf("create benchmark: %w", err)
	}
	fmt.Fprintf(stdout, "benchmark %s %s\n", out.benchmark.ID, name)
	for _, t := range h.runTimes {
		r, err := st.CreateRunAt(ctx, out.benchmark.ID, t)
		if err != nil {
			return nil, fmt.Errorf("create run at %s: %w", t.Format(time.RFC3339), err)
		}
		if r.ModelCount != len(h.models) || r.QuestionCount != len(h.questions) {
			return nil, fmt.Errorf("run %s has %d models and %d questions, expected %d and %d", r.ID, r.ModelCount, r.QuestionCount, len(h.models), len(h.questions))
		}
		out.runs = append(out.runs, r)
	}

	// All runs are written before any is finalized, and the statistics
	// refreshed in between: finalizing joins each run's executions and
	// evaluations, which the planner only does well once its statistics
	// have seen the runs.
	started := time.Now()
	execs := make([]int64, len(out.runs))
	failed := make([]int, len(out.runs))
	ends := make([]time.Time, len(out.runs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(h.o.parallel)
	for k := range out.runs {
		g.Go(func() error {
			batch, nf := h.executions(newSampler(), k, out.runs[k], modelIDs, out.questions)
			n, err := st.CopyExecutions(gctx, batch)
			if err != nil {
				return fmt.Errorf("run %s: %w", out.runs[k].ID, err)
			}
			execs[k], failed[k], ends[k] = n, nf, out.runs[k].CreatedAt
			for _, e := range batch {
				if e.FinishedAt.After(ends[k]) {
					ends[k] = e.FinishedAt
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := st.VacuumExecutions(ctx); err != nil {
		return nil, err
	}
	out.copyTook = time.Since(started)

	// Each of o.parallel goroutines finalizes a contiguous stretch of the
	// runs, oldest first. Runs of one week or month add to the same
	// question stats rows; only runs at the stretches' edges can share
	// them, and a deadlock between two of those rolls one back to retry.
	started = time.Now()
	g, gctx = errgroup.WithContext(ctx)
	per := (len(out.runs) + h.o.parallel - 1) / h.o.parallel
	for lo := 0; lo < len(out.runs); lo += per {
		g.Go(func() error {
			for k := lo; k < min(lo+per, len(out.runs)); k++ {
				r := out.runs[k]
				status, reason := run.StatusCompleted, ""
				if failed[k] > 0 {
					status, reason = run.StatusPartial, fmt.Sprintf("%d of %d units failed", failed[k], execs[k])
				}
				fin, err := finalizeRetrying(gctx, st, r, status, reason)
				if err != nil {
					return fmt.Errorf("finalize run %s: %w", r.ID, err)
				}
				if err := st.SetRunTimes(gctx, fin.ID, r.CreatedAt.Add(time.Second), ends[k]); err != nil {
					return err
				}
				out.runs[k] = fin
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for k := range out.runs {
		out.executions += execs[k]
		out.evaluations += execs[k] - int64(failed[k])
		out.failed += failed[k]
	}
	out.finalizeTook = time.Since(started)

	started = time.Now()
	// As the maintenance task would, but now: the history is meant to be
	// read as soon as the command returns.
	for {
		res, err := st.RefreshRollups(ctx)
		if err != nil {
			return nil, fmt.Errorf("refresh rollups: %w", err)
		}
		if !res.More {
			break
		}
	}
	out.rollupsTook = time.Since(started)
	return out, nil
}

// finalizeRetrying finalizes a run, again when PostgreSQL rolled the
// attempt back to break a deadlock or a serialization conflict.
func finalizeRetrying(ctx context.Context, st *store.Store, r *run.Run, status run.Status, reason string) (*run.Run, error) {
	for attempt := 1; ; attempt++ {
		fin, _, err := st.Finalize(ctx, r, status, reason, analytics.RankRun)
		var pe *pgconn.PgError
		if err == nil || attempt == 5 || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			return fin, err
		}
	}
}

// seedConcurrency is how many units a synthetic run has in flight: it
// spaces the units' start times.
const seedConcurrency = 50

// executions builds run k's executions in unit order and counts those
// that failed.
func (h *history) executions(sm *sampler, k int, r *run.Run, modelIDs []uuid.UUID, qs []catalog.Question) ([]run.Execution, int) {
	execs := make([]run.Execution, 0, h.o.unitsPerRun())
	failed := 0
	step := time.Duration(h.models[0].latencyMs*float64(time.Millisecond)) / seedConcurrency
	at := r.CreatedAt.Add(time.Second)
	for m := range h.models {
		for q := range h.questions {
			question := h.questions[q]
			for s := range h.o.samples {
				u := h.unit(sm, k, m, q, s)
				started := at
				at = at.Add(step)
				e := run.Execution{
					RunID: r.ID, RunCreatedAt: r.CreatedAt, BenchmarkID: r.BenchmarkID, ModelID: modelIDs[m],
					QuestionID: qs[q].ID, QuestionRevisionID: qs[q].RevisionID, QuestionRevision: qs[q].Revision,
					Sample: s, Category: question.category, Attempts: u.attempts, StartedAt: &started,
				}
				if u.failed {
					failed++
					e.Status, e.Error, e.HTTPStatus = run.ExecFailed, "synthetic outage: provider answered 503", 503
					e.FinishedAt = started.Add(30 * time.Second)
					execs = append(execs, e)
					continue
				}
				lat, ttft, tps := u.latencyMs, u.ttftMs, u.tokensPerS
				e.Status, e.HTTPStatus = run.ExecSucceeded, 200
				e.LatencyMs, e.TTFTMs, e.OutputTokensPerS = &lat, &ttft, &tps
				e.InputTokens, e.OutputTokens, e.CostUSD = u.inputTokens, u.outputTokens, u.costUSD
				e.FinishedAt = started.Add(time.Duration(lat * float64(time.Millisecond))).Truncate(time.Microsecond)
				answer, score := question.answer, 1.0
				if !u.passed {
					answer, score = answer+1, 0
				}
				e.Response = strconv.Itoa(answer)
				e.Evaluation = run.Scored(string(scoring.MethodNumeric), u.passed, score, "")
				execs = append(execs, e)
			}
		}
	}
	return execs, failed
}

// report prints what was seeded.
func (h *history) report(w io.Writer, out *seeded, elapsed time.Duration) {
	first, last := h.runTimes[0], h.runTimes[len(h.runTimes)-1]
	every := time.Duration(0)
	if len(h.runTimes) > 1 {
		every = last.Sub(first) / time.Duration(len(h.runTimes)-1)
	}
	fmt.Fprintf(w, "models      %d:", len(h.models))
	for _, m := range h.models {
		fmt.Fprintf(w, " %s (%.0f%%)", m.name, 100*m.accuracy)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "questions   %d in %d categories, %d samples each\n", len(h.questions), min(len(h.questions), len(seedCategories)), h.o.samples)
	fmt.Fprintf(w, "runs        %d from %s to %s, one every %s\n", len(out.runs), first.Format(time.RFC3339), last.Format(time.RFC3339), every.Round(time.Minute))
	fmt.Fprintf(w, "executions  %d (%d evaluations, %d failed)\n", out.executions, out.evaluations, out.failed)
	fmt.Fprintf(w, "regression  %s answers %.0f points worse from %s (the week of the newest run)\n",
		h.models[len(h.models)-1].name, 100*seedRegression, h.regressFrom.Format(time.DateOnly))
	fmt.Fprintf(w, "elapsed     %s (%.0f executions/s): executions %s, finalize %s, rollups %s\n",
		elapsed.Round(time.Millisecond), float64(out.executions)/elapsed.Seconds(), out.copyTook.Round(time.Millisecond),
		out.finalizeTook.Round(time.Millisecond), out.rollupsTook.Round(time.Millisecond))
}

// Command bench is SABE's benchmark harness: it measures what the issues
// promise about performance on the machine it runs on, and writes the
// figures to bench/results/latest.json. It is a program, not a test:
// figures depend on the machine, so nothing here passes or fails a build.
//
//	go run ./bench all                 # or: go tool -modfile=tools.mod task bench
//	go run ./bench throughput          # one phase, merged into latest.json
//
// Phases (all runs them in this order, each against a database and a Redis
// database of its own, with mockllm, the api and the workers as separate
// processes built once):
//
//	ceiling     asynq alone: no-op tasks/s with the worker fleet's shape.
//	throughput  zero-latency mock, 20,000 units, 2 workers: scored
//	            executions/s from the trigger to the final status, and
//	            its ratio to the ceiling (measured first, in the same
//	            invocation).
//	efficiency  1 s mock, 4,000 units, 2 workers × 100: wall time ÷ N·L/C.
//	ratelimit   a provider limited to 600 requests/min and 8 in flight,
//	            50 ms mock, 2,000 units: wall time ÷ the time the limit
//	            allows, and the most requests the mock saw in any 60 s
//	            window and at once; whether the breaker opened.
//	api         p50/p99 of POST /v1/benchmarks/{id}/runs at 20/s and of
//	            GET /v1/runs/{id} and GET /v1/runs/{id}/rankings at 500/s.
//	memory      peak RSS of one worker at concurrency 500 against the 1 s
//	            mock.
//	bigrun      a run of 1,000,000 units, one worker at concurrency 500,
//	            1 s mock: seconds until every unit is enqueued (asynq's
//	            Inspector), p99 of GET /v1/runs/{id} meanwhile, the
//	            worker's, the api's and Redis's memory; then cancelled.
//	export      one run of 1,000,000 units (seed-history) exported as CSV
//	            and as JSON Lines by `sabe runs export` through the api:
//	            rows/s, and the api's and the client's memory meanwhile.
//	analytics   seed a history of 1,000,000 executions (sabe seed-history),
//	            start the api in-process, and drive the timeseries, compare
//	            and leaderboard routes at a fixed rate with vegeta.
//	dashboard   seed the same history, start the api as a process and load
//	            every dashboard page cold in headless chromium: first-load
//	            time, the API calls behind each page, the JavaScript size.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/internal/command"
)

const usage = `usage: go run ./bench [flags] all | phase...   (phases: ceiling throughput efficiency ratelimit judging api memory bigrun export analytics dashboard)`

func main() {
	command.Main("bench", func(ctx context.Context, args []string, _ func(string) string, stdout io.Writer) error {
		return run(ctx, args, stdout)
	})
}

// options are the harness's flags.
type options struct {
	adminURL, redisURL, out string
	keep                    bool
	profileDir              string
	profileSeconds          int
	// scale multiplies every phase's units and tasks, for a quick look.
	scale                float64
	workers, concurrency int
	tasks                int
	latency              time.Duration
	memoryConcurrency    int
	apiRate, postRate    int
	duration, warmup     time.Duration
	analytics            analyticsOptions
	// pageLoads is how many cold loads each dashboard page gets.
	pageLoads int
	// exportUnits is the size of the export phase's run.
	exportUnits int
	// workerEnv is SABE_* settings given to every worker (--worker-env).
	workerEnv map[string]string
	// bigRunAfter is how long the big run goes on once fanned out, its
	// progress still read, before it is cancelled; bigRunProgressRate is
	// the requests a second to its progress.
	bigRunAfter        time.Duration
	bigRunProgressRate int
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	a := &o.analytics
	fs.StringVar(&o.adminURL, "admin-url", envOr("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL connection allowed to create and drop the bench databases (BENCH_ADMIN_URL)")
	fs.StringVar(&o.redisURL, "redis-url", envOr("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
		"Redis server (BENCH_REDIS_URL); each phase takes a database number of its own, 15 downwards")
	fs.BoolVar(&o.keep, "keep", false, "keep the databases and the processes' logs afterwards")
	fs.StringVar(&o.out, "out", "bench/results/latest.json", "where the JSON report goes (empty: nowhere)")
	fs.StringVar(&o.profileDir, "profile", "", "save pprof profiles here: CPU of each worker during throughput, of the api during each api route, the worker's heap during memory")
	fs.IntVar(&o.profileSeconds, "profile-seconds", 10, "length of the throughput CPU profiles, from the trigger")
	fs.Float64Var(&o.scale, "scale", 1, "multiply the units of every run and the ceiling's tasks (0.1 for a quick look; figures then differ)")
	fs.IntVar(&o.workers, "workers", 2, "worker processes (ceiling, throughput, efficiency)")
	o.workerEnv = map[string]string{}
	fs.Func("worker-env", "SABE_NAME=value (or a Go runtime setting: GOGC, GOMEMLIMIT, GODEBUG, GOMAXPROCS) for every worker, over the harness's own settings (repeatable), to measure a setting", func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || !(strings.HasPrefix(k, "SABE_") || slices.Contains([]string{"GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS"}, k)) {
			return fmt.Errorf("want SABE_NAME=value or GOGC/GOMEMLIMIT/GODEBUG/GOMAXPROCS=value, got %q", v)
		}
		o.workerEnv[k] = val
		return nil
	})
	fs.IntVar(&o.concurrency, "concurrency", 100, "concurrency of each worker (ceiling, throughput, efficiency, api)")
	fs.IntVar(&o.tasks, "tasks", 20_000, "no-op tasks of the ceiling")
	fs.DurationVar(&o.latency, "latency", time.Second, "mock provider latency (efficiency, memory, bigrun)")
	fs.IntVar(&o.memoryConcurrency, "memory-concurrency", 500, "concurrency of the one worker of the memory and bigrun phases")
	fs.DurationVar(&o.bigRunAfter, "bigrun-after", 30*time.Second, "how long the big run goes on once fanned out, its progress still read, before it is cancelled")
	fs.IntVar(&o.bigRunProgressRate, "bigrun-progress-rate", 50, "requests per second to GET /v1/runs/{id} during the big run")
	fs.IntVar(&o.apiRate, "api-rate", 500, "requests per second to each GET route of the api phase")
	fs.IntVar(&o.postRate, "post-rate", 20, "requests per second to POST /v1/benchmarks/{id}/runs")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "how long each route is driven (api, analytics)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unrecorded load on each route before its measurement (api, analytics)")
	fs.IntVar(&o.pageLoads, "page-loads", 5, "cold loads of each page (dashboard)")
	fs.IntVar(&o.exportUnits, "export-units", 1_000_000, "units of the run the export phase exports (4 models × up to 10,000 questions × samples)")
	fs.StringVar(&a.database, "database", "sabe_bench", "database of the analytics phase (dropped first if it exists)")
	fs.IntVar(&a.executions, "executions", 1_000_000, "executions to seed (analytics)")
	fs.IntVar(&a.weeks, "weeks", 26, "weeks of history (analytics)")
	fs.IntVar(&a.parallel, "parallel", 2, "runs the seeding writes at once (analytics)")
	fs.IntVar(&a.rate, "rate", 20, "requests per second to each analytics route")
	fs.IntVar(&a.uncachedRate, "uncached-rate", 5, "requests per second when measuring answers computed anew (compare, leaderboard)")
	fs.Float64Var(&a.targetP95Ms, "target-p95", 50, "p95 target in ms that the analytics routes are compared against")
	fs.BoolVar(&a.failOverTarget, "fail-over-target", false, "exit non-zero when an analytics route's p95 exceeds the target")
	if help, err := command.ParseArgs(fs, usage, args, stdout); help || err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return command.Usagef(command.Usage(fs, usage), "name a phase, or all")
	}
	phases := fs.Args()
	if phases[0] == "noop-worker" {
		// The ceiling's child processes (see runCeiling).
		return runNoopWorker(ctx, o.redisURL, o.concurrency, stdout)
	}
	all := len(phases) == 1 && phases[0] == "all"
	if all {
		phases = phaseNames
	}
	for _, p := range phases {
		if !slices.Contains(phaseNames, p) {
			return command.Usagef(command.Usage(fs, usage), "unknown phase %q", p)
		}
	}
	if o.scale <= 0 || o.exportUnits < 1 || o.workers < 1 || o.concurrency < 1 || o.memoryConcurrency < 1 || o.apiRate < 1 || o.postRate < 1 || o.bigRunProgressRate < 1 {
		return errors.New("--scale, --export-units, --workers, --concurrency, --memory-concurrency, --api-rate, --post-rate and --bigrun-progress-rate must be positive")
	}
	if o.bigRunAfter < 0 {
		return errors.New("--bigrun-after must not be negative")
	}
	a.adminURL, a.keep, a.duration, a.warmup = o.adminURL, o.keep, o.duration, o.warmup

	h, err := newHarness(o, stdout, "go run ./bench "+strings.Join(args, " "), all)
	if err != nil {
		return err
	}
	defer h.cleanup()
	start := time.Now()
	var failed []string
	for _, p := range phases {
		if ctx.Err() != nil {
			break
		}
		if p == "ceiling" && h.ceiling != nil {
			continue // measured already, as throughput's reference
		}
		if err := h.run(ctx, p); err != nil {
			h.say("%s: FAILED: %v", p, err)
			failed = append(failed, p)
		}
	}
	rep, err := h.write(ctx)
	if err != nil {
		return err
	}
	printTargets(h.stdout, rep.Targets)
	h.say("\n%s took %s", h.command, time.Since(start).Round(time.Second))
	if len(failed) > 0 {
		h.failed = true
		return fmt.Errorf("phases failed: %s (logs in %s)", strings.Join(failed, ", "), h.logDir)
	}
	return ctx.Err()
}

// harness runs phases and gathers their sections.
type harness struct {
	o       options
	stdout  io.Writer
	command string
	// fresh: the report starts empty (all) instead of merging into the
	// one there.
	fresh   bool
	tmpDir  string
	logDir  string
	results []phaseResult
	ceiling *CeilingReport
	failed  bool

	binOnce sync.Once
	binDir  string
	binErr  error
}

func newHarness(o options, stdout io.Writer, command string, fresh bool) (*harness, error) {
	tmp, err := os.MkdirTemp("", "sabe-bench-")
	if err != nil {
		return nil, err
	}
	h := &harness{o: o, stdout: stdout, command: command, fresh: fresh, tmpDir: tmp, logDir: filepath.Join(tmp, "logs")}
	if err := os.MkdirAll(h.logDir, 0o755); err != nil {
		return nil, err
	}
	return h, nil
}

// cleanup removes the binaries, and the logs unless a phase failed or
// --keep asked for them.
func (h *harness) cleanup() {
	if h.failed || h.o.keep {
		_ = os.RemoveAll(filepath.Join(h.tmpDir, "bin"))
		h.say("process logs kept in %s", h.logDir)
		return
	}
	_ = os.RemoveAll(h.tmpDir)
}

func (h *harness) say(format string, a ...any) { fmt.Fprintf(h.stdout, format+"\n", a...) }

// run runs one phase and keeps its section; the report is written after
// every phase, so an interrupted `all` keeps what it measured.
func (h *harness) run(ctx context.Context, phase string) error {
	h.say("\n== %s ==", phase)
	start := time.Now()
	var section any
	var err error
	switch phase {
	case "ceiling":
		var r *CeilingReport
		if r, err = h.runCeiling(ctx); r != nil {
			h.ceiling, section = r, r
		}
	case "throughput":
		var r *ThroughputReport
		if r, err = h.runThroughput(ctx); r != nil {
			section = r
		}
	case "efficiency":
		var r *EfficiencyReport
		if r, err = h.runEfficiency(ctx); r != nil {
			section = r
		}
	case "ratelimit":
		var r *RateLimitReport
		if r, err = h.runRateLimit(ctx); r != nil {
			section = r
		}
	case "api":
		var r *APIReport
		if r, err = h.runAPI(ctx); r != nil {
			section = r
		}
	case "judging":
		var r *JudgingReport
		if r, err = h.runJudging(ctx); r != nil {
			section = r
		}
	case "memory":
		var r *MemoryReport
		if r, err = h.runMemory(ctx); r != nil {
			section = r
		}
	case "bigrun":
		var r *BigRunReport
		if r, err = h.runBigRun(ctx); r != nil {
			section = r
		}
	case "dashboard":
		var r *DashboardReport
		if r, err = h.runDashboard(ctx); r != nil {
			section = r
		}
	case "export":
		var r *ExportReport
		if r, err = h.runExport(ctx); r != nil {
			section = r
		}
	case "analytics":
		o := h.o.analytics
		var release func()
		if o.redisURL, release, err = reserveRedis(ctx, h.o.redisURL); err != nil {
			return err
		}
		var r AnalyticsReport
		r, err = runAnalytics(ctx, o, h.stdout)
		release()
		if len(r.Routes) > 0 {
			section = r
		}
	default:
		return fmt.Errorf("unknown phase %q", phase)
	}
	if section != nil {
		h.results = append(h.results, phaseResult{phase: phase, section: section})
		if _, werr := h.write(ctx); werr != nil {
			return errors.Join(err, werr)
		}
	}
	h.say("%s: %s", phase, time.Since(start).Round(100*time.Millisecond))
	return err
}

// write merges the sections measured so far into the report (a new one
// for all) and writes it.
func (h *harness) write(ctx context.Context) (Report, error) {
	var existing []byte
	if !h.fresh && h.o.out != "" {
		b, err := os.ReadFile(h.o.out)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return Report{}, err
		}
		existing = b
	}
	m := h.machine(ctx)
	rep, err := mergeReport(existing, h.results, time.Now(), h.command, m)
	if err != nil {
		return Report{}, err
	}
	if h.o.out == "" || len(h.results) == 0 {
		return rep, nil
	}
	if err := writeReport(h.o.out, rep); err != nil {
		return Report{}, err
	}
	h.say("report written to %s", h.o.out)
	return rep, nil
}

// machine describes this machine and its PostgreSQL; nil when PostgreSQL
// cannot be reached. Each section has the load average of its own time.
func (h *harness) machine(ctx context.Context) *Host {
	pool, err := pgxpool.New(ctx, h.o.adminURL)
	if err != nil {
		return nil
	}
	defer pool.Close()
	m := machine(ctx, pool)
	return &Host{CPU: m.CPU, Cores: m.Cores, MemoryGiB: m.MemoryGiB, OS: m.OS, Go: m.Go, PostgreSQL: m.PostgreSQL, TimescaleDB: m.TimescaleDB}
}

// binaries builds the api, worker and mockllm once per invocation, into a
// temporary directory.
func (h *harness) binaries(ctx context.Context) (string, error) {
	h.binOnce.Do(func() {
		dir := filepath.Join(h.tmpDir, "bin")
		root, err := moduleRoot(ctx)
		if err != nil {
			h.binErr = err
			return
		}
		h.say("building api, worker and mockllm")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./cmd/api", "./cmd/worker", "./cmd/mockllm")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			h.binErr = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		h.binDir = dir
	})
	return h.binDir, h.binErr
}

// moduleRoot is the directory of SABE's go.mod, so that the bench builds
// the binaries wherever it is run from inside the module.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the bench inside SABE's module (go run ./bench)")
	}
	return filepath.Dir(mod), nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

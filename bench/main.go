// Command bench is SABE's benchmark harness: it measures what the issues
// promise about performance on the machine it runs on, and writes the
// figures to bench/results/latest.json. It is a program, not a test:
// figures depend on the machine, so nothing here passes or fails a build.
//
//	go run ./bench analytics           # or: go tool -modfile=tools.mod task bench
//
// Phases:
//
//	analytics  seed a history of 1,000,000 executions into a fresh database
//	           (sabe seed-history), start the api in-process, and drive the
//	           timeseries, compare and leaderboard routes at a fixed rate
//	           with vegeta; report p50/p95/p99 per route.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usage = `usage: go run ./bench [flags] analytics

flags:`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var o analyticsOptions
	fs.StringVar(&o.adminURL, "admin-url", envOr("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL connection allowed to create and drop the bench database (BENCH_ADMIN_URL)")
	fs.StringVar(&o.redisURL, "redis-url", envOr("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis for the api (BENCH_REDIS_URL)")
	fs.StringVar(&o.database, "database", "sabe_bench", "database to create (dropped first if it exists)")
	fs.BoolVar(&o.keep, "keep", false, "keep the database afterwards")
	fs.IntVar(&o.executions, "executions", 1_000_000, "executions to seed")
	fs.IntVar(&o.weeks, "weeks", 26, "weeks of history")
	fs.IntVar(&o.parallel, "parallel", 2, "runs the seeding writes at once")
	fs.IntVar(&o.rate, "rate", 20, "requests per second to each route")
	fs.IntVar(&o.uncachedRate, "uncached-rate", 5, "requests per second when measuring answers computed anew (compare, leaderboard)")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "how long each route is driven")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unrecorded load on each route before its measurement")
	fs.Float64Var(&o.targetP95Ms, "target-p95", 50, "p95 target in ms that the report compares against")
	fs.BoolVar(&o.failOverTarget, "fail-over-target", false, "exit non-zero when a route's p95 exceeds the target")
	fs.StringVar(&o.out, "out", "bench/results/latest.json", "where the JSON report goes (empty: nowhere)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("name one phase")
	}
	switch fs.Arg(0) {
	case "analytics":
		return runAnalytics(ctx, o, os.Stdout)
	}
	fs.Usage()
	return fmt.Errorf("unknown phase %q", fs.Arg(0))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

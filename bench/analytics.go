package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/services/api"
	"github.com/sabe-dev/sabe/services/cli"
)

type analyticsOptions struct {
	adminURL, redisURL, database string
	keep                         bool
	executions, weeks, parallel  int
	rate, uncachedRate           int
	duration, warmup             time.Duration
	targetP95Ms                  float64
	failOverTarget               bool
}

// AnalyticsReport is the analytics section of bench/results/latest.json.
type AnalyticsReport struct {
	Phase       string    `json:"phase"`
	GeneratedAt time.Time `json:"generated_at"`
	Machine     Machine   `json:"machine"`
	Seed        SeedStats `json:"seed"`
	Load        Load      `json:"load"`
	Routes      []Route   `json:"routes"`
	// Regression is what compare?period=wow says about the model whose
	// regression the seed planted.
	Regression  json.RawMessage `json:"planted_regression,omitempty"`
	TargetP95Ms float64         `json:"target_p95_ms"`
	MeetsTarget bool            `json:"meets_target"`
}

// SeedStats is what seed-history wrote and how long it took.
type SeedStats struct {
	Command    string  `json:"command"`
	Executions int     `json:"executions"`
	Runs       int     `json:"runs"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"executions_per_second"`
	// AnalyzeSeconds is the VACUUM ANALYZE after the seed, which
	// autovacuum would otherwise do within a minute or so of a bulk load.
	AnalyzeSeconds float64 `json:"analyze_seconds"`
	DatabaseMiB    int64   `json:"database_mib"`
}

// Load is how the routes were driven.
type Load struct {
	Tool          string  `json:"tool"`
	RatePerSecond int     `json:"rate_per_second"`
	Seconds       float64 `json:"seconds_per_route"`
	WarmupSeconds float64 `json:"warmup_seconds_per_route"`
	Percentiles   string  `json:"percentiles"`
}

// runAnalytics runs the analytics phase and returns its section of the
// report. A report comes back with an error too when the routes were
// measured but some requests failed, so that the figures are still written.
func runAnalytics(ctx context.Context, o analyticsOptions, stdout io.Writer) (rep AnalyticsReport, err error) {
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	dbURL, err := recreateDatabase(ctx, o.adminURL, o.database)
	if err != nil {
		return rep, err
	}
	if !o.keep {
		defer func() {
			if derr := dropDatabase(context.Background(), o.adminURL, o.database); derr != nil && err == nil {
				err = derr
			}
		}()
	}
	say("database %s created", o.database)

	key, err := secrets.GenerateEntry("bench")
	if err != nil {
		return rep, err
	}
	env := map[string]string{
		"SABE_DATABASE_URL": dbURL, "SABE_REDIS_URL": o.redisURL, "SABE_ENCRYPTION_KEY": key,
		"SABE_HTTP_ADDR": "127.0.0.1:0", "SABE_METRICS_ADDR": "off", "SABE_LOG_LEVEL": "warn", "SABE_LOG_FORMAT": "text",
		// The bench measures the routes, not the per-token rate limit.
		"SABE_TOKEN_RATE_LIMIT": "0",
	}
	getenv := func(k string) string { return env[k] }
	apiCtx, stopAPI := context.WithCancel(ctx)
	apiOut := newWatcher("api listening on ")
	apiDone := make(chan error, 1)
	go func() { apiDone <- api.Run(apiCtx, nil, getenv, apiOut) }()
	defer func() {
		stopAPI()
		if aerr := <-apiDone; aerr != nil && !errors.Is(aerr, context.Canceled) && err == nil {
			err = fmt.Errorf("api: %w", aerr)
		}
	}()
	var base string
	select {
	case base = <-apiOut.found:
	case aerr := <-apiDone:
		apiDone <- aerr
		return rep, fmt.Errorf("api did not start: %v\n%s", aerr, apiOut.tail())
	case <-time.After(60 * time.Second):
		return rep, fmt.Errorf("api did not start within 60s\n%s", apiOut.tail())
	}
	say("api listening on %s (migrated the database)", base)

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return rep, err
	}
	defer pool.Close()
	seed, benchID, err := seedHistory(ctx, o, getenv, pool, stdout)
	if err != nil {
		return rep, err
	}
	rep = AnalyticsReport{Phase: "analytics", GeneratedAt: time.Now().UTC().Truncate(time.Second), TargetP95Ms: o.targetP95Ms, MeetsTarget: true, Seed: seed}
	rep.Machine = machine(ctx, pool)
	token, _, err := store.New(pool, nil).CreateToken(ctx, "bench", []string{apitoken.ScopeRead}, nil)
	if err != nil {
		return rep, err
	}

	routes := []struct{ name, path string }{
		{"timeseries", "/v1/analytics/timeseries?benchmark_id=" + benchID + "&metric=score&bucket=week"},
		{"compare", "/v1/analytics/compare?benchmark_id=" + benchID + "&period=wow"},
		{"leaderboard", "/v1/leaderboard?benchmark_id=" + benchID + "&period=week"},
	}
	client := &http.Client{Timeout: 30 * time.Second}
	hdr := http.Header{"Authorization": {"Bearer " + token}}
	for _, rt := range routes {
		status, body, err := get(ctx, client, base+rt.path, hdr)
		if err != nil {
			return rep, err
		}
		if status != http.StatusOK {
			return rep, fmt.Errorf("GET %s: status %d: %s", rt.path, status, body)
		}
		if rt.name == "compare" {
			rep.Regression = plantedRegression(body)
		}
	}
	rep.Load = Load{
		Tool: "vegeta v12 (constant rate, one route at a time)", RatePerSecond: o.rate,
		Seconds: o.duration.Seconds(), WarmupSeconds: o.warmup.Seconds(),
		Percentiles: "exact, linear interpolation over every measured request",
	}
	rep.Machine.LoadAverage[0] = loadAverage()
	say("driving each route at %d req/s for %s (after %s of warm-up)", o.rate, o.duration, o.warmup)
	for _, rt := range routes {
		r, err := attack(rt.name, base+rt.path, hdr, o, o.rate, false)
		if err != nil {
			return rep, err
		}
		rep.Routes = append(rep.Routes, r)
		if r.P95Ms > o.targetP95Ms || r.Success < 1 {
			rep.MeetsTarget = false
		}
	}
	// The api keeps compare and leaderboard answers until a run of the
	// benchmark finishes, so the figures above are mostly cache hits. What
	// one answer costs to compute is measured apart: every request asks for
	// a new bootstrap seed, which no cache holds, at a lower rate so that
	// requests do not queue behind each other on two cores.
	say("computing answers anew (a new seed each request) at %d req/s for %s", o.uncachedRate, o.duration)
	for _, rt := range routes[1:] {
		r, err := attack(rt.name+" (uncached)", base+rt.path, hdr, o, o.uncachedRate, true)
		if err != nil {
			return rep, err
		}
		rep.Routes = append(rep.Routes, r)
	}
	rep.Machine.LoadAverage[1] = loadAverage()
	printReport(stdout, rep)
	for _, r := range rep.Routes {
		if r.Success < 1 {
			return rep, fmt.Errorf("%s: %.1f%% of requests succeeded: %v", r.Name, 100*r.Success, r.Errors)
		}
	}
	if !rep.MeetsTarget && o.failOverTarget {
		return rep, fmt.Errorf("a route's p95 is over the %g ms target", o.targetP95Ms)
	}
	return rep, nil
}

// seedHistory seeds the database behind getenv (migrated already) with
// sabe seed-history as o says, then runs VACUUM ANALYZE, which autovacuum
// would do shortly after a bulk load, and returns what it wrote and the
// benchmark it seeded.
func seedHistory(ctx context.Context, o analyticsOptions, getenv func(string) string, pool *pgxpool.Pool, stdout io.Writer) (seed SeedStats, benchID string, err error) {
	return seedWith(ctx, []string{"seed-history", "--executions", strconv.Itoa(o.executions), "--weeks", strconv.Itoa(o.weeks),
		"--parallel", strconv.Itoa(o.parallel)}, getenv, pool, stdout)
}

// seedWith runs `sabe seedArgs...` (seed-history with its flags), then
// VACUUM ANALYZE as autovacuum would after a bulk load.
func seedWith(ctx context.Context, seedArgs []string, getenv func(string) string, pool *pgxpool.Pool, stdout io.Writer) (seed SeedStats, benchID string, err error) {
	fmt.Fprintf(stdout, "seeding: sabe %s\n", strings.Join(seedArgs, " "))
	var seedOut bytes.Buffer
	start := time.Now()
	if err := cli.Run(ctx, seedArgs, getenv, io.MultiWriter(&seedOut, stdout), cli.Services{}); err != nil {
		return seed, "", fmt.Errorf("seed: %w", err)
	}
	secs := time.Since(start).Seconds()
	seed.Command = "sabe " + strings.Join(seedArgs, " ")
	seed.Seconds = round(secs, 1)
	benchID, seed.Runs, seed.Executions, err = parseSeedOutput(seedOut.String())
	if err != nil {
		return seed, "", err
	}
	seed.PerSecond = round(float64(seed.Executions)/secs, 0)
	start = time.Now()
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return seed, "", fmt.Errorf("vacuum analyze: %w", err)
	}
	seed.AnalyzeSeconds = round(time.Since(start).Seconds(), 1)
	if err := pool.QueryRow(ctx, "SELECT pg_database_size(current_database()) / (1024 * 1024)").Scan(&seed.DatabaseMiB); err != nil {
		return seed, "", err
	}
	return seed, benchID, nil
}

// attack drives one route at perSecond for o.warmup (discarded), then for
// o.duration, and computes its figures from every measured request.
func attack(name, target string, hdr http.Header, o analyticsOptions, perSecond int, newSeeds bool) (Route, error) {
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: target, Header: hdr})
	if newSeeds {
		var seed atomic.Int64
		seed.Store(1000)
		tr = func(t *vegeta.Target) error {
			*t = vegeta.Target{Method: http.MethodGet, URL: fmt.Sprintf("%s&seed=%d", target, seed.Add(1)), Header: hdr}
			return nil
		}
	}
	return drive(name, target, tr, perSecond, o.warmup, o.duration)
}

func printReport(w io.Writer, rep AnalyticsReport) {
	fmt.Fprintf(w, "\nanalytics bench: %d executions in %d runs, seeded in %.1fs (%.0f executions/s); %s, %d cores, %s\n",
		rep.Seed.Executions, rep.Seed.Runs, rep.Seed.Seconds, rep.Seed.PerSecond, rep.Machine.CPU, rep.Machine.Cores, rep.Machine.PostgreSQL)
	fmt.Fprintf(w, "load average %.2f before driving the routes, %.2f after\n", rep.Machine.LoadAverage[0], rep.Machine.LoadAverage[1])
	fmt.Fprintf(w, "%-12s %8s %8s %9s %9s %9s %9s %9s\n", "route", "requests", "success", "p50 ms", "p95 ms", "p99 ms", "max ms", "target")
	for _, r := range rep.Routes {
		verdict := "ok"
		if r.P95Ms > rep.TargetP95Ms {
			verdict = "OVER"
		}
		fmt.Fprintf(w, "%-12s %8d %7.1f%% %9.2f %9.2f %9.2f %9.2f %9s\n", r.Name, r.Requests, 100*r.Success, r.P50Ms, r.P95Ms, r.P99Ms, r.MaxMs, verdict)
	}
	if len(rep.Regression) > 0 {
		fmt.Fprintf(w, "planted regression, as compare?period=wow reports it: %s\n", rep.Regression)
	}
}

// plantedRegression picks, from a compare answer, the model with the
// largest drop in score: the one seed-history planted a regression in.
func plantedRegression(body []byte) json.RawMessage {
	var ans struct {
		Models []struct {
			ModelName string `json:"model_name"`
			Questions int    `json:"questions"`
			Score     struct {
				Current     float64 `json:"current"`
				Previous    float64 `json:"previous"`
				Diff        float64 `json:"diff"`
				CILow       float64 `json:"ci_low"`
				CIHigh      float64 `json:"ci_high"`
				Significant bool    `json:"significant"`
			} `json:"score"`
		} `json:"models"`
	}
	if json.Unmarshal(body, &ans) != nil || len(ans.Models) == 0 {
		return nil
	}
	worst := ans.Models[0]
	for _, m := range ans.Models[1:] {
		if m.Score.Diff < worst.Score.Diff {
			worst = m
		}
	}
	b, _ := json.Marshal(worst)
	return b
}

var seedLines = struct{ bench, runs, execs *regexp.Regexp }{
	bench: regexp.MustCompile(`(?m)^benchmark ([0-9a-f-]{36}) `),
	runs:  regexp.MustCompile(`(?m)^runs +(\d+) `),
	execs: regexp.MustCompile(`(?m)^executions +(\d+) `),
}

// parseSeedOutput reads what seed-history printed.
func parseSeedOutput(out string) (benchID string, runs, execs int, err error) {
	b, r, e := seedLines.bench.FindStringSubmatch(out), seedLines.runs.FindStringSubmatch(out), seedLines.execs.FindStringSubmatch(out)
	if b == nil || r == nil || e == nil {
		return "", 0, 0, fmt.Errorf("seed-history printed no benchmark, runs or executions line:\n%s", out)
	}
	runs, _ = strconv.Atoi(r[1])
	execs, _ = strconv.Atoi(e[1])
	return b[1], runs, execs, nil
}

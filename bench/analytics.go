package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
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
	out                          string
}

// Report is bench/results/latest.json.
type Report struct {
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

// Machine describes where the figures were measured.
type Machine struct {
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	MemoryGiB   int    `json:"memory_gib"`
	OS          string `json:"os"`
	Go          string `json:"go"`
	PostgreSQL  string `json:"postgresql"`
	TimescaleDB string `json:"timescaledb"`
	// LoadAverage is /proc/loadavg's 1-minute figure before and after
	// the routes were driven: other work on the machine shows here.
	LoadAverage [2]float64 `json:"load_average_before_after"`
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

// Route is one route's figures.
type Route struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Requests int    `json:"requests"`
	// RatePerSecond is the constant rate the route was driven at.
	RatePerSecond int            `json:"rate_per_second"`
	Success       float64        `json:"success_ratio"`
	StatusCodes   map[string]int `json:"status_codes"`
	P50Ms         float64        `json:"p50_ms"`
	P95Ms         float64        `json:"p95_ms"`
	P99Ms         float64        `json:"p99_ms"`
	MaxMs         float64        `json:"max_ms"`
	MeanMs        float64        `json:"mean_ms"`
	Errors        []string       `json:"errors,omitempty"`
}

func runAnalytics(ctx context.Context, o analyticsOptions, stdout io.Writer) (err error) {
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	dbURL, err := recreateDatabase(ctx, o.adminURL, o.database)
	if err != nil {
		return err
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
		return err
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
		return fmt.Errorf("api did not start: %v\n%s", aerr, apiOut.tail())
	case <-time.After(60 * time.Second):
		return fmt.Errorf("api did not start within 60s\n%s", apiOut.tail())
	}
	say("api listening on %s (migrated the database)", base)

	seedArgs := []string{"seed-history", "--executions", strconv.Itoa(o.executions), "--weeks", strconv.Itoa(o.weeks),
		"--parallel", strconv.Itoa(o.parallel)}
	say("seeding: sabe %s", strings.Join(seedArgs, " "))
	var seedOut bytes.Buffer
	start := time.Now()
	if err := cli.Run(ctx, seedArgs, getenv, io.MultiWriter(&seedOut, stdout), cli.Services{}); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	seedSecs := time.Since(start).Seconds()
	rep := Report{Phase: "analytics", GeneratedAt: time.Now().UTC().Truncate(time.Second), TargetP95Ms: o.targetP95Ms, MeetsTarget: true}
	rep.Seed.Command = "sabe " + strings.Join(seedArgs, " ")
	rep.Seed.Seconds = round(seedSecs, 1)
	benchID, runs, execs, err := parseSeedOutput(seedOut.String())
	if err != nil {
		return err
	}
	rep.Seed.Runs, rep.Seed.Executions = runs, execs
	rep.Seed.PerSecond = round(float64(execs)/seedSecs, 0)

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	start = time.Now()
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	rep.Seed.AnalyzeSeconds = round(time.Since(start).Seconds(), 1)
	if err := pool.QueryRow(ctx, "SELECT pg_database_size(current_database()) / (1024 * 1024)").Scan(&rep.Seed.DatabaseMiB); err != nil {
		return err
	}
	rep.Machine = machine(ctx, pool)
	token, _, err := store.New(pool, nil).CreateToken(ctx, "bench", []string{apitoken.ScopeRead}, nil)
	if err != nil {
		return err
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
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("GET %s: status %d: %s", rt.path, status, body)
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
			return err
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
			return err
		}
		rep.Routes = append(rep.Routes, r)
	}
	rep.Machine.LoadAverage[1] = loadAverage()
	printReport(stdout, rep)
	if o.out != "" {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(o.out, b.Bytes(), 0o644); err != nil {
			return err
		}
		say("report written to %s", o.out)
	}
	for _, r := range rep.Routes {
		if r.Success < 1 {
			return fmt.Errorf("%s: %.1f%% of requests succeeded: %v", r.Name, 100*r.Success, r.Errors)
		}
	}
	if !rep.MeetsTarget && o.failOverTarget {
		return fmt.Errorf("a route's p95 is over the %g ms target", o.targetP95Ms)
	}
	return nil
}

// attack drives one route at o.rate for o.warmup (discarded), then for
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
	rate := vegeta.Rate{Freq: perSecond, Per: time.Second}
	// An attacker attacks once; the two share a client, so the measured
	// requests reuse the warm-up's connections.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	if o.warmup > 0 {
		for range vegeta.NewAttacker(vegeta.Client(client)).Attack(tr, rate, o.warmup, name+"-warmup") {
		}
	}
	var m vegeta.Metrics
	var lat []float64
	for res := range vegeta.NewAttacker(vegeta.Client(client)).Attack(tr, rate, o.duration, name) {
		m.Add(res)
		lat = append(lat, float64(res.Latency)/float64(time.Millisecond))
	}
	m.Close()
	if len(lat) == 0 {
		return Route{}, fmt.Errorf("%s: no requests were made", name)
	}
	slices.Sort(lat)
	u, _ := url.Parse(target)
	r := Route{
		Name: name, Path: u.Path + "?" + u.RawQuery, Requests: int(m.Requests), RatePerSecond: perSecond, Success: m.Success,
		StatusCodes: m.StatusCodes, Errors: m.Errors,
		P50Ms: round(quantile(lat, 0.50), 2), P95Ms: round(quantile(lat, 0.95), 2), P99Ms: round(quantile(lat, 0.99), 2),
		MaxMs: round(lat[len(lat)-1], 2), MeanMs: round(float64(m.Latencies.Mean)/float64(time.Millisecond), 2),
	}
	return r, nil
}

// quantile is the type 7 quantile (linear interpolation) of sorted values.
func quantile(sorted []float64, p float64) float64 {
	h := p * float64(len(sorted)-1)
	lo := int(h)
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

func round(x float64, places int) float64 {
	s := strconv.FormatFloat(x, 'f', places, 64)
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

func printReport(w io.Writer, rep Report) {
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

func get(ctx context.Context, c *http.Client, u string, hdr http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header = hdr.Clone()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// recreateDatabase drops the bench database if it exists, creates it and
// returns its URL.
func recreateDatabase(ctx context.Context, adminURL, name string) (string, error) {
	if err := dropDatabase(ctx, adminURL, name); err != nil {
		return "", err
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL (--admin-url): %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(ctx context.Context, adminURL, name string) error {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL (--admin-url): %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// machine describes this machine and its PostgreSQL.
func machine(ctx context.Context, pool *pgxpool.Pool) Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), TimescaleDB: "not installed"}
	m.CPU = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		n, _ := strconv.Atoi(strings.Fields(kb)[0])
		m.MemoryGiB = (n + 512*1024) / (1024 * 1024)
	}
	_ = pool.QueryRow(ctx, "SELECT version()").Scan(&m.PostgreSQL)
	if i := strings.Index(m.PostgreSQL, " on "); i > 0 {
		m.PostgreSQL = m.PostgreSQL[:i]
	}
	var v string
	if pool.QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").Scan(&v) == nil {
		m.TimescaleDB = v
	}
	return m
}

// loadAverage is the machine's 1-minute load average, 0 where unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// procField returns the value of the first "key: value" line of a /proc
// file, or "" where there is none.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// watcher keeps the tail of a service's output and reports the rest of
// the first line that starts with prefix (the api's address).
type watcher struct {
	prefix string
	found  chan string
	mu     sync.Mutex
	buf    []byte
	done   bool
	last   []byte
}

func newWatcher(prefix string) *watcher { return &watcher{prefix: prefix, found: make(chan string, 1)} }

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = append(w.last, p...)
	if n := len(w.last); n > 16<<10 {
		w.last = w.last[n-16<<10:]
	}
	if w.done {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if rest, ok := strings.CutPrefix(line, w.prefix); ok {
			w.found <- strings.TrimSpace(rest)
			w.done, w.buf = true, nil
			break
		}
	}
	return len(p), nil
}

func (w *watcher) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.last)
}

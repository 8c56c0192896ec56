package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// targetPageMs is the promise: the first load of any dashboard
// page under 1 s against a history of 1,000,000 executions.
const targetPageMs = 1000

// targetJSGzipKB is the other promise: the dashboard's JavaScript
// under 400 KB gzipped in total.
const targetJSGzipKB = 400

// DashboardReport is the dashboard section: the first load of every page
// in a headless browser against the seed-history database, and the API
// calls behind the pages measured one by one.
type DashboardReport struct {
	Phase       string     `json:"phase"`
	GeneratedAt time.Time  `json:"generated_at"`
	LoadAverage [2]float64 `json:"load_average_before_after"`
	Setup       string     `json:"setup"`
	Seed        SeedStats  `json:"seed"`
	Browser     string     `json:"browser,omitempty"`
	// LoadsPerPage is how many cold loads each page had.
	LoadsPerPage int `json:"loads_per_page"`
	// Pages are the browser's first loads; empty with BrowserError when
	// no browser or no served dashboard was there to measure.
	Pages        []PageLoads `json:"pages"`
	BrowserError string      `json:"browser_error,omitempty"`
	// JS is the built dashboard's JavaScript (pkg/dashboard/dist/assets).
	JS *JSSize `json:"js,omitempty"`
	// APICalls are the pages' API calls, each timed alone over HTTP: its
	// first answer from an api that has computed nothing yet, then warm.
	APICalls []APICall `json:"api_calls"`
	Targets  []Target  `json:"targets"`
}

// PageLoads is one page's cold first loads.
type PageLoads struct {
	Name string `json:"name"`
	// Page is the page's data-page name; Path what the browser opened.
	Page string `json:"page"`
	Path string `json:"path"`
	// LoadsMs run from navigation start to main[data-page][aria-busy=false].
	LoadsMs  []float64 `json:"loads_ms"`
	MedianMs float64   `json:"median_ms"`
	MaxMs    float64   `json:"max_ms"`
	// Calls are the API requests of the slowest load up to readiness, from
	// the browser's Resource Timing.
	Calls []PageCall `json:"api_calls"`
	// FirstCallMs is when the slowest load sent its first API request:
	// the time the app took to download, parse and start, before any
	// data was asked for.
	FirstCallMs float64 `json:"first_api_call_ms"`
	// ScriptKB is the JavaScript the browser fetched (bytes over the wire,
	// gzipped) in the slowest load.
	ScriptKB float64 `json:"script_kb_transferred"`
	Error    string  `json:"error,omitempty"`
}

// PageCall is one API request of a page load.
type PageCall struct {
	Path string `json:"path"`
	// StartMs is when the browser sent it, from navigation start.
	StartMs float64 `json:"start_ms"`
	// ServerMs is the time to the first byte of the answer (requestStart
	// to responseStart: the server's time plus a loopback round trip);
	// TotalMs the whole request, queueing in the browser included.
	ServerMs float64 `json:"server_ms"`
	TotalMs  float64 `json:"total_ms"`
}

// JSSize is the built JavaScript.
type JSSize struct {
	Files   int     `json:"files"`
	KB      float64 `json:"kb"`
	GzipKB  float64 `json:"gzip_kb"`
	Largest string  `json:"largest"`
	// LargestGzipKB is the largest file, gzipped.
	LargestGzipKB float64 `json:"largest_gzip_kb"`
}

// APICall is one API route a page calls, timed alone.
type APICall struct {
	Path   string  `json:"path"`
	Status int     `json:"status"`
	KB     float64 `json:"kb"`
	// ColdMs is its first answer after the api started (nothing cached in
	// the api; PostgreSQL's buffers hold what the seed and earlier calls
	// left there); WarmMs the median of the next three.
	ColdMs float64 `json:"cold_ms"`
	WarmMs float64 `json:"warm_ms"`
}

// dashboardPage is a page to load and the API calls it is known to make.
type dashboardPage struct {
	name, page, path string
	calls            []string
}

// dashboardIDs are the subjects of the pages, found through the API.
type dashboardIDs struct {
	benchmark, newestRun, previousRun, question, category string
	models                                                []string
}

func (h *harness) runDashboard(ctx context.Context) (*DashboardReport, error) {
	rep := &DashboardReport{Phase: "dashboard", LoadsPerPage: h.o.pageLoads, Targets: []Target{}, APICalls: []APICall{},
		Setup: "sabe seed-history into a database of its own, the api as a process (no worker), a headless chromium " +
			"with a fresh profile for every load (empty cache, so the JavaScript is fetched) logged in through /login " +
			"with an admin token; a load runs from navigation start to main[data-page][aria-busy=false]. The api is " +
			"restarted before the browser loads, so each page's first load finds nothing computed in the api."}
	s, err := h.newStack(ctx, "dashboard", true)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := s.startAPI(ctx); err != nil {
		return nil, err
	}
	env := s.baseEnv()
	seed, benchID, err := seedHistory(ctx, h.o.analytics, func(k string) string { return env[k] }, s.pool, h.stdout)
	if err != nil {
		return nil, err
	}
	rep.Seed = seed
	rep.LoadAverage[0] = loadAverage()
	ids, err := findDashboardIDs(ctx, s, benchID)
	if err != nil {
		return nil, err
	}
	pages := dashboardPages(ids)

	// The API calls, alone: the api has computed nothing yet.
	var calls []string
	for _, p := range pages {
		for _, c := range p.calls {
			if !slices.Contains(calls, c) {
				calls = append(calls, c)
			}
		}
	}
	calls = append(calls, extraCalls(ids)...)
	for _, c := range calls {
		ac, err := timeCall(ctx, s, c)
		if err != nil {
			return rep, err
		}
		rep.APICalls = append(rep.APICalls, ac)
		h.say("dashboard: %-100s %3d  cold %7.1f ms  warm %7.1f ms", ac.Path, ac.Status, ac.ColdMs, ac.WarmMs)
	}

	if root, err := moduleRoot(ctx); err == nil {
		if js, err := jsSize(filepath.Join(root, "pkg", "dashboard", "dist", "assets")); err == nil {
			rep.JS = js
			rep.Targets = append(rep.Targets, newTarget("dashboard", "JavaScript gzipped", js.GzipKB, "KB", "<", targetJSGzipKB))
		} else {
			h.say("dashboard: no built JavaScript: %v", err)
		}
	}

	// A fresh api: every page's first load computes its answers.
	if err := s.restartAPI(ctx); err != nil {
		return rep, err
	}
	if err := h.loadPages(ctx, s, pages, rep); err != nil {
		rep.BrowserError = err.Error()
		h.say("dashboard: no browser figures: %v", err)
	}
	rep.LoadAverage[1] = loadAverage()
	rep.GeneratedAt = time.Now().UTC().Truncate(time.Second)
	printDashboard(h.stdout, rep)
	return rep, nil
}

// dashboardPages are the pages the issue lists, each with the API calls
// its code makes for its first screen.
func dashboardPages(ids dashboardIDs) []dashboardPage {
	b := ids.benchmark
	lb := "/v1/leaderboard?benchmark_id=" + b
	cmp := "/v1/analytics/compare?benchmark_id=" + b
	pages := []dashboardPage{
		{"overview", "overview", "/", []string{"/v1/benchmarks", lb, "/v1/runs?status=running", "/v1/runs?status=queued", "/v1/providers"}},
		{"leaderboard latest", "leaderboard", "/benchmarks/" + b + "/leaderboard", []string{"/v1/benchmarks/" + b, lb + "&period=latest"}},
		{"leaderboard week", "leaderboard", "/benchmarks/" + b + "/leaderboard?period=week", []string{"/v1/benchmarks/" + b, lb + "&period=week"}},
		{"leaderboard month", "leaderboard", "/benchmarks/" + b + "/leaderboard?period=month", []string{"/v1/benchmarks/" + b, lb + "&period=month"}},
	}
	for _, m := range []string{"score", "latency_ms", "latency_p95_ms", "ttft_ms", "tokens_per_s", "cost_usd"} {
		pages = append(pages, dashboardPage{"trends " + m, "trends", "/benchmarks/" + b + "/trends?metric=" + m, []string{
			"/v1/benchmarks/" + b, "/v1/analytics/timeseries?benchmark_id=" + b + "&metric=" + m + "&bucket=week",
			cmp + "&period=wow", cmp + "&period=mom"}})
	}
	compareWow := []string{"/v1/benchmarks", cmp + "&period=wow"}
	return append(pages,
		dashboardPage{"runs", "runs", "/runs", []string{"/v1/runs", "/v1/benchmarks"}},
		dashboardPage{"run detail", "run-detail", "/runs/" + ids.newestRun, []string{"/v1/runs/" + ids.newestRun,
			"/v1/runs/" + ids.newestRun + "/rankings", "/v1/runs/" + ids.newestRun + "/results?status=failed"}},
		dashboardPage{"question", "question", "/runs/" + ids.newestRun + "/questions/" + ids.question, []string{
			"/v1/runs/" + ids.newestRun, "/v1/runs/" + ids.newestRun + "/results?question_id=" + ids.question}},
		dashboardPage{"compare wow", "compare", "/compare?benchmark_id=" + b + "&period=wow", compareWow},
		dashboardPage{"compare runs", "compare", "/compare?benchmark_id=" + b + "&current_run_id=" + ids.newestRun + "&previous_run_id=" + ids.previousRun,
			[]string{"/v1/benchmarks", cmp + "&current_run_id=" + ids.newestRun + "&previous_run_id=" + ids.previousRun,
				"/v1/runs?benchmark_id=" + b + "&status=completed"}},
		dashboardPage{"schedules", "schedules", "/schedules", []string{"/v1/benchmarks"}},
		dashboardPage{"providers", "providers", "/providers", []string{"/v1/providers"}},
	)
}

// extraCalls are the variants of the pages' calls a user gets to with the
// filters: a category, another bucket, month over month.
func extraCalls(ids dashboardIDs) []string {
	b := ids.benchmark
	var out []string
	for _, p := range []string{"latest", "week", "month"} {
		out = append(out, "/v1/leaderboard?benchmark_id="+b+"&period="+p+"&category="+url.QueryEscape(ids.category))
	}
	for _, bucket := range []string{"day", "month"} {
		out = append(out, "/v1/analytics/timeseries?benchmark_id="+b+"&metric=score&bucket="+bucket)
	}
	out = append(out, "/v1/analytics/compare?benchmark_id="+b+"&period=wow&category="+url.QueryEscape(ids.category))
	out = append(out, "/v1/runs?benchmark_id="+b, "/v1/runs?trigger=schedule", "/v1/runs/"+ids.newestRun+"/results")
	return out
}

// findDashboardIDs asks the API for the subjects of the pages: the newest
// two runs of the seeded benchmark, a question of the newest, its models
// and a category.
func findDashboardIDs(ctx context.Context, s *stack, benchID string) (dashboardIDs, error) {
	ids := dashboardIDs{benchmark: benchID}
	var runs struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := s.getJSON(ctx, "/v1/runs?benchmark_id="+benchID+"&limit=2", &runs); err != nil {
		return ids, err
	}
	if len(runs.Items) < 2 {
		return ids, fmt.Errorf("the seeded benchmark has %d runs, want 2", len(runs.Items))
	}
	ids.newestRun, ids.previousRun = runs.Items[0].ID, runs.Items[1].ID
	var results struct {
		Items []struct {
			QuestionID string `json:"question_id"`
		} `json:"items"`
	}
	if err := s.getJSON(ctx, "/v1/runs/"+ids.newestRun+"/results?limit=1", &results); err != nil {
		return ids, err
	}
	if len(results.Items) == 0 {
		return ids, errors.New("the newest run has no results")
	}
	ids.question = results.Items[0].QuestionID
	type ranking struct {
		ModelID string `json:"model_id"`
	}
	var rankings struct {
		Overall    []ranking            `json:"overall"`
		ByCategory map[string][]ranking `json:"by_category"`
	}
	if err := s.getJSON(ctx, "/v1/runs/"+ids.newestRun+"/rankings", &rankings); err != nil {
		return ids, err
	}
	for _, r := range rankings.Overall {
		ids.models = append(ids.models, r.ModelID)
	}
	cats := slices.Sorted(maps.Keys(rankings.ByCategory))
	if len(ids.models) == 0 || len(cats) == 0 {
		return ids, errors.New("the newest run has no rankings")
	}
	ids.category = cats[0]
	return ids, nil
}

// getJSON reads an API answer into v with the stack's admin token.
func (s *stack) getJSON(ctx context.Context, path string, v any) error {
	status, body, err := get(ctx, http.DefaultClient, s.api.BaseURL()+path, http.Header{"Authorization": {"Bearer " + s.apiToken}})
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %s", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// timeCall times one API call: its first answer, then the median of
// three more.
func timeCall(ctx context.Context, s *stack, path string) (APICall, error) {
	hdr := http.Header{"Authorization": {"Bearer " + s.apiToken}, "Accept-Encoding": {"gzip"}}
	c := APICall{Path: path}
	var warm []float64
	for i := range 4 {
		t0 := time.Now()
		status, body, err := get(ctx, http.DefaultClient, s.api.BaseURL()+path, hdr)
		if err != nil {
			return c, err
		}
		d := float64(time.Since(t0)) / float64(time.Millisecond)
		if i == 0 {
			c.ColdMs, c.Status, c.KB = round(d, 1), status, round(float64(len(body))/1000, 1)
			continue
		}
		warm = append(warm, d)
	}
	slices.Sort(warm)
	c.WarmMs = round(warm[len(warm)/2], 1)
	return c, nil
}

// restartAPI stops the api and starts it again on the same database, so
// that it has computed and cached nothing.
func (s *stack) restartAPI(ctx context.Context) error {
	if s.apiProc != nil {
		s.apiProc.stop()
		s.procs = slices.DeleteFunc(s.procs, func(p *proc) bool { return p == s.apiProc })
	}
	if s.pool != nil {
		s.pool.Close()
		s.pool = nil
	}
	return s.startAPI(ctx)
}

// jsSize adds up the JavaScript files of the built dashboard, each
// gzipped as the api serves it.
func jsSize(dir string) (*JSSize, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.js"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no JavaScript in %s: run npm ci && npm run build in pkg/dashboard/web", dir)
	}
	js := &JSSize{Files: len(files)}
	var raw, gz, largest int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(b)
		_ = w.Close()
		raw, gz = raw+len(b), gz+buf.Len()
		if buf.Len() > largest {
			largest, js.Largest = buf.Len(), filepath.Base(f)
		}
	}
	js.KB, js.GzipKB, js.LargestGzipKB = round(float64(raw)/1000, 1), round(float64(gz)/1000, 1), round(float64(largest)/1000, 1)
	return js, nil
}

func printDashboard(w io.Writer, rep *DashboardReport) {
	fmt.Fprintf(w, "\ndashboard bench: %d executions in %d runs; load average %.2f before, %.2f after\n",
		rep.Seed.Executions, rep.Seed.Runs, rep.LoadAverage[0], rep.LoadAverage[1])
	if rep.JS != nil {
		fmt.Fprintf(w, "JavaScript: %d files, %.1f KB, %.1f KB gzipped (target < %d KB); largest %s %.1f KB gzipped\n",
			rep.JS.Files, rep.JS.KB, rep.JS.GzipKB, targetJSGzipKB, rep.JS.Largest, rep.JS.LargestGzipKB)
	}
	if rep.BrowserError != "" {
		fmt.Fprintf(w, "no page loads: %s\n", rep.BrowserError)
	}
	if len(rep.Pages) > 0 {
		fmt.Fprintf(w, "%-20s %10s %10s %6s %11s %6s %14s %10s  %s\n", "page", "median ms", "max ms", "target", "1st call ms", "calls", "slowest call", "server ms", "js KB")
		for _, p := range rep.Pages {
			verdict := "ok"
			if p.Error != "" || p.MaxMs >= targetPageMs {
				verdict = "OVER"
			}
			slow := PageCall{}
			for _, c := range p.Calls {
				if c.ServerMs > slow.ServerMs {
					slow = c
				}
			}
			fmt.Fprintf(w, "%-20s %10.0f %10.0f %6s %11.0f %6d %14s %10.1f  %.1f %s\n", p.Name, p.MedianMs, p.MaxMs, verdict,
				p.FirstCallMs, len(p.Calls), shortPath(slow.Path), slow.ServerMs, p.ScriptKB, p.Error)
		}
	}
}

// shortPath is a call's path without its query, for the table.
func shortPath(p string) string {
	p, _, _ = strings.Cut(p, "?")
	if len(p) > 14 {
		return "…" + p[len(p)-13:]
	}
	return p
}

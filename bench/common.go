package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

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
	// CPU is where CPU time went while the route was driven (warm-up
	// included); the analytics phase does not measure it.
	CPU *CPUUse `json:"cpu,omitempty"`
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

// drive sends tr's requests at perSecond for warmup (discarded), then for
// duration, and computes the figures from every measured request. target
// names the route in the report (its path and query).
func drive(name, target string, tr vegeta.Targeter, perSecond int, warmup, duration time.Duration) (Route, error) {
	rate := vegeta.Rate{Freq: perSecond, Per: time.Second}
	// An attacker attacks once; the two share a client, so the measured
	// requests reuse the warm-up's connections.
	client := loadClient()
	if warmup > 0 {
		for range vegeta.NewAttacker(vegeta.Client(client)).Attack(tr, rate, warmup, name+"-warmup") {
		}
	}
	return measure(name, target, perSecond, vegeta.NewAttacker(vegeta.Client(client)).Attack(tr, rate, duration, name))
}

// loadClient is the HTTP client of a load generator.
func loadClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// measure computes a route's figures from every result of an attack at
// perSecond, until the attack's channel closes.
func measure(name, target string, perSecond int, results <-chan *vegeta.Result) (Route, error) {
	var m vegeta.Metrics
	var lat []float64
	for res := range results {
		m.Add(res)
		lat = append(lat, float64(res.Latency)/float64(time.Millisecond))
	}
	m.Close()
	if len(lat) == 0 {
		return Route{}, fmt.Errorf("%s: no requests were made", name)
	}
	slices.Sort(lat)
	path := target
	if u, err := url.Parse(target); err == nil {
		path = u.Path
		if u.RawQuery != "" {
			path += "?" + u.RawQuery
		}
	}
	return Route{
		Name: name, Path: path, Requests: int(m.Requests), RatePerSecond: perSecond, Success: m.Success,
		StatusCodes: m.StatusCodes, Errors: m.Errors,
		P50Ms: round(quantile(lat, 0.50), 2), P95Ms: round(quantile(lat, 0.95), 2), P99Ms: round(quantile(lat, 0.99), 2),
		MaxMs: round(lat[len(lat)-1], 2), MeanMs: round(float64(m.Latencies.Mean)/float64(time.Millisecond), 2),
	}, nil
}

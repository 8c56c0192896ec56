package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	runs "github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
)

// stack is what one phase runs against: a fresh database (for the phases
// that need one), a Redis database number of its own, and the processes
// the phase starts, all torn down by close.
type stack struct {
	h        *harness
	phase    string
	database string // "" when the phase needs no database
	dbURL    string
	redisURL string
	rdb      *redis.Client
	release  func()
	key      string // SABE_ENCRYPTION_KEY of every process
	pool     *pgxpool.Pool
	procs    []*proc

	mockURL string
	api     *apiClient
	apiProc *proc
	// apiMetrics is the api's metrics listener (with the profiler under
	// --profile); "" when it printed none.
	apiMetrics string
}

// newStack reserves a Redis database and, when withDB, creates the
// database sabe_bench_<phase>.
func (h *harness) newStack(ctx context.Context, phase string, withDB bool) (s *stack, err error) {
	s = &stack{h: h, phase: phase}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	s.redisURL, s.release, err = reserveRedis(ctx, h.o.redisURL)
	if err != nil {
		return s, err
	}
	opts, err := redis.ParseURL(s.redisURL)
	if err != nil {
		return s, err
	}
	s.rdb = redis.NewClient(opts)
	if !withDB {
		return s, nil
	}
	s.database = "sabe_bench_" + phase
	if s.dbURL, err = recreateDatabase(ctx, h.o.adminURL, s.database); err != nil {
		s.database = ""
		return s, err
	}
	if s.key, err = secrets.GenerateEntry("bench"); err != nil {
		return s, err
	}
	return s, nil
}

// close stops the processes (workers first, so that nothing they do is
// cut short by a missing api or mock), drops the database unless --keep,
// and flushes and releases the Redis database. It is safe to call twice.
func (s *stack) close() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop()
	}
	s.procs = nil
	if s.pool != nil {
		s.pool.Close()
		s.pool = nil
	}
	if s.database != "" && !s.h.o.keep {
		if err := dropDatabase(context.Background(), s.h.o.adminURL, s.database); err != nil {
			fmt.Fprintf(s.h.stdout, "%s: %v\n", s.phase, err)
		}
		s.database = ""
	}
	if s.rdb != nil {
		s.rdb.Close()
		s.rdb = nil
	}
	if s.release != nil {
		s.release()
		s.release = nil
	}
}

// baseEnv is the environment every SABE process of the stack shares.
func (s *stack) baseEnv() map[string]string {
	return map[string]string{
		"SABE_DATABASE_URL": s.dbURL, "SABE_REDIS_URL": s.redisURL, "SABE_ENCRYPTION_KEY": s.key,
		"SABE_LOG_FORMAT": "text", "SABE_LOG_LEVEL": "info",
		// The mock provider listens on loopback.
		"SABE_ALLOW_PRIVATE_PROVIDERS": "true",
	}
}

// startMock starts mockllm answering after latency.
func (s *stack) startMock(ctx context.Context, latency time.Duration) error {
	bin, err := s.h.binaries(ctx)
	if err != nil {
		return err
	}
	p, err := s.start(ctx, "mockllm", filepath.Join(bin, "mockllm"), map[string]string{
		"SABE_MOCK_ADDR": "127.0.0.1:0", "SABE_MOCK_LATENCY": latency.String(), "SABE_MOCK_SEED": "1",
	})
	if err != nil {
		return err
	}
	u, err := p.waitFor(ctx, "mockllm listening on ", 30*time.Second)
	if err != nil {
		return err
	}
	s.mockURL = strings.TrimSpace(u)
	return nil
}

// startAPI starts the api process, which migrates the database, and
// makes an admin token for the harness. The per-token rate limit and
// daily unit cap are off: the bench measures the system, not its quotas.
func (s *stack) startAPI(ctx context.Context) error {
	bin, err := s.h.binaries(ctx)
	if err != nil {
		return err
	}
	env := s.baseEnv()
	env["SABE_HTTP_ADDR"] = "127.0.0.1:0"
	env["SABE_METRICS_ADDR"] = "127.0.0.1:0"
	env["SABE_TOKEN_RATE_LIMIT"] = "0"
	env["SABE_MAX_UNITS_PER_TOKEN_DAY"] = "0"
	// The bench starts runs of one benchmark side by side.
	env["SABE_MAX_RUNS_IN_FLIGHT"] = "0"
	if s.h.o.profileDir != "" {
		env["SABE_PPROF"] = "true"
	}
	p, err := s.start(ctx, "api", filepath.Join(bin, "api"), env)
	if err != nil {
		return err
	}
	base, err := p.waitFor(ctx, "api listening on ", 120*time.Second)
	if err != nil {
		return err
	}
	s.apiProc = p
	if a, ok := p.line("metrics listening on http://"); ok {
		s.apiMetrics = strings.TrimSpace(a)
	}
	if s.pool, err = pgxpool.New(ctx, s.dbURL); err != nil {
		return err
	}
	token, _, err := store.New(s.pool, nil).CreateToken(ctx, "bench", []string{apitoken.ScopeAdmin}, nil)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	s.api = &apiClient{base: strings.TrimSpace(base), token: token, http: &http.Client{Timeout: 60 * time.Second}}
	return nil
}

// startWorker starts a worker process with the given concurrency and
// waits until it serves. Its metrics listener (and the profiler, with
// --profile) is on a free port; metricsAddr is "" when the worker did not
// say where.
func (s *stack) startWorker(ctx context.Context, name string, concurrency int) (p *proc, metricsAddr string, err error) {
	bin, err := s.h.binaries(ctx)
	if err != nil {
		return nil, "", err
	}
	env := s.baseEnv()
	env["SABE_WORKER_CONCURRENCY"] = strconv.Itoa(concurrency)
	env["SABE_METRICS_ADDR"] = "127.0.0.1:0"
	if s.h.o.profileDir != "" {
		env["SABE_PPROF"] = "true"
	}
	maps.Copy(env, s.h.o.workerEnv)
	if p, err = s.start(ctx, name, filepath.Join(bin, "worker"), env); err != nil {
		return nil, "", err
	}
	if _, err := p.waitFor(ctx, "worker started", 60*time.Second); err != nil {
		return nil, "", err
	}
	if a, ok := p.line("metrics listening on http://"); ok {
		metricsAddr = strings.TrimSpace(a)
	}
	return p, metricsAddr, nil
}

// start runs a process of the stack with env on top of this process's
// environment (less any SABE_* variable of the caller's, so that the
// stack is what the bench says it is), its output going to a log file.
func (s *stack) start(ctx context.Context, name, path string, env map[string]string, args ...string) (*proc, error) {
	logPath := filepath.Join(s.h.logDir, s.phase+"-"+name+".log")
	p, err := startProc(ctx, name, path, args, env, logPath)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	return p, nil
}

// proc is a child process whose output goes to a log file and is watched
// for the lines that say it is ready.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	out     *procLog
	done    chan struct{}
	err     error // how it ended, once done is closed
	once    sync.Once
}

func startProc(ctx context.Context, name, path string, args []string, env map[string]string, logPath string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SABE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &procLog{f: f, changed: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	// Interrupted, a child is asked to stop as it would be in production,
	// and killed if it has not within the delay.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 40 * time.Second
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.close()
		close(p.done)
	}()
	return p, nil
}

// pid is the process id, for /proc.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// waitFor waits for a line that contains marker and returns what follows
// it on that line; it fails when the process ends first or after timeout.
func (p *proc) waitFor(ctx context.Context, marker string, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		rest, ok, changed := p.out.find(marker)
		if ok {
			return rest, nil
		}
		select {
		case <-changed:
		case <-p.done:
			if rest, ok, _ := p.out.find(marker); ok {
				return rest, nil
			}
			return "", fmt.Errorf("%s exited (%v) before printing %q:\n%s", p.name, p.err, marker, p.out.tail())
		case <-deadline:
			return "", fmt.Errorf("%s did not print %q within %s:\n%s", p.name, marker, timeout, p.out.tail())
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// line is waitFor without waiting.
func (p *proc) line(marker string) (string, bool) {
	rest, ok, _ := p.out.find(marker)
	return rest, ok
}

// stop asks the process to stop (SIGTERM) and kills it after 40 s; it is
// safe to call twice.
func (p *proc) stop() {
	p.once.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(40 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// exited says whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// procLog writes a child's output to its log file and keeps its first
// lines (where the startup messages are) and its tail (for errors).
type procLog struct {
	mu      sync.Mutex
	f       *os.File
	partial []byte
	lines   []string
	last    []byte
	changed chan struct{}
}

const keptLines = 500

func (l *procLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_, _ = l.f.Write(b)
	}
	l.last = append(l.last, b...)
	if n := len(l.last); n > 8<<10 {
		l.last = l.last[n-8<<10:]
	}
	if len(l.lines) >= keptLines {
		return len(b), nil
	}
	l.partial = append(l.partial, b...)
	grew := false
	for len(l.lines) < keptLines {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		grew = true
	}
	if len(l.lines) >= keptLines {
		l.partial = nil
	}
	if grew {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(b), nil
}

// find looks for marker in the kept lines; changed is closed when more
// lines arrive.
func (l *procLog) find(marker string) (rest string, ok bool, changed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.lines {
		if _, after, found := strings.Cut(ln, marker); found {
			return after, true, l.changed
		}
	}
	return "", false, l.changed
}

func (l *procLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.last)
}

func (l *procLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// reserveRedis takes a Redis database number for a phase by the tests'
// own lock (pkg/testenv: the key sabe:testlock:db:N in database 0), so a
// bench and a test run on one server do not share a database. It counts
// down from 15 where the tests count up from 1, flushes the database
// before use, and release flushes it again and frees it.
func reserveRedis(ctx context.Context, baseURL string) (dbURL string, release func(), err error) {
	opts, err := redis.ParseURL(baseURL)
	if err != nil {
		return "", nil, fmt.Errorf("--redis-url: %w", err)
	}
	ctlOpts := *opts
	ctlOpts.DB = 0
	ctl := redis.NewClient(&ctlOpts)
	token := strconv.FormatInt(time.Now().UnixNano(), 36) + "-bench"
	deadline := time.Now().Add(2 * time.Minute)
	n := 0
	for n == 0 {
		for i := 15; i >= 1; i-- {
			ok, err := ctl.SetNX(ctx, lockKey(i), token, 30*time.Minute).Result()
			if err != nil {
				ctl.Close()
				return "", nil, fmt.Errorf("reserve a redis database: %w", err)
			}
			if ok {
				n = i
				break
			}
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			ctl.Close()
			return "", nil, errors.New("no free redis database in 1-15 for 2 minutes")
		}
		select {
		case <-ctx.Done():
			ctl.Close()
			return "", nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	dbOpts := *opts
	dbOpts.DB = n
	flush := func() error {
		c := redis.NewClient(&dbOpts)
		defer c.Close()
		return c.FlushDB(context.Background()).Err()
	}
	if err := flush(); err != nil {
		ctl.Del(context.Background(), lockKey(n))
		ctl.Close()
		return "", nil, fmt.Errorf("flush redis db %d: %w", n, err)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + strconv.Itoa(n)
	release = func() {
		_ = flush()
		ctl.Del(context.Background(), lockKey(n))
		ctl.Close()
	}
	return u.String(), release, nil
}

func lockKey(n int) string { return "sabe:testlock:db:" + strconv.Itoa(n) }

// apiClient drives the HTTP API as any user would.
type apiClient struct {
	base, token string
	http        *http.Client
}

func (c *apiClient) do(ctx context.Context, method, path, ctype string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *apiClient) json(ctx context.Context, method, path string, in, out any) error {
	if in == nil {
		return c.do(ctx, method, path, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, method, path, "application/json", bytes.NewReader(b), out)
}

// benchModels are the mock models a bench benchmark runs: four, of known
// accuracy, so that scoring has right and wrong answers to tell apart.
var benchModels = []string{"mock-perfect", "mock-strong", "mock-medium", "mock-weak"}

// fixture creates, through the API, the mock provider, models (the first
// `models` of benchModels), a suite of `questions` arithmetic questions
// scored numerically, and a benchmark of them with `samples` samples; it
// returns the benchmark's id.
func (s *stack) fixture(ctx context.Context, name string, models, questions, samples int) (string, error) {
	if models > len(benchModels) {
		return "", fmt.Errorf("at most %d models", len(benchModels))
	}
	var prov struct{ ID string }
	if err := s.api.json(ctx, http.MethodPost, "/v1/providers", map[string]any{
		"name": name + " mock", "kind": "openai", "base_url": s.mockURL + "/v1", "api_key": "bench",
	}, &prov); err != nil {
		return "", err
	}
	modelIDs := make([]string, models)
	for i := range models {
		var m struct{ ID string }
		if err := s.api.json(ctx, http.MethodPost, "/v1/models", map[string]any{
			"provider_id": prov.ID, "name": name + " " + benchModels[i], "provider_model_id": benchModels[i],
			"input_cost_per_mtok": 1, "output_cost_per_mtok": 2,
		}, &m); err != nil {
			return "", err
		}
		modelIDs[i] = m.ID
	}
	var suite struct{ ID string }
	if err := s.api.json(ctx, http.MethodPost, "/v1/suites", map[string]any{"name": name + " arithmetic"}, &suite); err != nil {
		return "", err
	}
	// Imports of at most 1,000 lines keep each body far under the api's
	// body limit.
	for first := 0; first < questions; first += 1000 {
		var jsonl bytes.Buffer
		for i := first; i < min(first+1000, questions); i++ {
			prompt, answer := mockllm.Question(i)
			line, _ := json.Marshal(map[string]any{
				"prompt": prompt, "category": []string{"addition", "subtraction", "multiplication"}[i%3],
				"expected_answer": strconv.FormatInt(answer, 10), "scoring": map[string]any{"method": "numeric"},
			})
			jsonl.Write(line)
			jsonl.WriteByte('\n')
		}
		if err := s.api.do(ctx, http.MethodPost, "/v1/suites/"+suite.ID+"/questions:import", "application/x-ndjson", &jsonl, nil); err != nil {
			return "", err
		}
	}
	var bench struct{ ID string }
	if err := s.api.json(ctx, http.MethodPost, "/v1/benchmarks", map[string]any{
		"name": name, "suite_ids": []string{suite.ID}, "model_ids": modelIDs,
		"config": map[string]any{"temperature": 0, "max_tokens": 64, "samples": samples, "system_prompt": "Answer with the number."},
	}, &bench); err != nil {
		return "", err
	}
	return bench.ID, nil
}

// runView is the part of a run the harness reads.
type runView struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Error      *string    `json:"error"`
	Progress   struct {
		Total, Succeeded, Failed, Cancelled, Skipped int
	} `json:"progress"`
}

func isFinal(status string) bool {
	switch status {
	case "completed", "partial", "failed", "cancelled":
		return true
	}
	return false
}

// RunTiming is one run from its trigger to its final status, split where
// the time goes: before the first unit, the units, and finalization.
type RunTiming struct {
	RunID  string `json:"run_id"`
	Status string `json:"status"`
	Units  int    `json:"units"`
	// Scored counts the executions stored with their evaluation.
	Scored int `json:"scored_executions"`
	Failed int `json:"failed_units"`
	// WallSeconds runs from just before POST /v1/benchmarks/{id}/runs to
	// the run's finished_at (both on this machine's clock).
	WallSeconds float64 `json:"wall_seconds"`
	// ToFirstUnitSeconds runs from the POST to the first execution's
	// start: the api, run:start being picked up, the first enqueues.
	ToFirstUnitSeconds float64 `json:"post_to_first_unit_seconds"`
	// UnitsSeconds runs from the first execution's start to the last
	// execution's end.
	UnitsSeconds float64 `json:"units_seconds"`
	// FinalizeSeconds runs from the last execution's end to finished_at:
	// run:finalize being enqueued and picked up, rankings and totals.
	FinalizeSeconds float64 `json:"last_unit_to_final_seconds"`
	// TaskAttempts counts every task the workers ran (units, run:start,
	// run:finalize, retries included) and FailedAttempts those whose
	// handler failed and were retried, from asynq's own counters; a unit
	// waiting on its provider is not a failure. FirstFailure is the first
	// "task failed" line of the workers' logs.
	TaskAttempts   int    `json:"task_attempts"`
	FailedAttempts int    `json:"failed_attempts"`
	FirstFailure   string `json:"first_failure,omitempty"`
	// CPU is where CPU time went from the trigger to the final status.
	CPU CPUUse `json:"cpu"`
}

// runAndWait starts a run of the benchmark through the API and polls it
// until its status is final, then reads from the database what was stored.
func (s *stack) runAndWait(ctx context.Context, benchID string, during func(runID string)) (RunTiming, error) {
	var r runView
	cpu0 := takeCPU()
	t0 := time.Now()
	if err := s.api.json(ctx, http.MethodPost, "/v1/benchmarks/"+benchID+"/runs", nil, &r); err != nil {
		return RunTiming{}, err
	}
	if during != nil {
		during(r.ID)
	}
	lastReport := time.Now()
	for !isFinal(r.Status) {
		if err := s.procsAlive(); err != nil {
			return RunTiming{}, err
		}
		select {
		case <-ctx.Done():
			return RunTiming{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if err := s.api.json(ctx, http.MethodGet, "/v1/runs/"+r.ID, nil, &r); err != nil {
			return RunTiming{}, err
		}
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			done := r.Progress.Succeeded + r.Progress.Failed + r.Progress.Cancelled + r.Progress.Skipped
			fmt.Fprintf(s.h.stdout, "  %s %d/%d units after %.0fs\n", r.Status, done, r.Progress.Total, time.Since(t0).Seconds())
		}
	}
	cpu := cpuUse(cpu0, takeCPU(), time.Since(t0).Seconds(), s.pids())
	if r.FinishedAt == nil {
		return RunTiming{}, fmt.Errorf("run %s is %s without finished_at", r.ID, r.Status)
	}
	t := RunTiming{RunID: r.ID, Status: r.Status, Units: r.Progress.Total, Failed: r.Progress.Failed,
		WallSeconds: round(r.FinishedAt.Sub(t0).Seconds(), 3), CPU: cpu}
	var first, last *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT min(started_at), max(finished_at) FROM executions WHERE run_id = $1`, r.ID).Scan(&first, &last); err != nil {
		return t, fmt.Errorf("read executions: %w", err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM evaluations WHERE run_id = $1`, r.ID).Scan(&t.Scored); err != nil {
		return t, fmt.Errorf("read evaluations: %w", err)
	}
	var err error
	if t.TaskAttempts, t.FailedAttempts, err = s.asynqCounts(ctx); err != nil {
		return t, err
	}
	if t.FailedAttempts > 0 {
		t.FirstFailure = s.firstLogLine(`msg="task failed"`)
	}
	if t.FailedAttempts > 0 {
		fmt.Fprintf(s.h.stdout, "  %d task attempts failed and were retried; the first: %s\n", t.FailedAttempts, t.FirstFailure)
	}
	if first != nil && last != nil {
		t.ToFirstUnitSeconds = round(first.Sub(t0).Seconds(), 3)
		t.UnitsSeconds = round(last.Sub(*first).Seconds(), 3)
		t.FinalizeSeconds = round(r.FinishedAt.Sub(*last).Seconds(), 3)
	}
	if r.Status != "completed" {
		msg := ""
		if r.Error != nil {
			msg = ": " + *r.Error
		}
		return t, fmt.Errorf("run %s ended %s%s", r.ID, r.Status, msg)
	}
	return t, nil
}

// asynqCounts sums asynq's cumulative processed and failed counters over
// SABE's queues.
func (s *stack) asynqCounts(ctx context.Context) (processed, failed int, err error) {
	for q := range runs.Queues() {
		for key, n := range map[string]*int{"asynq:{" + q + "}:processed": &processed, "asynq:{" + q + "}:failed": &failed} {
			v, err := s.rdb.Get(ctx, key).Int()
			if err != nil && !errors.Is(err, redis.Nil) {
				return 0, 0, err
			}
			*n += v
		}
	}
	return processed, failed, nil
}

// firstLogLine is the first line of a worker's log that contains marker,
// cut to 500 bytes.
func (s *stack) firstLogLine(marker string) string {
	for _, p := range s.procs {
		if !strings.HasPrefix(p.name, "worker") {
			continue
		}
		b, err := os.ReadFile(p.logPath)
		if err != nil {
			continue
		}
		for _, ln := range strings.Split(string(b), "\n") {
			if strings.Contains(ln, marker) {
				if len(ln) > 500 {
					ln = ln[:500]
				}
				return p.name + ": " + ln
			}
		}
	}
	return ""
}

// pids names the stack's processes by pid, for cpuUse.
func (s *stack) pids() map[int]string {
	m := make(map[int]string, len(s.procs))
	for _, p := range s.procs {
		m[p.pid()] = p.name
	}
	return m
}

// procsAlive fails when a process of the stack has died.
func (s *stack) procsAlive() error {
	for _, p := range s.procs {
		if ended, err := p.exited(); ended {
			return fmt.Errorf("%s exited (%v):\n%s", p.name, err, p.out.tail())
		}
	}
	return nil
}

// memStatus reads a process's resident set (VmRSS) and its peak (VmHWM)
// from /proc, in bytes.
func memStatus(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	return parseMemStatus(string(b))
}

// parseMemStatus reads VmRSS and VmHWM ("VmHWM:   123456 kB") from the
// text of /proc/<pid>/status.
func parseMemStatus(status string) (rss, hwm int64, err error) {
	var found int
	for _, ln := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(ln, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("unexpected %s line %q", k, ln)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("unexpected %s line %q", k, ln)
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
		found++
	}
	if found != 2 {
		return 0, 0, errors.New("no VmRSS and VmHWM lines")
	}
	return rss, hwm, nil
}

// fetchProfile saves a pprof profile from a process's metrics listener
// (path such as /debug/pprof/profile?seconds=10) into file.
func fetchProfile(ctx context.Context, addr, path, file string) error {
	b, err := fetchInternal(ctx, addr, path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// fetchInternal GETs path from a process's internal metrics listener.
func fetchInternal(ctx context.Context, addr, path string) ([]byte, error) {
	if addr == "" {
		return nil, errors.New("the process serves no metrics listener")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode == http.StatusNotFound && strings.HasPrefix(path, "/debug/pprof") {
			return nil, fmt.Errorf("%s: 404: the process does not serve pprof (SABE_PPROF)", path)
		}
		return nil, fmt.Errorf("%s: status %d: %s", path, resp.StatusCode, b)
	}
	return io.ReadAll(resp.Body)
}

// RecorderFigures are the workers' recorder batches over a run, read from
// their /metrics (sabe_record_batch_size, sabe_record_batch_duration_seconds).
type RecorderFigures struct {
	Batches     int64   `json:"batches"`
	MeanBatch   float64 `json:"mean_batch_size"`
	MeanWriteMs float64 `json:"mean_batch_write_ms"`
}

// recorderFigures sums the recorder histograms of the workers at addrs.
func recorderFigures(ctx context.Context, addrs []string) (RecorderFigures, error) {
	var rows, batches int64
	var seconds float64
	for _, addr := range addrs {
		b, err := fetchInternal(ctx, addr, "/metrics")
		if err != nil {
			return RecorderFigures{}, err
		}
		for line := range strings.Lines(string(b)) {
			name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
			if !ok {
				continue
			}
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				continue
			}
			switch name {
			case "sabe_record_batch_size_sum":
				rows += int64(v)
			case "sabe_record_batch_size_count":
				batches += int64(v)
			case "sabe_record_batch_duration_seconds_sum":
				seconds += v
			}
		}
	}
	f := RecorderFigures{Batches: batches}
	if batches > 0 {
		f.MeanBatch = round(float64(rows)/float64(batches), 2)
		f.MeanWriteMs = round(seconds*1000/float64(batches), 2)
	}
	return f, nil
}

// stopProcs stops the stack's processes, workers first; the database
// and Redis stay.
func (s *stack) stopProcs() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop()
	}
}

// pgTransactions is the database's committed and rolled back
// transactions. PostgreSQL counts a backend's transactions when it
// reports its statistics (at most once a second while busy, and when it
// exits), so a count read after the processes stopped is complete.
func (s *stack) pgTransactions(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()`).Scan(&n)
	return n, err
}

// redisCommands reads INFO commandstats: calls per command, for the whole
// server.
func redisCommands(ctx context.Context, rdb *redis.Client) (map[string]int64, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, err
	}
	return parseCommandStats(info), nil
}

// parseCommandStats reads "cmdstat_evalsha:calls=12,usec=..." lines.
func parseCommandStats(info string) map[string]int64 {
	m := map[string]int64{}
	for _, ln := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(ln), ":")
		cmd, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				m[cmd] = n
			}
		}
	}
	return m
}

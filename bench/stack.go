package main

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
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
	// api calls the api process with apiToken, an admin token.
	api      *client.Client
	apiToken string
	apiProc  *proc
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
		// The bigrun phase's run of 1,000,000 units is over the default
		// cap; api and worker both apply it, and the bench measures the
		// system, not its quotas (this is the most it accepts).
		"SABE_MAX_RUN_UNITS": "100000000",
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
	// The dashboard phase logs in once per page load (a new browser each
	// time): well over the default 10 logins a minute once pages are fast.
	env["SABE_LOGIN_RATE_LIMIT"] = "1000000"
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
	s.api, s.apiToken = client.New(strings.TrimSpace(base), token, client.WithTimeout(60*time.Second)), token
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

// stopProcs stops the stack's processes, workers first; the database
// and Redis stay.
func (s *stack) stopProcs() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop()
	}
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

// reserveRedis takes a Redis database number for a phase by the tests'
// own lock (testenv.ReserveRedisDB), counting down from 15 where the
// tests count up from 1; release flushes it and frees it.
func reserveRedis(ctx context.Context, baseURL string) (dbURL string, release func(), err error) {
	dbURL, release, err = testenv.ReserveRedisDB(ctx, baseURL, true, 30*time.Minute)
	if err != nil {
		return "", nil, fmt.Errorf("--redis-url: %w", err)
	}
	return dbURL, release, nil
}

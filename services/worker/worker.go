// Package worker wires the worker process: an asynq server that runs
// SABE's tasks (run fan-out, provider calls and scoring, finalization),
// and the maintenance loop (reconciler, retention). Any number of workers
// share the queues.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/command"
	"github.com/sabe-dev/sabe/pkg/envconf"
	"github.com/sabe-dev/sabe/pkg/logging"
	"github.com/sabe-dev/sabe/pkg/maintenance"
	"github.com/sabe-dev/sabe/pkg/metrics"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/redisconn"
	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
)

// DefaultMetricsAddr is where a worker serves /metrics unless
// SABE_METRICS_ADDR says otherwise: loopback only, since metrics are for
// the operator's scraper, not the public.
const DefaultMetricsAddr = "127.0.0.1:9090"

// Config is the worker's configuration, read from the environment.
type Config struct {
	DatabaseURL string
	RedisURL    string
	Keyring     *secrets.Keyring
	Concurrency int
	// Limits are the checks every run passes at creation: the schedule
	// tick runs on the workers and creates runs, so the worker reads the
	// same variables as the api (store.ReadRunLimits).
	Limits store.RunLimits
	// Fetchers is how many asynq servers (fetch loops) share the worker's
	// concurrency; at most Concurrency.
	Fetchers int
	// RecordWriters and RecordMaxBatch shape the recorder: how many
	// batches of executions may be in flight at once, and how many
	// executions one batch takes at most.
	RecordWriters, RecordMaxBatch int
	// RecordLinger is how long a writer with a partial batch waits for
	// more executions (0: not at all).
	RecordLinger time.Duration
	// DatabaseMaxConns bounds the worker's PostgreSQL pool: units are
	// written in batches by a few recorder writers, and PostgreSQL's
	// default max_connections (100) is shared by the whole fleet.
	DatabaseMaxConns int
	// TaskCheckInterval is how long an idle worker waits before it looks
	// for new tasks again (asynq's default is 1 s, which a run's start and
	// its finalization each used to wait out).
	TaskCheckInterval     time.Duration
	AllowPrivateProviders bool
	// ProviderAllow lists hosts and CIDRs let through the address guard
	// (SABE_PROVIDER_ALLOW).
	ProviderAllow    []string
	ProviderTimeout  time.Duration
	IdleTimeout      time.Duration
	MaxResponseBytes int64
	MaxRetry         int
	RetryBaseDelay   time.Duration
	// BreakerFailures consecutive failed calls in one worker open a
	// provider's circuit for the whole fleet for BreakerOpenTimeout.
	BreakerFailures    int
	BreakerOpenTimeout time.Duration
	// BreakerMaxWait is how long a unit waits on a provider's open circuit,
	// counted from the outage's start, before it fails with the provider's
	// last error (SABE_BREAKER_MAX_WAIT): a provider down for good ends its
	// runs in bounded time.
	BreakerMaxWait time.Duration
	// MetricsAddr is the internal listener for /metrics; empty when
	// SABE_METRICS_ADDR is "off".
	MetricsAddr string
	// Pprof adds Go's profiler under /debug/pprof/ on the metrics
	// listener (SABE_PPROF).
	Pprof           bool
	ShutdownTimeout time.Duration
	// Maintenance: the reconciler's interval and stall time, and the
	// retention of raw executions (0 keeps them), its batch and interval.
	ReconcileInterval time.Duration
	ReconcileStall    time.Duration
	Retention         time.Duration
	RetentionBatch    int
	RetentionInterval time.Duration
	// AuditRetention is how long audit rows are kept (0 keeps them).
	AuditRetention      time.Duration
	LogLevel, LogFormat string

	// metricsDefault says MetricsAddr was not set explicitly: a busy
	// default port (a second worker on one host) costs the metrics, not
	// the worker.
	metricsDefault bool
}

// LoadConfig reads the worker's configuration from getenv and validates it.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envconf.New(getenv)
	c := Config{
		DatabaseURL:           r.String("SABE_DATABASE_URL", store.DefaultURL),
		RedisURL:              r.String("SABE_REDIS_URL", redisconn.DefaultURL),
		Concurrency:           r.Int("SABE_WORKER_CONCURRENCY", 100, 1, 10000),
		Limits:                store.ReadRunLimits(r),
		DatabaseMaxConns:      r.Int("SABE_DATABASE_MAX_CONNS", 20, 1, 1000),
		Fetchers:              r.Int("SABE_WORKER_FETCHERS", 4, 1, 16),
		RecordWriters:         r.Int("SABE_RECORD_WRITERS", 2, 1, 64),
		RecordMaxBatch:        r.Int("SABE_RECORD_MAX_BATCH", 64, 1, 1000),
		RecordLinger:          r.Duration("SABE_RECORD_LINGER", 2*time.Millisecond, 0, time.Second),
		TaskCheckInterval:     r.Duration("SABE_TASK_CHECK_INTERVAL", 100*time.Millisecond, 10*time.Millisecond, 10*time.Second),
		AllowPrivateProviders: r.Bool("SABE_ALLOW_PRIVATE_PROVIDERS", false),
		Pprof:                 r.Bool("SABE_PPROF", false),
		ProviderTimeout:       r.Duration("SABE_PROVIDER_TIMEOUT", 120*time.Second, time.Second, time.Hour),
		IdleTimeout:           r.Duration("SABE_PROVIDER_IDLE_TIMEOUT", 60*time.Second, 100*time.Millisecond, time.Hour),
		MaxResponseBytes:      int64(r.Int("SABE_PROVIDER_MAX_RESPONSE_BYTES", 1<<20, 1024, 64<<20)),
		MaxRetry:              r.Int("SABE_EXECUTION_MAX_RETRY", 5, 0, 20),
		RetryBaseDelay:        r.Duration("SABE_RETRY_BASE_DELAY", time.Second, time.Millisecond, time.Hour),
		BreakerFailures:       r.Int("SABE_BREAKER_FAILURES", 5, 1, 1000),
		BreakerOpenTimeout:    r.Duration("SABE_BREAKER_OPEN_TIMEOUT", 30*time.Second, 100*time.Millisecond, 24*time.Hour),
		BreakerMaxWait:        r.Duration("SABE_BREAKER_MAX_WAIT", run.DefaultBreakerMaxWait, 100*time.Millisecond, 7*24*time.Hour),
		MetricsAddr:           r.String("SABE_METRICS_ADDR", DefaultMetricsAddr),
		ShutdownTimeout:       r.Duration("SABE_SHUTDOWN_TIMEOUT", 30*time.Second, time.Second, time.Hour),
		ReconcileInterval:     r.Duration("SABE_RECONCILE_INTERVAL", 30*time.Second, 100*time.Millisecond, time.Hour),
		ReconcileStall:        r.Duration("SABE_RECONCILE_STALL", 2*time.Minute, 100*time.Millisecond, 24*time.Hour),
		Retention:             r.Duration("SABE_RETENTION", 0, 0, 100*365*24*time.Hour),
		RetentionBatch:        r.Int("SABE_RETENTION_BATCH", 5000, 1, 1000000),
		RetentionInterval:     r.Duration("SABE_RETENTION_INTERVAL", time.Hour, 100*time.Millisecond, 7*24*time.Hour),
		AuditRetention:        r.Duration("SABE_AUDIT_RETENTION", 8760*time.Hour, 0, 100*365*24*time.Hour),
		LogLevel:              r.String("SABE_LOG_LEVEL", "info"),
		LogFormat:             r.String("SABE_LOG_FORMAT", "json"),
	}
	allow, err := provider.ParseAllow(r.String("SABE_PROVIDER_ALLOW", ""))
	if err != nil {
		r.Fail("SABE_PROVIDER_ALLOW", "%v", err)
	}
	c.ProviderAllow = allow
	c.metricsDefault = strings.TrimSpace(getenv("SABE_METRICS_ADDR")) == ""
	switch {
	case strings.EqualFold(c.MetricsAddr, "off"):
		c.MetricsAddr = ""
	default:
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			r.Fail("SABE_METRICS_ADDR", "must be host:port (port 0 picks one) or off, got %q", c.MetricsAddr)
		}
	}
	c.Fetchers = min(c.Fetchers, c.Concurrency)
	if c.Retention > 0 && c.Retention < MinRetention {
		// The monthly rollups are recomputed from the raw executions while
		// their month is open; raw rows must outlive the longest month.
		r.Fail("SABE_RETENTION", "must be 0 (keep) or at least %s (35 days) so that monthly rollups are complete before raw rows go, got %s",
			MinRetention, c.Retention)
	}
	c.Keyring = secrets.FromEnv(r)
	return c, r.Err()
}

// MinRetention is the shortest SABE_RETENTION other than 0.
const MinRetention = 35 * 24 * time.Hour

// Usage is what `worker --help` prints.
const Usage = `usage: worker

Runs a SABE worker: run fan-out, provider calls, scoring, finalization and
maintenance; any number share the queues. It takes no flags: it is
configured with SABE_* environment variables (README: Configuration).
SIGINT or SIGTERM stops it cleanly (exit 0).`

// Run starts a worker and serves until ctx is cancelled; then it stops
// taking new tasks and lets running ones finish within the shutdown
// timeout (asynq re-queues the rest).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if help, err := command.NoArgs("worker", Usage, args, stdout); help || err != nil {
		return err
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return fmt.Errorf("worker config: %w", err)
	}
	log, err := logging.New(stdout, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	log = log.With("process", "worker")

	pool, err := store.Open(ctx, cfg.DatabaseURL, int32(cfg.DatabaseMaxConns))
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.CheckSchema(ctx, pool); err != nil {
		return err
	}
	// A handler holds a Redis connection only for a command's round trip,
	// so a few dozen serve hundreds of handlers; asynq's own loops take a
	// few more.
	rdb, err := redisconn.Open(ctx, cfg.RedisURL, min(cfg.Concurrency+16, 64))
	if err != nil {
		return err
	}
	defer rdb.Close()

	st := store.New(pool, cfg.Keyring).WithRunLimits(cfg.Limits)
	// Headers stored before their values were sealed (migration 00011)
	// are sealed now, by whichever process starts first with the keyring.
	if n, err := st.SealPlainHeaders(audit.WithActor(ctx, audit.Actor{TokenName: "worker"}), store.DefaultSealBatch); err != nil {
		return err
	} else if n > 0 {
		log.Info("provider headers sealed under the primary key", "providers", n)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	m := metrics.New()
	// Units are recorded in batches (one round trip and one commit for
	// many), closed after the servers have stopped and before the pool.
	recorder := store.NewRecorder(st, store.RecorderOptions{
		Writers: cfg.RecordWriters, MaxBatch: cfg.RecordMaxBatch, Linger: cfg.RecordLinger, OnBatch: m.RecordBatch,
	})
	defer recorder.Close()
	fleet := resilience.NewGuard(rdb, resilience.Config{
		Failures: uint32(cfg.BreakerFailures), OpenTimeout: cfg.BreakerOpenTimeout, Log: log, Observer: m,
	})
	if err := fleet.Start(ctx); err != nil {
		return err
	}
	defer fleet.Stop()
	httpClient := provider.NewHTTPClient(provider.HTTPOptions{AllowPrivate: cfg.AllowPrivateProviders, Allow: cfg.ProviderAllow})
	clients := provider.NewClients(provider.ClientOptions{
		HTTPClient: httpClient, Timeout: cfg.ProviderTimeout, IdleTimeout: cfg.IdleTimeout, MaxResponseBytes: cfg.MaxResponseBytes,
	})
	tracker := run.NewTracker(rdb)
	handlers := run.NewHandlers(run.Deps{
		Store: recorder, Queue: client, Tracker: tracker, Clients: clients, Fleet: fleet, Redis: rdb, Metrics: m, Log: log,
	}, run.Config{
		CallTimeout: cfg.ProviderTimeout, IdleTimeout: cfg.IdleTimeout, MaxRetry: cfg.MaxRetry, RetryBaseDelay: cfg.RetryBaseDelay,
		BreakerMaxWait: cfg.BreakerMaxWait,
	})
	if err := handlers.Start(ctx); err != nil {
		return err
	}
	defer handlers.Stop()

	if cfg.MetricsAddr != "" {
		stop, err := metrics.Serve(cfg.MetricsAddr, cfg.metricsDefault, m.Handler(), log, stdout, metrics.Profiling(cfg.Pprof))
		if err != nil {
			return err
		}
		defer stop()
	}

	config := asynq.Config{
		Concurrency:    cfg.Concurrency,
		Queues:         run.Queues(),
		RetryDelayFunc: handlers.RetryDelay,
		// A unit waiting for its provider has not failed: its retries are
		// kept for real failures.
		IsFailure: run.IsFailure,
		// Waiting units come back at the half-open time, the end of a
		// pause or a limit's wait; asynq's default 5 s check would add up
		// to that much on top.
		DelayedTaskCheckInterval: time.Second,
		TaskCheckInterval:        cfg.TaskCheckInterval,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		Logger:                   logging.Asynq(log),
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			var we *resilience.WaitError
			if errors.As(err, &we) {
				log.Debug("task waits for its provider", "type", t.Type(), "reason", we.Reason, "until", we.Until)
				return
			}
			log.Warn("task failed", "type", t.Type(), "err", err)
		}),
	}
	mux := asynq.NewServeMux()
	handlers.Register(mux)
	schedule.NewTicker(st, client, run.NewStartTask, log, cfg.Limits.MinScheduleInterval).Register(mux)
	// asynq fetches one task at a time per server, trying the queues in
	// weighted order; with hundreds of handlers one fetch loop cannot keep
	// them busy when units are short. Several servers in one process share
	// its handlers, pools and concurrency: more fetch loops, same work.
	servers := make([]*asynq.Server, cfg.Fetchers)
	for i := range servers {
		c := config
		c.Concurrency = cfg.Concurrency / cfg.Fetchers
		if i < cfg.Concurrency%cfg.Fetchers {
			c.Concurrency++
		}
		servers[i] = asynq.NewServerFromRedisClient(rdb, c)
	}
	shutdown := func() {
		var wg sync.WaitGroup
		for _, srv := range servers {
			wg.Go(srv.Shutdown)
		}
		wg.Wait()
	}
	for i, srv := range servers {
		if err := srv.Start(mux); err != nil {
			for _, started := range servers[:i] {
				started.Shutdown()
			}
			return fmt.Errorf("start worker: %w", err)
		}
	}
	// The reconciler restores work Redis lost and finishes runs that would
	// otherwise hang; one worker of the fleet at a time makes its pass.
	rec := maintenance.New(maintenance.Deps{Store: st, Redis: rdb, Queue: client, Tracker: tracker, Log: log}, maintenance.Options{
		Interval: cfg.ReconcileInterval, Stall: cfg.ReconcileStall,
		Retention: cfg.Retention, RetentionBatch: cfg.RetentionBatch, RetentionInterval: cfg.RetentionInterval,
		AuditRetention: cfg.AuditRetention,
	})
	if err := rec.Start(ctx); err != nil {
		shutdown()
		return err
	}
	log.Info("worker started", "concurrency", cfg.Concurrency, "fetchers", cfg.Fetchers)
	<-ctx.Done()
	// No new work: the reconciler stops first, then asynq stops fetching
	// and lets running tasks finish within the shutdown timeout.
	rec.Stop()
	shutdown()
	log.Info("worker stopped")
	return nil
}

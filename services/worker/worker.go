// Package worker wires the worker process: an asynq server that runs
// SABE's tasks (run fan-out, provider calls and scoring, finalization),
// and the maintenance loop (reconciler, retention). Any number of workers
// share the queues.
package worker

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/internal/logging"
	"github.com/sabe-dev/sabe/internal/metrics"
	"github.com/sabe-dev/sabe/internal/redisconn"
	"github.com/sabe-dev/sabe/internal/tracing"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/maintenance"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/taskserver"
)

// Config is the worker's configuration, read from the environment.
type Config struct {
	Database    store.Database
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
	// ControlConcurrency and NotifyConcurrency are the handlers of the
	// servers of the control queue and of webhook deliveries, on top of
	// Concurrency (see taskserver.ServerConfig).
	ControlConcurrency, NotifyConcurrency int
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
	AuditRetention time.Duration
	// Webhooks: one attempt's timeout, how long a delivery is retried, the
	// first retry's delay, the consecutive failed attempts that disable a
	// webhook, where events link to, whether webhook URLs may reach
	// private addresses, and how long delivered events are kept.
	WebhookTimeout       time.Duration
	WebhookRetryFor      time.Duration
	WebhookBackoff       time.Duration
	WebhookDisableAfter  int
	PublicURL            string
	AllowPrivateWebhooks bool
	EventRetention       time.Duration
	LogLevel, LogFormat  string
	// Tracing is where spans go (README: Traces); no endpoint is off.
	Tracing tracing.Config

	// metricsDefault says MetricsAddr was not set explicitly: a busy
	// default port (a second worker on one host) costs the metrics, not
	// the worker.
	metricsDefault bool
}

// LoadConfig reads the worker's configuration from getenv and validates it.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envconf.New(getenv)
	c := Config{
		Database:              store.ReadDatabase(r),
		RedisURL:              redisconn.URL.Read(r),
		Concurrency:           r.Int("SABE_WORKER_CONCURRENCY", 100, 1, 10000),
		Limits:                store.ReadRunLimits(r),
		DatabaseMaxConns:      r.Int("SABE_DATABASE_MAX_CONNS", 20, 1, 1000),
		Fetchers:              r.Int("SABE_WORKER_FETCHERS", 4, 1, 16),
		ControlConcurrency:    r.Int("SABE_WORKER_CONTROL_CONCURRENCY", 8, 1, 1000),
		NotifyConcurrency:     r.Int("SABE_WORKER_NOTIFY_CONCURRENCY", 8, 1, 1000),
		RecordWriters:         r.Int("SABE_RECORD_WRITERS", 2, 1, 64),
		RecordMaxBatch:        r.Int("SABE_RECORD_MAX_BATCH", 64, 1, 1000),
		RecordLinger:          r.Duration("SABE_RECORD_LINGER", 2*time.Millisecond, 0, time.Second),
		TaskCheckInterval:     r.Duration("SABE_TASK_CHECK_INTERVAL", 100*time.Millisecond, 10*time.Millisecond, 10*time.Second),
		AllowPrivateProviders: envconf.AllowPrivateProviders.Read(r),
		Pprof:                 envconf.Pprof.Read(r),
		ProviderTimeout:       r.Duration("SABE_PROVIDER_TIMEOUT", 120*time.Second, time.Second, time.Hour),
		IdleTimeout:           r.Duration("SABE_PROVIDER_IDLE_TIMEOUT", 60*time.Second, 100*time.Millisecond, time.Hour),
		MaxResponseBytes:      int64(r.Int("SABE_PROVIDER_MAX_RESPONSE_BYTES", 1<<20, 1024, 64<<20)),
		MaxRetry:              r.Int("SABE_EXECUTION_MAX_RETRY", 5, 0, 20),
		RetryBaseDelay:        r.Duration("SABE_RETRY_BASE_DELAY", time.Second, time.Millisecond, time.Hour),
		BreakerFailures:       r.Int("SABE_BREAKER_FAILURES", 5, 1, 1000),
		BreakerOpenTimeout:    r.Duration("SABE_BREAKER_OPEN_TIMEOUT", 30*time.Second, 100*time.Millisecond, 24*time.Hour),
		BreakerMaxWait:        r.Duration("SABE_BREAKER_MAX_WAIT", run.DefaultBreakerMaxWait, 100*time.Millisecond, 7*24*time.Hour),
		ShutdownTimeout:       envconf.WorkerShutdownTimeout.Read(r),
		ReconcileInterval:     r.Duration("SABE_RECONCILE_INTERVAL", 30*time.Second, 100*time.Millisecond, time.Hour),
		ReconcileStall:        r.Duration("SABE_RECONCILE_STALL", 2*time.Minute, 100*time.Millisecond, 24*time.Hour),
		Retention:             r.Duration("SABE_RETENTION", 0, 0, 100*365*24*time.Hour),
		RetentionBatch:        r.Int("SABE_RETENTION_BATCH", 5000, 1, 1000000),
		RetentionInterval:     r.Duration("SABE_RETENTION_INTERVAL", time.Hour, 100*time.Millisecond, 7*24*time.Hour),
		AuditRetention:        r.Duration("SABE_AUDIT_RETENTION", 8760*time.Hour, 0, 100*365*24*time.Hour),
		// One attempt stays well inside the deliver task's 2-minute timeout.
		WebhookTimeout:       r.Duration("SABE_WEBHOOK_TIMEOUT", notify.DefaultTimeout, 100*time.Millisecond, time.Minute),
		WebhookRetryFor:      r.Duration("SABE_WEBHOOK_RETRY_FOR", notify.DefaultRetryFor, time.Second, 7*24*time.Hour),
		WebhookBackoff:       r.Duration("SABE_WEBHOOK_BACKOFF", notify.DefaultBackoff, 10*time.Millisecond, notify.MaxRetryDelay),
		WebhookDisableAfter:  r.Int("SABE_WEBHOOK_DISABLE_AFTER", notify.DefaultDisableAfter, 1, 100000),
		PublicURL:            envconf.PublicURL.Read(r),
		AllowPrivateWebhooks: envconf.AllowPrivateWebhooks.Read(r),
		EventRetention:       r.Duration("SABE_EVENT_RETENTION", 30*24*time.Hour, 0, 100*365*24*time.Hour),
		LogLevel:             envconf.LogLevel.Read(r),
		LogFormat:            envconf.LogFormat.Read(r),
	}
	allow, err := provider.ParseAllow(envconf.ProviderAllow.Read(r))
	if err != nil {
		r.Fail(envconf.ProviderAllow.Name, "%v", err)
	}
	c.ProviderAllow = allow
	var explicit bool
	c.MetricsAddr, explicit = envconf.WorkerMetricsAddr.Read(r)
	c.metricsDefault = !explicit
	c.Fetchers = min(c.Fetchers, c.Concurrency)
	if c.Retention > 0 && c.Retention < MinRetention {
		// The monthly rollups are recomputed from the raw executions while
		// their month is open; raw rows must outlive the longest month.
		r.Fail("SABE_RETENTION", "must be 0 (keep) or at least %s (35 days) so that monthly rollups are complete before raw rows go, got %s",
			MinRetention, c.Retention)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.Fail(envconf.PublicURL.Name, "must be an absolute http(s) URL such as https://sabe.example.com, got %q", c.PublicURL)
		}
	}
	c.Keyring = secrets.FromEnv(r)
	c.Tracing = tracing.ReadConfig(r)
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
	// Off without an OTLP endpoint; flushed last, after the last task.
	tr, err := tracing.Setup(ctx, cfg.Tracing, "sabe-worker")
	if err != nil {
		return err
	}
	defer tr.Close(log)

	pool, err := cfg.Database.Open(ctx, int32(cfg.DatabaseMaxConns))
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
	if cfg.MetricsAddr != "" {
		stop, err := metrics.Serve(cfg.MetricsAddr, cfg.metricsDefault, m.Handler(), log, stdout, metrics.Profiling(cfg.Pprof))
		if err != nil {
			return err
		}
		defer stop()
	}
	// Units are recorded in batches (one round trip and one commit for
	// many); the worker writes the last of them when it stops, before the
	// pool closes.
	w := taskserver.New(taskserver.Deps{Store: st, Redis: rdb, Queue: client, Metrics: m, Log: log, Keys: cfg.Keyring,
		Tracing: tr}, taskserver.Config{
		Servers: taskserver.ServerConfig{
			Concurrency: cfg.Concurrency, Fetchers: cfg.Fetchers, TaskCheckInterval: cfg.TaskCheckInterval,
			ControlConcurrency: cfg.ControlConcurrency, NotifyConcurrency: cfg.NotifyConcurrency,
			ShutdownTimeout: cfg.ShutdownTimeout,
		},
		Recorder: store.RecorderConfig{Writers: cfg.RecordWriters, MaxBatch: cfg.RecordMaxBatch, Linger: cfg.RecordLinger},
		Guard:    resilience.Config{Failures: uint32(cfg.BreakerFailures), OpenTimeout: cfg.BreakerOpenTimeout},
		Provider: provider.ClientConfig{
			Timeout: cfg.ProviderTimeout, IdleTimeout: cfg.IdleTimeout, MaxResponseBytes: cfg.MaxResponseBytes,
		},
		AllowPrivateProviders: cfg.AllowPrivateProviders, ProviderAllow: cfg.ProviderAllow,
		Run: run.Config{
			CallTimeout: cfg.ProviderTimeout, IdleTimeout: cfg.IdleTimeout, MaxRetry: cfg.MaxRetry, RetryBaseDelay: cfg.RetryBaseDelay,
			BreakerMaxWait: cfg.BreakerMaxWait,
		},
		MinScheduleInterval: cfg.Limits.MinScheduleInterval,
		Notify: notify.Config{
			Timeout: cfg.WebhookTimeout, RetryFor: cfg.WebhookRetryFor, Backoff: cfg.WebhookBackoff,
			DisableAfter: cfg.WebhookDisableAfter, PublicURL: cfg.PublicURL, AllowPrivate: cfg.AllowPrivateWebhooks,
		},
	})
	defer w.Stop() // safe before Start and twice: a failed start leaves no writers behind
	if err := w.Start(ctx); err != nil {
		return err
	}
	// The reconciler restores work Redis lost and finishes runs that would
	// otherwise hang; one worker of the fleet at a time makes its pass.
	rec := maintenance.New(maintenance.Deps{Store: st, Redis: rdb, Queue: client, Tracker: run.NewTracker(rdb), Log: log}, maintenance.Config{
		Interval: cfg.ReconcileInterval, Stall: cfg.ReconcileStall,
		Retention: cfg.Retention, RetentionBatch: cfg.RetentionBatch, RetentionInterval: cfg.RetentionInterval,
		AuditRetention: cfg.AuditRetention,
	})
	if err := rec.Start(ctx); err != nil {
		return err
	}
	// The sweep dispatches events and re-enqueues deliveries that Redis
	// lost; like the reconciler, one worker of the fleet sweeps at a time.
	sweep := notify.NewSweeper(st, rdb, client, log, notify.SweepConfig{Retention: cfg.EventRetention})
	if err := sweep.Start(ctx); err != nil {
		rec.Stop()
		return err
	}
	log.Info("worker started", "concurrency", cfg.Concurrency, "fetchers", cfg.Fetchers,
		"control_concurrency", cfg.ControlConcurrency, "notify_concurrency", cfg.NotifyConcurrency)
	<-ctx.Done()
	// No new work: the reconciler stops first, then asynq stops fetching
	// and lets running tasks finish within the shutdown timeout.
	sweep.Stop()
	rec.Stop()
	w.Stop()
	log.Info("worker stopped")
	return nil
}

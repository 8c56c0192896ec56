// Package api wires the API process: PostgreSQL (migrated at start unless
// told not to), Redis, the asynq client, and the HTTP server of
// pkg/httpapi with asynqmon at /monitoring. Any number of api processes can
// serve behind a load balancer; they share nothing but the databases.
package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	asynqmetrics "github.com/hibiken/asynq/x/metrics"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/internal/logging"
	"github.com/sabe-dev/sabe/internal/metrics"
	"github.com/sabe-dev/sabe/internal/redisconn"
	"github.com/sabe-dev/sabe/internal/tracing"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
)

// DefaultHTTPAddr is where the API listens unless SABE_HTTP_ADDR says
// otherwise: this machine only, so that nothing is exposed by accident.
const DefaultHTTPAddr = "127.0.0.1:8080"

// Timeouts of the HTTP server. A request body is at most 1 MiB and no
// response streams, so a minute is generous (longer when the provider
// timeout is); the header timeout stops slow-loris clients from holding
// connections.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Config is the API's configuration, read from the environment.
type Config struct {
	// Database is SABE_DATABASE_URL and, through a transaction pooler,
	// SABE_DATABASE_POOLER and SABE_DATABASE_DIRECT_URL.
	Database              store.Database
	RedisURL              string
	Keyring               *secrets.Keyring
	HTTPAddr              string
	AutoMigrate           bool
	AllowPrivateProviders bool
	// AllowPrivateWebhooks lets webhook URLs point at loopback, private,
	// link-local and metadata addresses (SABE_ALLOW_PRIVATE_WEBHOOKS).
	AllowPrivateWebhooks bool
	// Limits are the checks every run passes at creation (SABE_MAX_RUN_UNITS,
	// SABE_MAX_RUNS_IN_FLIGHT, SABE_MAX_UNITS_PER_TOKEN_DAY,
	// SABE_MAX_COST_USD_PER_TOKEN_DAY, SABE_MIN_SCHEDULE_INTERVAL).
	Limits              store.RunLimits
	CookieSecure        bool
	SessionTTL          time.Duration
	ShutdownTimeout     time.Duration
	LogLevel, LogFormat string
	// Tracing is where spans go (README: Traces); no endpoint is off.
	Tracing tracing.Config
	// ProviderAllow lists hosts and CIDRs let through the provider address
	// guard (SABE_PROVIDER_ALLOW), such as a self-hosted server at 10.0.0.5.
	ProviderAllow []string
	// ProviderTimeout bounds the provider calls the API makes itself: the
	// provider test and the remote model list (SABE_API_PROVIDER_TIMEOUT;
	// SABE_PROVIDER_TIMEOUT is the workers' benchmark calls).
	ProviderTimeout time.Duration
	// EventsInterval is how often each open run event stream reads its run
	// (SABE_EVENTS_INTERVAL); the clients themselves never poll.
	EventsInterval time.Duration
	// TokenRateLimit is each token's requests a minute across every
	// replica; 0 disables it (SABE_TOKEN_RATE_LIMIT).
	TokenRateLimit int
	// LoginRateLimit is each source address's login attempts a minute
	// across every replica; 0 disables it (SABE_LOGIN_RATE_LIMIT).
	LoginRateLimit int
	// AuthFailureLimit is each source address's failed authentications a
	// minute before it is refused with 429; 0 disables it
	// (SABE_AUTH_FAILURE_LIMIT).
	AuthFailureLimit int
	// CORSOrigins may call the API from a browser (SABE_CORS_ORIGINS);
	// none by default.
	CORSOrigins []string
	// TrustedProxies are the proxies whose forwarding headers are believed
	// (SABE_TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
	// MetricsAddr is the internal listener for /metrics; empty when
	// SABE_METRICS_ADDR is "off".
	MetricsAddr string
	// Pprof adds Go's profiler under /debug/pprof/ on the metrics
	// listener (SABE_PPROF).
	Pprof bool

	// metricsDefault says MetricsAddr was not set explicitly: a busy
	// default port is then a warning, not a failure.
	metricsDefault bool
}

// LoadConfig reads the API's configuration from getenv and validates it,
// reporting every bad variable by name at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envconf.New(getenv)
	c := Config{
		Database:              store.ReadDatabase(r),
		RedisURL:              redisconn.URL.Read(r),
		HTTPAddr:              r.String("SABE_HTTP_ADDR", DefaultHTTPAddr),
		AutoMigrate:           r.Bool("SABE_AUTO_MIGRATE", true),
		AllowPrivateProviders: envconf.AllowPrivateProviders.Read(r),
		AllowPrivateWebhooks:  envconf.AllowPrivateWebhooks.Read(r),
		Pprof:                 envconf.Pprof.Read(r),
		ProviderTimeout:       r.Duration("SABE_API_PROVIDER_TIMEOUT", httpapi.DefaultProviderTimeout, time.Second, 10*time.Minute),
		Limits:                store.ReadRunLimits(r),
		CookieSecure:          r.Bool("SABE_COOKIE_SECURE", false),
		SessionTTL:            r.Duration("SABE_SESSION_TTL", httpapi.DefaultSessionTTL, time.Minute, 30*24*time.Hour),
		EventsInterval:        r.Duration("SABE_EVENTS_INTERVAL", httpapi.DefaultEventsInterval, 50*time.Millisecond, time.Minute),
		ShutdownTimeout:       envconf.APIShutdownTimeout.Read(r),
		LogLevel:              envconf.LogLevel.Read(r),
		LogFormat:             envconf.LogFormat.Read(r),
		TokenRateLimit:        r.Int("SABE_TOKEN_RATE_LIMIT", httpapi.DefaultTokenRateLimit, 0, 1_000_000),
		LoginRateLimit:        r.Int("SABE_LOGIN_RATE_LIMIT", httpapi.DefaultLoginRateLimit, 0, 1_000_000),
		AuthFailureLimit:      r.Int("SABE_AUTH_FAILURE_LIMIT", httpapi.DefaultAuthFailureLimit, 0, 1_000_000),
	}
	var explicit bool
	c.MetricsAddr, explicit = envconf.APIMetricsAddr.Read(r)
	c.metricsDefault = !explicit
	origins, err := parseOrigins(r.String("SABE_CORS_ORIGINS", ""))
	if err != nil {
		r.Fail("SABE_CORS_ORIGINS", "%v", err)
	}
	c.CORSOrigins = origins
	proxies, err := httpapi.ParseTrustedProxies(r.String("SABE_TRUSTED_PROXIES", ""))
	if err != nil {
		r.Fail("SABE_TRUSTED_PROXIES", "%v", err)
	}
	c.TrustedProxies = proxies
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil || port == "" {
		r.Fail("SABE_HTTP_ADDR", "must be host:port (such as 127.0.0.1:8080 or :8080), got %q", c.HTTPAddr)
	}
	allow, err := provider.ParseAllow(envconf.ProviderAllow.Read(r))
	if err != nil {
		r.Fail(envconf.ProviderAllow.Name, "%v", err)
	}
	c.ProviderAllow = allow
	if _, err := c.Database.MigrationURL(); err != nil && c.AutoMigrate {
		r.Fail(store.DatabaseDirectURL.Name, "required with %s=%s unless SABE_AUTO_MIGRATE=false: migrations take a session lock (README: PostgreSQL through a pooler)",
			store.DatabasePooler.Name, store.PoolerTransaction)
	}
	c.Keyring = secrets.FromEnv(r)
	c.Tracing = tracing.ReadConfig(r)
	return c, r.Err()
}

// parseOrigins reads a comma-separated list of browser origins
// ("https://app.example.com,http://localhost:3000"). Only exact origins
// are accepted: no "*", no path, so that what is allowed is always spelt
// out.
func parseOrigins(list string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		u, err := url.Parse(part)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(u.Host, "*") {
			return nil, fmt.Errorf("%q is not an origin such as https://app.example.com", part)
		}
		out = append(out, u.Scheme+"://"+strings.ToLower(u.Host))
	}
	return out, nil
}

// Usage is what `api --help` prints.
const Usage = `usage: api

Serves SABE's HTTP API (/v1), the login page and the queue monitor
(/monitoring/). It takes no flags: it is configured with SABE_* environment
variables (README: Configuration). SIGINT or SIGTERM stops it cleanly (exit 0).`

// Run starts the API and serves until ctx is cancelled; then it stops
// accepting connections and lets requests in flight finish within the
// shutdown timeout. It prints "api listening on http://ADDR" once the
// port is open. It takes no arguments: everything is configured with
// SABE_* variables.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if help, err := command.NoArgs("api", Usage, args, stdout); help || err != nil {
		return err
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return fmt.Errorf("api config: %w", err)
	}
	return Serve(ctx, cfg, stdout, nil)
}

// Serve runs the API with cfg, for callers that build the configuration
// themselves (such as `sabe dev`, which runs every process in one). Once
// the listener is open it prints "api listening on http://ADDR" to stdout
// (after "metrics listening on http://ADDR" when /metrics is served) and
// calls ready, if not nil, with the address. It returns nil after a
// clean shutdown on ctx's cancellation.
func Serve(ctx context.Context, cfg Config, stdout io.Writer, ready func(addr string)) error {
	log, err := logging.New(stdout, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	log = log.With("process", "api")
	// Off without an OTLP endpoint; flushed last, after the server stops.
	tr, err := tracing.Setup(ctx, cfg.Tracing, "sabe-api")
	if err != nil {
		return err
	}
	defer tr.Close(log)

	if cfg.AutoMigrate {
		// Migrations take a session lock: they connect directly when the
		// pool goes through a transaction pooler.
		applied, err := cfg.Database.Migrate(ctx)
		if err != nil {
			return err
		}
		if len(applied) > 0 {
			log.Info("database migrated", "applied", applied)
		}
	}
	pool, err := cfg.Database.Open(ctx, 0)
	if err != nil {
		return err
	}
	defer pool.Close()
	if !cfg.AutoMigrate {
		if err := store.CheckSchema(ctx, pool); err != nil {
			return err
		}
	}

	rconn, err := redisconn.Parse(cfg.RedisURL)
	if err != nil {
		return err
	}
	rdb, err := rconn.Open(ctx, 0)
	if err != nil {
		return err
	}
	defer rdb.Close()
	// asynqmon opens and closes a connection of its own; it gets the same
	// settings as the shared one.
	monitorConn := rconn.Asynq(4)

	// The API calls providers itself only to test them and list their
	// models, through the same guarded client as the workers.
	providers := provider.NewClients(provider.ClientConfig{
		HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: cfg.AllowPrivateProviders, Allow: cfg.ProviderAllow}),
		Timeout:    cfg.ProviderTimeout,
	})

	st := store.New(pool, cfg.Keyring)
	// Headers stored before their values were sealed (migration 00011)
	// are sealed now, by whichever process starts first with the keyring.
	if n, err := st.SealPlainHeaders(audit.WithActor(ctx, audit.Actor{TokenName: "api"}), store.DefaultSealBatch); err != nil {
		return err
	} else if n > 0 {
		log.Info("provider headers sealed under the primary key", "providers", n)
	}
	// Authentication failures are written to the audit log in the
	// background, at most a few per source address a minute.
	recorder := audit.NewRecorder(st, log, audit.RecorderConfig{})
	if err := recorder.Start(ctx); err != nil {
		return err
	}
	defer recorder.Stop()
	var m *httpapi.Metrics
	if cfg.MetricsAddr != "" {
		m = httpapi.NewMetrics()
		// The queues' sizes and latency, from asynq's own exporter: one
		// place for dashboards and autoscalers to read them, since every
		// worker sees the same queues. Read from Redis at each scrape.
		m.Registry().MustRegister(asynqmetrics.NewQueueMetricsCollector(asynq.NewInspectorFromRedisClient(rdb)))
		stop, err := metrics.Serve(cfg.MetricsAddr, cfg.metricsDefault, m.Handler(), log, stdout, metrics.Profiling(cfg.Pprof))
		if err != nil {
			return err
		}
		defer stop()
	}

	srv, err := httpapi.New(httpapi.Deps{
		Store:        st,
		Queue:        asynq.NewClientFromRedisClient(rdb),
		Tracker:      run.NewTracker(rdb),
		Redis:        rdb,
		MonitorRedis: monitorConn,
		Providers:    providers,
		Log:          log,
		Audit:        recorder,
		Metrics:      m,
		Tracing:      tr,
		Config: httpapi.Config{
			RateLimit:             cfg.TokenRateLimit,
			LoginRateLimit:        cfg.LoginRateLimit,
			AuthFailureLimit:      cfg.AuthFailureLimit,
			CORSOrigins:           cfg.CORSOrigins,
			TrustedProxies:        cfg.TrustedProxies,
			Limits:                cfg.Limits,
			AllowPrivateProviders: cfg.AllowPrivateProviders,
			AllowPrivateWebhooks:  cfg.AllowPrivateWebhooks,
			ProviderAllow:         cfg.ProviderAllow,
			ProviderTimeout:       cfg.ProviderTimeout,
			CookieSecure:          cfg.CookieSecure,
			SessionTTL:            cfg.SessionTTL,
			EventsInterval:        cfg.EventsInterval,
		},
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			log.Warn("close api server", "err", err)
		}
	}()

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (SABE_HTTP_ADDR): %w", cfg.HTTPAddr, err)
	}
	// A provider test may take the whole provider timeout before it answers.
	responseTimeout := max(writeTimeout, cfg.ProviderTimeout+10*time.Second)
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      responseTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Run event streams never end by themselves; shutting down ends them
	// rather than waiting the whole shutdown timeout.
	hs.RegisterOnShutdown(srv.EndStreams)
	addr := ln.Addr().String()
	if _, err := fmt.Fprintf(stdout, "api listening on http://%s\n", addr); err != nil {
		_ = ln.Close()
		return fmt.Errorf("print address: %w", err)
	}
	if ready != nil {
		ready(addr)
	}

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve http on %s: %w", addr, err)
	case <-ctx.Done():
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("requests still running at the shutdown timeout; closing their connections", "err", err)
		_ = hs.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http on %s: %w", addr, err)
	}
	log.Info("api stopped")
	return nil
}

package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	units "github.com/labstack/gommon/bytes"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/tracing"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/dashboard"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// Defaults of Config.
const (
	DefaultSessionTTL    = time.Hour
	DefaultBodyLimit     = "1MiB"
	DefaultTokenCacheTTL = 5 * time.Second
	// DefaultTokenRateLimit is the requests a minute each token may make
	// (SABE_TOKEN_RATE_LIMIT).
	DefaultTokenRateLimit = 600
	// DefaultLoginRateLimit is the login attempts a minute each source
	// address may make (SABE_LOGIN_RATE_LIMIT).
	DefaultLoginRateLimit = 10
	// DefaultAuthFailureLimit is the failed authentications a minute each
	// source address may have before it is refused
	// (SABE_AUTH_FAILURE_LIMIT).
	DefaultAuthFailureLimit = 30
	// DefaultProviderTimeout bounds the provider calls the API makes itself
	// (POST /v1/providers/{id}/test, GET /v1/providers/{id}/remote-models).
	DefaultProviderTimeout = 30 * time.Second
)

// Config is the API's policy: limits and cookie settings.
type Config struct {
	// Limits are the checks every run passes at creation (see
	// store.RunLimits); benchmarks over Limits.MaxUnits are refused too,
	// and schedules more frequent than Limits.MinScheduleInterval. A zero
	// MaxUnits means store.DefaultMaxRunUnits; other zero fields disable
	// their check.
	Limits store.RunLimits
	// AllowPrivateProviders lets provider base URLs point at loopback and
	// private addresses (development, tests, self-hosted models).
	AllowPrivateProviders bool
	// ProviderAllow lists hosts and CIDRs that provider base URLs may point
	// at even though they are private (SABE_PROVIDER_ALLOW; see
	// provider.ParseAllow). It must match the guard of the Providers' HTTP
	// client.
	ProviderAllow []string
	// AllowPrivateWebhooks lets webhook URLs point at loopback, private,
	// link-local and metadata addresses (SABE_ALLOW_PRIVATE_WEBHOOKS). It
	// must match the policy of the workers that deliver.
	AllowPrivateWebhooks bool
	// CookieSecure marks the session cookie Secure; set it whenever the API
	// is served over HTTPS.
	CookieSecure bool
	// SessionTTL is how long a browser session lasts. Zero means
	// DefaultSessionTTL.
	SessionTTL time.Duration
	// BodyLimit bounds request bodies, in Echo's notation ("1MiB"; note
	// that "1M" means 10^6 bytes there). Empty means DefaultBodyLimit.
	BodyLimit string
	// TokenCacheTTL is how long a token lookup is reused before the
	// database is asked again, which is also how long a revoked token may
	// still work on each replica. Zero means DefaultTokenCacheTTL (5 s);
	// negative disables the cache.
	TokenCacheTTL time.Duration
	// RateLimit is how many requests a minute each token may make, counted
	// in Redis across every api replica; over it the answer is 429 with
	// Retry-After. Zero disables the limit.
	RateLimit int
	// LoginRateLimit is how many login attempts a minute each source
	// address may make (SABE_LOGIN_RATE_LIMIT), counted in Redis across
	// every api replica; over it /login answers 429 with Retry-After. Zero
	// disables the limit.
	LoginRateLimit int
	// AuthFailureLimit is how many failed authentications (401s, failed
	// logins) a minute each source address may have
	// (SABE_AUTH_FAILURE_LIMIT); past it the address gets 429 before its
	// credentials are checked, until its budget refills. Zero disables it.
	AuthFailureLimit int
	// CORSOrigins are the origins ("https://app.example.com") whose pages
	// may call the API from a browser. Empty means none: no response
	// carries a CORS header.
	CORSOrigins []string
	// TrustedProxies are the peers (see ParseTrustedProxies) whose
	// X-Forwarded-For, X-Real-IP and X-Forwarded-Proto headers are
	// believed: for the source address in the audit log and for HSTS.
	TrustedProxies []netip.Prefix
	// ProviderTimeout bounds each provider call the API makes on a
	// client's behalf (testing a provider, listing its models). Zero means
	// DefaultProviderTimeout.
	ProviderTimeout time.Duration
	// EventsInterval is how often each open run event stream (GET
	// /v1/runs/{id}/events) reads its run (SABE_EVENTS_INTERVAL). Zero
	// means DefaultEventsInterval.
	EventsInterval time.Duration
	// EventsKeepAlive is how often an idle run event stream sends a
	// comment. Zero means DefaultEventsKeepAlive.
	EventsKeepAlive time.Duration
	// ExportBatch is how many results an export of a run's results reads
	// per query. Zero means store.DefaultExportBatch; tests set it small to
	// see an export span several batches.
	ExportBatch int
}

func (c Config) withDefaults() Config {
	if c.Limits.MaxUnits <= 0 {
		c.Limits.MaxUnits = store.DefaultMaxRunUnits
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.BodyLimit == "" {
		c.BodyLimit = DefaultBodyLimit
	}
	if c.TokenCacheTTL == 0 {
		c.TokenCacheTTL = DefaultTokenCacheTTL
	}
	if c.ProviderTimeout <= 0 {
		c.ProviderTimeout = DefaultProviderTimeout
	}
	if c.EventsInterval <= 0 {
		c.EventsInterval = DefaultEventsInterval
	}
	if c.EventsKeepAlive <= 0 {
		c.EventsKeepAlive = DefaultEventsKeepAlive
	}
	return c
}

// Deps is what the API server works with. All fields are required unless
// they say otherwise.
type Deps struct {
	// Store is SABE's persistence.
	Store *store.Store
	// Queue enqueues tasks (an *asynq.Client).
	Queue run.Enqueuer
	// Tracker reads live run progress and raises cancel flags.
	Tracker *run.Tracker
	// Redis holds browser sessions, is pinged by /readyz and carries the
	// provider change announcements (run.ProviderChangedChannel).
	Redis redis.UniversalClient
	// MonitorRedis is the connection asynqmon opens for itself (it closes
	// what it opens, so it cannot share Redis).
	MonitorRedis asynq.RedisConnOpt
	// Providers are the clients the API calls providers with, by kind
	// ("openai", "anthropic", "google"): provider.NewClients over the
	// guarded HTTP client, so the API obeys the same address policy as the
	// workers.
	Providers map[catalog.ProviderKind]provider.Client
	// Log receives request errors and background failures.
	Log *slog.Logger
	// Audit records authentication and authorization failures. Optional:
	// when nil the server makes one over Store and runs it itself.
	Audit *audit.Recorder
	// Metrics observes every request. Optional: nil means no metrics.
	Metrics *Metrics
	// Config is the API's policy.
	Config Config
	// Tracing traces every request (a span named by its route), and the
	// runs they start; nil is off.
	Tracing *tracing.Tracing
}

// Server is SABE's HTTP API: the /v1 routes, health checks, the OpenAPI
// document, the login page, the dashboard at / and asynqmon at
// /monitoring, behind authentication and request validation.
type Server struct {
	store     *store.Store
	analytics *analytics.Service
	queue     run.Enqueuer
	tracker   *run.Tracker
	rdb       redis.UniversalClient
	providers map[catalog.ProviderKind]provider.Client
	log       *slog.Logger
	cfg       Config
	tokens    *tokenCache
	touches   *toucher
	sessions  *sessionStore
	monitor   *asynqmon.HTTPHandler
	audit     *audit.Recorder
	ownAudit  bool
	proxies   proxies
	limiter   *redis_rate.Limiter
	lists     *modelListGate
	streams   streamStop
	echo      *echo.Echo
}

// New builds the server from deps. Call Close when done with it.
func New(deps Deps) (*Server, error) {
	switch {
	case deps.Store == nil:
		return nil, errors.New("httpapi: Deps.Store is required")
	case deps.Queue == nil:
		return nil, errors.New("httpapi: Deps.Queue is required")
	case deps.Tracker == nil:
		return nil, errors.New("httpapi: Deps.Tracker is required")
	case deps.Redis == nil:
		return nil, errors.New("httpapi: Deps.Redis is required")
	case deps.MonitorRedis == nil:
		return nil, errors.New("httpapi: Deps.MonitorRedis is required")
	case len(deps.Providers) == 0:
		return nil, errors.New("httpapi: Deps.Providers is required")
	case deps.Log == nil:
		return nil, errors.New("httpapi: Deps.Log is required")
	}
	cfg := deps.Config.withDefaults()
	if _, err := units.Parse(cfg.BodyLimit); err != nil {
		return nil, fmt.Errorf("httpapi: body limit %q: %w", cfg.BodyLimit, err)
	}
	spec, err := Spec()
	if err != nil {
		return nil, err
	}
	validate, err := ValidateRequests(spec)
	if err != nil {
		return nil, err
	}
	board, err := dashboard.New()
	if err != nil {
		return nil, err
	}

	s := &Server{
		store:     deps.Store.WithRunLimits(cfg.Limits),
		analytics: analytics.NewService(deps.Store),
		queue:     deps.Queue,
		tracker:   deps.Tracker,
		rdb:       deps.Redis,
		providers: deps.Providers,
		log:       deps.Log,
		cfg:       cfg,
		tokens:    newTokenCache(deps.Store.TokenByHash, cfg.TokenCacheTTL),
		touches:   newToucher(deps.Store.TouchToken, deps.Log),
		sessions:  &sessionStore{rdb: deps.Redis, ttl: cfg.SessionTTL},
		audit:     deps.Audit,
		proxies:   proxies(cfg.TrustedProxies),
		limiter:   redis_rate.NewLimiter(deps.Redis),
		lists:     &modelListGate{rdb: deps.Redis, ttl: cfg.ProviderTimeout + 5*time.Second, log: deps.Log},
	}
	if s.audit == nil {
		s.audit = audit.NewRecorder(deps.Store, deps.Log, audit.RecorderConfig{})
		if err := s.audit.Start(context.Background()); err != nil {
			return nil, err
		}
		s.ownAudit = true
	}
	s.monitor = newMonitor(deps.MonitorRedis)
	csp, err := monitorCSP(s.monitor)
	if err != nil {
		s.closeOwned()
		return nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = ErrorHandler(deps.Log)
	// The order matters: the request id first so everything can log it,
	// panics turned into errors before metrics count the status, headers
	// and CORS on every answer (refusals included), CORS preflights
	// answered before authentication, the rate limit once the token is
	// known, and validation only for requests allowed in.
	e.Use(requestID)
	if deps.Tracing.Enabled() {
		e.Use(tracing.EchoMiddleware(deps.Tracing))
	}
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			deps.Log.ErrorContext(c.Request().Context(), "panic while serving a request",
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err, "stack", string(stack))
			return err
		},
	}))
	if deps.Metrics != nil {
		e.Use(deps.Metrics.middleware)
	}
	e.Use(s.securityHeaders)
	if len(cfg.CORSOrigins) > 0 {
		e.Use(cors(cfg.CORSOrigins))
	}
	e.Use(middleware.BodyLimit(cfg.BodyLimit))
	e.Use(s.authenticate)
	e.Use(s.rateLimit)
	e.Use(validate)
	e.Use(pagesAreGETOnly)

	oapi.RegisterHandlers(e, oapi.NewStrictHandler(&api{s}, []oapi.StrictMiddlewareFunc{withEchoContext}))
	s.mountMonitor(e, csp)
	mountDashboard(e, board)
	if err := checkScopes(e.Routes()); err != nil {
		s.closeOwned()
		return nil, err
	}
	s.echo = e
	return s, nil
}

// closeOwned releases what New made before it failed.
func (s *Server) closeOwned() {
	if s.ownAudit {
		s.audit.Stop()
	}
	_ = s.monitor.Close()
}

// Handler returns the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Close releases asynqmon's Redis connections and waits for background
// token bookkeeping (and the audit recorder, when the server made it) to
// finish. It is safe to call twice.
func (s *Server) Close() error {
	s.EndStreams()
	s.touches.close()
	if s.ownAudit {
		s.audit.Stop()
	}
	return s.monitor.Close()
}

// maxRequestIDLen bounds a request id taken from the client; it ends up in
// every log line of the request.
const maxRequestIDLen = 64

// requestID gives every request an id, echoed in X-Request-Id and logged
// with its errors. A well-formed id sent by the client (or a proxy in
// front) is kept so logs can be joined; anything else is replaced.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			var b [16]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// api implements the generated strict server interface; its methods are in
// the handlers_*.go files.
type api struct{ s *Server }

var _ oapi.StrictServerInterface = (*api)(nil)

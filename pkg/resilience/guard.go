package resilience

import (
	"context"
	crand "crypto/rand"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/sabe-dev/sabe/internal/redisconn"
)

// Config configures a Guard. Zero values take the defaults.
type Config struct {
	// Failures is how many consecutive failed calls in one process trip its
	// breaker, and with it the fleet's (default 5).
	Failures uint32
	// OpenTimeout is how long an open circuit refuses calls before it
	// half-opens and lets one probe through (default 30s).
	OpenTimeout time.Duration
	// SyncInterval is how often a process re-reads the shared state besides
	// the pushes it gets on StateChannel, so a lost message delays it at
	// most this long (default 500ms; at most 1s).
	SyncInterval time.Duration
	// MaxLocalWait is the longest a call waits in process on rate limits
	// and the concurrency cap before it gives up with a *WaitError so its
	// task is rescheduled (default 1s).
	MaxLocalWait time.Duration
	// Log receives breaker state changes; nil discards them.
	Log *slog.Logger
	// Observer hears state changes and limit waits, for metrics; nil for
	// none.
	Observer Observer
	// Fleet hears the fleet-wide circuit transitions this process makes
	// (for the provider.circuit_* events); nil for none.
	Fleet FleetObserver
	// Clock is the time the Guard decides by; nil means the wall clock.
	Clock Clock
}

const (
	// leaseGrace is added to a call's timeout for its concurrency lease and
	// probe lock, which outlive the call only when its worker died.
	leaseGrace = 10 * time.Second
	// defaultCallTimeout bounds a lease when Call.Timeout is zero.
	defaultCallTimeout = 2 * time.Minute
	// ioTimeout bounds the Redis writes done after a call, which must
	// happen even when the call's own context is gone.
	ioTimeout = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Failures == 0 {
		c.Failures = 5
	}
	if c.OpenTimeout <= 0 {
		c.OpenTimeout = 30 * time.Second
	}
	if c.SyncInterval <= 0 {
		c.SyncInterval = 500 * time.Millisecond
	}
	c.SyncInterval = min(c.SyncInterval, time.Second)
	if c.MaxLocalWait <= 0 {
		c.MaxLocalWait = time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Clock == nil {
		c.Clock = WallClock
	}
	return c
}

// Limits are a provider's fleet-wide limits; zero means unlimited.
type Limits struct {
	RequestsPerMinute int
	TokensPerMinute   int
	MaxConcurrency    int
}

// Call describes a provider call about to be made.
type Call struct {
	// Provider is the provider's id.
	Provider string
	// Limits are the provider's limits.
	Limits Limits
	// Tokens is charged against TokensPerMinute: the call's estimated input
	// tokens plus its max output tokens.
	Tokens int
	// Timeout is the longest the call can take. A concurrency lease or a
	// probe lock held by a worker that dies expires this long (plus a
	// margin) after it was taken.
	Timeout time.Duration
}

// Guard guards the provider calls of one worker process, in agreement
// with every other worker sharing its Redis: the circuit breaker
// (breaker.go), the quota pause (quota.go), the rate limits (ratelimit.go)
// and the concurrency cap (lease.go), composed by Acquire. It is safe for
// concurrent use.
type Guard struct {
	rdb   redis.UniversalClient
	cfg   Config
	log   *slog.Logger
	clock Clock

	// refreshMu serializes reads of the shared state, so an older read can
	// never overwrite a newer one.
	refreshMu sync.Mutex

	// mu guards providers. gobreaker methods are never called while it is
	// held: gobreaker calls OnStateChange under its own lock.
	mu        sync.Mutex
	providers map[string]*entry

	follower *redisconn.Follower
}

// entry is one provider as this process knows it.
type entry struct {
	local         *gobreaker.TwoStepCircuitBreaker[struct{}]
	localOpenedAt time.Time
	// lastError is the last failure this process saw from the provider,
	// written into the shared record when its breaker trips.
	lastError string
	shared    shared
	loaded    time.Time
	reported  State
}

// NewGuard returns a Guard over rdb. Start it to follow the other workers'
// changes as they happen; without Start it re-reads the shared state when
// its copy is older than twice the SyncInterval.
func NewGuard(rdb redis.UniversalClient, cfg Config) *Guard {
	cfg = cfg.withDefaults()
	g := &Guard{
		rdb: rdb, cfg: cfg, log: cfg.Log, clock: cfg.Clock,
		providers: map[string]*entry{},
	}
	g.follower = redisconn.NewFollower(rdb, StateChannel, g.onNotice).Every(cfg.SyncInterval, g.sync)
	return g
}

// Start subscribes to StateChannel and keeps the shared state fresh until
// ctx is done or Stop is called.
func (g *Guard) Start(ctx context.Context) error { return g.follower.Start(ctx) }

// Stop ends what Start began; it is safe to call twice.
func (g *Guard) Stop() { g.follower.Stop() }

// Acquire waits until a call to c.Provider may go out, and returns the
// permit to report its outcome to. It returns a *WaitError when the call
// must wait longer than it is worth holding a worker for: the provider is
// paused or its circuit open (or half-open with another worker's probe in
// flight), or a rate limit or the concurrency cap would keep it waiting
// over MaxLocalWait (a call above its provider's token burst waits longer
// in process: see tpmLimit). It returns a *TooLargeError for a call that
// needs more tokens than its provider allows in a minute. Other errors
// come from Redis or ctx.
func (g *Guard) Acquire(ctx context.Context, c Call) (*Permit, error) {
	if c.Timeout <= 0 {
		c.Timeout = defaultCallTimeout
	}
	if err := g.load(ctx, c.Provider); err != nil {
		return nil, err
	}
	// Refuse before spending rate-limit tokens on a call that cannot go.
	if err := g.gate(c.Provider); err != nil {
		return nil, err
	}
	deadline := g.clock.Now().Add(g.cfg.MaxLocalWait)
	if err := g.waitRate(ctx, c, deadline); err != nil {
		return nil, err
	}
	lease, err := g.lease(ctx, c, deadline)
	if err != nil {
		return nil, err
	}
	p, err := g.admit(ctx, c)
	if err != nil {
		g.releaseLease(c.Provider, lease)
		return nil, err
	}
	p.lease = lease
	return p, nil
}

// Outcome is what a call said about its provider's health.
type Outcome int

// The outcomes.
const (
	// Succeeded: the provider answered, even if the answer was an error
	// that is the request's fault or a quota notice: the provider is up.
	Succeeded Outcome = iota
	// Failed: a failure that says the provider is unwell (5xx, 429,
	// timeouts, dropped connections).
	Failed
	// Ignored: the call said nothing about the provider (the caller gave
	// up, or the call never went out).
	Ignored
)

// Permit is a call allowed to go out. Report its outcome with Done.
type Permit struct {
	g        *Guard
	provider string
	lease    string
	probe    string // the probe lock's token when this call is the fleet's half-open probe
	done     func(error)
	once     sync.Once
}

// Probe reports whether this call is the fleet's half-open probe.
func (p *Permit) Probe() bool { return p.probe != "" }

// Done reports the call's outcome, releases its concurrency slot and, for
// a probe, closes the fleet's circuit or opens it again. Calling it (or
// Report) more than once does nothing.
func (p *Permit) Done(o Outcome) { p.Report(o, "") }

// Report is Done with what went wrong when o is Failed: the fleet keeps it
// (cut short) as the provider's last error in the shared circuit record,
// for the callers that give up waiting and for the API. cause must be
// scrubbed of credentials already.
func (p *Permit) Report(o Outcome, cause string) {
	p.once.Do(func() {
		p.g.releaseLease(p.provider, p.lease)
		if o == Failed && cause != "" {
			p.g.noteError(p.provider, shortError(cause))
		}
		if p.probe != "" {
			p.g.probeDone(p.provider, p.probe, o)
			return
		}
		p.done(outcomeErr(o))
	})
}

var (
	errFailed  = errors.New("provider failure")
	errIgnored = errors.New("call said nothing about the provider")
)

// outcomeErr is o as the local breaker counts it.
func outcomeErr(o Outcome) error {
	switch o {
	case Failed:
		return errFailed
	case Ignored:
		return errIgnored
	}
	return nil
}

// observeWait tells the Observer that a call waited on limit.
func (g *Guard) observeWait(provider, limit string, rescheduled bool) {
	if g.cfg.Observer != nil {
		g.cfg.Observer.LimitWaited(provider, limit, rescheduled)
	}
}

// jitter returns a random duration in [0, d].
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// randomID names a lease or a probe, so only its holder releases it.
func randomID() string { return crand.Text() }

package resilience

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/sabe-dev/sabe/pkg/redisconn"
)

// Options configures a Fleet. Zero values take the defaults.
type Options struct {
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
}

const (
	// sharedGrace keeps an expired open period in Redis (as half-open)
	// this long, so the first calls after it still go through one probe.
	sharedGrace = time.Hour
	// leaseGrace is added to a call's timeout for its concurrency lease and
	// probe lock, which outlive the call only when its worker died.
	leaseGrace = 10 * time.Second
	// probeRetry is the wait given to calls while another worker's
	// half-open probe is in flight.
	probeRetry = time.Second
	// concurrencyRetry is the wait given to a call that found the
	// concurrency cap full for MaxLocalWait: no one knows when a slot frees.
	concurrencyRetry = time.Second
	// leasePoll is how often a waiting call retries the concurrency cap.
	leasePoll = 50 * time.Millisecond
	// defaultCallTimeout bounds a lease when Call.Timeout is zero.
	defaultCallTimeout = 2 * time.Minute
	// ioTimeout bounds the Redis writes done after a call, which must
	// happen even when the call's own context is gone.
	ioTimeout = 5 * time.Second
)

func (o Options) withDefaults() Options {
	if o.Failures == 0 {
		o.Failures = 5
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = 30 * time.Second
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = 500 * time.Millisecond
	}
	o.SyncInterval = min(o.SyncInterval, time.Second)
	if o.MaxLocalWait <= 0 {
		o.MaxLocalWait = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
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

// Fleet guards the calls of one worker process, in agreement with every
// other worker sharing its Redis. It is safe for concurrent use.
type Fleet struct {
	rdb  redis.UniversalClient
	rate *redis_rate.Limiter
	opts Options
	log  *slog.Logger

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

// New returns a Fleet over rdb. Start it to follow the other workers'
// changes as they happen; without Start it re-reads the shared state when
// its copy is older than twice the SyncInterval.
func New(rdb redis.UniversalClient, opts Options) *Fleet {
	opts = opts.withDefaults()
	f := &Fleet{
		rdb: rdb, rate: redis_rate.NewLimiter(rdb), opts: opts, log: opts.Log,
		providers: map[string]*entry{},
	}
	f.follower = redisconn.NewFollower(rdb, StateChannel, f.onNotice).Every(opts.SyncInterval, f.sync)
	return f
}

// Start subscribes to StateChannel and keeps the shared state fresh until
// ctx is done or Stop is called.
func (f *Fleet) Start(ctx context.Context) error { return f.follower.Start(ctx) }

// Stop ends what Start began; it is safe to call twice.
func (f *Fleet) Stop() { f.follower.Stop() }

// onNotice re-reads the shared state of a provider another worker changed.
func (f *Fleet) onNotice(ctx context.Context, id string) {
	f.mu.Lock()
	_, known := f.providers[id]
	f.mu.Unlock()
	if !known {
		return
	}
	if err := f.refresh(ctx, id); err != nil && ctx.Err() == nil {
		f.log.Warn("read shared provider state", "provider_id", id, "err", err)
	}
}

// sync re-reads every known provider's shared state, in case a notice was
// lost; refresh also reports open periods that ended by the clock.
func (f *Fleet) sync(ctx context.Context) {
	f.mu.Lock()
	ids := make([]string, 0, len(f.providers))
	for id := range f.providers {
		ids = append(ids, id)
	}
	f.mu.Unlock()
	if err := f.refresh(ctx, ids...); err != nil && ctx.Err() == nil {
		f.log.Warn("read shared provider state", "err", err)
		for _, id := range ids {
			f.report(id)
		}
	}
}

// Acquire waits until a call to c.Provider may go out, and returns the
// permit to report its outcome to. It returns a *WaitError when the call
// must wait longer than it is worth holding a worker for: the provider is
// paused or its circuit open (or half-open with another worker's probe in
// flight), or a rate limit or the concurrency cap would keep it waiting
// over MaxLocalWait. Other errors come from Redis or ctx.
func (f *Fleet) Acquire(ctx context.Context, c Call) (*Permit, error) {
	if c.Timeout <= 0 {
		c.Timeout = defaultCallTimeout
	}
	if err := f.load(ctx, c.Provider); err != nil {
		return nil, err
	}
	// Refuse before spending rate-limit tokens on a call that cannot go.
	if err := f.gate(c.Provider); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(f.opts.MaxLocalWait)
	if err := f.waitRate(ctx, c, deadline); err != nil {
		return nil, err
	}
	lease, err := f.lease(ctx, c, deadline)
	if err != nil {
		return nil, err
	}
	p, err := f.admit(ctx, c)
	if err != nil {
		f.releaseLease(c.Provider, lease)
		return nil, err
	}
	p.lease = lease
	return p, nil
}

// Permit is a call allowed to go out. Report its outcome with Done.
type Permit struct {
	f        *Fleet
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
		p.f.releaseLease(p.provider, p.lease)
		if o == Failed && cause != "" {
			p.f.noteError(p.provider, shortError(cause))
		}
		if p.probe != "" {
			p.f.probeDone(p.provider, p.probe, o)
			return
		}
		p.done(outcomeErr(o))
	})
}

// noteError remembers provider's last failure in this process.
func (f *Fleet) noteError(provider, cause string) {
	f.mu.Lock()
	if e, ok := f.providers[provider]; ok {
		e.lastError = cause
	}
	f.mu.Unlock()
}

// lastError is provider's last failure as this process saw it.
func (f *Fleet) lastError(provider string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.providers[provider]; ok {
		return e.lastError
	}
	return ""
}

var (
	errFailed  = errors.New("provider failure")
	errIgnored = errors.New("call said nothing about the provider")
)

func outcomeErr(o Outcome) error {
	switch o {
	case Failed:
		return errFailed
	case Ignored:
		return errIgnored
	}
	return nil
}

// Reset replaces provider's local breaker with a closed one: the provider
// was changed (a new key, a new base URL), so its past failures say nothing
// about it any more. The fleet's shared state is left to its probe.
func (f *Fleet) Reset(provider string) {
	f.mu.Lock()
	e, ok := f.providers[provider]
	if ok {
		e.local, e.localOpenedAt = f.newLocal(provider), time.Time{}
	}
	f.mu.Unlock()
	if ok {
		f.report(provider)
	}
}

// State returns provider's circuit as this process sees it.
func (f *Fleet) State(provider string) State {
	f.mu.Lock()
	e, ok := f.providers[provider]
	var sh shared
	var local *gobreaker.TwoStepCircuitBreaker[struct{}]
	if ok {
		sh, local = e.shared, e.local
	}
	f.mu.Unlock()
	if !ok {
		return StateClosed
	}
	return effective(sh, local.State(), time.Now())
}

func effective(sh shared, local gobreaker.State, now time.Time) State {
	switch {
	case sh.open && now.Before(sh.until):
		return StateOpen
	case sh.open:
		return StateHalfOpen
	case local == gobreaker.StateOpen:
		return StateOpen
	case local == gobreaker.StateHalfOpen:
		return StateHalfOpen
	}
	return StateClosed
}

// newLocal builds provider's in-process breaker. Its state changes are
// handled on another goroutine: gobreaker reports them under its lock.
func (f *Fleet) newLocal(provider string) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	var cb *gobreaker.TwoStepCircuitBreaker[struct{}]
	threshold := f.opts.Failures
	cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        provider,
		MaxRequests: 1,
		Timeout:     f.opts.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			at := time.Now()
			go f.localChanged(provider, cb, to, at)
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errIgnored) },
	})
	return cb
}

// localChanged shares a trip of this process's breaker with the fleet.
func (f *Fleet) localChanged(provider string, cb *gobreaker.TwoStepCircuitBreaker[struct{}], to gobreaker.State, at time.Time) {
	f.mu.Lock()
	e, ok := f.providers[provider]
	current := ok && e.local == cb
	switch {
	case !current:
	case to == gobreaker.StateOpen:
		e.localOpenedAt = at
	case to == gobreaker.StateClosed:
		e.localOpenedAt = time.Time{}
	}
	f.mu.Unlock()
	if !current {
		return // a breaker replaced by Reset
	}
	if to == gobreaker.StateOpen {
		f.trip(provider, at)
	}
	f.report(provider)
}

// trip records an open period in Redis unless one is there already, and
// tells every worker.
func (f *Fleet) trip(provider string, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	rec := SharedBreaker{OpenedAt: at.UnixMilli(), Until: at.Add(f.opts.OpenTimeout).UnixMilli(), Since: at.UnixMilli(), LastError: f.lastError(provider)}
	val, _ := json.Marshal(rec)
	set, err := f.rdb.SetNX(ctx, breakerKey(provider), val, f.opts.OpenTimeout+sharedGrace).Result()
	if err != nil {
		// The local breaker still holds this process back.
		f.log.Warn("share circuit breaker trip", "provider_id", provider, "err", err)
		return
	}
	if set {
		f.log.Warn("circuit breaker opened for the fleet", "provider_id", provider, "half_open_at", fromMillis(rec.Until).UTC())
		f.publish(ctx, provider)
	}
	if err := f.refresh(ctx, provider); err != nil {
		f.log.Warn("read shared provider state", "provider_id", provider, "err", err)
	}
}

var releaseProbe = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// probeDone acts on the half-open probe's outcome for the whole fleet.
func (f *Fleet) probeDone(provider, token string, o Outcome) {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	switch o {
	case Succeeded:
		if err := f.rdb.Del(ctx, breakerKey(provider)).Err(); err != nil {
			f.log.Warn("close shared circuit", "provider_id", provider, "err", err)
		} else {
			f.log.Info("circuit breaker closed for the fleet", "provider_id", provider)
		}
	case Failed:
		now := time.Now()
		rec := SharedBreaker{OpenedAt: now.UnixMilli(), Until: now.Add(f.opts.OpenTimeout).UnixMilli(), Since: now.UnixMilli(), LastError: f.lastError(provider)}
		// The outage goes on: keep when it began. A record that cannot be
		// read starts the outage afresh, which only delays the callers'
		// give-up by one period.
		if v, err := f.rdb.Get(ctx, breakerKey(provider)).Result(); err == nil {
			if prev, err := ParseSharedBreaker(v); err == nil && prev.Since > 0 {
				rec.Since = prev.Since
				rec.LastError = cmp.Or(rec.LastError, prev.LastError)
			}
		}
		val, _ := json.Marshal(rec)
		if err := f.rdb.Set(ctx, breakerKey(provider), val, f.opts.OpenTimeout+sharedGrace).Err(); err != nil {
			f.log.Warn("reopen shared circuit", "provider_id", provider, "err", err)
		} else {
			f.log.Warn("half-open probe failed; circuit breaker open again", "provider_id", provider, "half_open_at", fromMillis(rec.Until).UTC())
		}
	}
	if err := releaseProbe.Run(ctx, f.rdb, []string{probeKey(provider)}, token).Err(); err != nil {
		f.log.Warn("release half-open probe", "provider_id", provider, "err", err)
	}
	if o != Ignored {
		f.publish(ctx, provider)
	}
	if err := f.refresh(ctx, provider); err != nil {
		f.log.Warn("read shared provider state", "provider_id", provider, "err", err)
	}
}

func (f *Fleet) publish(ctx context.Context, provider string) {
	if err := f.rdb.Publish(ctx, StateChannel, provider).Err(); err != nil {
		// The others' periodic read picks it up within SyncInterval.
		f.log.Warn("publish provider state", "provider_id", provider, "err", err)
	}
}

// load makes sure this process knows provider and its shared state is
// fresh enough, reading it now when it is not.
func (f *Fleet) load(ctx context.Context, provider string) error {
	f.mu.Lock()
	e, ok := f.providers[provider]
	if !ok {
		e = &entry{local: f.newLocal(provider)}
		f.providers[provider] = e
	}
	stale := time.Since(e.loaded) > 2*f.opts.SyncInterval
	f.mu.Unlock()
	if !stale {
		return nil
	}
	return f.refresh(ctx, provider)
}

// refresh reads the shared state of the given providers from Redis.
func (f *Fleet) refresh(ctx context.Context, providers ...string) error {
	if len(providers) == 0 {
		return nil
	}
	f.refreshMu.Lock()
	defer f.refreshMu.Unlock()
	states, err := readShared(ctx, f.rdb, providers)
	if err != nil {
		return err
	}
	now := time.Now()
	for i, p := range providers {
		sh := states[i]
		f.mu.Lock()
		e, ok := f.providers[p]
		if ok {
			// The fleet's probe succeeded: this process starts afresh too,
			// rather than wait out its own breaker's open period. A local
			// trip is always recorded in Redis within moments, so a local
			// breaker open for longer with no record there missed the close.
			closed := e.shared.open && !sh.open
			missed := !sh.open && !e.localOpenedAt.IsZero() && now.Sub(e.localOpenedAt) > 2*f.opts.SyncInterval
			if closed || missed {
				e.local, e.localOpenedAt = f.newLocal(p), time.Time{}
			}
			e.shared, e.loaded = sh, now
		}
		f.mu.Unlock()
	}
	for _, p := range providers {
		f.report(p)
	}
	return nil
}

// readShared reads the fleet's shared state of the given providers from
// Redis in one round trip.
func readShared(ctx context.Context, rdb redis.UniversalClient, providers []string) ([]shared, error) {
	pipe := rdb.Pipeline()
	type cmds struct{ breaker, paused *redis.StringCmd }
	read := make([]cmds, len(providers))
	for i, p := range providers {
		read[i] = cmds{pipe.Get(ctx, breakerKey(p)), pipe.Get(ctx, PausedKey(p))}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read provider state: %w", err)
	}
	out := make([]shared, len(providers))
	for i, p := range providers {
		sh := &out[i]
		if v, err := read[i].breaker.Result(); err == nil {
			if rec, err := ParseSharedBreaker(v); err == nil {
				sh.open, sh.openedAt, sh.until = true, fromMillis(rec.OpenedAt), fromMillis(rec.Until)
				sh.since, sh.lastError = fromMillis(rec.Since), rec.LastError
			}
		} else if !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("read circuit of provider %s: %w", p, err)
		}
		if v, err := read[i].paused.Result(); err == nil {
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
				sh.pausedUntil = fromMillis(ms)
			}
		} else if !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("read pause of provider %s: %w", p, err)
		}
	}
	return out, nil
}

// report logs and observes a change of provider's effective state.
func (f *Fleet) report(provider string) {
	f.mu.Lock()
	e, ok := f.providers[provider]
	if !ok {
		f.mu.Unlock()
		return
	}
	sh, local := e.shared, e.local
	f.mu.Unlock()
	s := effective(sh, local.State(), time.Now())
	f.mu.Lock()
	from := e.reported
	changed := from != s
	e.reported = s
	f.mu.Unlock()
	if !changed {
		return
	}
	f.log.Info("circuit breaker state changed", "provider_id", provider, "from", from.String(), "to", s.String())
	if f.opts.Observer != nil {
		f.opts.Observer.BreakerStateChanged(provider, from, s)
	}
}

// view is a copy of what the process knows about a provider.
type view struct {
	shared        shared
	local         *gobreaker.TwoStepCircuitBreaker[struct{}]
	localOpenedAt time.Time
	lastError     string
}

func (f *Fleet) view(provider string) view {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.providers[provider]
	return view{shared: e.shared, local: e.local, localOpenedAt: e.localOpenedAt, lastError: e.lastError}
}

// openWait is the WaitError of a call held back by an open (or half-open)
// circuit until the given time, saying since when the provider has been
// unavailable and why: the fleet's record when there is one, else this
// process's breaker.
func (v view) openWait(provider string, until time.Time) *WaitError {
	we := &WaitError{Provider: provider, Reason: ReasonOpen, Until: until, OpenSince: v.localOpenedAt, LastError: v.lastError}
	if v.shared.open {
		we.OpenSince, we.LastError = v.shared.since, cmp.Or(v.shared.lastError, v.lastError)
	}
	return we
}

// gate refuses a call while the provider is paused or its circuit open.
func (f *Fleet) gate(provider string) error {
	v := f.view(provider)
	now := time.Now()
	switch {
	case v.shared.pausedUntil.After(now):
		return &WaitError{Provider: provider, Reason: ReasonPaused, Until: v.shared.pausedUntil}
	case v.shared.open && v.shared.until.After(now):
		return v.openWait(provider, v.shared.until)
	case !v.shared.open && v.local.State() == gobreaker.StateOpen:
		return v.openWait(provider, f.localUntil(v, now))
	}
	return nil
}

func (f *Fleet) localUntil(v view, now time.Time) time.Time {
	if v.localOpenedAt.IsZero() {
		return now.Add(probeRetry)
	}
	return v.localOpenedAt.Add(f.opts.OpenTimeout)
}

// admit lets the call through the circuit: through the local breaker while
// the fleet's circuit is closed, or as the fleet's one probe when it is
// half-open.
func (f *Fleet) admit(ctx context.Context, c Call) (*Permit, error) {
	// The state may have changed while the call waited on limits.
	if err := f.gate(c.Provider); err != nil {
		return nil, err
	}
	v := f.view(c.Provider)
	now := time.Now()
	p := &Permit{f: f, provider: c.Provider}
	if v.shared.open {
		token := randomID()
		won, err := f.rdb.SetNX(ctx, probeKey(c.Provider), token, c.Timeout+leaseGrace).Result()
		if err != nil {
			return nil, fmt.Errorf("take half-open probe of provider %s: %w", c.Provider, err)
		}
		if !won {
			f.report(c.Provider)
			return nil, v.openWait(c.Provider, now.Add(probeRetry))
		}
		f.log.Info("circuit breaker half-open: probing", "provider_id", c.Provider)
		f.report(c.Provider)
		p.probe = token
		return p, nil
	}
	done, err := v.local.Allow()
	if err != nil {
		until := now.Add(probeRetry)
		if errors.Is(err, gobreaker.ErrOpenState) {
			until = f.localUntil(v, now)
		}
		return nil, v.openWait(c.Provider, until)
	}
	p.done = done
	return p, nil
}

// Pause stops calls to provider until the given time, fleet-wide; a later
// pause already in place is kept.
func (f *Fleet) Pause(ctx context.Context, provider string, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	set, err := pauseScript.Run(ctx, f.rdb, []string{PausedKey(provider)}, until.UnixMilli(), ttl.Milliseconds()+1).Int()
	if err != nil {
		return fmt.Errorf("pause provider %s: %w", provider, err)
	}
	if set == 1 {
		f.log.Warn("provider paused: quota exhausted", "provider_id", provider, "until", until.UTC())
		f.publish(ctx, provider)
	}
	if err := f.load(ctx, provider); err != nil {
		return err
	}
	return f.refresh(ctx, provider)
}

var pauseScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) <= cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// rpmLimit allows requests per minute with a burst of one second's worth,
// so a fleet that starts together does not fire a minute's calls at once.
func rpmLimit(rpm int) redis_rate.Limit {
	return redis_rate.Limit{Rate: rpm, Period: time.Minute, Burst: max(1, rpm/60)}
}

// tpmLimit allows tokens per minute with a minute's worth of burst: a
// single call may need a large share of it, and GCRA never admits a cost
// above the burst.
func tpmLimit(tpm int) redis_rate.Limit { return redis_rate.PerMinute(tpm) }

// waitRate takes the call's request and token allowances, waiting in
// process until deadline at most.
func (f *Fleet) waitRate(ctx context.Context, c Call, deadline time.Time) error {
	l := c.Limits
	haveRPM, haveTPM := l.RequestsPerMinute <= 0, l.TokensPerMinute <= 0
	for !haveRPM || !haveTPM {
		var wait time.Duration
		var limit string
		if !haveRPM {
			res, err := f.rate.Allow(ctx, rpmKey(c.Provider), rpmLimit(l.RequestsPerMinute))
			if err != nil {
				return fmt.Errorf("rate limit of provider %s: %w", c.Provider, err)
			}
			if res.Allowed > 0 {
				haveRPM = true
			} else {
				wait, limit = res.RetryAfter, "rpm"
			}
		}
		if haveRPM && !haveTPM {
			// A request slot taken above is kept across the wait for
			// tokens, so waiting does not spend more of them.
			n := min(max(c.Tokens, 1), l.TokensPerMinute)
			res, err := f.rate.AllowN(ctx, tpmKey(c.Provider), tpmLimit(l.TokensPerMinute), n)
			if err != nil {
				return fmt.Errorf("token limit of provider %s: %w", c.Provider, err)
			}
			if res.Allowed > 0 {
				haveTPM = true
			} else {
				wait, limit = res.RetryAfter, "tpm"
			}
		}
		if limit == "" {
			continue
		}
		wait = max(wait, time.Millisecond)
		now := time.Now()
		if now.Add(wait).After(deadline) {
			f.observeWait(c.Provider, limit, true)
			return &WaitError{Provider: c.Provider, Reason: ReasonRateLimit, Until: now.Add(wait)}
		}
		f.observeWait(c.Provider, limit, false)
		if err := sleep(ctx, wait+jitter(wait/4)); err != nil {
			return err
		}
	}
	return nil
}

var acquireLease = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`)

// lease takes one of the provider's concurrency slots, a lease that
// expires by itself if this worker dies holding it.
func (f *Fleet) lease(ctx context.Context, c Call, deadline time.Time) (string, error) {
	if c.Limits.MaxConcurrency <= 0 {
		return "", nil
	}
	id := randomID()
	ttl := c.Timeout + leaseGrace
	waited := false
	for {
		got, err := acquireLease.Run(ctx, f.rdb, []string{inflightKey(c.Provider)}, c.Limits.MaxConcurrency, id, ttl.Milliseconds()).Int()
		if err != nil {
			return "", fmt.Errorf("concurrency cap of provider %s: %w", c.Provider, err)
		}
		if got == 1 {
			return id, nil
		}
		now := time.Now()
		if now.Add(leasePoll).After(deadline) {
			f.observeWait(c.Provider, "concurrency", true)
			return "", &WaitError{Provider: c.Provider, Reason: ReasonConcurrency, Until: now.Add(concurrencyRetry + jitter(concurrencyRetry/2))}
		}
		if !waited {
			waited = true
			f.observeWait(c.Provider, "concurrency", false)
		}
		if err := sleep(ctx, leasePoll+jitter(leasePoll)); err != nil {
			return "", err
		}
	}
}

func (f *Fleet) releaseLease(provider, lease string) {
	if lease == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := f.rdb.ZRem(ctx, inflightKey(provider), lease).Err(); err != nil {
		// The lease expires by itself.
		f.log.Warn("release concurrency slot", "provider_id", provider, "err", err)
	}
}

func (f *Fleet) observeWait(provider, limit string, rescheduled bool) {
	if f.opts.Observer != nil {
		f.opts.Observer.LimitWaited(provider, limit, rescheduled)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
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

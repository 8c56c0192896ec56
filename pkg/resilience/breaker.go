package resilience

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

const (
	// sharedGrace keeps an expired open period in Redis (as half-open)
	// this long, so the first calls after it still go through one probe.
	sharedGrace = time.Hour
	// probeRetry is the wait given to calls while another worker's
	// half-open probe is in flight.
	probeRetry = time.Second
)

// Reset replaces provider's local breaker with a closed one: the provider
// was changed (a new key, a new base URL), so its past failures say nothing
// about it any more. The fleet's shared state is left to its probe.
func (g *Guard) Reset(provider string) {
	g.mu.Lock()
	e, ok := g.providers[provider]
	if ok {
		e.local, e.localOpenedAt = g.newLocal(provider), time.Time{}
	}
	g.mu.Unlock()
	if ok {
		g.report(provider)
	}
}

// State returns provider's circuit as this process sees it.
func (g *Guard) State(provider string) State {
	g.mu.Lock()
	e, ok := g.providers[provider]
	var sh shared
	var local *gobreaker.TwoStepCircuitBreaker[struct{}]
	if ok {
		sh, local = e.shared, e.local
	}
	g.mu.Unlock()
	if !ok {
		return StateClosed
	}
	return effective(sh, local.State(), g.clock.Now())
}

// effective combines the fleet's circuit and this process's breaker: the
// fleet's wins while it is open or half-open.
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
func (g *Guard) newLocal(provider string) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	var cb *gobreaker.TwoStepCircuitBreaker[struct{}]
	threshold := g.cfg.Failures
	cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        provider,
		MaxRequests: 1,
		Timeout:     g.cfg.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			at := g.clock.Now()
			go g.localChanged(provider, cb, to, at)
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errIgnored) },
	})
	return cb
}

// localChanged shares a trip of this process's breaker with the fleet.
func (g *Guard) localChanged(provider string, cb *gobreaker.TwoStepCircuitBreaker[struct{}], to gobreaker.State, at time.Time) {
	g.mu.Lock()
	e, ok := g.providers[provider]
	current := ok && e.local == cb
	switch {
	case !current:
	case to == gobreaker.StateOpen:
		e.localOpenedAt = at
	case to == gobreaker.StateClosed:
		e.localOpenedAt = time.Time{}
	}
	g.mu.Unlock()
	if !current {
		return // a breaker replaced by Reset
	}
	if to == gobreaker.StateOpen {
		g.trip(provider, at)
	}
	g.report(provider)
}

// trip records an open period in Redis unless one is there already, and
// tells every worker.
func (g *Guard) trip(provider string, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	rec := SharedBreaker{OpenedAt: at.UnixMilli(), Until: at.Add(g.cfg.OpenTimeout).UnixMilli(), Since: at.UnixMilli(), LastError: g.lastError(provider)}
	val, _ := json.Marshal(rec)
	set, err := g.rdb.SetNX(ctx, breakerKey(provider), val, g.cfg.OpenTimeout+sharedGrace).Result()
	if err != nil {
		// The local breaker still holds this process back.
		g.log.Warn("share circuit breaker trip", "provider_id", provider, "err", err)
		return
	}
	if set {
		g.log.Warn("circuit breaker opened for the fleet", "provider_id", provider, "half_open_at", fromMillis(rec.Until).UTC())
		g.publish(ctx, provider)
		g.fleetOpened(provider, rec)
	}
	if err := g.refresh(ctx, provider); err != nil {
		g.log.Warn("read shared provider state", "provider_id", provider, "err", err)
	}
}

var releaseProbe = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// probeDone acts on the half-open probe's outcome for the whole fleet.
func (g *Guard) probeDone(provider, token string, o Outcome) {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	switch o {
	case Succeeded:
		// GETDEL: the record closed is the outage the event names.
		v, err := g.rdb.GetDel(ctx, breakerKey(provider)).Result()
		switch {
		case errors.Is(err, redis.Nil):
			// Expired meanwhile: nothing open to close.
		case err != nil:
			g.log.Warn("close shared circuit", "provider_id", provider, "err", err)
		default:
			g.log.Info("circuit breaker closed for the fleet", "provider_id", provider)
			if rec, err := ParseSharedBreaker(v); err == nil {
				g.fleetClosed(provider, rec, g.clock.Now())
			}
		}
	case Failed:
		now := g.clock.Now()
		rec := SharedBreaker{OpenedAt: now.UnixMilli(), Until: now.Add(g.cfg.OpenTimeout).UnixMilli(), Since: now.UnixMilli(), LastError: g.lastError(provider)}
		// The outage goes on: keep when it began. A record that cannot be
		// read starts the outage afresh, which only delays the callers'
		// give-up by one period.
		continued := false
		if v, err := g.rdb.Get(ctx, breakerKey(provider)).Result(); err == nil {
			if prev, err := ParseSharedBreaker(v); err == nil && prev.Since > 0 {
				rec.Since = prev.Since
				rec.LastError = cmp.Or(rec.LastError, prev.LastError)
				continued = true
			}
		}
		val, _ := json.Marshal(rec)
		if err := g.rdb.Set(ctx, breakerKey(provider), val, g.cfg.OpenTimeout+sharedGrace).Err(); err != nil {
			g.log.Warn("reopen shared circuit", "provider_id", provider, "err", err)
		} else {
			g.log.Warn("half-open probe failed; circuit breaker open again", "provider_id", provider, "half_open_at", fromMillis(rec.Until).UTC())
			if !continued {
				// The record of the outage was gone: this is a new one.
				g.fleetOpened(provider, rec)
			}
		}
	}
	if err := releaseProbe.Run(ctx, g.rdb, []string{probeKey(provider)}, token).Err(); err != nil {
		g.log.Warn("release half-open probe", "provider_id", provider, "err", err)
	}
	if o != Ignored {
		g.publish(ctx, provider)
	}
	if err := g.refresh(ctx, provider); err != nil {
		g.log.Warn("read shared provider state", "provider_id", provider, "err", err)
	}
}

// fleetOpened tells the FleetObserver, off the caller's path, that the
// fleet's circuit opened for a new outage.
func (g *Guard) fleetOpened(provider string, rec SharedBreaker) {
	if g.cfg.Fleet != nil {
		go g.cfg.Fleet.CircuitOpened(provider, fromMillis(rec.Since).UTC(), rec.LastError)
	}
}

// fleetClosed tells the FleetObserver, off the caller's path, that the
// fleet's circuit of the outage rec closed at.
func (g *Guard) fleetClosed(provider string, rec SharedBreaker, at time.Time) {
	if g.cfg.Fleet != nil {
		go g.cfg.Fleet.CircuitClosed(provider, fromMillis(rec.Since).UTC(), at.UTC(), rec.LastError)
	}
}

// noteError remembers provider's last failure in this process.
func (g *Guard) noteError(provider, cause string) {
	g.mu.Lock()
	if e, ok := g.providers[provider]; ok {
		e.lastError = cause
	}
	g.mu.Unlock()
}

// lastError is provider's last failure as this process saw it.
func (g *Guard) lastError(provider string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e, ok := g.providers[provider]; ok {
		return e.lastError
	}
	return ""
}

// report logs and observes a change of provider's effective state.
func (g *Guard) report(provider string) {
	g.mu.Lock()
	e, ok := g.providers[provider]
	if !ok {
		g.mu.Unlock()
		return
	}
	sh, local := e.shared, e.local
	g.mu.Unlock()
	s := effective(sh, local.State(), g.clock.Now())
	g.mu.Lock()
	from := e.reported
	changed := from != s
	e.reported = s
	g.mu.Unlock()
	if !changed {
		return
	}
	g.log.Info("circuit breaker state changed", "provider_id", provider, "from", from.String(), "to", s.String())
	if g.cfg.Observer != nil {
		g.cfg.Observer.BreakerStateChanged(provider, from, s)
	}
}

// view is a copy of what the process knows about a provider.
type view struct {
	shared        shared
	local         *gobreaker.TwoStepCircuitBreaker[struct{}]
	localOpenedAt time.Time
	lastError     string
}

func (g *Guard) view(provider string) view {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.providers[provider]
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
func (g *Guard) gate(provider string) error {
	v := g.view(provider)
	now := g.clock.Now()
	switch {
	case v.shared.pausedUntil.After(now):
		return &WaitError{Provider: provider, Reason: ReasonPaused, Until: v.shared.pausedUntil}
	case v.shared.open && v.shared.until.After(now):
		return v.openWait(provider, v.shared.until)
	case !v.shared.open && v.local.State() == gobreaker.StateOpen:
		return v.openWait(provider, g.localUntil(v, now))
	}
	return nil
}

// localUntil is when this process's open breaker half-opens.
func (g *Guard) localUntil(v view, now time.Time) time.Time {
	if v.localOpenedAt.IsZero() {
		return now.Add(probeRetry)
	}
	return v.localOpenedAt.Add(g.cfg.OpenTimeout)
}

// admit lets the call through the circuit: through the local breaker while
// the fleet's circuit is closed, or as the fleet's one probe when it is
// half-open.
func (g *Guard) admit(ctx context.Context, c Call) (*Permit, error) {
	// The state may have changed while the call waited on limits.
	if err := g.gate(c.Provider); err != nil {
		return nil, err
	}
	v := g.view(c.Provider)
	now := g.clock.Now()
	p := &Permit{g: g, provider: c.Provider}
	if v.shared.open {
		token := randomID()
		won, err := g.rdb.SetNX(ctx, probeKey(c.Provider), token, c.Timeout+leaseGrace).Result()
		if err != nil {
			return nil, fmt.Errorf("take half-open probe of provider %s: %w", c.Provider, err)
		}
		if !won {
			g.report(c.Provider)
			return nil, v.openWait(c.Provider, now.Add(probeRetry))
		}
		g.log.Info("circuit breaker half-open: probing", "provider_id", c.Provider)
		g.report(c.Provider)
		p.probe = token
		return p, nil
	}
	done, err := v.local.Allow()
	if err != nil {
		until := now.Add(probeRetry)
		if errors.Is(err, gobreaker.ErrOpenState) {
			until = g.localUntil(v, now)
		}
		return nil, v.openWait(c.Provider, until)
	}
	p.done = done
	return p, nil
}

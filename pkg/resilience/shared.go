package resilience

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// shared is one provider's fleet-wide state as last read from Redis.
type shared struct {
	open        bool
	openedAt    time.Time
	until       time.Time
	since       time.Time
	lastError   string
	pausedUntil time.Time
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms) }

// onNotice re-reads the shared state of a provider another worker changed.
func (g *Guard) onNotice(ctx context.Context, id string) {
	g.mu.Lock()
	_, known := g.providers[id]
	g.mu.Unlock()
	if !known {
		return
	}
	if err := g.refresh(ctx, id); err != nil && ctx.Err() == nil {
		g.log.Warn("read shared provider state", "provider_id", id, "err", err)
	}
}

// sync re-reads every known provider's shared state, in case a notice was
// lost; refresh also reports open periods that ended by the clock.
func (g *Guard) sync(ctx context.Context) {
	g.mu.Lock()
	ids := make([]string, 0, len(g.providers))
	for id := range g.providers {
		ids = append(ids, id)
	}
	g.mu.Unlock()
	if err := g.refresh(ctx, ids...); err != nil && ctx.Err() == nil {
		g.log.Warn("read shared provider state", "err", err)
		for _, id := range ids {
			g.report(id)
		}
	}
}

// publish tells every worker that provider's shared state changed.
func (g *Guard) publish(ctx context.Context, provider string) {
	if err := g.rdb.Publish(ctx, StateChannel, provider).Err(); err != nil {
		// The others' periodic read picks it up within SyncInterval.
		g.log.Warn("publish provider state", "provider_id", provider, "err", err)
	}
}

// load makes sure this process knows provider and its shared state is
// fresh enough, reading it now when it is not.
func (g *Guard) load(ctx context.Context, provider string) error {
	g.mu.Lock()
	e, ok := g.providers[provider]
	if !ok {
		e = &entry{local: g.newLocal(provider)}
		g.providers[provider] = e
	}
	stale := g.clock.Now().Sub(e.loaded) > 2*g.cfg.SyncInterval
	g.mu.Unlock()
	if !stale {
		return nil
	}
	return g.refresh(ctx, provider)
}

// refresh reads the shared state of the given providers from Redis.
func (g *Guard) refresh(ctx context.Context, providers ...string) error {
	if len(providers) == 0 {
		return nil
	}
	g.refreshMu.Lock()
	defer g.refreshMu.Unlock()
	states, err := readShared(ctx, g.rdb, providers)
	if err != nil {
		return err
	}
	now := g.clock.Now()
	for i, p := range providers {
		sh := states[i]
		g.mu.Lock()
		e, ok := g.providers[p]
		if ok {
			// The fleet's probe succeeded: this process starts afresh too,
			// rather than wait out its own breaker's open period. A local
			// trip is always recorded in Redis within moments, so a local
			// breaker open for longer with no record there missed the close.
			closed := e.shared.open && !sh.open
			missed := !sh.open && !e.localOpenedAt.IsZero() && now.Sub(e.localOpenedAt) > 2*g.cfg.SyncInterval
			if closed || missed {
				e.local, e.localOpenedAt = g.newLocal(p), time.Time{}
			}
			e.shared, e.loaded = sh, now
		}
		g.mu.Unlock()
	}
	for _, p := range providers {
		g.report(p)
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

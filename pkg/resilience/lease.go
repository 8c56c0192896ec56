package resilience

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// concurrencyRetry is the wait given to a call that found the
	// concurrency cap full for MaxLocalWait: no one knows when a slot frees.
	concurrencyRetry = time.Second
	// leasePoll is how often a waiting call retries the concurrency cap.
	leasePoll = 50 * time.Millisecond
)

// acquireLease takes a slot in a provider's sorted set of leases, scored
// by their expiry on Redis's clock, after dropping the expired ones.
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
// expires by itself if this worker dies holding it, polling until deadline
// at most.
func (g *Guard) lease(ctx context.Context, c Call, deadline time.Time) (string, error) {
	if c.Limits.MaxConcurrency <= 0 {
		return "", nil
	}
	id := randomID()
	ttl := c.Timeout + leaseGrace
	waited := false
	for {
		got, err := acquireLease.Run(ctx, g.rdb, []string{inflightKey(c.Provider)}, c.Limits.MaxConcurrency, id, ttl.Milliseconds()).Int()
		if err != nil {
			return "", fmt.Errorf("concurrency cap of provider %s: %w", c.Provider, err)
		}
		if got == 1 {
			return id, nil
		}
		now := g.clock.Now()
		if now.Add(leasePoll).After(deadline) {
			g.observeWait(c.Provider, "concurrency", true)
			return "", &WaitError{Provider: c.Provider, Reason: ReasonConcurrency, Until: now.Add(concurrencyRetry + jitter(concurrencyRetry/2))}
		}
		if !waited {
			waited = true
			g.observeWait(c.Provider, "concurrency", false)
		}
		if err := g.clock.Sleep(ctx, leasePoll+jitter(leasePoll)); err != nil {
			return "", err
		}
	}
}

// releaseLease gives a concurrency slot back.
func (g *Guard) releaseLease(provider, lease string) {
	if lease == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := g.rdb.ZRem(ctx, inflightKey(provider), lease).Err(); err != nil {
		// The lease expires by itself.
		g.log.Warn("release concurrency slot", "provider_id", provider, "err", err)
	}
}

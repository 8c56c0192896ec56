package resilience

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Pause stops calls to provider until the given time, fleet-wide; a later
// pause already in place is kept.
func (g *Guard) Pause(ctx context.Context, provider string, until time.Time) error {
	ttl := until.Sub(g.clock.Now())
	if ttl <= 0 {
		return nil
	}
	set, err := pauseScript.Run(ctx, g.rdb, []string{PausedKey(provider)}, until.UnixMilli(), ttl.Milliseconds()+1).Int()
	if err != nil {
		return fmt.Errorf("pause provider %s: %w", provider, err)
	}
	if set == 1 {
		g.log.Warn("provider paused: quota exhausted", "provider_id", provider, "until", until.UTC())
		g.publish(ctx, provider)
	}
	if err := g.load(ctx, provider); err != nil {
		return err
	}
	return g.refresh(ctx, provider)
}

var pauseScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) <= cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

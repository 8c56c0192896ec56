package resilience

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
)

// rpmLimit allows requests per minute with a burst of one second's worth,
// so a fleet that starts together does not fire a minute's calls at once.
// A provider counts its limit in any 60 seconds, and GCRA lets a full
// burst through on top of a minute's rate: at 600 a minute with a burst
// of 10, 609 calls could start within 60 s. The rate is therefore the
// limit less the burst and one more call, so that even the calls allowed
// within 60 s plus one emission interval (calls reach the provider a
// little closer together or further apart than they were allowed) stay
// under the limit: the fleet runs at 589 a minute for a limit of 600.
func rpmLimit(rpm int) redis_rate.Limit {
	burst := max(1, rpm/60)
	return redis_rate.Limit{Rate: max(1, rpm-burst-1), Period: time.Minute, Burst: burst}
}

// tpmLimit allows tokens per minute with a minute's worth of burst: a
// single call may need a large share of it, and GCRA never admits a cost
// above the burst.
func tpmLimit(tpm int) redis_rate.Limit { return redis_rate.PerMinute(tpm) }

// waitRate takes the call's request and token allowances, waiting in
// process until deadline at most. Redis decides when an allowance is free
// (GCRA on its own clock); the Guard's clock decides whether waiting for
// it still fits before deadline.
func (g *Guard) waitRate(ctx context.Context, c Call, deadline time.Time) error {
	l := c.Limits
	haveRPM, haveTPM := l.RequestsPerMinute <= 0, l.TokensPerMinute <= 0
	for !haveRPM || !haveTPM {
		var wait time.Duration
		var limit string
		if !haveRPM {
			res, err := g.rate.Allow(ctx, rpmKey(c.Provider), rpmLimit(l.RequestsPerMinute))
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
			res, err := g.rate.AllowN(ctx, tpmKey(c.Provider), tpmLimit(l.TokensPerMinute), n)
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
		now := g.clock.Now()
		if now.Add(wait).After(deadline) {
			g.observeWait(c.Provider, limit, true)
			return &WaitError{Provider: c.Provider, Reason: ReasonRateLimit, Until: now.Add(wait)}
		}
		g.observeWait(c.Provider, limit, false)
		if err := g.clock.Sleep(ctx, wait+jitter(wait/4)); err != nil {
			return err
		}
	}
	return nil
}

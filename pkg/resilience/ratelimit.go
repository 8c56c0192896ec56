package resilience

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// limit is a per-minute limit as bookRate paces it: Rate units a minute
// after a burst of Burst units, GCRA's two numbers.
type limit struct{ Rate, Burst int }

// rpmLimit allows requests per minute with a burst of one second's worth,
// so a fleet that starts together does not fire a minute's calls at once.
// A provider counts its limit in any 60 seconds, and GCRA lets a full
// burst through on top of a minute's rate: at 600 a minute with a burst
// of 10, 609 calls could start within 60 s. The rate is therefore the
// limit less the burst and one more call, so that even the calls allowed
// within 60 s plus one emission interval (calls reach the provider a
// little closer together or further apart than they were allowed) stay
// under the limit: the fleet runs at 589 a minute for a limit of 600.
func rpmLimit(rpm int) limit {
	burst := max(1, rpm/60)
	return limit{Rate: max(1, rpm-burst-1), Burst: burst}
}

// tpmLimit allows tokens per minute with a burst of a tenth of the
// minute, paced so that no 60 seconds (plus one of slack for calls that
// reach the provider out of step) see more than tpm tokens: a window of
// 61 s admits at most the burst and 61 s of the rate, so the rate is
// (tpm − burst)·60/61, 88.5% of the limit.
//
// The burst is a trade between the sustained rate and the largest call
// charged at its own size: any window may hold a burst on top of its
// rate, so rate plus burst is at most the limit. A burst of the whole
// minute (redis_rate.PerMinute, as before) lets every call through but
// admits twice the limit in the first minute; a burst and a rate cut
// by the largest call would keep every call at half the limit to serve
// the rare large one. Here calls up to a tenth of the limit (the usual
// prompt plus max_tokens) go at their own cost, and a call above the
// burst pays for room on both sides of it: bookRate books its excess
// over the burst before it and its whole size after it, so any window
// holding it holds that much less of the others, and it never waits
// longer than about its own size of the rate (a minute at most). Where
// most calls are that large the fleet runs slower: at 59% of the limit
// when every call is a fifth of it, at 47% when every call is the whole
// limit. A call above the whole limit could never go out, nor would the
// provider take it: rateCharges refuses it with a TooLargeError.
func tpmLimit(tpm int) limit {
	burst := max(1, tpm/10)
	return limit{Rate: max(1, (tpm-burst)*60/61), Burst: burst}
}

// interval is a unit's share of the minute, in microseconds.
func (l limit) interval() float64 { return float64(time.Minute.Microseconds()) / float64(l.Rate) }

// span is how long units of the rate last.
func (l limit) span(units int) time.Duration {
	return time.Duration(float64(units)*l.interval()) * time.Microsecond
}

// charge is what a call costs under one of its provider's limits.
type charge struct {
	// name is the limit's field in the provider's schedule and its label
	// for the Observer: "rpm" or "tpm".
	name  string
	limit limit
	cost  int
}

// rateCharges returns what c costs under its provider's limits, or a
// TooLargeError when it needs more tokens than the whole minute allows.
func rateCharges(c Call) ([]charge, error) {
	var cs []charge
	if rpm := c.Limits.RequestsPerMinute; rpm > 0 {
		cs = append(cs, charge{name: "rpm", limit: rpmLimit(rpm), cost: 1})
	}
	if tpm := c.Limits.TokensPerMinute; tpm > 0 {
		n := max(c.Tokens, 1)
		if n > tpm {
			return nil, &TooLargeError{Provider: c.Provider, Tokens: n, TokensPerMinute: tpm}
		}
		cs = append(cs, charge{name: "tpm", limit: tpmLimit(tpm), cost: n})
	}
	return cs, nil
}

// bookingBudget is the longest wait worth booking for charges when a call
// may wait local in process. A call above the burst always waits out its
// own quiet stretch, and the burst others may have booked ahead of it, so
// it gets that much more: handed back instead, it would lose its place to
// the smaller calls, which need less room, and might never go out.
func bookingBudget(charges []charge, local time.Duration) time.Duration {
	extra := time.Duration(0)
	for _, ch := range charges {
		if ch.cost > ch.limit.Burst {
			// Its quiet stretch, cost − burst, and the burst ahead.
			extra = max(extra, ch.limit.span(ch.cost))
		}
	}
	return max(local, 0) + extra
}

// booking is bookRate's answer.
type booking struct {
	// booked says the call has its place and may go out after wait.
	booked bool
	// wait is how long from now the call must wait to go out: when not
	// booked, the earliest time worth trying again.
	wait time.Duration
	// limit names the charge that decided wait ("" for no wait).
	limit string
}

// bookRate books a call's place in its provider's schedule under every
// charge at once, if it can go out within budget, and says when it may go
// out. at is the time to decide by; zero means Redis's own clock, which
// every worker shares (tests pass their own to play minutes in an
// instant).
//
// Unlike redis_rate's Allow, which a caller retries until it is let
// through, the call's place is taken now and kept while it waits, so a
// waiting call costs one round trip, waiters wake at their own times
// instead of racing for the next opening, and a large call is not
// overtaken for ever by smaller ones that fit sooner.
func bookRate(ctx context.Context, rdb redis.Scripter, key string, at time.Time, budget time.Duration, charges ...charge) (booking, error) {
	args := make([]any, 0, 2+4*len(charges))
	now := ""
	if !at.IsZero() {
		now = strconv.FormatInt(at.UnixMicro(), 10)
	}
	args = append(args, now, budget.Microseconds())
	for _, ch := range charges {
		args = append(args, ch.name, ch.limit.interval(), ch.cost, ch.limit.Burst)
	}
	res, err := bookScript.Run(ctx, rdb, []string{key}, args...).Int64Slice()
	if err != nil {
		return booking{}, err
	}
	b := booking{booked: res[0] == 1, wait: time.Duration(res[1]) * time.Microsecond}
	if res[2] > 0 {
		b.limit = charges[res[2]-1].name
	}
	return b, nil
}

// bookScript is GCRA with reservations. KEYS[1] is the provider's
// schedule: a hash holding, per limit, its theoretical arrival time (the
// end of the last booking, in microseconds). ARGV: the time to decide by
// (empty for Redis's clock), the longest wait worth booking, then per limit
// its field, microseconds per unit, the call's cost and the burst.
//
// A call of cost c with burst B books c units of time from when it goes
// out (a call within the burst may go out up to B early, as in GCRA), and
// a call above the burst also books its excess c − B before it. The
// bookings never overlap, so any window of W holds at most W's worth of
// the rate plus the burst of calls: each call it holds has at least its
// own cost booked inside the window widened by the burst. A stretch
// before a large call may lie in the past when the schedule was idle
// then.
var bookScript = redis.NewScript(`
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local n = (#ARGV - 2) / 4
local tats, send, by = {}, now, 0
for i = 1, n do
  local b = 3 + (i - 1) * 4
  local iv, cost, burst = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  tats[i] = tonumber(redis.call('HGET', KEYS[1], ARGV[b]) or 0)
  local s = math.max(tats[i], now - math.max(0, cost - burst) * iv) + (cost - burst) * iv
  if s > send then send, by = s, i end
end
local wait = math.ceil(send - now)
if wait > tonumber(ARGV[2]) then return {0, wait, by} end
local ttl = 0
for i = 1, n do
  local b = 3 + (i - 1) * 4
  local iv, cost, burst = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local lead = math.max(0, cost - burst)
  local tat = math.ceil(math.max(tats[i], send - lead * iv) + (cost + lead) * iv)
  redis.call('HSET', KEYS[1], ARGV[b], string.format('%.0f', tat))
  ttl = math.max(ttl, tat - now)
end
local ms = math.ceil(ttl / 1000) + 1000
if redis.call('PTTL', KEYS[1]) < ms then redis.call('PEXPIRE', KEYS[1], ms) end
return {1, wait, by}
`)

// waitRate books the call's place under its provider's request and token
// limits and waits in process for it, or returns a *WaitError for the
// time it may go when that is after deadline. Redis decides when a place
// is free (on its own clock); the Guard's clock decides whether waiting
// for it still fits before deadline.
func (g *Guard) waitRate(ctx context.Context, c Call, deadline time.Time) error {
	charges, err := rateCharges(c)
	if err != nil || len(charges) == 0 {
		return err
	}
	now := g.clock.Now()
	b, err := bookRate(ctx, g.rdb, rateKey(c.Provider), time.Time{}, bookingBudget(charges, deadline.Sub(now)), charges...)
	if err != nil {
		return fmt.Errorf("rate limits of provider %s: %w", c.Provider, err)
	}
	if !b.booked {
		g.observeWait(c.Provider, b.limit, true)
		return &WaitError{Provider: c.Provider, Reason: ReasonRateLimit, Until: now.Add(b.wait)}
	}
	if b.wait <= 0 {
		return nil
	}
	// The place is this call's alone, so no one else wakes for it.
	g.observeWait(c.Provider, b.limit, false)
	return g.clock.Sleep(ctx, b.wait)
}

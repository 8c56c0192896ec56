package resilience

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// BookAt books c's place in its provider's schedule as a Guard would when
// c may wait local in process, deciding by at instead of Redis's clock,
// so tests play minutes of schedule in an instant. It returns whether c
// got its place and how long from at it waits (to go out, or until worth
// trying again).
func BookAt(ctx context.Context, rdb redis.Scripter, c Call, at time.Time, local time.Duration) (bool, time.Duration, error) {
	charges, err := rateCharges(c)
	if err != nil {
		return false, 0, err
	}
	return bookAt(ctx, rdb, c.Provider, at, local, charges)
}

// BookPerMinuteAt is BookAt for a token limit paced as it was before
// tpmLimit, redis_rate.PerMinute: the whole minute as burst, on top of
// the minute's rate. The tests show it admitting too much.
func BookPerMinuteAt(ctx context.Context, rdb redis.Scripter, c Call, at time.Time, local time.Duration) (bool, time.Duration, error) {
	tpm := c.Limits.TokensPerMinute
	ch := charge{name: "tpm", limit: limit{Rate: tpm, Burst: tpm}, cost: min(max(c.Tokens, 1), tpm)}
	return bookAt(ctx, rdb, c.Provider, at, local, []charge{ch})
}

func bookAt(ctx context.Context, rdb redis.Scripter, provider string, at time.Time, local time.Duration, charges []charge) (bool, time.Duration, error) {
	b, err := bookRate(ctx, rdb, rateKey(provider), at, bookingBudget(charges, local), charges...)
	return b.booked, b.wait, err
}

// TPMLimit is tpmLimit's rate and burst.
func TPMLimit(tpm int) (rate, burst int) {
	l := tpmLimit(tpm)
	return l.Rate, l.Burst
}

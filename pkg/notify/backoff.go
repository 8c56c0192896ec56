package notify

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryDelay caps the delay between two attempts of a delivery: the
// doubling backoff and a receiver's Retry-After alike.
const MaxRetryDelay = time.Hour

// Backoff is the delay before a delivery's next attempt: full-jitter
// exponential backoff (a uniform delay between 0 and Base·2^(n-1), capped
// at MaxRetryDelay), so that receivers coming back from an outage are not
// hit by every sender's retries at once.
type Backoff struct {
	// Base is the ceiling of the first retry's delay (SABE_WEBHOOK_BACKOFF).
	Base time.Duration
	// Jitter returns a uniform number in [0, n); nil is math/rand. Tests
	// fix it to make the delays known.
	Jitter func(n int64) int64
}

// Ceiling is the largest delay after the failed attempt-th attempt.
func (b Backoff) Ceiling(attempt int) time.Duration {
	c := b.Base
	for i := 1; i < attempt && c < MaxRetryDelay; i++ {
		c *= 2
	}
	return min(c, MaxRetryDelay)
}

// Delay is the delay after the failed attempt-th attempt, in [0, Ceiling].
func (b Backoff) Delay(attempt int) time.Duration {
	jitter := b.Jitter
	if jitter == nil {
		jitter = rand.Int64N
	}
	return time.Duration(jitter(int64(b.Ceiling(attempt)) + 1))
}

// RetryAfter is how long an answer asks the sender to wait (Retry-After
// in seconds or as an HTTP date, counted from now), at most
// MaxRetryDelay; 0 when it asks nothing or nothing readable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(max(secs, 0), int64(MaxRetryDelay/time.Second))) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), MaxRetryDelay)
}

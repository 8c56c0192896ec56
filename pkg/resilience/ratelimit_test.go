package resilience_test

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// The rate limits are decided by Redis on its own clock; these tests
// choose limits whose next allowance is either far beyond MaxLocalWait or
// well within it, so how fast the machine runs decides nothing.
func TestGuard_RateLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const maxLocalWait = 100 * time.Millisecond

	t.Run("RequestsPerMinute", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		a, obs := guard(t, testenv.Redis(t), resilience.Config{MaxLocalWait: maxLocalWait, Clock: clk})
		// One per minute: a burst of 1, then one every minute.
		call := resilience.Call{Provider: "p3", Limits: resilience.Limits{RequestsPerMinute: 1}}
		acquire(t, a, call).Done(resilience.Succeeded)
		_, err := a.Acquire(ctx, call)
		we := wantWait(t, err, resilience.ReasonRateLimit)
		// Rescheduled at once: the guard's clock did not move, and the
		// retry time is the limiter's wait counted from it.
		if d := we.Until.Sub(clk.Now()); d <= maxLocalWait || d > time.Minute {
			t.Errorf("wait %s, want over MaxLocalWait and at most the 1m emission interval", d)
		}
		if obs.waited("rpm/rescheduled") != 1 || obs.waited("rpm") != 0 {
			t.Errorf("observed waits %v", obs.waits)
		}
	})

	t.Run("TokensPerMinute", func(t *testing.T) {
		t.Parallel()
		a, _ := guard(t, testenv.Redis(t), resilience.Config{MaxLocalWait: maxLocalWait, Clock: newClock()})
		call := resilience.Call{Provider: "p4", Limits: resilience.Limits{TokensPerMinute: 1000}, Tokens: 600}
		acquire(t, a, call).Done(resilience.Succeeded)
		_, err := a.Acquire(ctx, call)
		wantWait(t, err, resilience.ReasonRateLimit)
		// A call larger than the whole minute's tokens can never go out:
		// it fails at once, for good, instead of waiting for ever.
		big := resilience.Call{Provider: "p5", Limits: resilience.Limits{TokensPerMinute: 1000}, Tokens: 5000}
		_, err = a.Acquire(ctx, big)
		var tl *resilience.TooLargeError
		if !errors.As(err, &tl) || !errors.Is(err, asynq.SkipRetry) || tl.Tokens != 5000 {
			t.Errorf("err = %v, want a TooLargeError that asynq does not retry", err)
		}
		// One of the whole limit goes out, on an idle schedule at once.
		whole := resilience.Call{Provider: "p5", Limits: resilience.Limits{TokensPerMinute: 1000}, Tokens: 1000}
		acquire(t, a, whole).Done(resilience.Succeeded)
	})

	t.Run("ShortWaitsInProcess", func(t *testing.T) {
		t.Parallel()
		// The clock moves only by what the guard sleeps, so a wait of about
		// one emission interval stays within MaxLocalWait however slowly
		// the calls run.
		a, obs := guard(t, testenv.Redis(t), resilience.Config{MaxLocalWait: 10 * time.Second, Clock: newClock()})
		// 60 per minute: a burst of 1, then one per second; the next call
		// right after an allowance always has to wait for one.
		call := resilience.Call{Provider: "p6", Limits: resilience.Limits{RequestsPerMinute: 60}}
		for range 3 {
			acquire(t, a, call).Done(resilience.Succeeded)
		}
		if obs.waited("rpm") == 0 || obs.waited("rpm/rescheduled") != 0 {
			t.Errorf("observed waits %v: want waits in process only", obs.waits)
		}
	})
}

// sent is a call that went out in a played schedule, at its time from
// the start.
type sent struct {
	at     time.Duration
	tokens int
}

// bookFunc books a call's place as resilience.BookAt does.
type bookFunc func(ctx context.Context, rdb redis.Scripter, c resilience.Call, at time.Time, local time.Duration) (bool, time.Duration, error)

// play runs clients that each send their calls (their sizes in tokens) one
// after another, each as early as the schedule lets it, through the real
// booking script on a clock of its own: a call that gets its place goes
// out after its wait and takes no time; one that does not comes back
// exactly when told, as its rescheduled task would. It returns the calls
// that went out within end, in the order they went, and how many did not.
func play(t *testing.T, book bookFunc, limits resilience.Limits, clients [][]int, end time.Duration) ([]sent, int) {
	t.Helper()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	start := time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)
	ready := make([]time.Duration, len(clients))
	next := make([]int, len(clients))
	var out []sent
	for {
		k := -1
		for i := range clients {
			if next[i] < len(clients[i]) && (k < 0 || ready[i] < ready[k]) {
				k = i
			}
		}
		if k < 0 || ready[k] > end {
			break
		}
		call := resilience.Call{Provider: "p", Limits: limits, Tokens: clients[k][next[k]]}
		booked, wait, err := book(ctx, rdb, call, start.Add(ready[k]), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ready[k] += wait
		if booked {
			out = append(out, sent{ready[k], call.Tokens})
			next[k]++
		}
	}
	slices.SortStableFunc(out, func(a, b sent) int { return cmp.Compare(a.at, b.at) })
	left := 0
	for i := range clients {
		left += len(clients[i]) - next[i]
	}
	return out, left
}

// most returns the most tokens, and the most calls, that went out within
// any window of length w.
func most(out []sent, w time.Duration) (tokens, calls int) {
	j, sum := 0, 0
	for i := range out {
		for j < len(out) && out[j].at-out[i].at < w {
			sum += out[j].tokens
			j++
		}
		tokens, calls = max(tokens, sum), max(calls, j-i)
		sum -= out[i].tokens
	}
	return tokens, calls
}

// playAll plays clients against a token limit of tpm until end and
// checks that every call went out and no 60 s, plus a second of slack,
// saw more than tpm tokens.
func playAll(t *testing.T, tpm int, clients [][]int, end time.Duration) {
	t.Helper()
	out, left := play(t, resilience.BookAt, resilience.Limits{TokensPerMinute: tpm}, clients, end)
	if left > 0 {
		t.Errorf("%d calls never went out", left)
	}
	if got, _ := most(out, time.Minute+time.Second); got > tpm {
		t.Errorf("%d tokens within 61 s, over the limit of %d", got, tpm)
	}
}

// clients returns n clients of calls calls each, sized by size.
func clients(n, calls int, size func(i int) int) [][]int {
	cs := make([][]int, n)
	for c := range cs {
		for i := range calls {
			cs[c] = append(cs[c], size(c*calls+i))
		}
	}
	return cs
}

// TestTPMLimit plays busy fleets against the token limit on a clock of
// its own and counts every window of 60 s plus a second of slack, the
// provider's count of tokens with room for calls that reach it out of
// step: none may exceed the limit, while the fleet still gets close to
// it and every call, however large, goes out.
func TestTPMLimit(t *testing.T) {
	t.Parallel()
	const tpm = 100_000
	window := time.Minute + time.Second
	// between returns sizes in [lo, hi], the same on every run.
	between := func(lo, hi int) func(int) int {
		rng := rand.New(rand.NewPCG(19, uint64(lo)))
		return func(int) int { return lo + rng.IntN(hi-lo+1) }
	}
	rate, burst := resilience.TPMLimit(tpm)

	t.Run("PerMinuteAdmitsTwiceTheLimit", func(t *testing.T) {
		t.Parallel()
		// The setting before: a minute's burst on top of a minute's rate.
		cs := clients(12, 60, between(200, burst))
		out, _ := play(t, resilience.BookPerMinuteAt, resilience.Limits{TokensPerMinute: tpm}, cs, 3*time.Minute)
		if got, _ := most(out, window); got <= tpm*3/2 {
			t.Errorf("most tokens in a window = %d: the simulation cannot tell the old setting's excess", got)
		}
	})

	t.Run("TypicalCalls", func(t *testing.T) {
		t.Parallel()
		cs := clients(12, 60, between(200, burst))
		out, _ := play(t, resilience.BookAt, resilience.Limits{TokensPerMinute: tpm}, cs, 4*time.Minute)
		if got, _ := most(out, window); got > tpm {
			t.Errorf("%d tokens within 61 s, over the limit of %d", got, tpm)
		}
		// After the first minute's burst, the fleet runs at the rate.
		sum := 0
		for _, s := range out {
			if s.at >= time.Minute && s.at < 4*time.Minute {
				sum += s.tokens
			}
		}
		if perMinute := sum / 3; perMinute < rate*98/100 || rate < tpm*88/100 {
			t.Errorf("%d tokens a minute at a rate of %d: want close to the limit of %d", perMinute, rate, tpm)
		}
	})

	t.Run("LargeCalls", func(t *testing.T) {
		t.Parallel()
		// One call in four above the burst, up to the whole limit.
		small, large := between(200, burst), between(burst+1, tpm)
		cs := clients(8, 8, func(i int) int {
			switch {
			case i == 0:
				return tpm
			case i%4 == 0:
				return large(i)
			}
			return small(i)
		})
		playAll(t, tpm, cs, time.Hour)
	})

	t.Run("RequestsAndTokens", func(t *testing.T) {
		t.Parallel()
		// Small calls, so that both limits bind in turn.
		const rpm = 600
		cs := clients(16, 200, between(10, 300))
		out, _ := play(t, resilience.BookAt, resilience.Limits{RequestsPerMinute: rpm, TokensPerMinute: tpm}, cs, 3*time.Minute)
		if got, _ := most(out, window); got > tpm {
			t.Errorf("%d tokens within 61 s, over the limit of %d", got, tpm)
		}
		// 589 a minute: 60 s plus one emission interval, as TestRPMLimit.
		if _, got := most(out, time.Minute+time.Minute/589); got > rpm {
			t.Errorf("%d calls within 60 s and an interval, over the limit of %d", got, rpm)
		}
	})

	t.Run("SmallLimit", func(t *testing.T) {
		t.Parallel()
		const tpm = 1000
		cs := clients(4, 20, between(1, tpm))
		playAll(t, tpm, cs, 2*time.Hour)
	})

	t.Run("LargerThanTheLimit", func(t *testing.T) {
		t.Parallel()
		call := resilience.Call{Provider: "p", Limits: resilience.Limits{TokensPerMinute: tpm}, Tokens: tpm + 1}
		_, _, err := resilience.BookAt(context.Background(), testenv.Redis(t), call, time.Now(), time.Second)
		var tl *resilience.TooLargeError
		if !errors.As(err, &tl) || !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("err = %v, want a TooLargeError that asynq does not retry", err)
		}
	})
}

// scripts counts the scripts a Redis client runs, the rate limits' round
// trips.
type scripts struct{ n atomic.Int64 }

var _ redis.Hook = (*scripts)(nil)

func (s *scripts) DialHook(next redis.DialHook) redis.DialHook { return next }

func (s *scripts) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n == "evalsha" || n == "eval" {
			s.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (s *scripts) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestGuard_RateWaits has a fleet of workers, one call each, wait on a
// request limit together, on real Redis: those whose place comes within
// MaxLocalWait wait in process, the others are handed back until their
// place and try again. Each Acquire costs one round trip to the limit,
// however long it waits, instead of one every emission interval.
func TestGuard_RateWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const workers = 40
	rdb := testenv.Redis(t)
	count := &scripts{}
	rdb.AddHook(count)
	obs := &observer{}
	call := resilience.Call{Provider: "p8", Limits: resilience.Limits{RequestsPerMinute: 600}}
	var acquires atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		clk := newClock()
		g := resilience.NewGuard(rdb, resilience.Config{Clock: clk, Observer: obs})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				acquires.Add(1)
				p, err := g.Acquire(ctx, call)
				if err == nil {
					p.Done(resilience.Succeeded)
					return
				}
				var we *resilience.WaitError
				if !errors.As(err, &we) {
					t.Error(err)
					return
				}
				// The task comes back when it was told to.
				if err := clk.Sleep(ctx, we.Wait(clk.Now())); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d workers: %d acquires (%d waits in process, %d handed back), %d rate-limit round trips",
		workers, acquires.Load(), obs.waited("rpm"), obs.waited("rpm/rescheduled"), count.n.Load())
	if obs.waited("rpm") == 0 || obs.waited("rpm/rescheduled") == 0 {
		t.Errorf("observed waits %v: want waits in process and handed back", obs.waits)
	}
	// One more for the script's first load.
	if n := count.n.Load(); n > acquires.Load()+1 {
		t.Errorf("%d round trips for %d acquires: want one each", n, acquires.Load())
	}
}

package notify_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// stepClock is a clock the test moves; Sleep does not wait.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *stepClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// dispatches counts the dispatch tasks enqueued.
type dispatches struct {
	mu sync.Mutex
	n  int
}

func (d *dispatches) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.Type() == notify.TypeDispatch {
		d.n++
	}
	return &asynq.TaskInfo{}, nil
}

func (d *dispatches) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// TestCircuitEvents_Fleet runs two workers' Guards over one Redis and one
// database, as taskserver wires them: the provider's outage makes one
// provider.circuit_opened and one provider.circuit_closed event, however
// many workers saw it.
func TestCircuitEvents_Fleet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, rdb := testenv.Pool(t), testenv.Redis(t)
	st := store.New(pool, testenv.Keyring(t))
	p := testfactory.Provider(ctx, t, st, nil)
	clk := &stepClock{now: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)}
	queue := &dispatches{}
	const openFor = 30 * time.Second
	newGuard := func() *resilience.Guard {
		g := resilience.NewGuard(rdb, resilience.Config{
			Failures: 2, OpenTimeout: openFor, Clock: clk,
			Fleet: &notify.CircuitEvents{Store: st, Queue: queue, Log: slog.New(slog.DiscardHandler)},
		})
		if err := g.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(g.Stop)
		return g
	}
	a, b := newGuard(), newGuard()
	call := resilience.Call{Provider: p.ID.String(), Timeout: 5 * time.Second}
	take := func(g *resilience.Guard) *resilience.Permit {
		t.Helper()
		permit, err := g.Acquire(ctx, call)
		if err != nil {
			t.Fatal(err)
		}
		return permit
	}
	count := func(typ string) int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1 AND payload->>'provider_id' = $2`, typ, p.ID.String()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Every permit is taken while the circuit is closed, then each guard
	// sees its failures: once one guard opens the circuit fleet-wide, the
	// other learns of it on its own schedule and would refuse a later
	// Acquire.
	var permits []*resilience.Permit
	for _, g := range []*resilience.Guard{a, b} {
		permits = append(permits, take(g), take(g))
	}
	for _, permit := range permits {
		permit.Report(resilience.Failed, "provider: HTTP 503")
	}
	testenv.WaitFor(t, "the opening's event", 30*time.Second, func() bool { return count(notify.CircuitOpened) == 1 })

	clk.Set(clk.Now().Add(openFor))
	testenv.WaitFor(t, "a half-open probe", 30*time.Second, func() bool {
		permit, err := a.Acquire(ctx, call)
		if err != nil {
			return false
		}
		permit.Done(resilience.Succeeded)
		return permit.Probe()
	})
	testenv.WaitFor(t, "the closing's event", 30*time.Second, func() bool { return count(notify.CircuitClosed) == 1 })
	if n := count(notify.CircuitOpened); n != 1 {
		t.Errorf("%d opening events, want 1", n)
	}
	if n := queue.count(); n != 2 {
		t.Errorf("%d dispatches kicked, want one per event", n)
	}
	var name string
	if err := pool.QueryRow(ctx, `SELECT payload->>'provider_name' FROM events WHERE type = $1 AND payload->>'provider_id' = $2`, notify.CircuitClosed, p.ID.String()).Scan(&name); err != nil || name != p.Name {
		t.Errorf("provider_name = %q (%v), want %q", name, err, p.Name)
	}
}

package redisconn_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/internal/redisconn"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

func TestFollower(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	ctx := context.Background()
	got := make(chan string, 1)
	var ticks atomic.Int64
	// From the third tick on, a tick holds on until its context ends, so
	// that Stop has a tick under way to wait for.
	var tickReturned atomic.Bool
	f := redisconn.NewFollower(rdb, "test-channel", func(_ context.Context, p string) { got <- p }).
		Every(10*time.Millisecond, func(ctx context.Context) {
			if ticks.Add(1) >= 3 {
				<-ctx.Done()
				tickReturned.Store(true)
			}
		})
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Start(ctx); err == nil {
		t.Error("a second Start succeeded")
	}
	// Start returns once the subscription is confirmed: a message
	// published right after it must arrive.
	if err := rdb.Publish(ctx, "test-channel", "hello").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "hello" {
			t.Errorf("payload %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("message not delivered")
	}
	testenv.WaitFor(t, "a held tick", 5*time.Second, func() bool { return ticks.Load() >= 3 })
	f.Stop()
	f.Stop()
	// Stop cancelled the held tick and waited for it: the follower's
	// goroutine is gone, so no tick can follow.
	if !tickReturned.Load() {
		t.Error("Stop returned while a tick was still under way")
	}
	if n := ticks.Load(); n != 3 {
		t.Errorf("tick called %d times, want 3 (the third held until Stop)", n)
	}
}

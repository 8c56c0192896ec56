package redisconn_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/redisconn"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

func TestFollower(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	ctx := context.Background()
	got := make(chan string, 1)
	var ticks atomic.Int64
	f := redisconn.NewFollower(rdb, "test-channel", func(_ context.Context, p string) { got <- p }).
		Every(10*time.Millisecond, func(context.Context) { ticks.Add(1) })
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
	deadline := time.Now().Add(5 * time.Second)
	for ticks.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if ticks.Load() < 2 {
		t.Errorf("tick called %d times", ticks.Load())
	}
	f.Stop()
	f.Stop()
	after := ticks.Load()
	time.Sleep(50 * time.Millisecond)
	if ticks.Load() != after {
		t.Error("ticks went on after Stop")
	}
}

package testenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/internal/redisconn"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

func TestRedisSentinel(t *testing.T) {
	t.Parallel()
	s := testenv.RedisSentinel(t)
	ctx := context.Background()
	rdb, err := redisconn.Open(ctx, s.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Master.Kill()
	s.WaitPromoted(t, 30*time.Second)
	testenv.WaitFor(t, "a write through the new master", 30*time.Second, func() bool {
		return rdb.Set(ctx, "k2", "v", 0).Err() == nil
	})
}

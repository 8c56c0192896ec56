// Package redisconn opens the Redis connection that SABE's processes share
// between asynq and their own keys (run progress, cancel flags), and
// follows the pub/sub channels on which one process tells the others that
// something changed (Follower).
package redisconn

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// connBufferSize is each connection's read and write buffer.
const connBufferSize = 8 << 10

// Open parses a redis:// or rediss:// URL (with optional user, password and
// database number), connects and pings. poolSize 0 keeps go-redis's default.
func Open(ctx context.Context, url string, poolSize int) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		// The URL may hold a password: say what is wrong, not what it was.
		return nil, fmt.Errorf("parse redis url: invalid URL")
	}
	if poolSize > 0 {
		opts.PoolSize = poolSize
	}
	// SABE's commands and replies are small (ids, counters, asynq's task
	// messages); go-redis's 32 KiB read and write buffers per connection
	// made up most of a busy worker's heap.
	opts.ReadBufferSize, opts.WriteBufferSize = connBufferSize, connBufferSize
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("connect to redis at %s: %w", opts.Addr, err)
	}
	return rdb, nil
}

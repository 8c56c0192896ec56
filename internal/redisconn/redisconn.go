// Package redisconn opens the Redis connection that SABE's processes share
// between asynq and their own keys (run progress, cancel flags), from one
// URL naming a single server, a master behind sentinels or a cluster
// (Parse), and follows the pub/sub channels on which one process tells
// the others that something changed (Follower).
package redisconn

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// connBufferSize is each connection's read and write buffer.
const connBufferSize = 8 << 10

// Open parses url (see Parse), connects and pings. poolSize 0 keeps
// go-redis's default.
func Open(ctx context.Context, url string, poolSize int) (redis.UniversalClient, error) {
	c, err := Parse(url)
	if err != nil {
		return nil, err
	}
	return c.Open(ctx, poolSize)
}

// Open connects to the URL's servers and pings.
func (c *Conn) Open(ctx context.Context, poolSize int) (redis.UniversalClient, error) {
	rdb := c.NewClient(poolSize)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("connect to redis at %s: %w", c.Where(), err)
	}
	return rdb, nil
}

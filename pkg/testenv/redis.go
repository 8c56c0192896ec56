package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisReserveWait bounds how long ReserveRedisDB waits for a free
// database before it gives up.
const redisReserveWait = 3 * time.Minute

// ReserveRedisDB takes a Redis database number in 1–15 on the server at
// baseURL, flushes it, and returns its URL; release flushes it again and
// frees it. Every process that runs queues on a shared server (the tests
// of each package, the bench) reserves through the same lock, the key
// sabe:testlock:db:N in database 0, so none shares a database with
// another. Tests count up from 1 and the bench, with fromTop, down from
// 15, so that one rarely waits for the other. hold is how long the lock
// outlives a holder that dies without releasing it; the wait for a free
// number ends with an error after three minutes or with ctx.
func ReserveRedisDB(ctx context.Context, baseURL string, fromTop bool, hold time.Duration) (dbURL string, release func(), err error) {
	opts, err := redis.ParseURL(baseURL)
	if err != nil {
		return "", nil, fmt.Errorf("redis url: %w", err)
	}
	ctlOpts := *opts
	ctlOpts.DB = 0
	ctl := redis.NewClient(&ctlOpts)
	n, err := lockFreeDB(ctx, ctl, fromTop, hold)
	if err != nil {
		ctl.Close()
		return "", nil, err
	}
	dbOpts := *opts
	dbOpts.DB = n
	flush := func() error {
		c := redis.NewClient(&dbOpts)
		defer c.Close()
		return c.FlushDB(context.Background()).Err()
	}
	release = func() {
		_ = flush()
		_ = ctl.Del(context.Background(), redisLockKey(n)).Err()
		ctl.Close()
	}
	if err := flush(); err != nil {
		release()
		return "", nil, fmt.Errorf("flush redis db %d: %w", n, err)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		release()
		return "", nil, fmt.Errorf("redis url: %w", err)
	}
	u.Path = "/" + strconv.Itoa(n)
	return u.String(), release, nil
}

// lockFreeDB takes the lock of the first free database number, polling
// until one is free.
func lockFreeDB(ctx context.Context, ctl *redis.Client, fromTop bool, hold time.Duration) (int, error) {
	order := make([]int, 15)
	for i := range order {
		order[i] = i + 1
		if fromTop {
			order[i] = 15 - i
		}
	}
	token := randomHex(8)
	deadline := time.Now().Add(redisReserveWait)
	for {
		for _, n := range order {
			ok, err := ctl.SetNX(ctx, redisLockKey(n), token, hold).Result()
			if err != nil {
				return 0, fmt.Errorf("reserve a redis database: %w", err)
			}
			if ok {
				return n, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no free redis database in 1-15 for %s", redisReserveWait)
		}
		select {
		case <-ctx.Done():
			return 0, errors.Join(errors.New("reserve a redis database"), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func redisLockKey(n int) string { return "sabe:testlock:db:" + strconv.Itoa(n) }

// RedisURL reserves a Redis database number for the test, flushed before
// and after, and returns its URL.
func RedisURL(t testing.TB) string {
	t.Helper()
	_, base, err := servers()
	if err != nil {
		t.Fatal(err)
	}
	u, release, err := ReserveRedisDB(context.Background(), base, false, 10*time.Minute)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	t.Cleanup(release)
	return u
}

// Redis returns a client on a Redis database reserved for the test.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

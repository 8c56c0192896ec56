package maintenance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// extendScript extends the lease only while this holder still owns it.
var extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// releaseScript deletes the lease only while this holder still owns it, so
// a holder whose lease expired never frees the next holder's.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// lease is a Redis lock held by one process at a time: taken with SET NX
// PX, extended every third of its TTL while held, released on done. A
// holder that dies frees it after the TTL.
type lease struct {
	rdb    redis.UniversalClient
	key    string
	token  string
	ttl    time.Duration
	cancel context.CancelFunc
	done   chan struct{}
}

// acquireLease takes the lease at key, or reports false when someone else
// holds it. The returned context ends when the lease is lost (it could not
// be extended) or released.
func acquireLease(ctx context.Context, rdb redis.UniversalClient, key string, ttl time.Duration) (*lease, context.Context, bool, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	ok, err := rdb.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return nil, nil, false, fmt.Errorf("take lease %s: %w", key, err)
	}
	if !ok {
		return nil, nil, false, nil
	}
	lctx, cancel := context.WithCancel(ctx)
	l := &lease{rdb: rdb, key: key, token: token, ttl: ttl, cancel: cancel, done: make(chan struct{})}
	go l.keep(lctx)
	return l, lctx, true, nil
}

// keep extends the lease until ctx ends; when an extension fails, the
// lease may have passed to another holder, so the work under it stops.
func (l *lease) keep(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := extendScript.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
			if err != nil || n == 0 {
				l.cancel()
				return
			}
		}
	}
}

// release stops extending the lease and frees it.
func (l *lease) release() {
	l.cancel()
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Err()
}

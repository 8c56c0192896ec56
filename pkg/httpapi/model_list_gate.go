package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// maxModelListsInFlight bounds the model lists one api process fetches at
// once, whatever their providers: each may take its byte budget (8 MiB)
// several times over in memory while the SDK decodes it.
const maxModelListsInFlight = 2

// modelListKeyPrefix namespaces the Redis keys that mark a provider's
// model list as being fetched somewhere in the fleet.
const modelListKeyPrefix = "sabe:remote-models:"

// releaseScript deletes a marker only if it is still the caller's, so a
// marker that expired and was taken by another request is left alone.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// modelListGate lets one request at a time fetch a provider's model list
// across every api replica (a Redis marker that expires after the call's
// timeout, should its holder die), and at most maxModelListsInFlight per
// process. Read tokens can call the route, so without it a few concurrent
// requests multiplied a provider's answer in the API's memory.
type modelListGate struct {
	rdb  redis.UniversalClient
	ttl  time.Duration
	log  *slog.Logger
	mu   sync.Mutex
	busy int
}

// enter takes the gate for provider id, or returns a 429 that says why.
// The returned release must be called when the list has been answered.
func (g *modelListGate) enter(ctx context.Context, id uuid.UUID) (release func(), err error) {
	g.mu.Lock()
	if g.busy >= maxModelListsInFlight {
		g.mu.Unlock()
		return nil, busyError(ctx, fmt.Sprintf("this server is already fetching %d model lists; retry in a few seconds", maxModelListsInFlight))
	}
	g.busy++
	g.mu.Unlock()
	leave := func() {
		g.mu.Lock()
		g.busy--
		g.mu.Unlock()
	}

	key, mark := modelListKeyPrefix+id.String(), uuid.NewString()
	ok, err := g.rdb.SetNX(ctx, key, mark, g.ttl).Result()
	switch {
	case err != nil:
		// The per-process bound still holds; refusing every list while
		// Redis is down would make providers impossible to set up.
		g.log.WarnContext(ctx, "model list gate not checked: redis failed", "provider_id", id, "err", err)
		return leave, nil
	case !ok:
		leave()
		return nil, busyError(ctx, "this provider's model list is already being fetched; retry in a few seconds")
	}
	return func() {
		// The request's context may be over; the marker must go anyway.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if err := releaseScript.Run(rctx, g.rdb, []string{key}, mark).Err(); err != nil {
			g.log.WarnContext(ctx, "model list gate not released: redis failed", "provider_id", id, "err", err)
		}
		leave()
	}, nil
}

// busyError is the 429 of a refused model list, with a Retry-After.
func busyError(ctx context.Context, msg string) error {
	return tooMany(echoContextFrom(ctx), 5*time.Second, msg)
}

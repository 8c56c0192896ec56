package analytics

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"
)

// cacheSize bounds the answers a Service keeps.
const cacheSize = 512

// resultCache keeps computed comparisons and leaderboards per benchmark
// data version. Their inputs change only when a run of the benchmark
// finishes (the question tallies are written in the finalizing
// transaction), so an answer computed under one version is right for as
// long as the version stands; a bootstrap over 2,500 questions per model is
// worth not repeating for every reader of a dashboard. singleflight makes
// concurrent misses for one key compute once.
type resultCache struct {
	mu      sync.Mutex
	entries map[string]cached
	group   singleflight.Group
}

type cached struct {
	value any
	added time.Time
}

func newResultCache() *resultCache { return &resultCache{entries: map[string]cached{}} }

// get returns the answer for key under the benchmark's current data
// version, computing it with compute on a miss.
func (c *resultCache) get(ctx context.Context, st Store, benchmarkID uuid.UUID, key string, compute func() (any, error)) (any, error) {
	version, err := st.DataVersion(ctx, benchmarkID)
	if err != nil {
		return nil, err
	}
	key = benchmarkID.String() + "|" + version + "|" + key
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return e.value, nil
	}
	v, err, _ := c.group.Do(key, func() (any, error) {
		v, err := compute()
		if err != nil {
			return nil, err
		}
		c.put(key, v)
		return v, nil
	})
	return v, err
}

func (c *resultCache) put(key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= cacheSize {
		// Evict the oldest; a full scan of 512 entries is nothing next to
		// the computation a miss costs.
		var oldest string
		var at time.Time
		for k, e := range c.entries {
			if oldest == "" || e.added.Before(at) {
				oldest, at = k, e.added
			}
		}
		delete(c.entries, oldest)
	}
	c.entries[key] = cached{value: v, added: time.Now()}
}

// cacheKey renders query fields into a key; nil pointers and values are
// told apart.
func cacheKey(kind string, fields ...any) string {
	var b strings.Builder
	b.WriteString(kind)
	for _, f := range fields {
		b.WriteByte('|')
		switch v := f.(type) {
		case *time.Time:
			if v != nil {
				b.WriteString(v.UTC().Format(time.RFC3339Nano))
			} else {
				b.WriteString("-")
			}
		case *string:
			if v != nil {
				b.WriteString("=" + *v)
			} else {
				b.WriteString("-")
			}
		case *uuid.UUID:
			if v != nil {
				b.WriteString(v.String())
			} else {
				b.WriteString("-")
			}
		default:
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

package testenv_test

import (
	"context"
	"testing"

	"github.com/sabe-dev/sabe/internal/redisconn"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// TestRedisCluster checks the cluster's URL works through redisconn, and
// that redisconn.Slot (which the key-slot tests rely on) agrees with the
// cluster's own CLUSTER KEYSLOT.
func TestRedisCluster(t *testing.T) {
	t.Parallel()
	s := testenv.RedisCluster(t)
	ctx := context.Background()
	rdb, err := redisconn.Open(ctx, s.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	for _, k := range []string{"somekey", "foo{hash_tag}", "sabe:run:{0193a2b4-0000-7000-8000-000000000001}:done", "{}x", "a{b}c{d}", "sabe:provider:p1:rpm"} {
		want, err := rdb.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := redisconn.Slot(k); int64(got) != want {
			t.Errorf("Slot(%q) = %d, CLUSTER KEYSLOT says %d", k, got, want)
		}
		// Every key is reachable, whichever node owns its slot.
		if err := rdb.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Errorf("set %q: %v", k, err)
		}
	}
}

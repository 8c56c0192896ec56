package testenv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the master name RedisSentinel's sentinels watch.
const SentinelMaster = "sabe"

// Sentinel timings: a master that does not answer for sentinelDownAfter
// is down, and a failover that stalls is retried after twice
// sentinelFailoverTimeout. Short, so that a test's failover takes seconds.
const (
	sentinelDownAfter       = time.Second
	sentinelFailoverTimeout = 3 * time.Second
)

// SentinelSet is a master, one replica and three sentinels on loopback,
// started by RedisSentinel.
type SentinelSet struct {
	// URL is the SABE_REDIS_URL that reaches the master through the
	// sentinels (database 0).
	URL string
	// Master and Replica are the data processes as started; after a
	// failover their roles are swapped.
	Master, Replica *RedisProcess
	// Sentinels watch Master under SentinelMaster.
	Sentinels []*RedisProcess
}

// RedisSentinel starts redis-server twice (a master and its replica) and
// three sentinels (redis-sentinel, Debian's package of that name) with a
// quorum of two, and returns once the sentinels know the replica and
// each other, so a failover can start. The test is skipped where the
// binaries are missing, or fails under CI=true.
func RedisSentinel(t testing.TB) *SentinelSet {
	t.Helper()
	server := redisBinary(t, "redis-server", "redis-server")
	sentinel := redisBinary(t, "redis-sentinel", "redis-sentinel")
	s := &SentinelSet{}
	s.Master = startRedisProcess(t, "master", server, nil)
	s.Replica = startRedisProcess(t, "replica", server, []string{"replicaof " + strings.Replace(s.Master.Addr, ":", " ", 1)})
	addrs := make([]string, 3)
	for i := range addrs {
		p := startRedisProcess(t, fmt.Sprintf("sentinel-%d", i), sentinel, []string{
			"sentinel monitor " + SentinelMaster + " " + strings.Replace(s.Master.Addr, ":", " ", 1) + " 2",
			"sentinel down-after-milliseconds " + SentinelMaster + " " + strconv.Itoa(int(sentinelDownAfter.Milliseconds())),
			"sentinel failover-timeout " + SentinelMaster + " " + strconv.Itoa(int(sentinelFailoverTimeout.Milliseconds())),
			"sentinel parallel-syncs " + SentinelMaster + " 1",
		})
		s.Sentinels = append(s.Sentinels, p)
		addrs[i] = p.Addr
	}
	s.URL = "redis-sentinel://" + strings.Join(addrs, ",") + "?master=" + SentinelMaster
	ctx := context.Background()
	for _, p := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: p.Addr})
		WaitFor(t, "sentinel "+p.Addr+" to know the replica and the other sentinels", redisStartBound, func() bool {
			reps, err := sc.Replicas(ctx, SentinelMaster).Result()
			if err != nil || len(reps) != 1 || strings.Contains(reps[0]["flags"], "down") || reps[0]["master-link-status"] != "ok" {
				return false
			}
			others, err := sc.Sentinels(ctx, SentinelMaster).Result()
			return err == nil && len(others) == 2
		})
		_ = sc.Close()
	}
	return s
}

// MasterAddr is the master's address as the first sentinel that answers
// reports it.
func (s *SentinelSet) MasterAddr(t testing.TB) string {
	t.Helper()
	for _, p := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: p.Addr, MaxRetries: -1})
		a, err := sc.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
		_ = sc.Close()
		if err == nil && len(a) == 2 {
			return a[0] + ":" + a[1]
		}
	}
	t.Fatal("no sentinel names the master")
	return ""
}

// WaitPromoted waits until the sentinels name the replica as master and
// it answers as one.
func (s *SentinelSet) WaitPromoted(t testing.TB, timeout time.Duration) {
	t.Helper()
	c := s.Replica.Client()
	defer c.Close()
	WaitFor(t, "the replica promoted to master", timeout, func() bool {
		if s.MasterAddr(t) != s.Replica.Addr {
			return false
		}
		info, err := c.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "role:master")
	})
}

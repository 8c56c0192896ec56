package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// ClusterSet is a Redis Cluster of three masters (no replicas) on
// loopback, started by RedisCluster.
type ClusterSet struct {
	// URL is the SABE_REDIS_URL of the cluster, naming every node.
	URL string
	// Nodes are the cluster's masters.
	Nodes []*RedisProcess
}

// RedisCluster starts three redis-server nodes with cluster support,
// joins them with redis-cli --cluster create (each takes a third of the
// hash slots) and returns once every node reports the cluster ok. The
// test is skipped where the binaries are missing, or fails under CI=true.
func RedisCluster(t testing.TB) *ClusterSet {
	t.Helper()
	server := redisBinary(t, "redis-server", "redis-server")
	cli := redisBinary(t, "redis-cli", "redis-tools")
	s := &ClusterSet{}
	addrs := make([]string, 3)
	for i := range addrs {
		p := startRedisProcess(t, fmt.Sprintf("cluster-%d", i), server, []string{
			"cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 5000",
		})
		s.Nodes = append(s.Nodes, p)
		addrs[i] = p.Addr
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, p := range s.Nodes {
		c := p.Client()
		WaitFor(t, "cluster node "+p.Addr+" to report the cluster ok", redisStartBound, func() bool {
			info, err := c.ClusterInfo(context.Background()).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
		_ = c.Close()
	}
	s.URL = "redis-cluster://" + strings.Join(addrs, ",")
	return s
}

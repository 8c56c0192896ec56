package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// failoverBound is how long the sentinels may take to promote the replica
// once the master is gone: the master counts as down after a second, and
// a failover that stalls is retried after twice the failover timeout
// (testenv's sentinel settings), with room for a loaded machine.
const failoverBound = 30 * time.Second

// TestRedisHA_SentinelFailover runs SABE on a Redis master with one
// replica behind three sentinels (SABE_REDIS_URL=redis-sentinel://…) and
// kills the master in the middle of a run. The workers' units in flight
// fail against the dead master and their tasks cannot be moved to retry:
// asynq v0.26 retries that move with a context it has already cancelled,
// so such a task stays active on the promoted replica until its lease
// runs out and asynq's recoverer takes it. Units recorded in PostgreSQL
// whose progress write was lost leave Redis's counters short; the
// reconciler finds the run stalled and restores it, or finalizes it from
// what PostgreSQL recorded. The run completes with every unit recorded
// once.
func TestRedisHA_SentinelFailover(t *testing.T) {
	t.Parallel()
	const (
		models, questions, samples = 2, 40, 4
		latency                    = 100 * time.Millisecond
	)
	s := testenv.RedisSentinel(t)
	c := startCluster(t, latency, map[string]string{"SABE_REDIS_URL": s.URL})
	workers := []*proc{c.worker(t, "worker-0", nil), c.worker(t, "worker-1", nil)}
	bench, total := c.benchmark(t, models, questions, samples, nil)
	runID := c.startRun(t, bench)
	c.waitAt(t, runID, total, 0.3, startupBound)
	s.Master.Kill()
	before := c.recorded(t, runID)
	if before >= total {
		t.Fatalf("the run finished (%d units) before the master was lost", before)
	}
	lost := time.Now()
	s.WaitPromoted(t, failoverBound)
	t.Logf("master killed at %d/%d units; replica promoted %s later", before, total, time.Since(lost).Round(time.Millisecond))

	// A task stranded as active waits for its lease to run out, the
	// recoverer's cutoff and its next pass, then its retry; the rest of
	// the run may have waited behind it.
	bound := asynqLease + asynqRecoverCutoff + asynqRecoverEvery + 2*chaosRetryBase + forwardEvery +
		time.Duration(total)*latency/(2*chaosConcurrency) + startupBound
	r := c.waitFinished(t, runID, bound)
	t.Logf("run %s %s after the master was killed", r.Status, time.Since(lost).Round(time.Millisecond))
	c.checkOnce(t, r, total)
	monitoredQueues(t, c.system)
	var failed, reconciled bool
	for _, w := range workers {
		out := w.out.String()
		failed = failed || strings.Contains(out, "task failed")
		reconciled = reconciled || strings.Contains(out, "restoring run") || strings.Contains(out, "reconciler enqueued a missing task")
	}
	if !failed {
		t.Error("no worker logged a failed task: the failover did not reach the workers")
	}
	if !reconciled {
		t.Error("the reconciler neither restored nor finalized the run after the failover")
	}
}

// TestRedisHA_Cluster runs the end-to-end paths that use every Redis
// script SABE has on a three-node Redis Cluster
// (SABE_REDIS_URL=redis-cluster://…), each on a cluster of its own (asynq
// has no key prefix): a benchmark on two workers and the scheduler, and a
// judged run with its retries, reviews and rescore, whose answers and
// verdicts go through the multi-key progress scripts, and a webhook
// delivery retried until acknowledged (the notify queue and the sweep's
// keys). A script whose keys spanned hash slots would fail with CROSSSLOT.
func TestRedisHA_Cluster(t *testing.T) {
	t.Parallel()
	t.Run("Benchmark", func(t *testing.T) {
		t.Parallel()
		cl := testenv.RedisCluster(t)
		s := startOn(t, testenv.DatabaseURL(t), map[string]string{"SABE_REDIS_URL": cl.URL})
		benchmarkEndToEnd(t, s)
		monitoredQueues(t, s)
	})
	t.Run("Judging", func(t *testing.T) {
		t.Parallel()
		cl := testenv.RedisCluster(t)
		judgingEndToEnd(t, map[string]string{"SABE_REDIS_URL": cl.URL})
	})
	t.Run("Notifications", func(t *testing.T) {
		t.Parallel()
		cl := testenv.RedisCluster(t)
		retriesKeepWebhookID(t, startOn(t, testenv.DatabaseURL(t), notifyEnv, map[string]string{"SABE_REDIS_URL": cl.URL}))
	})
}

// monitoredQueues checks that asynqmon, which opens a connection of its
// own from the URL, lists the queues the run went through.
func monitoredQueues(t *testing.T, s *system) {
	t.Helper()
	var out struct {
		Queues []struct {
			Queue string `json:"queue"`
		} `json:"queues"`
	}
	s.call(t, "GET", "/monitoring/api/queues", "", nil, http.StatusOK, &out)
	for _, q := range out.Queues {
		if q.Queue == run.QueueInteractive {
			return
		}
	}
	t.Errorf("asynqmon lists queues %+v, without %s", out.Queues, run.QueueInteractive)
}

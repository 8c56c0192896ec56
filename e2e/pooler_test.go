package e2e

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// startPooled starts SABE (api, two workers, scheduler) on a fresh
// database with every process connected through its own PgBouncer in
// transaction pooling mode, migrations over the direct URL, as the README's
// "PostgreSQL through a pooler" says to run it. The system's own pool, the
// test's window on the database, stays direct.
func startPooled(t *testing.T, extra map[string]string) *system {
	t.Helper()
	direct := testenv.DatabaseURL(t)
	env := map[string]string{
		"SABE_DATABASE_URL":        testenv.PgBouncer(t, direct),
		"SABE_DATABASE_POOLER":     "transaction",
		"SABE_DATABASE_DIRECT_URL": direct,
	}
	maps.Copy(env, extra)
	return startOn(t, direct, env)
}

// TestPgBouncer_EndToEnd runs SABE's core paths with PostgreSQL behind a
// transaction pooler that has fewer server connections than one worker's
// pool, so statements of one client land on different server connections:
//   - Run: the end-to-end run of TestBenchmark_EndToEnd (every unit
//     recorded once, scores, ranking, results paging);
//   - Retries: a run whose provider fails a quarter of its calls completes
//     with every unit recorded once;
//   - Cancel: a slow run cancelled midway ends cancelled with no unit
//     recorded twice;
//   - Schedules: a benchmark scheduled every second gets one run per
//     occurrence, each completed;
//   - Notifications: a webhook delivery retried until acknowledged, with
//     its attempts recorded, and a redelivery.
func TestPgBouncer_EndToEnd(t *testing.T) {
	t.Parallel()
	t.Run("Run", func(t *testing.T) {
		t.Parallel()
		benchmarkEndToEnd(t, startPooled(t, nil))
	})

	t.Run("Notifications", func(t *testing.T) {
		t.Parallel()
		retriesKeepWebhookID(t, startPooled(t, notifyEnv))
	})

	t.Run("Retries", func(t *testing.T) {
		t.Parallel()
		s := startPooled(t, map[string]string{
			"SABE_RETRY_BASE_DELAY": "10ms",
			// Enough retries and breaker room that a run of 500s at this
			// rate always completes: this is about recording, not giving up.
			"SABE_EXECUTION_MAX_RETRY": "20", "SABE_BREAKER_FAILURES": "1000",
		})
		c := &cluster{system: s}
		s.mock.Server.SetConfig(mockllm.Config{Latency: 5 * time.Millisecond, ErrorRate: 0.25, Seed: 18})
		bench, total := c.benchmark(t, 1, 20, 2, nil)
		r := c.waitFinished(t, c.startRun(t, bench), 2*time.Minute)
		c.checkOnce(t, r, total)
		if calls := s.mock.Server.Requests(); calls <= int64(total) {
			t.Errorf("%d provider calls for %d units at a 25%% error rate: nothing was retried", calls, total)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		t.Parallel()
		s := startPooled(t, nil)
		c := &cluster{system: s}
		s.mock.Server.SetConfig(mockllm.Config{Latency: 200 * time.Millisecond})
		slow, total := c.benchmark(t, 1, 100, 2, nil)
		runID := c.startRun(t, slow)
		c.waitAt(t, runID, total, 0.05, time.Minute)
		if _, err := s.c.CancelRun(context.Background(), uuid.MustParse(runID)); err != nil {
			t.Fatal(err)
		}
		r := c.waitFinished(t, runID, time.Minute)
		if r.Status != oapi.RunStatusCancelled || r.Progress.Cancelled == 0 {
			t.Errorf("cancelled run: status %s, progress %+v; want cancelled with units left uncalled", r.Status, r.Progress)
		}
		var execs, distinct int
		if err := s.pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT (model_id, question_id, sample))
			FROM executions WHERE run_id = $1`, runID).Scan(&execs, &distinct); err != nil {
			t.Fatal(err)
		}
		if execs != distinct || execs > total {
			t.Errorf("cancelled run: %d executions for %d distinct units of %d, want each unit at most once", execs, distinct, total)
		}
	})

	t.Run("Schedules", func(t *testing.T) {
		t.Parallel()
		s := startPooled(t, map[string]string{
			"SABE_SCHEDULER_TICK": "1s", "SABE_MIN_SCHEDULE_INTERVAL": "1s", "SABE_MAX_RUNS_IN_FLIGHT": "0",
		})
		c := &cluster{system: s}
		const occurrences = 3
		bench, total := c.benchmark(t, 1, 1, 1, map[string]any{
			"schedule": map[string]any{"cron": "@every 1s", "timezone": "UTC", "enabled": true, "overlap": "allow"},
		})
		c.waitScheduled(t, bench, occurrences, startupBound+occurrences*(schedulerTick+time.Second))
		seen := map[time.Time]bool{}
		for _, sr := range c.scheduledRuns(t, bench)[:occurrences] {
			if seen[sr.scheduledFor] {
				t.Errorf("a second run for the occurrence %s", sr.scheduledFor)
			}
			seen[sr.scheduledFor] = true
		}
		rows, err := s.pool.Query(context.Background(), `SELECT id FROM runs WHERE benchmark_id = $1 AND trigger = 'schedule'
			ORDER BY scheduled_for LIMIT $2`, bench, occurrences)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			c.checkOnce(t, c.waitFinished(t, id, time.Minute), total)
		}
	})
}

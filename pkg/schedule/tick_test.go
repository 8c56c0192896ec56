package schedule_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// recordingQueue is an Enqueuer that keeps what it was given.
type recordingQueue struct {
	mu    sync.Mutex
	tasks []*asynq.Task
}

func (q *recordingQueue) EnqueueContext(_ context.Context, task *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, task)
	return &asynq.TaskInfo{}, nil
}

var _ schedule.Enqueuer = (*recordingQueue)(nil)

func startTask(_ context.Context, id uuid.UUID) *asynq.Task {
	b, _ := json.Marshal(map[string]string{"run_id": id.String()})
	return asynq.NewTask("run:start", b)
}

// catchupBundle is a store with an hourly scheduled benchmark whose
// marker is five hours and a bit in the past, as after an outage.
type catchupBundle struct {
	st     *store.Store
	pool   *pgxpool.Pool
	bench  uuid.UUID
	marker time.Time
	queue  *recordingQueue
	ticker *schedule.Ticker
}

func setupCatchup(t *testing.T) *catchupBundle {
	t.Helper()
	ctx := context.Background()
	pool := testenv.Pool(t)
	st := store.New(pool, testenv.Keyring(t))
	b := testfactory.Benchmark(ctx, t, st, &testfactory.BenchmarkOpts{
		Config:   catalog.BenchmarkConfig{MaxTokens: 8},
		Schedule: &catalog.Schedule{Cron: "@hourly", Enabled: true, Overlap: schedule.OverlapAllow},
	})
	marker := time.Now().UTC().Truncate(time.Hour).Add(-5*time.Hour + 17*time.Minute)
	if _, err := pool.Exec(ctx, `UPDATE benchmarks SET schedule_last_at = $2 WHERE id = $1`, b.ID, marker); err != nil {
		t.Fatal(err)
	}
	q := &recordingQueue{}
	return &catchupBundle{st: st, pool: pool, bench: b.ID, marker: marker, queue: q,
		ticker: schedule.NewTicker(st, q, startTask, slog.New(slog.DiscardHandler), 0)}
}

// tick runs one tick in which every due occurrence is already missed (no
// grace).
func (c *catchupBundle) tick(t *testing.T, mode schedule.CatchupMode) {
	t.Helper()
	if err := c.ticker.Tick(context.Background(), schedule.Catchup{Mode: mode}); err != nil {
		t.Fatal(err)
	}
}

// state returns the schedule's marker and the scheduled_for of its runs.
func (c *catchupBundle) state(t *testing.T) (time.Time, []time.Time) {
	t.Helper()
	ctx := context.Background()
	var last time.Time
	if err := c.pool.QueryRow(ctx, `SELECT schedule_last_at FROM benchmarks WHERE id = $1`, c.bench).Scan(&last); err != nil {
		t.Fatal(err)
	}
	rows, err := c.pool.Query(ctx, `SELECT scheduled_for FROM runs WHERE benchmark_id = $1 ORDER BY scheduled_for`, c.bench)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var runs []time.Time
	for rows.Next() {
		var at time.Time
		if err := rows.Scan(&at); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, at)
	}
	return last, runs
}

func TestTicker_Catchup(t *testing.T) {
	t.Parallel()

	t.Run("Latest", func(t *testing.T) {
		t.Parallel()
		c := setupCatchup(t)
		c.tick(t, schedule.CatchupLatest)
		c.tick(t, schedule.CatchupLatest)
		last, runs := c.state(t)
		// Once, not once per tick: the second tick finds nothing due.
		if len(runs) != 1 || !runs[0].Equal(last) || last.Unix()%3600 != 0 || last.Sub(c.marker) < 4*time.Hour {
			t.Fatalf("runs %v, marker %v; want one run, for the latest hour", runs, last)
		}
		// The start task, and the dispatch of the skipped hours' events.
		if n := len(c.queue.tasks); n != 2 || c.queue.tasks[0].Type() != notify.TypeDispatch || c.queue.tasks[1].Type() == notify.TypeDispatch {
			t.Errorf("%d tasks, want the start task and a dispatch", n)
		}
	})

	t.Run("All", func(t *testing.T) {
		t.Parallel()
		c := setupCatchup(t)
		c.tick(t, schedule.CatchupAll)
		last, runs := c.state(t)
		want := int(last.Sub(c.marker.Truncate(time.Hour)) / time.Hour)
		if len(runs) != want || want < 5 || !runs[len(runs)-1].Equal(last) {
			t.Fatalf("runs %v, marker %v; want one for each of the %d missed hours", runs, last, want)
		}
		for i, at := range runs {
			if !at.Equal(c.marker.Truncate(time.Hour).Add(time.Duration(i+1) * time.Hour)) {
				t.Errorf("run %d for %v; want consecutive hours after %v", i, at, c.marker)
			}
		}
		if len(c.queue.tasks) != len(runs) {
			t.Errorf("%d start tasks for %d runs", len(c.queue.tasks), len(runs))
		}
	})

	t.Run("None", func(t *testing.T) {
		t.Parallel()
		c := setupCatchup(t)
		c.tick(t, schedule.CatchupNone)
		last, runs := c.state(t)
		if len(runs) != 0 || last.Sub(c.marker) < 4*time.Hour || last.Unix()%3600 != 0 {
			t.Fatalf("runs %v, marker %v; want none, and the marker moved to the latest hour", runs, last)
		}
		// The outage is recorded on the benchmark and as one event, not
		// only logged.
		b, err := c.st.GetBenchmark(context.Background(), c.bench)
		if err != nil {
			t.Fatal(err)
		}
		if sc := b.Schedule; sc.LastSkippedAt == nil || !sc.LastSkippedAt.Equal(last) || !strings.Contains(sc.LastSkipReason, "catch-up none") {
			t.Errorf("schedule = %+v; want the missed occurrences recorded at %v", sc, last)
		}
		var events int
		var name string
		if err := c.pool.QueryRow(context.Background(), `SELECT count(*), max(payload->>'benchmark_name') FROM events WHERE type = $1 AND benchmark_id = $2`, schedule.EventSkipped, c.bench).Scan(&events, &name); err != nil || events != 1 {
			t.Errorf("%d schedule.skipped events, %v; want 1", events, err)
		}
		if name != b.Name {
			t.Errorf("event's benchmark_name = %q, want %q", name, b.Name)
		}
		// The committed event's dispatch is kicked at once.
		if len(c.queue.tasks) != 1 || c.queue.tasks[0].Type() != notify.TypeDispatch {
			t.Errorf("tasks enqueued = %d, want the one dispatch", len(c.queue.tasks))
		}
	})
}

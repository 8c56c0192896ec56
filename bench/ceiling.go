package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/sabe-dev/sabe/internal/redisconn"
	runs "github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/taskserver"
)

// CeilingReport is the ceiling section: how many no-op tasks a second
// asynq alone gets through on this machine's Redis, with the fleet shape
// of the throughput phase (as many worker processes, as many goroutines
// each). It is the queue's own limit, which SABE's throughput is compared
// with.
type CeilingReport struct {
	Phase       string     `json:"phase"`
	GeneratedAt time.Time  `json:"generated_at"`
	LoadAverage [2]float64 `json:"load_average_before_after"`
	Tasks       int        `json:"tasks"`
	// Task says what was enqueued and what ran it.
	Task        string `json:"task"`
	Workers     int    `json:"worker_processes"`
	Concurrency int    `json:"concurrency_per_worker"`
	// Enqueue: the tasks go in first, with as many enqueues in flight as
	// run:start keeps.
	EnqueueParallelism int     `json:"enqueue_parallelism"`
	EnqueueSeconds     float64 `json:"enqueue_seconds"`
	EnqueuePerSecond   float64 `json:"enqueue_per_second"`
	// Process: from the first worker's start to the last task done.
	ProcessSeconds float64 `json:"process_seconds"`
	TasksPerSecond float64 `json:"tasks_per_second"`
	// CPU is where CPU time went while the tasks were processed.
	CPU     CPUUse   `json:"cpu"`
	Targets []Target `json:"targets"`
}

// enqueueParallelism is how many of the ceiling's enqueues are in flight:
// asynq's own Client, one task a call, as bare asynq enqueues (run:start
// itself now enqueues in batches; the enqueue is not part of the figure).
const enqueueParallelism = 16

// runCeiling enqueues the tasks, then starts the no-op workers (this
// program again, as noop-worker) and times them through the queue.
func (h *harness) runCeiling(ctx context.Context) (*CeilingReport, error) {
	o := h.o
	s, err := h.newStack(ctx, "ceiling", false)
	if err != nil {
		return nil, err
	}
	defer s.close()
	rep := &CeilingReport{
		Phase: "ceiling", Tasks: scaled(o.tasks, o.scale), Workers: o.workers, Concurrency: o.concurrency,
		EnqueueParallelism: enqueueParallelism, Targets: []Target{},
		Task: "execution:run tasks as run:start builds them (task id, payload, options; bulk queue), run by bare asynq, " +
			"one server over the worker's queues and weights, with a handler that returns nil",
	}
	rep.LoadAverage[0] = loadAverage()
	h.say("ceiling: enqueuing %d no-op tasks", rep.Tasks)

	client := asynq.NewClientFromRedisClient(s.rdb)
	runID := uuid.Must(uuid.NewV7())
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(enqueueParallelism)
	for i := range rep.Tasks {
		g.Go(func() error { return runs.Enqueue(gctx, client, runs.NewExecuteTask(gctx, runID, i, runs.QueueBulk)) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	enq := time.Since(start).Seconds()
	rep.EnqueueSeconds, rep.EnqueuePerSecond = round(enq, 3), round(float64(rep.Tasks)/enq, 0)

	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var t0 time.Time
	cpu0, cpuT0 := takeCPU(), time.Now()
	// Both start before either is waited for, as the throughput's workers
	// are both ready before its run starts.
	var workers []*proc
	for i := range o.workers {
		p, err := s.start(ctx, fmt.Sprintf("noop-worker%d", i+1), exe, nil,
			"--redis-url", s.redisURL, "--concurrency", strconv.Itoa(o.concurrency), "noop-worker")
		if err != nil {
			return nil, err
		}
		workers = append(workers, p)
	}
	for _, p := range workers {
		at, err := p.waitFor(ctx, "noop worker starting at ", 30*time.Second)
		if err != nil {
			return nil, err
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(at), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("noop worker start time %q: %w", at, err)
		}
		if t := time.Unix(0, ns); t0.IsZero() || t.Before(t0) {
			t0 = t
		}
	}
	processed := "asynq:{" + runs.QueueBulk + "}:processed" // asynq's own cumulative counter
	for {
		n, err := s.rdb.Get(ctx, processed).Int()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		if n >= rep.Tasks {
			break
		}
		if err := s.procsAlive(); err != nil {
			return nil, err
		}
		time.Sleep(5 * time.Millisecond)
	}
	secs := time.Since(t0).Seconds()
	rep.CPU = cpuUse(cpu0, takeCPU(), time.Since(cpuT0).Seconds(), s.pids())
	if failed, _ := s.rdb.Get(ctx, "asynq:{"+runs.QueueBulk+"}:failed").Int(); failed > 0 {
		return nil, fmt.Errorf("%d no-op tasks failed", failed)
	}
	rep.ProcessSeconds, rep.TasksPerSecond = round(secs, 3), round(float64(rep.Tasks)/secs, 0)
	rep.LoadAverage[1] = loadAverage()
	rep.GeneratedAt = time.Now().UTC().Truncate(time.Second)
	h.say("ceiling: %d tasks enqueued in %.2fs (%.0f/s), processed in %.2fs by %d × %d: %.0f tasks/s",
		rep.Tasks, rep.EnqueueSeconds, rep.EnqueuePerSecond, rep.ProcessSeconds, rep.Workers, rep.Concurrency, rep.TasksPerSecond)
	return rep, nil
}

// runNoopWorker is the hidden phase noop-worker: bare asynq, one server
// over the worker's queues and weights (taskserver.Queues) with its
// delayed-task check and the same Redis pool size, whose handler does
// nothing. It prints the time it starts. How the worker lays its servers
// out (units apart from control and notifications, several fetch loops)
// is SABE's own doing, measured by the throughput phase, not part of the
// reference.
func runNoopWorker(ctx context.Context, redisURL string, concurrency int, stdout io.Writer) error {
	rdb, err := redisconn.Open(ctx, redisURL, concurrency+16)
	if err != nil {
		return err
	}
	defer rdb.Close()
	// One fetch loop, and asynq's own idle check, as the ceiling has
	// always been measured: the figures stay comparable across reports.
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: concurrency, Queues: taskserver.Queues(), TaskCheckInterval: time.Second,
		DelayedTaskCheckInterval: time.Second, LogLevel: asynq.WarnLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc(runs.TypeExecute, func(context.Context, *asynq.Task) error { return nil })
	fmt.Fprintf(stdout, "noop worker starting at %d\n", time.Now().UnixNano())
	if err := srv.Start(mux); err != nil {
		return err
	}
	<-ctx.Done()
	srv.Shutdown()
	return nil
}

// scaled is n times scale, at least 1.
func scaled(n int, scale float64) int {
	return max(1, int(float64(n)*scale+0.5))
}

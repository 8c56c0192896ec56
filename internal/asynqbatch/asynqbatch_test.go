package asynqbatch_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/asynqbatch"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

func task(i int) asynqbatch.Task {
	return asynqbatch.Task{
		ID: fmt.Sprintf("exec:run:%d", i), Type: "execution:run", Payload: fmt.Appendf(nil, `{"unit":%d}`, i),
		MaxRetry: 25, Timeout: 15 * time.Minute,
	}
}

// TestEnqueue_AsAsynqClient checks that a task is stored byte for byte as
// asynq's own Client stores it, for tasks with and without a payload and
// a timeout: the guard against an asynq upgrade that changes its layout.
func TestEnqueue_AsAsynqClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The same queue in two Redis databases: one written by asynq's
	// Client, one by Enqueue.
	viaClient, viaBatch := testenv.Redis(t), testenv.Redis(t)
	client := asynq.NewClientFromRedisClient(viaClient)
	e := asynqbatch.New(viaBatch)
	for _, tk := range []asynqbatch.Task{
		task(7),
		{ID: "bare", Type: "t:bare"},
		{ID: "no-retry", Type: "t:x", Payload: []byte("p"), MaxRetry: 0, Timeout: 90 * time.Second},
	} {
		if _, err := client.EnqueueContext(ctx, tk.Asynq("q")); err != nil {
			t.Fatal(err)
		}
		if n, err := e.Enqueue(ctx, "q", []asynqbatch.Task{tk}); err != nil || n != 1 {
			t.Fatalf("Enqueue(%s) = %d, %v; want 1", tk.ID, n, err)
		}
		want, err := viaClient.HGetAll(ctx, "asynq:{q}:t:"+tk.ID).Result()
		if err != nil {
			t.Fatal(err)
		}
		got, err := viaBatch.HGetAll(ctx, "asynq:{q}:t:"+tk.ID).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got["msg"] != want["msg"] {
			t.Errorf("%s: stored message %x, asynq's Client stores %x", tk.ID, got["msg"], want["msg"])
		}
		if got["state"] != want["state"] || got["pending_since"] == "" || len(got) != len(want) {
			t.Errorf("%s: hash %v, asynq's Client writes %v", tk.ID, got, want)
		}
	}
	for name, rdb := range map[string]*redis.Client{"Client": viaClient, "Enqueue": viaBatch} {
		queues, err := rdb.SMembers(ctx, "asynq:queues").Result()
		if err != nil || !slices.Equal(queues, []string{"q"}) {
			t.Errorf("after %s, asynq:queues = %v, %v; want [q]", name, queues, err)
		}
		pending, err := rdb.LRange(ctx, "asynq:{q}:pending", 0, -1).Result()
		if err != nil || !slices.Equal(pending, []string{"no-retry", "bare", "exec:run:7"}) {
			t.Errorf("after %s, pending list = %v, %v", name, pending, err)
		}
	}
	// asynq reads the task back as it wrote it.
	info, err := asynq.NewInspectorFromRedisClient(viaBatch).GetTaskInfo("q", "exec:run:7")
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != "execution:run" || string(info.Payload) != `{"unit":7}` || info.MaxRetry != 25 ||
		info.Timeout != 15*time.Minute || info.State != asynq.TaskStatePending || !info.Deadline.IsZero() {
		t.Errorf("GetTaskInfo = %+v", info)
	}
}

// TestEnqueue_SkipsExisting checks that a task whose id exists, enqueued
// by Enqueue or by asynq's Client, is left as it is and not counted.
func TestEnqueue_SkipsExisting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	e := asynqbatch.New(rdb)
	if _, err := asynq.NewClientFromRedisClient(rdb).EnqueueContext(ctx, task(0).Asynq("q")); err != nil {
		t.Fatal(err)
	}
	tasks := make([]asynqbatch.Task, 3)
	for i := range tasks {
		tasks[i] = task(i)
	}
	if n, err := e.Enqueue(ctx, "q", tasks); err != nil || n != 2 {
		t.Fatalf("first Enqueue = %d, %v; want 2 (task 0 was there)", n, err)
	}
	if n, err := e.Enqueue(ctx, "q", tasks); err != nil || n != 0 {
		t.Fatalf("second Enqueue = %d, %v; want 0", n, err)
	}
	if n, err := rdb.LLen(ctx, "asynq:{q}:pending").Result(); err != nil || n != 3 {
		t.Fatalf("pending list holds %d, %v; want 3", n, err)
	}
}

// TestEnqueue_Processed runs more than a batch's worth of enqueued tasks
// through a real asynq server: each reaches the handler once, with its
// payload, and the first enqueued are the first dequeued.
func TestEnqueue_Processed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	const n = asynqbatch.MaxBatch*2 + 34
	tasks := make([]asynqbatch.Task, n)
	for i := range tasks {
		tasks[i] = task(i)
	}
	if added, err := asynqbatch.New(rdb).Enqueue(ctx, "units", tasks); err != nil || added != n {
		t.Fatalf("Enqueue = %d, %v; want %d", added, err, n)
	}
	var mu sync.Mutex
	var seen []string
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: 1, Queues: map[string]int{"units": 1}, TaskCheckInterval: 10 * time.Millisecond,
		Logger: quiet{}, LogLevel: asynq.FatalLevel,
	})
	if err := srv.Start(asynq.HandlerFunc(func(_ context.Context, tk *asynq.Task) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, string(tk.Payload()))
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "every task processed", time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == n
	})
	srv.Shutdown()
	for i, p := range seen {
		if want := string(tasks[i].Payload); p != want {
			t.Fatalf("task %d dequeued had payload %s, want %s (enqueue order)", i, p, want)
		}
	}
}

type quiet struct{}

func (quiet) Debug(...any) {}
func (quiet) Info(...any)  {}
func (quiet) Warn(...any)  {}
func (quiet) Error(...any) {}
func (quiet) Fatal(...any) {}

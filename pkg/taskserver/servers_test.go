package taskserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/taskserver"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// TestServers_ControlBesideBusyUnits: with every unit slot held by a unit
// that does not finish, a control task and a webhook delivery still run,
// on servers of their own, and a unit server never takes them.
func TestServers_ControlBesideBusyUnits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := testenv.Redis(t)
	release := make(chan struct{})
	ran := make(chan string, 8)
	mux := asynq.NewServeMux()
	mux.HandleFunc("unit", func(ctx context.Context, tk *asynq.Task) error {
		ran <- "unit"
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	for _, typ := range []string{"control", "notify"} {
		mux.HandleFunc(typ, func(context.Context, *asynq.Task) error {
			ran <- typ
			return nil
		})
	}
	srv := taskserver.NewServers(rdb, taskserver.ServerConfig{
		Concurrency: 2, Fetchers: 2, ControlConcurrency: 1, NotifyConcurrency: 1,
		TaskCheckInterval: 10 * time.Millisecond, ShutdownTimeout: time.Second,
	}, asynq.Config{LogLevel: asynq.FatalLevel})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	t.Cleanup(func() { close(release) })

	client := asynq.NewClientFromRedisClient(rdb)
	for range 3 {
		if _, err := client.EnqueueContext(ctx, asynq.NewTask("unit", nil), asynq.Queue(run.QueueBulk)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if got := <-ran; got != "unit" {
			t.Fatalf("ran %s, want the units first", got)
		}
	}
	// Both unit slots are held now; the third unit waits.
	for typ, queue := range map[string]string{"control": run.QueueControl, "notify": notify.Queue} {
		if _, err := client.EnqueueContext(ctx, asynq.NewTask(typ, nil), asynq.Queue(queue)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for len(got) < 2 {
		select {
		case typ := <-ran:
			if typ == "unit" {
				t.Fatal("a third unit ran while both unit slots were held")
			}
			got[typ] = true
		case <-timeout:
			t.Fatalf("ran %v while the unit slots were held; want the control task and the delivery", got)
		}
	}
}

// TestUnitQueues: the unit servers' queues are the run queues without the
// control queue, and with the control and notification queues they make
// up every queue the worker serves.
func TestUnitQueues(t *testing.T) {
	t.Parallel()
	units := taskserver.UnitQueues()
	if _, ok := units[run.QueueControl]; ok {
		t.Errorf("UnitQueues %v holds the control queue", units)
	}
	all := taskserver.Queues()
	if len(units)+2 != len(all) {
		t.Errorf("UnitQueues %v and control and notify do not make up Queues %v", units, all)
	}
	for q, w := range units {
		if all[q] != w {
			t.Errorf("queue %s: weight %d among the units, %d in Queues", q, w, all[q])
		}
	}
}

package taskserver

import (
	"fmt"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/run"
)

// ServerConfig shapes a worker's asynq servers; zero values take the
// defaults.
type ServerConfig struct {
	// Concurrency is the worker's concurrent units (execution:run and
	// evaluation:judge tasks, on the unit queues), shared by its unit
	// servers (default 100).
	Concurrency int
	// Fetchers is how many asynq servers (fetch loops) share Concurrency,
	// at most Concurrency (default 1). asynq fetches one task at a time per
	// server, trying the queues in weighted order; with hundreds of
	// handlers one fetch loop cannot keep them busy when units are short.
	Fetchers int
	// ControlConcurrency is the handlers of a server of its own for the
	// control queue: a run's start, finalization and retries, schedules,
	// alert checks, maintenance (default 8). They never wait behind busy
	// unit handlers, and a unit server's fetch never tries their queue.
	ControlConcurrency int
	// NotifyConcurrency is the handlers of a server of its own for webhook
	// deliveries (default 8): a slow receiver holds up neither units nor a
	// run's lifecycle.
	NotifyConcurrency int
	// TaskCheckInterval is how long an idle server waits before it looks
	// for new tasks again (default 100ms; asynq's own is 1 s, which a
	// run's start and its finalization each used to wait out).
	TaskCheckInterval time.Duration
	// DelayedTaskCheckInterval is how often delayed tasks are moved to
	// their queue (default 1s): waiting units come back at the half-open
	// time, the end of a pause or a limit's wait, and asynq's default 5 s
	// check would add up to that much on top.
	DelayedTaskCheckInterval time.Duration
	// ShutdownTimeout is how long a stopping server lets running tasks
	// finish before asynq puts them back (default 30s).
	ShutdownTimeout time.Duration
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.Concurrency <= 0 {
		c.Concurrency = 100
	}
	c.Fetchers = min(max(c.Fetchers, 1), c.Concurrency)
	if c.ControlConcurrency <= 0 {
		c.ControlConcurrency = 8
	}
	if c.NotifyConcurrency <= 0 {
		c.NotifyConcurrency = 8
	}
	if c.TaskCheckInterval <= 0 {
		c.TaskCheckInterval = 100 * time.Millisecond
	}
	if c.DelayedTaskCheckInterval <= 0 {
		c.DelayedTaskCheckInterval = time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	return c
}

// Queues are the queues a worker serves, with their weights: the run
// queues, and the notifications'.
func Queues() map[string]int {
	q := run.Queues()
	q[notify.Queue] = 4
	return q
}

// UnitQueues are the queues of a run's units (execution:run and
// evaluation:judge), with their weights: the unit servers fetch only
// these.
func UnitQueues() map[string]int {
	q := run.Queues()
	delete(q, run.QueueControl)
	return q
}

// Servers are one worker's asynq servers: several in one process share its
// handlers and pools. Units have servers of their own (more fetch loops
// for the same work), apart from the control queue's and the
// notifications': asynq's fetch tries a server's queues one Redis call
// each, in weighted order, until one has a task, so a unit server that
// also served those (mostly empty) queues spent 3.75 calls a unit where
// it now spends 2.25, and a run's start or finalization waited for a free
// unit slot.
type Servers struct {
	servers []*asynq.Server
}

// NewServers returns the servers c asks for over rdb: c.Fetchers over
// UnitQueues sharing c.Concurrency, one over the control queue and one
// over notify.Queue. hooks carries what the handlers decide
// (RetryDelayFunc, IsFailure, ErrorHandler) and the logger; its sizes and
// intervals are replaced by c's.
func NewServers(rdb redis.UniversalClient, c ServerConfig, hooks asynq.Config) *Servers {
	c = c.withDefaults()
	hooks.TaskCheckInterval = c.TaskCheckInterval
	hooks.DelayedTaskCheckInterval = c.DelayedTaskCheckInterval
	hooks.ShutdownTimeout = c.ShutdownTimeout
	server := func(queues map[string]int, concurrency int) *asynq.Server {
		sc := hooks
		sc.Queues, sc.Concurrency = queues, concurrency
		return asynq.NewServerFromRedisClient(rdb, sc)
	}
	s := &Servers{}
	for i := range c.Fetchers {
		n := c.Concurrency / c.Fetchers
		if i < c.Concurrency%c.Fetchers {
			n++
		}
		s.servers = append(s.servers, server(UnitQueues(), n))
	}
	s.servers = append(s.servers,
		server(map[string]int{run.QueueControl: 1}, c.ControlConcurrency),
		server(map[string]int{notify.Queue: 1}, c.NotifyConcurrency))
	return s
}

// Start starts every server with handler; when one fails, those started
// are shut down again.
func (s *Servers) Start(handler asynq.Handler) error {
	for i, srv := range s.servers {
		if err := srv.Start(handler); err != nil {
			for _, started := range s.servers[:i] {
				started.Shutdown()
			}
			return fmt.Errorf("start task server: %w", err)
		}
	}
	return nil
}

// Shutdown stops every server fetching and waits, at most its shutdown
// timeout, for the tasks under way to finish.
func (s *Servers) Shutdown() {
	var wg sync.WaitGroup
	for _, srv := range s.servers {
		wg.Go(srv.Shutdown)
	}
	wg.Wait()
}

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
	// Concurrency is the worker's concurrent tasks, shared by its servers
	// (default 100).
	Concurrency int
	// Fetchers is how many asynq servers (fetch loops) share Concurrency,
	// at most Concurrency (default 1). asynq fetches one task at a time per
	// server, trying the queues in weighted order; with hundreds of
	// handlers one fetch loop cannot keep them busy when units are short.
	Fetchers int
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
// queues, and the notifications' between the control queue and the units
// (a delivery is small, and a receiver waits for it).
func Queues() map[string]int {
	q := run.Queues()
	q[notify.Queue] = 4
	return q
}

// Servers are one worker's asynq servers: several in one process share its
// handlers, pools and concurrency, which gives more fetch loops for the
// same work.
type Servers struct {
	servers []*asynq.Server
}

// NewServers returns the servers c asks for over rdb, fetching the queues
// of run.Queues and notify.Queue. hooks carries what the handlers decide (RetryDelayFunc,
// IsFailure, ErrorHandler) and the logger; its sizes and intervals are
// replaced by c's.
func NewServers(rdb redis.UniversalClient, c ServerConfig, hooks asynq.Config) *Servers {
	c = c.withDefaults()
	hooks.Queues = Queues()
	hooks.TaskCheckInterval = c.TaskCheckInterval
	hooks.DelayedTaskCheckInterval = c.DelayedTaskCheckInterval
	hooks.ShutdownTimeout = c.ShutdownTimeout
	s := &Servers{servers: make([]*asynq.Server, c.Fetchers)}
	for i := range s.servers {
		sc := hooks
		sc.Concurrency = c.Concurrency / c.Fetchers
		if i < c.Concurrency%c.Fetchers {
			sc.Concurrency++
		}
		s.servers[i] = asynq.NewServerFromRedisClient(rdb, sc)
	}
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

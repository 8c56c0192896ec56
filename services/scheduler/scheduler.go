// Package scheduler wires the scheduler process: an asynq scheduler that
// enqueues one schedule:tick task every SABE_SCHEDULER_TICK. The tick's
// handler runs on the workers and turns the due occurrences of every
// enabled benchmark schedule into runs (see pkg/schedule), so schedule
// edits apply at the next tick without a restart, and any number of
// scheduler replicas may run: they register the same tick, aligned to the
// same moments, and the handler's compare-and-set makes a second tick for
// one moment a no-op.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/internal/logging"
	"github.com/sabe-dev/sabe/internal/redisconn"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/store"
)

// Config is the scheduler's configuration, read from the environment.
type Config struct {
	Database store.Database
	RedisURL string
	// Tick is how often schedules are checked (SABE_SCHEDULER_TICK); an
	// occurrence gets its run within about one tick.
	Tick time.Duration
	// Catchup is what a tick does with occurrences missed while no tick
	// ran (SABE_SCHEDULER_CATCHUP).
	Catchup             schedule.CatchupMode
	LogLevel, LogFormat string
}

// LoadConfig reads the scheduler's configuration from getenv.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envconf.New(getenv)
	c := Config{
		Database:  store.ReadDatabase(r),
		RedisURL:  redisconn.URL.Read(r),
		Tick:      r.Duration("SABE_SCHEDULER_TICK", 10*time.Second, time.Second, time.Hour),
		LogLevel:  envconf.LogLevel.Read(r),
		LogFormat: envconf.LogFormat.Read(r),
	}
	if c.Tick%time.Second != 0 {
		r.Fail("SABE_SCHEDULER_TICK", "must be a whole number of seconds, got %s", c.Tick)
	}
	mode, err := schedule.ParseCatchupMode(r.String("SABE_SCHEDULER_CATCHUP", string(schedule.CatchupLatest)))
	if err != nil {
		r.Fail("SABE_SCHEDULER_CATCHUP", "%v", err)
	}
	c.Catchup = mode
	return c, r.Err()
}

// Usage is what `scheduler --help` prints.
const Usage = `usage: scheduler

Enqueues the schedule:tick task that turns benchmark schedules into runs.
It takes no flags: it is configured with SABE_* environment variables
(README: Configuration). SIGINT or SIGTERM stops it cleanly (exit 0).`

// Run starts the scheduler and runs until ctx is cancelled.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if help, err := command.NoArgs("scheduler", Usage, args, stdout); help || err != nil {
		return err
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return fmt.Errorf("scheduler config: %w", err)
	}
	log, err := logging.New(stdout, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	log = log.With("process", "scheduler")
	pool, err := cfg.Database.Open(ctx, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.CheckSchema(ctx, pool); err != nil {
		return err
	}
	// Check Redis now, so a bad URL fails the start with a clear message.
	rconn, err := redisconn.Parse(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("SABE_REDIS_URL: %w", err)
	}
	rdb, err := rconn.Open(ctx, 1)
	if err != nil {
		return err
	}
	_ = rdb.Close()
	// asynq's scheduler owns its connection: on shutdown it closes it, which
	// it refuses (and logs as an error) for a shared client.
	s := asynq.NewScheduler(rconn.Asynq(0), &asynq.SchedulerOpts{
		Location: time.UTC, Logger: logging.Asynq(log), LogLevel: asynq.WarnLevel,
		PostEnqueueFunc: func(info *asynq.TaskInfo, err error) {
			switch {
			case err == nil:
				log.Debug("schedule tick enqueued", "task_id", info.ID)
			case errors.Is(err, asynq.ErrDuplicateTask):
				// Another replica enqueued this moment's tick.
				log.Debug("schedule tick already enqueued by another replica")
			default:
				log.Error("could not enqueue the schedule tick", "err", err)
			}
		},
	})
	if err := s.Start(); err != nil {
		return fmt.Errorf("start scheduler: %w", err)
	}
	log.Info("scheduler started", "tick", cfg.Tick.String(), "catchup", string(cfg.Catchup))
	err = register(ctx, s, cfg, log)
	if err == nil {
		<-ctx.Done()
	}
	s.Shutdown()
	log.Info("scheduler stopped")
	return err
}

// register registers the tick at the next multiple of the tick since the
// Unix epoch. asynq's "@every" fires a whole number of ticks after
// registration (rounded down to the second), so every replica fires at the
// same moments and the tick's uniqueness lets only one of them enqueue it.
// It returns nil without registering when ctx ends first.
func register(ctx context.Context, s *asynq.Scheduler, cfg Config, log *slog.Logger) error {
	now := time.Now().UnixNano()
	tick := cfg.Tick.Nanoseconds()
	wait := time.Duration(tick - now%tick)
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(wait):
	}
	task := schedule.NewTickTask(schedule.TickConfig{Interval: cfg.Tick, Catchup: cfg.Catchup, Queue: run.QueueControl})
	if _, err := s.Register("@every "+cfg.Tick.String(), task); err != nil {
		return fmt.Errorf("register the schedule tick: %w", err)
	}
	log.Info("schedule tick registered", "every", cfg.Tick.String())
	return nil
}

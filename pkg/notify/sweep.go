package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/startstop"
)

// Redis keys of the sweep: when a worker of the fleet last swept and last
// applied the events' retention.
const (
	sweptKey    = "sabe:notify:swept"
	retainedKey = "sabe:notify:retained"
)

// SweepConfig tunes the sweep; zero values take the defaults.
type SweepConfig struct {
	// Interval is how often each worker tries to sweep (default 10s); the
	// fleet sweeps about once per interval.
	Interval time.Duration
	// DispatchGrace is how old an undispatched event must be before the
	// sweep dispatches: producers kick a dispatch right after their commit
	// (default 5s).
	DispatchGrace time.Duration
	// OverdueGrace is how long after its due time a pending delivery's
	// task may still be on its way before the sweep enqueues it again
	// (default 1m).
	OverdueGrace time.Duration
	// OverduePerPass bounds the deliveries one sweep looks at (default 500).
	OverduePerPass int
	// Retention is the age after which dispatched events with no pending
	// delivery are deleted, with their deliveries; 0 keeps them.
	Retention time.Duration
	// RetentionInterval is how often retention runs (default 1h), and
	// RetentionBatch how many events one delete removes (default 1000).
	RetentionInterval time.Duration
	RetentionBatch    int
}

func (c SweepConfig) withDefaults() SweepConfig {
	c.Interval = cmp.Or(c.Interval, 10*time.Second)
	c.DispatchGrace = cmp.Or(c.DispatchGrace, 5*time.Second)
	c.OverdueGrace = cmp.Or(c.OverdueGrace, time.Minute)
	c.OverduePerPass = cmp.Or(c.OverduePerPass, 500)
	c.RetentionInterval = cmp.Or(c.RetentionInterval, time.Hour)
	c.RetentionBatch = cmp.Or(c.RetentionBatch, 1000)
	return c
}

// Sweeper makes sure that losing Redis, or a worker dying, loses no
// notification: PostgreSQL holds every event and delivery, and the sweep
// enqueues again what their state says is missing. Every worker runs one;
// a Redis marker lets about one of them sweep per interval, and every step
// is harmless when two run at once (the dispatch locks what it takes,
// the deliver tasks have deterministic ids).
type Sweeper struct {
	store Store
	rdb   redis.UniversalClient
	insp  *asynq.Inspector
	queue Enqueuer
	log   *slog.Logger
	cfg   SweepConfig
	// now is the clock; tests move it.
	now  func() time.Time
	life startstop.StartStop
}

// NewSweeper returns a Sweeper over the Redis connection asynq uses.
func NewSweeper(store Store, rdb redis.UniversalClient, queue Enqueuer, log *slog.Logger, c SweepConfig) *Sweeper {
	return &Sweeper{
		store: store, rdb: rdb, insp: asynq.NewInspectorFromRedisClient(rdb), queue: queue, log: log,
		cfg: c.withDefaults(), now: time.Now,
	}
}

// WithClock sets the sweep's clock (tests move it); it returns s.
func (s *Sweeper) WithClock(now func() time.Time) *Sweeper {
	s.now = now
	return s
}

// Start sweeps at once and then every interval, until ctx is done or
// Stop is called. It fails when the sweeper is already started.
func (s *Sweeper) Start(ctx context.Context) error {
	if err := s.life.Start(ctx, s.loop); err != nil {
		return fmt.Errorf("notify sweeper: %w", err)
	}
	return nil
}

// Stop ends the loop and waits for a sweep under way; safe to call twice,
// and before Start.
func (s *Sweeper) Stop() { s.life.Stop() }

func (s *Sweeper) loop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if ok, err := s.due(ctx, sweptKey, s.cfg.Interval/2); err != nil {
			s.log.Warn("notify sweep failed", "err", err)
		} else if ok {
			if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("notify sweep failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// due marks key now, fleet-wide, and reports whether it was free: false
// when a worker set it less than every ago.
func (s *Sweeper) due(ctx context.Context, key string, every time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, key, s.now().UnixMilli(), every).Result()
	if err != nil {
		return false, fmt.Errorf("mark %s: %w", key, err)
	}
	return ok, nil
}

// Sweep makes one pass: a dispatch when an event waits past the grace,
// the task of every overdue delivery enqueued again (a finished or
// archived task with its id is deleted first: it ran without recording
// the attempt), and, when due, the events' retention.
func (s *Sweeper) Sweep(ctx context.Context) error {
	now := s.now()
	var errs []error
	waiting, err := s.store.HasUndispatchedBefore(ctx, now.Add(-s.cfg.DispatchGrace))
	if err != nil {
		errs = append(errs, err)
	} else if waiting {
		if err := Kick(ctx, s.queue); err != nil {
			errs = append(errs, fmt.Errorf("kick the dispatch: %w", err))
		}
	}
	overdue, err := s.store.OverdueDeliveries(ctx, now.Add(-s.cfg.OverdueGrace), s.cfg.OverduePerPass)
	if err != nil {
		errs = append(errs, err)
	}
	requeued := 0
	for _, o := range overdue {
		added, err := s.ensure(ctx, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if added {
			requeued++
		}
	}
	if requeued > 0 {
		s.log.Info("overdue webhook deliveries enqueued again", "deliveries", requeued)
	}
	if s.cfg.Retention > 0 {
		if due, err := s.due(ctx, retainedKey, s.cfg.RetentionInterval); err != nil {
			errs = append(errs, err)
		} else if due {
			errs = append(errs, s.retain(ctx, now.Add(-s.cfg.Retention)))
		}
	}
	return errors.Join(errs...)
}

// ensure enqueues the attempt-th attempt of a delivery unless its task
// waits or runs; it reports whether it enqueued. A completed or archived
// task with its id ran without recording the attempt (its worker died, or
// the database failed it), and still holds the id: it is deleted first.
func (s *Sweeper) ensure(ctx context.Context, o Overdue) (bool, error) {
	id := DeliverTaskID(o.DeliveryID, o.Attempts+1)
	info, err := s.insp.GetTaskInfo(Queue, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
	case err != nil:
		return false, fmt.Errorf("look up task %s: %w", id, err)
	case info.State == asynq.TaskStateCompleted || info.State == asynq.TaskStateArchived:
		if err := s.insp.DeleteTask(Queue, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return false, fmt.Errorf("delete %s task %s: %w", info.State, id, err)
		}
	default:
		return false, nil
	}
	if err := enqueue(ctx, s.queue, NewDeliverTask(o.DeliveryID, o.Attempts+1)); err != nil {
		return false, err
	}
	return true, nil
}

// retain deletes the expired events a batch at a time (each its own
// statement), at most 100 batches per pass.
func (s *Sweeper) retain(ctx context.Context, cutoff time.Time) error {
	var total int64
	for range 100 {
		n, err := s.store.DeleteExpiredEvents(ctx, cutoff, s.cfg.RetentionBatch)
		if err != nil {
			return err
		}
		total += n
		if n < int64(s.cfg.RetentionBatch) {
			break
		}
	}
	if total > 0 {
		s.log.Info("retention deleted old events", "cutoff", cutoff, "events", total)
	}
	return nil
}

package maintenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/startstop"
	"github.com/sabe-dev/sabe/pkg/run"
)

// Redis keys of the maintenance loop. They vanish with the rest of Redis,
// which is what lets a pass tell that Redis lost its state.
const (
	leaseKey     = "sabe:maintenance:lease"
	epochKey     = "sabe:maintenance:epoch"
	reconciledAt = "sabe:maintenance:reconciled"
	retainedAt   = "sabe:maintenance:retained"
	cursorKey    = "sabe:maintenance:cursor"
)

// Reconciler is the maintenance loop of one worker, from Start until Stop.
type Reconciler struct {
	store   Store
	rdb     redis.UniversalClient
	queue   run.Enqueuer
	tracker *run.Tracker
	insp    *asynq.Inspector
	log     *slog.Logger
	cfg     Config

	// now is the clock; tests move it.
	now func() time.Time
	// onLocked, when set, is called with the lease held, before the pass.
	onLocked func()
	// passes counts the passes made with the lease held.
	passes atomic.Int64

	life startstop.StartStop
}

// New returns a Reconciler.
func New(d Deps, c Config) *Reconciler {
	return &Reconciler{
		store: d.Store, rdb: d.Redis, queue: d.Queue, tracker: d.Tracker,
		insp: asynq.NewInspectorFromRedisClient(d.Redis), log: d.Log, cfg: c.withDefaults(),
		now: time.Now,
	}
}

// Start makes a pass at once and then every interval, until ctx is done or
// Stop is called. It fails when the reconciler is already started.
func (r *Reconciler) Start(ctx context.Context) error {
	if err := r.life.Start(ctx, r.loop); err != nil {
		return fmt.Errorf("reconciler: %w", err)
	}
	return nil
}

// Stop ends the loop and waits for a pass under way to stop (its context
// is cancelled; every step is safe to cut short). It is safe to call twice,
// and before Start.
func (r *Reconciler) Stop() { r.life.Stop() }

func (r *Reconciler) loop(ctx context.Context) {
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := r.pass(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("maintenance pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pass takes the lease and, when it is due, reconciles and applies
// retention. It reports whether it held the lease.
func (r *Reconciler) pass(ctx context.Context) (bool, error) {
	l, ctx, ok, err := acquireLease(ctx, r.rdb, leaseKey, r.cfg.LeaseTTL)
	if err != nil || !ok {
		return false, err
	}
	defer l.release()
	r.passes.Add(1)
	if r.onLocked != nil {
		r.onLocked()
	}
	var errs []error
	if due, err := r.due(ctx, reconciledAt, r.cfg.Interval/2); err != nil {
		errs = append(errs, err)
	} else if due {
		errs = append(errs, r.reconcile(ctx), r.refreshRollups(ctx), r.sweepAlerts(ctx))
	}
	if r.cfg.Retention > 0 || r.cfg.AuditRetention > 0 {
		if due, err := r.due(ctx, retainedAt, r.cfg.RetentionInterval); err != nil {
			errs = append(errs, err)
		} else if due {
			res, err := r.retain(ctx)
			errs = append(errs, err)
			if res.More {
				// Not all expired rows fit in this pass: the next one goes on.
				_ = r.rdb.Del(ctx, retainedAt).Err()
			}
		}
	}
	return true, errors.Join(errs...)
}

// due marks a step done now, fleet-wide, and reports whether it was due:
// false when it ran anywhere less than every ago.
func (r *Reconciler) due(ctx context.Context, key string, every time.Duration) (bool, error) {
	ok, err := r.rdb.SetNX(ctx, key, r.now().UnixMilli(), every).Result()
	if err != nil {
		return false, fmt.Errorf("mark %s: %w", key, err)
	}
	return ok, nil
}

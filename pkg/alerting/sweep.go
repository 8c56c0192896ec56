package alerting

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/notify"
)

// SweepWindow is how far back the sweep looks for finished runs without a
// check: a run whose check was never enqueued (the worker died between
// finalizing it and enqueuing) is checked at the next pass; one older than
// this is left alone, so that turning alerts on does not check a
// benchmark's whole history.
const SweepWindow = 24 * time.Hour

// sweepBatch bounds the checks one sweep enqueues.
const sweepBatch = 100

// SweepStore is what the sweep reads.
type SweepStore interface {
	// UncheckedAlertRuns: see Store.
	UncheckedAlertRuns(ctx context.Context, finishedAfter time.Time, limit int) ([]uuid.UUID, error)
}

// Sweep enqueues the check of every run finished completed or partial in
// the SweepWindow before now, of a benchmark with enabled alerts, that has
// no check yet, and returns how many it enqueued. The maintenance pass
// calls it; enqueueing a check that is already queued is a no-op (its task
// id is the run's).
func Sweep(ctx context.Context, st SweepStore, q notify.Enqueuer, now time.Time) (int, error) {
	ids, err := st.UncheckedAlertRuns(ctx, now.Add(-SweepWindow), sweepBatch)
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, id := range ids {
		if err := Enqueue(ctx, q, id); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/fault"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

var _ schedule.Store = (*Store)(nil)

// SchedulerActor is the actor named in the audit rows of runs a schedule
// created.
const SchedulerActor = "scheduler"

// serializationRetries bounds how often a transaction that lost a race at
// repeatable read is tried again.
const serializationRetries = 5

// inTxRetry is inTx that runs fn again, in a new transaction, when
// PostgreSQL aborted it for a concurrent update (serialization failure or
// deadlock). A repeatable-read transaction that locks a benchmark a tick
// just advanced, or inserts the run of an occurrence another tick just
// inserted, fails that way; the retry sees the winner's rows.
func (s *Store) inTxRetry(ctx context.Context, iso pgx.TxIsoLevel, fn func(q *dbsqlc.Queries) error) error {
	var err error
	for range serializationRetries {
		if err = s.inTx(ctx, iso, fn); !retryable(err) {
			return err
		}
	}
	return err
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// scheduleFromRow returns a benchmark's schedule and its next occurrence
// as of now; nil when it has none.
func scheduleFromRow(cron *string, tz string, enabled bool, overlap string, last *time.Time, archived bool) (*catalog.Schedule, *time.Time) {
	if cron == nil {
		return nil, nil
	}
	sc := &catalog.Schedule{Cron: *cron, Timezone: tz, Enabled: enabled, Overlap: schedule.Overlap(overlap)}
	if archived || last == nil {
		return sc, nil
	}
	return sc, sc.NextRun(*last, time.Now())
}

// setSchedule stores a benchmark's schedule, given the one it had. A
// schedule that starts afresh (newly enabled, or a new spec or zone) has
// its marker set to now, so its first run is for the first occurrence
// after the change: nothing from before is caught up.
func setSchedule(ctx context.Context, q *dbsqlc.Queries, id uuid.UUID, sc catalog.Schedule, old *catalog.Schedule, oldLast *time.Time) error {
	last := oldLast
	if sc.Restarts(old) {
		now := time.Now().UTC().Truncate(time.Microsecond)
		last = &now
	}
	return q.SetBenchmarkSchedule(ctx, dbsqlc.SetBenchmarkScheduleParams{
		ID: id, Cron: &sc.Cron, Timezone: sc.Timezone, Enabled: sc.Enabled, Overlap: string(sc.Overlap), LastAt: last,
	})
}

// EnabledSchedules lists the enabled schedules of benchmarks that are not
// archived.
func (s *Store) EnabledSchedules(ctx context.Context) ([]schedule.Entry, error) {
	rows, err := s.q.ListEnabledSchedules(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]schedule.Entry, len(rows))
	for i, r := range rows {
		out[i] = schedule.Entry{
			BenchmarkID: r.ID, Cron: r.Cron, Timezone: r.ScheduleTimezone, Overlap: schedule.Overlap(r.ScheduleOverlap), Last: r.LastAt,
		}
	}
	return out, nil
}

// AdvanceSchedule moves a schedule's marker from a.From to a.To and creates
// the runs of a.Occurrences (trigger schedule) in one transaction. When
// the marker is no longer a.From, or the schedule was disabled or its
// benchmark archived meanwhile, it changes nothing and reports Won false.
// An occurrence that already has a run counts as Existing. A benchmark
// that cannot run now (archived models, no questions) has its occurrences
// skipped with the reason, so one broken benchmark does not stall its
// schedule on the same occurrence forever.
func (s *Store) AdvanceSchedule(ctx context.Context, a schedule.Advance) (schedule.Advanced, error) {
	// Runs a schedule creates are the scheduler's doing, unless the
	// caller named an actor of its own.
	if audit.ActorFrom(ctx).TokenName == audit.SystemActor {
		ctx = audit.WithActor(ctx, audit.Actor{TokenName: SchedulerActor})
	}
	var out schedule.Advanced
	err := s.inTxRetry(ctx, pgx.RepeatableRead, func(q *dbsqlc.Queries) error {
		out = schedule.Advanced{}
		n, err := q.AdvanceScheduleMarker(ctx, dbsqlc.AdvanceScheduleMarkerParams{ID: a.BenchmarkID, FromAt: a.From, ToAt: a.To})
		if err != nil || n == 0 {
			return err
		}
		out.Won = true
		if a.SkipWhileRunning && len(a.Occurrences) > 0 {
			busy, err := q.HasUnfinishedScheduledRun(ctx, a.BenchmarkID)
			if err != nil {
				return err
			}
			if busy {
				out.Skipped, out.Reason = len(a.Occurrences), "the previous scheduled run is unfinished (overlap skip)"
				return nil
			}
		}
		for _, at := range a.Occurrences {
			at := at.UTC()
			r, created, err := createRun(ctx, q, NewRun{BenchmarkID: a.BenchmarkID, Trigger: run.TriggerSchedule, ScheduledFor: &at})
			switch {
			case fault.KindOf(err) == fault.KindConflict:
				out.Skipped++
				out.Reason = err.Error()
			case err != nil:
				return err
			case created:
				out.Created = append(out.Created, r.ID)
			default:
				out.Existing++
			}
		}
		return nil
	})
	return out, err
}

package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

var _ schedule.Store = (*Store)(nil)

// SchedulerActor is the actor named in the audit rows of runs a schedule
// created.
const SchedulerActor = "scheduler"

// serializationRetries bounds how often a transaction that lost a race at
// repeatable read is tried again. Every run creation for a benchmark (and
// for a token) updates its row, so concurrent creations for one of them
// retry one after the other: the bound must exceed the concurrency a
// benchmark sees (its runs in flight are capped anyway).
const serializationRetries = 10

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
	// Still losing to concurrent changes: the caller may try again.
	return fault.Unavailable("too many concurrent changes to the same benchmark; try again")
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// setSchedule stores a benchmark's schedule, given the one it had. A
// schedule that starts afresh (newly enabled, or a new spec or zone) has
// its marker set to now, so its first run is for the first occurrence
// after the change: nothing from before is caught up. The token of the
// request that sets it (from ctx's audit actor) is recorded: the
// schedule's runs are charged to its budgets. A new spec or zone, or a
// schedule enabled again, must keep minInterval between occurrences; an
// older schedule may still be edited otherwise (the tick skips its
// occurrences until it is fixed).
func setSchedule(ctx context.Context, q *dbsqlc.Queries, id uuid.UUID, sc catalog.Schedule, old *catalog.Schedule, oldLast *time.Time, minInterval time.Duration) error {
	if old == nil || old.Cron != sc.Cron || old.Timezone != sc.Timezone || sc.Restarts(old) {
		if err := sc.CheckInterval(minInterval); err != nil {
			return err
		}
	}
	last := oldLast
	if sc.Restarts(old) {
		now := time.Now().UTC().Truncate(time.Microsecond)
		last = &now
	}
	return q.SetBenchmarkSchedule(ctx, dbsqlc.SetBenchmarkScheduleParams{
		ID: id, Cron: &sc.Cron, Timezone: sc.Timezone, Enabled: sc.Enabled, Overlap: string(sc.Overlap), LastAt: last,
		TokenID: audit.ActorFrom(ctx).TokenID,
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
// that cannot run now (archived members, no questions) has its
// occurrences skipped with the reason, so one broken benchmark does not
// stall its schedule on the same occurrence forever. Every skipped
// occurrence (those too, a.Skips, and overlap skips) is recorded in the
// same transaction: the benchmark's last skip and reason, and a
// schedule.skipped event.
func (s *Store) AdvanceSchedule(ctx context.Context, a schedule.Advance) (schedule.Advanced, error) {
	// Runs a schedule creates are the scheduler's doing, unless the
	// caller named an actor of its own.
	if audit.ActorFrom(ctx).TokenName == audit.SystemActor {
		ctx = audit.WithActor(ctx, audit.Actor{TokenName: SchedulerActor})
	}
	var out schedule.Advanced
	var latestSkip time.Time
	err := s.inTxRetry(ctx, pgx.RepeatableRead, func(q *dbsqlc.Queries) error {
		out = schedule.Advanced{}
		n, err := q.AdvanceScheduleMarker(ctx, dbsqlc.AdvanceScheduleMarkerParams{ID: a.BenchmarkID, FromAt: a.From, ToAt: a.To})
		if err != nil || n == 0 {
			return err
		}
		out.Won = true
		skips := slices.Clone(a.Skips)
		busy := false
		if a.SkipWhileRunning && len(a.Occurrences) > 0 {
			if busy, err = q.HasUnfinishedScheduledRun(ctx, a.BenchmarkID); err != nil {
				return err
			}
		}
		for _, at := range a.Occurrences {
			at := at.UTC()
			if busy {
				skips = append(skips, schedule.Skip{At: at, Reason: "the previous scheduled run is unfinished (overlap skip)"})
				continue
			}
			r, created, err := createRun(ctx, q, s.limits, NewRun{BenchmarkID: a.BenchmarkID, Trigger: run.TriggerSchedule, ScheduledFor: &at})
			switch {
			case refusal(err) != "":
				skips = append(skips, schedule.Skip{At: at, Reason: refusal(err)})
			case err != nil:
				return err
			case created:
				out.Created = append(out.Created, r.ID)
			default:
				out.Existing++
			}
		}
		now := cmp.Or(a.Now, time.Now())
		for _, sk := range skips {
			if err := recordSkip(ctx, q, a.BenchmarkID, sk, now); err != nil {
				return err
			}
			if out.Skipped == 0 || !sk.At.Before(latestSkip) {
				latestSkip, out.Reason = sk.At, sk.Reason
			}
			out.Skipped++
		}
		return nil
	})
	return out, err
}

// recordSkip records, in the caller's transaction, that occurrence sk.At
// of a benchmark's schedule made no run: on the benchmark (its latest
// skip and reason) and as a schedule.skipped event, written once per
// occurrence however often a tick retries.
func recordSkip(ctx context.Context, q *dbsqlc.Queries, benchmarkID uuid.UUID, sk schedule.Skip, now time.Time) error {
	at := sk.At.UTC()
	if err := q.RecordScheduleSkip(ctx, dbsqlc.RecordScheduleSkipParams{ID: benchmarkID, At: at, Reason: sk.Reason}); err != nil {
		return err
	}
	name, err := q.EventBenchmarkName(ctx, benchmarkID)
	if err != nil {
		return err
	}
	_, err = q.InsertEvent(ctx, dbsqlc.InsertEventParams{
		ID: newID(), Type: schedule.EventSkipped, OccurredAt: now.UTC(), BenchmarkID: &benchmarkID,
		DedupKey: schedule.EventSkipped + ":" + benchmarkID.String() + ":" + at.Format(time.RFC3339Nano),
		Payload:  mustJSON(schedule.SkippedEvent{BenchmarkID: benchmarkID, BenchmarkName: name, ScheduledFor: at, Reason: sk.Reason}),
	})
	return err
}

// refusal is why a run was refused by a check the benchmark fails now (a
// blocker, a limit, a budget), or "" for any other error. A schedule
// skips such an occurrence with this reason rather than failing the tick.
func refusal(err error) string {
	var be *BudgetError
	if errors.As(err, &be) {
		return be.Message
	}
	if fe := fault.As(err); fe != nil && (fe.Kind == fault.KindConflict || fe.Kind == fault.KindInvalid) {
		return fe.Message
	}
	return ""
}

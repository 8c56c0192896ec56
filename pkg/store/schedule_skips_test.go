package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// skippedEvents returns the schedule.skipped events of a benchmark,
// oldest occurrence first.
func skippedEvents(t *testing.T, pool *pgxpool.Pool, id uuid.UUID) []schedule.SkippedEvent {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT payload FROM events WHERE type = $1 AND benchmark_id = $2 ORDER BY payload->>'scheduled_for'`, schedule.EventSkipped, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []schedule.SkippedEvent
	for rows.Next() {
		var raw []byte
		var e schedule.SkippedEvent
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStore_ScheduleSkips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("BlockedByArchivedModel", func(t *testing.T) {
		t.Parallel()
		pool := testenv.Pool(t)
		s := store.New(pool, testenv.Keyring(t))
		b := newBenchmark(t, s, &catalog.Schedule{Cron: "@every 1s", Enabled: true})
		model, err := s.GetModel(ctx, b.ModelIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteModel(ctx, model.ID, true); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetBenchmark(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sc := got.Schedule; sc.Status != catalog.ScheduleBlocked || !strings.Contains(sc.BlockedReason, model.Name) ||
			!strings.Contains(sc.BlockedReason, "model_ids") || got.NextRunAt != nil || sc.LastSkippedAt != nil {
			t.Fatalf("schedule = %+v, next %v; want blocked naming the archived model, no next run, nothing skipped yet", sc, got.NextRunAt)
		}

		e, _ := entry(t, s, b.ID)
		at := e.Last.Truncate(time.Second).Add(time.Second)
		tickNow := at.Add(300 * time.Millisecond)
		r, err := s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: e.Last, To: at, Occurrences: []time.Time{at}, Now: tickNow})
		if err != nil || !r.Won || r.Skipped != 1 {
			t.Fatalf("advance: %+v, %v; want the occurrence skipped", r, err)
		}
		got, err = s.GetBenchmark(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sc := got.Schedule; sc.LastSkippedAt == nil || !sc.LastSkippedAt.Equal(at) || !strings.Contains(sc.LastSkipReason, model.Name) {
			t.Errorf("after the skip: last_skipped_at %v reason %q; want %v and the archived model named", sc.LastSkippedAt, sc.LastSkipReason, at)
		}
		events := skippedEvents(t, pool, b.ID)
		if len(events) != 1 || events[0].BenchmarkID != b.ID || events[0].BenchmarkName != b.Name || !events[0].ScheduledFor.Equal(at) || events[0].Reason != got.Schedule.LastSkipReason {
			t.Fatalf("events = %+v; want one schedule.skipped for %v with the reason and the benchmark's name", events, at)
		}
		var occurred time.Time
		if err := pool.QueryRow(ctx, `SELECT occurred_at FROM events WHERE benchmark_id = $1`, b.ID).Scan(&occurred); err != nil || !occurred.Equal(tickNow) {
			t.Errorf("occurred_at = %v, %v; want the tick's time %v", occurred, err, tickNow)
		}

		// The same occurrence recorded again (a tick that reports it
		// late) writes no second event and keeps the first reason.
		next := at.Add(time.Second)
		r, err = s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: at, To: next,
			Skips: []schedule.Skip{{At: at, Reason: "again"}}, Now: tickNow})
		if err != nil || !r.Won || r.Skipped != 1 {
			t.Fatalf("second advance: %+v, %v", r, err)
		}
		if events := skippedEvents(t, pool, b.ID); len(events) != 1 {
			t.Errorf("%d events after recording one occurrence twice, want 1", len(events))
		}
		got, _ = s.GetBenchmark(ctx, b.ID)
		if got.Schedule.LastSkipReason == "again" {
			t.Errorf("recording an occurrence again replaced its reason")
		}
	})

	t.Run("OverlapRecorded", func(t *testing.T) {
		t.Parallel()
		pool := testenv.Pool(t)
		s := store.New(pool, testenv.Keyring(t))
		b := newBenchmark(t, s, &catalog.Schedule{Cron: "@every 1s", Enabled: true})
		e, _ := entry(t, s, b.ID)
		t1 := e.Last.Truncate(time.Second).Add(time.Second)
		if r, err := s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: e.Last, To: t1, Occurrences: []time.Time{t1}, SkipWhileRunning: true}); err != nil || len(r.Created) != 1 {
			t.Fatalf("first occurrence: %+v, %v", r, err)
		}
		t2 := t1.Add(time.Second)
		if r, err := s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: t1, To: t2, Occurrences: []time.Time{t2}, SkipWhileRunning: true}); err != nil || r.Skipped != 1 {
			t.Fatalf("overlapping occurrence: %+v, %v", r, err)
		}
		got, err := s.GetBenchmark(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		sc := got.Schedule
		if sc.Status != catalog.ScheduleActive || sc.LastSkippedAt == nil || !sc.LastSkippedAt.Equal(t2) || !strings.Contains(sc.LastSkipReason, "overlap") {
			t.Errorf("schedule = %+v; want active, with the overlap skip at %v recorded", sc, t2)
		}
		if events := skippedEvents(t, pool, b.ID); len(events) != 1 || !events[0].ScheduledFor.Equal(t2) {
			t.Errorf("events = %+v; want one for %v", events, t2)
		}
	})

	t.Run("ErrModelInUse", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		b := newBenchmark(t, s, &catalog.Schedule{Cron: "@daily", Enabled: true})
		_, err := s.DeleteModel(ctx, b.ModelIDs[0], false)
		var iu *catalog.InUseError
		if !errors.As(err, &iu) || fault.KindOf(err) != fault.KindConflict || len(iu.Benchmarks) != 1 || iu.Benchmarks[0].ID != b.ID || iu.Benchmarks[0].Name != b.Name {
			t.Fatalf("DeleteModel = %v; want a conflict naming benchmark %s", err, b.ID)
		}
		if m, err := s.GetModel(ctx, b.ModelIDs[0]); err != nil || m.ArchivedAt != nil {
			t.Errorf("a refused delete archived the model: %+v, %v", m, err)
		}
		_, err = s.DeleteSuite(ctx, b.SuiteIDs[0], false)
		if !errors.As(err, &iu) || iu.Resource != "suite" || len(iu.Benchmarks) != 1 {
			t.Fatalf("DeleteSuite = %v; want a conflict naming the benchmark", err)
		}
		// Without an enabled schedule nothing stops.
		if _, err := s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Schedule: &catalog.SchedulePatch{Enabled: ptr(false)}}, 0); err != nil {
			t.Fatal(err)
		}
		if archived, err := s.DeleteSuite(ctx, b.SuiteIDs[0], false); err != nil || !archived {
			t.Fatalf("DeleteSuite of an unscheduled benchmark's suite = %v, %v; want archived", archived, err)
		}
		got, _ := s.GetBenchmark(ctx, b.ID)
		if _, err := s.CreateRun(ctx, store.NewRun{BenchmarkID: b.ID, Trigger: run.TriggerAPI}); fault.KindOf(err) != fault.KindConflict ||
			!strings.Contains(err.Error(), "suite_ids") || got.Schedule.Status != catalog.ScheduleDisabled {
			t.Errorf("run of a benchmark with an archived suite: %v (schedule %+v); want a conflict naming suite_ids", err, got.Schedule)
		}
	})

	t.Run("PatchChecksOnlyWhatChanges", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		b := newBenchmark(t, s, &catalog.Schedule{Cron: "@daily", Enabled: true})
		if _, err := s.DeleteModel(ctx, b.ModelIDs[0], true); err != nil {
			t.Fatal(err)
		}
		got, err := s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Name: ptr("renamed"), Schedule: &catalog.SchedulePatch{Enabled: ptr(false)}}, 0)
		if err != nil || got.Name != "renamed" || got.Schedule.Enabled || got.Schedule.Status != catalog.ScheduleDisabled {
			t.Fatalf("patch of a benchmark with an archived model = %+v, %v; want renamed and disabled", got, err)
		}
		_, err = s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{ModelIDs: b.ModelIDs}, 0)
		if fe := fault.As(err); fe == nil || fe.Field != "model_ids[0]" || !strings.Contains(fe.Message, "archived") {
			t.Errorf("keeping the archived model by name: %v; want model_ids.0 archived", err)
		}
	})

	t.Run("ArchivedBenchmark", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		b := newBenchmark(t, s, &catalog.Schedule{Cron: "@daily", Enabled: true})
		if _, err := s.CreateRun(ctx, store.NewRun{BenchmarkID: b.ID, Trigger: run.TriggerAPI}); err != nil {
			t.Fatal(err)
		}
		if archived, err := s.DeleteBenchmark(ctx, b.ID); err != nil || !archived {
			t.Fatalf("DeleteBenchmark = %v, %v; want archived", archived, err)
		}
		got, err := s.GetBenchmark(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ArchivedAt == nil || got.Schedule.Enabled || got.Schedule.Status != catalog.ScheduleDisabled || got.NextRunAt != nil {
			t.Errorf("archived benchmark = archived_at %v, schedule %+v, next %v; want archived_at, disabled, no next run", got.ArchivedAt, got.Schedule, got.NextRunAt)
		}
		if _, listed := entry(t, s, b.ID); listed {
			t.Errorf("an archived benchmark's schedule is still listed for ticks")
		}
		if _, err := s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Name: ptr("x")}, 0); fault.KindOf(err) != fault.KindConflict {
			t.Errorf("patch of an archived benchmark: %v; want conflict", err)
		}
	})
}

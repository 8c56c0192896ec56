package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// newBenchmark creates a runnable benchmark (one model, one question) with
// the given schedule (nil: none).
func newBenchmark(t *testing.T, s *store.Store, sc *catalog.Schedule) *catalog.Benchmark {
	t.Helper()
	ctx := context.Background()
	b := testfactory.Benchmark(ctx, t, s, &testfactory.BenchmarkOpts{Config: catalog.BenchmarkConfig{MaxTokens: 10}, Schedule: sc})
	return b
}

// entry returns the enabled schedule of benchmark id, and whether it is
// listed.
func entry(t *testing.T, s *store.Store, id uuid.UUID) (schedule.Entry, bool) {
	t.Helper()
	es, err := s.EnabledSchedules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.BenchmarkID == id {
			return e, true
		}
	}
	return schedule.Entry{}, false
}

func ptr[T any](v T) *T { return &v }

func TestStore_Schedules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		before := time.Now()
		b := newBenchmark(t, s, &catalog.Schedule{Cron: "@every 1h", Timezone: "Europe/Berlin", Enabled: true})
		if b.Schedule == nil || b.Schedule.Cron != "@every 1h" || b.Schedule.Timezone != "Europe/Berlin" || b.Schedule.Overlap != schedule.OverlapSkip {
			t.Fatalf("schedule = %+v; want the given one with overlap skip by default", b.Schedule)
		}
		if b.NextRunAt == nil || !b.NextRunAt.After(before) || b.NextRunAt.Sub(before) > time.Hour || b.NextRunAt.Unix()%3600 != 0 {
			t.Errorf("next_run_at = %v; want the next whole UTC hour", b.NextRunAt)
		}
		e, ok := entry(t, s, b.ID)
		if !ok || e.Cron != "@every 1h" || e.Timezone != "Europe/Berlin" || e.Last.Before(before.Add(-time.Millisecond)) || e.Last.After(time.Now()) {
			t.Fatalf("listed %v %+v; want the schedule, its marker at its creation", ok, e)
		}

		plain := newBenchmark(t, s, nil)
		if plain.Schedule != nil || plain.NextRunAt != nil {
			t.Errorf("a benchmark without a schedule shows %+v, next %v", plain.Schedule, plain.NextRunAt)
		}
		if _, ok := entry(t, s, plain.ID); ok {
			t.Error("a benchmark without a schedule is listed")
		}
	})

	t.Run("EditsRestartOrKeep", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		b := newBenchmark(t, s, &catalog.Schedule{Cron: "@daily", Enabled: true})
		e0, _ := entry(t, s, b.ID)

		// Overlap only: the schedule keeps its place.
		if _, err := s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Schedule: &catalog.SchedulePatch{Overlap: ptr(schedule.OverlapAllow)}}, 0); err != nil {
			t.Fatal(err)
		}
		if e, _ := entry(t, s, b.ID); !e.Last.Equal(e0.Last) || e.Overlap != schedule.OverlapAllow {
			t.Errorf("after an overlap edit: %+v; want the marker kept (%v)", e, e0.Last)
		}
		// A new spec restarts it from now.
		got, err := s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Schedule: &catalog.SchedulePatch{Cron: ptr("@hourly")}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		e1, _ := entry(t, s, b.ID)
		if !e1.Last.After(e0.Last) || e1.Cron != "@hourly" || got.Schedule.Cron != "@hourly" {
			t.Errorf("after a cron edit: %+v; want the marker moved past %v", e1, e0.Last)
		}
		// Disabled: not listed, no next run.
		got, err = s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Schedule: &catalog.SchedulePatch{Enabled: ptr(false)}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := entry(t, s, b.ID); ok || got.NextRunAt != nil || got.Schedule == nil || got.Schedule.Enabled {
			t.Errorf("disabled: listed %v, %+v next %v", ok, got.Schedule, got.NextRunAt)
		}
		// Enabled again: restarted.
		if _, err := s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Schedule: &catalog.SchedulePatch{Enabled: ptr(true)}}, 0); err != nil {
			t.Fatal(err)
		}
		if e, ok := entry(t, s, b.ID); !ok || !e.Last.After(e1.Last) {
			t.Errorf("re-enabled: listed %v %+v; want a marker after %v", ok, e, e1.Last)
		}
	})

	t.Run("ErrPatchWithoutCron", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		b := newBenchmark(t, s, nil)
		_, err := s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Schedule: &catalog.SchedulePatch{Enabled: ptr(true)}}, 0)
		if fe := fault.As(err); fe == nil || fe.Field != "schedule.cron" {
			t.Fatalf("err = %v; want Invalid on schedule.cron", err)
		}
	})
}

func TestStore_EnsureRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("OncePerOccurrence", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		b := newBenchmark(t, s, nil)
		at := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
		const n = 8
		var wg sync.WaitGroup
		runs := make([]*run.Run, n)
		created := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				runs[i], created[i], errs[i] = s.EnsureRun(ctx, store.NewRun{BenchmarkID: b.ID, Trigger: run.TriggerSchedule, ScheduledFor: &at})
			})
		}
		wg.Wait()
		made := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("EnsureRun %d: %v", i, errs[i])
			}
			if created[i] {
				made++
			}
			if runs[i].ID != runs[0].ID || runs[i].ScheduledFor == nil || !runs[i].ScheduledFor.Equal(at) || runs[i].Trigger != run.TriggerSchedule {
				t.Errorf("call %d returned %+v; want the one run for %v", i, runs[i], at)
			}
		}
		if made != 1 {
			t.Errorf("%d calls created a run, want 1", made)
		}
		// CreateRun answers the same, without an error.
		r, err := s.CreateRun(ctx, store.NewRun{BenchmarkID: b.ID, Trigger: run.TriggerSchedule, ScheduledFor: &at})
		if err != nil || r.ID != runs[0].ID {
			t.Errorf("CreateRun for the occurrence again: %v, %v", r, err)
		}
	})

	t.Run("ErrScheduledForNeedsTrigger", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		b := newBenchmark(t, s, nil)
		at := time.Now()
		if _, _, err := s.EnsureRun(ctx, store.NewRun{BenchmarkID: b.ID, Trigger: run.TriggerAPI, ScheduledFor: &at}); err == nil {
			t.Error("an api run with scheduled_for was accepted")
		}
		if _, _, err := s.EnsureRun(ctx, store.NewRun{BenchmarkID: b.ID, Trigger: run.TriggerSchedule}); err == nil {
			t.Error("a scheduled run without scheduled_for was accepted")
		}
	})
}

func TestStore_AdvanceSchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CompareAndSet", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		b := newBenchmark(t, s, &catalog.Schedule{Cron: "@every 1s", Enabled: true, Overlap: schedule.OverlapAllow})
		e, _ := entry(t, s, b.ID)
		from := e.Last
		occ := []time.Time{from.Truncate(time.Second).Add(time.Second), from.Truncate(time.Second).Add(2 * time.Second)}
		const n = 6
		res := make([]schedule.Advanced, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				res[i], errs[i] = s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: from, To: occ[1], Occurrences: occ})
			})
		}
		wg.Wait()
		won, made := 0, 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("advance %d: %v", i, errs[i])
			}
			if res[i].Won {
				won++
				made += len(res[i].Created)
			} else if len(res[i].Created) != 0 {
				t.Errorf("a losing advance created %v", res[i].Created)
			}
		}
		if won != 1 || made != 2 {
			t.Fatalf("%d advances won and %d runs were made; want 1 and 2", won, made)
		}
		if e, _ := entry(t, s, b.ID); !e.Last.Equal(occ[1]) {
			t.Errorf("marker %v, want %v", e.Last, occ[1])
		}
		page, err := s.ListRuns(ctx, store.RunFilter{BenchmarkID: &b.ID}, 10, "")
		if err != nil || len(page.Items) != 2 {
			t.Fatalf("runs: %d, %v; want 2", len(page.Items), err)
		}
		// The marker never moves back.
		if r, err := s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: occ[1], To: occ[0]}); err != nil || r.Won {
			t.Errorf("backwards advance: %+v, %v", r, err)
		}
	})

	t.Run("OverlapSkip", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		b := newBenchmark(t, s, &catalog.Schedule{Cron: "@every 1s", Enabled: true})
		e, _ := entry(t, s, b.ID)
		t1 := e.Last.Truncate(time.Second).Add(time.Second)
		r1, err := s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: e.Last, To: t1, Occurrences: []time.Time{t1}, SkipWhileRunning: true})
		if err != nil || !r1.Won || len(r1.Created) != 1 {
			t.Fatalf("first occurrence: %+v, %v", r1, err)
		}
		// That run is queued, so the next occurrence is skipped, and the
		// marker still moves past it.
		t2 := t1.Add(time.Second)
		r2, err := s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: t1, To: t2, Occurrences: []time.Time{t2}, SkipWhileRunning: true})
		if err != nil || !r2.Won || len(r2.Created) != 0 || r2.Skipped != 1 || r2.Reason == "" {
			t.Fatalf("overlapping occurrence: %+v, %v; want skipped", r2, err)
		}
		// Once it has finished the next one runs.
		first, err := s.GetRun(ctx, r1.Created[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FailRun(ctx, first, "test"); err != nil {
			t.Fatal(err)
		}
		t3 := t2.Add(time.Second)
		r3, err := s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: t2, To: t3, Occurrences: []time.Time{t3}, SkipWhileRunning: true})
		if err != nil || len(r3.Created) != 1 {
			t.Fatalf("after the run finished: %+v, %v", r3, err)
		}
	})

	t.Run("ExistingAndDisabled", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		b := newBenchmark(t, s, &catalog.Schedule{Cron: "@every 1s", Enabled: true, Overlap: schedule.OverlapAllow})
		e, _ := entry(t, s, b.ID)
		at := e.Last.Truncate(time.Second).Add(time.Second)
		if _, err := s.CreateRun(ctx, store.NewRun{BenchmarkID: b.ID, Trigger: run.TriggerSchedule, ScheduledFor: &at}); err != nil {
			t.Fatal(err)
		}
		r, err := s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: e.Last, To: at, Occurrences: []time.Time{at}})
		if err != nil || !r.Won || r.Existing != 1 || len(r.Created) != 0 {
			t.Fatalf("occurrence with a run: %+v, %v; want it counted as existing", r, err)
		}
		if _, err := s.UpdateBenchmark(ctx, b.ID, catalog.BenchmarkPatch{Schedule: &catalog.SchedulePatch{Enabled: ptr(false)}}, 0); err != nil {
			t.Fatal(err)
		}
		next := at.Add(time.Second)
		if r, err := s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: at, To: next, Occurrences: []time.Time{next}}); err != nil || r.Won {
			t.Errorf("disabled schedule advanced: %+v, %v", r, err)
		}
	})

	t.Run("UnrunnableSkipped", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		b := newBenchmark(t, s, &catalog.Schedule{Cron: "@every 1s", Enabled: true})
		if _, err := s.DeleteModel(ctx, b.ModelIDs[0], true); err != nil {
			t.Fatal(err)
		}
		e, _ := entry(t, s, b.ID)
		at := e.Last.Truncate(time.Second).Add(time.Second)
		r, err := s.AdvanceSchedule(ctx, schedule.Advance{BenchmarkID: b.ID, From: e.Last, To: at, Occurrences: []time.Time{at}})
		if err != nil || !r.Won || r.Skipped != 1 || r.Reason == "" {
			t.Fatalf("benchmark with an archived model: %+v, %v; want the occurrence skipped with a reason", r, err)
		}
	})
}

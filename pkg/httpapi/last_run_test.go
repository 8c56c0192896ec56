package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// TestServer_ScheduleLastRun: a schedule shows the latest run it made
// (not a run started by hand), in GET, the list and a PATCH's answer;
// null before its first.
func TestServer_ScheduleLastRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	scheduled := b.world(t, 1, 1, 1).benchmark
	idle := b.world(t, 1, 1, 1).benchmark
	for _, bm := range []oapi.Benchmark{scheduled, idle} {
		got := call[oapi.Benchmark](t, b, "PATCH", "/v1/benchmarks/"+bm.Id.String(), `{"schedule":{"cron":"@every 15m"}}`, http.StatusOK)
		if got.Schedule == nil || got.Schedule.LastRun != nil {
			t.Fatalf("new schedule: %+v, want no last_run", got.Schedule)
		}
	}

	create := func(tr run.Trigger, at time.Time) *run.Run {
		t.Helper()
		nr := store.NewRun{BenchmarkID: scheduled.Id, Trigger: tr}
		if tr == run.TriggerSchedule {
			nr.ScheduledFor = &at
		}
		r, err := b.store.CreateRun(ctx, nr)
		if err != nil {
			t.Fatalf("CreateRun: %v", err)
		}
		return r
	}
	first := create(run.TriggerSchedule, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	if _, _, err := b.store.Finalize(ctx, first, run.StatusCompleted, "", analytics.RankRun); err != nil {
		t.Fatal(err)
	}
	latest := create(run.TriggerSchedule, time.Date(2026, 3, 1, 9, 15, 0, 0, time.UTC))
	create(run.TriggerManual, time.Time{})

	check := func(where string, s *oapi.Schedule) {
		t.Helper()
		if s == nil || s.LastRun == nil {
			t.Fatalf("%s: schedule %+v, want a last_run", where, s)
		}
		lr := s.LastRun
		if lr.Id != latest.ID || lr.Status != oapi.RunStatusQueued || !lr.ScheduledFor.Equal(*latest.ScheduledFor) ||
			!lr.CreatedAt.Equal(latest.CreatedAt) || lr.FinishedAt != nil {
			t.Errorf("%s: last_run = %+v, want the queued run %s for %s", where, lr, latest.ID, latest.ScheduledFor)
		}
	}
	check("GET", call[oapi.Benchmark](t, b, "GET", "/v1/benchmarks/"+scheduled.Id.String(), "", http.StatusOK).Schedule)
	check("PATCH", call[oapi.Benchmark](t, b, "PATCH", "/v1/benchmarks/"+scheduled.Id.String(), `{"name":"renamed"}`, http.StatusOK).Schedule)
	list := call[oapi.BenchmarkList](t, b, "GET", "/v1/benchmarks", "", http.StatusOK)
	seen := map[uuid.UUID]*oapi.Schedule{}
	for _, it := range list.Items {
		seen[it.Id] = it.Schedule
	}
	check("list", seen[scheduled.Id])
	if s := seen[idle.Id]; s == nil || s.LastRun != nil {
		t.Errorf("list: idle schedule %+v, want one without last_run", s)
	}

	// Once it has finished, last_run says how.
	got, err := b.store.GetRun(ctx, latest.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.store.Finalize(ctx, got, run.StatusFailed, "provider down", analytics.RankRun); err != nil {
		t.Fatal(err)
	}
	s := call[oapi.Benchmark](t, b, "GET", "/v1/benchmarks/"+scheduled.Id.String(), "", http.StatusOK).Schedule
	if s.LastRun == nil || s.LastRun.Status != oapi.RunStatusFailed || s.LastRun.FinishedAt == nil {
		t.Errorf("finished last_run = %+v, want failed with finished_at", s.LastRun)
	}
}

package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
)

// scheduledBody is a benchmark creation body over the world's suite and
// first model, with the given schedule.
func scheduledBody(t *testing.T, w world, schedule any) string {
	t.Helper()
	return mustJSON(t, map[string]any{
		"name": fmt.Sprintf("sched-%d", time.Now().UnixNano()), "suite_ids": []string{w.suite.Id.String()},
		"model_ids": []string{w.models[0].Id.String()}, "config": map[string]any{"temperature": 0, "max_tokens": 8, "samples": 1},
		"schedule": schedule,
	})
}

func TestServer_BenchmarkSchedules(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		if w.benchmark.Schedule != nil || w.benchmark.NextRunAt != nil {
			t.Fatalf("a benchmark created without a schedule shows %+v, next %v", w.benchmark.Schedule, w.benchmark.NextRunAt)
		}
		before := time.Now()
		bm := call[oapi.Benchmark](t, b, "POST", "/v1/benchmarks", scheduledBody(t, w, map[string]any{"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}), http.StatusCreated)
		s := bm.Schedule
		if s == nil || s.Cron != "0 9 * * 1-5" || s.Timezone != "Europe/Berlin" || !s.Enabled || s.Overlap != oapi.ScheduleOverlap("skip") {
			t.Fatalf("schedule = %+v; want the given spec, enabled, overlap skip", s)
		}
		berlin, _ := time.LoadLocation("Europe/Berlin")
		next := bm.NextRunAt
		if next == nil || !next.After(before) || next.In(berlin).Hour() != 9 || next.In(berlin).Weekday() == time.Saturday ||
			next.In(berlin).Weekday() == time.Sunday || next.Location() != time.UTC {
			t.Fatalf("next_run_at = %v; want the next weekday 09:00 Berlin, in UTC", next)
		}
		got := call[oapi.Benchmark](t, b, "GET", "/v1/benchmarks/"+bm.Id.String(), "", http.StatusOK)
		if got.Schedule == nil || got.NextRunAt == nil || !got.NextRunAt.Equal(*next) {
			t.Errorf("GET = %+v next %v; want the same schedule and next run", got.Schedule, got.NextRunAt)
		}

		// PATCH changes only the named fields.
		upd := call[oapi.Benchmark](t, b, "PATCH", "/v1/benchmarks/"+bm.Id.String(), `{"schedule":{"overlap":"allow"}}`, http.StatusOK)
		if upd.Schedule.Cron != "0 9 * * 1-5" || upd.Schedule.Overlap != "allow" || !upd.Schedule.Enabled {
			t.Errorf("after an overlap patch: %+v", upd.Schedule)
		}
		upd = call[oapi.Benchmark](t, b, "PATCH", "/v1/benchmarks/"+bm.Id.String(), `{"schedule":{"enabled":false}}`, http.StatusOK)
		if upd.Schedule.Enabled || upd.NextRunAt != nil {
			t.Errorf("disabled: %+v next %v; want next_run_at null", upd.Schedule, upd.NextRunAt)
		}
		raw := b.do(t, "GET", "/v1/benchmarks/"+bm.Id.String(), "")
		if !strings.Contains(string(raw.body), `"next_run_at":null`) {
			t.Errorf("a disabled schedule's next_run_at is not null: %s", raw.body)
		}
		// A benchmark without a schedule gets one from a patch with a cron.
		added := call[oapi.Benchmark](t, b, "PATCH", "/v1/benchmarks/"+w.benchmark.Id.String(), `{"schedule":{"cron":"@every 15m"}}`, http.StatusOK)
		if added.Schedule == nil || !added.Schedule.Enabled || added.Schedule.Timezone != "UTC" || added.NextRunAt == nil || added.NextRunAt.Unix()%900 != 0 {
			t.Errorf("schedule added by patch: %+v next %v", added.Schedule, added.NextRunAt)
		}
		list := call[oapi.BenchmarkList](t, b, "GET", "/v1/benchmarks", "", http.StatusOK)
		for _, it := range list.Items {
			if it.Schedule == nil {
				t.Errorf("listed benchmark %s lost its schedule", it.Id)
			}
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		for _, tc := range []struct {
			schedule any
			field    string
		}{
			{map[string]any{"cron": "61 * * * *"}, "schedule.cron"},
			{map[string]any{"cron": "@every 100ms"}, "schedule.cron"},
			{map[string]any{"cron": "@daily", "timezone": "Mars/Olympus"}, "schedule.timezone"},
			{map[string]any{"cron": "@daily", "overlap": "queue"}, "schedule.overlap"},
			{map[string]any{"timezone": "UTC"}, "schedule.cron"},
		} {
			resp := b.do(t, "POST", "/v1/benchmarks", scheduledBody(t, w, tc.schedule))
			if resp.status != http.StatusUnprocessableEntity && resp.status != http.StatusBadRequest {
				t.Fatalf("schedule %v: status %d: %s", tc.schedule, resp.status, resp.body)
			}
			wantError(t, resp, resp.status, tc.field)
		}
		wantError(t, b.do(t, "PATCH", "/v1/benchmarks/"+w.benchmark.Id.String(), `{"schedule":{"cron":"* * *"}}`), http.StatusUnprocessableEntity, "schedule.cron")
		wantError(t, b.do(t, "PATCH", "/v1/benchmarks/"+w.benchmark.Id.String(), `{"schedule":{"enabled":true}}`), http.StatusUnprocessableEntity, "schedule.cron")
		wantError(t, b.do(t, "PATCH", "/v1/benchmarks/"+w.benchmark.Id.String(), `{"schedule":{"cron":"@daily","timezone":"Local"}}`), http.StatusUnprocessableEntity, "schedule.timezone")
		if got := call[oapi.Benchmark](t, b, "GET", "/v1/benchmarks/"+w.benchmark.Id.String(), "", http.StatusOK); got.Schedule != nil {
			t.Errorf("a refused schedule was stored: %+v", got.Schedule)
		}
	})
}

func TestServer_ScheduledRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.world(t, 1, 1, 1)
	at := time.Date(2025, 6, 2, 7, 0, 0, 0, time.UTC)
	r, err := b.store.CreateRun(context.Background(), store.NewRun{BenchmarkID: w.benchmark.Id, Trigger: run.TriggerSchedule, ScheduledFor: &at})
	if err != nil {
		t.Fatal(err)
	}
	got := call[oapi.Run](t, b, "GET", "/v1/runs/"+r.ID.String(), "", http.StatusOK)
	if got.Trigger != oapi.RunTriggerSchedule || got.ScheduledFor == nil || !got.ScheduledFor.Equal(at) {
		t.Errorf("run = trigger %q scheduled_for %v; want schedule at %v", got.Trigger, got.ScheduledFor, at)
	}
	api := call[oapi.Run](t, b, "POST", "/v1/benchmarks/"+w.benchmark.Id.String()+"/runs", "", http.StatusAccepted)
	if api.Trigger != oapi.RunTriggerApi || api.ScheduledFor != nil {
		t.Errorf("api run = trigger %q scheduled_for %v; want api and none", api.Trigger, api.ScheduledFor)
	}
}

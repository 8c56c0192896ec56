package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// These tests decode into their own small types, not the generated ones,
// so that they state the wire format they rely on.

// benchmarkState is what a client reads to know whether a benchmark's
// schedule runs.
type benchmarkState struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	NextRunAt  *time.Time `json:"next_run_at"`
	ArchivedAt *time.Time `json:"archived_at"`
	Config     struct {
		Temperature *float64 `json:"temperature"`
		MaxTokens   *int     `json:"max_tokens"`
		Samples     *int     `json:"samples"`
	} `json:"config"`
	Schedule *struct {
		Enabled        bool       `json:"enabled"`
		Status         string     `json:"status"`
		BlockedReason  *string    `json:"blocked_reason"`
		LastSkippedAt  *time.Time `json:"last_skipped_at"`
		LastSkipReason *string    `json:"last_skip_reason"`
	} `json:"schedule"`
}

// archivable is what every archivable object's GET says about it.
type archivable struct {
	ArchivedAt *time.Time `json:"archived_at"`
}

// inUseError is the 409 of a delete that would block schedules.
type inUseError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
	Benchmarks []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"benchmarks"`
}

func TestServer_ScheduleBlocked(t *testing.T) {
	t.Parallel()

	t.Run("ArchivedModel", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		model := w.models[0]
		bm := call[benchmarkState](t, b, "POST", "/v1/benchmarks", scheduledBody(t, w, map[string]any{"cron": "@every 1h"}), http.StatusCreated)

		// Archiving the model would stop the schedule: refused, naming it.
		resp := b.do(t, "DELETE", "/v1/models/"+model.Id.String(), "")
		if resp.status != http.StatusConflict {
			t.Fatalf("delete of a scheduled benchmark's model: %d %s; want 409", resp.status, resp.body)
		}
		iu := decode[inUseError](t, resp)
		if iu.Error.Code != "conflict" || iu.Error.Field != "force" || !strings.Contains(iu.Error.Message, bm.Name) ||
			len(iu.Benchmarks) != 1 || iu.Benchmarks[0].ID != bm.ID || iu.Benchmarks[0].Name != bm.Name {
			t.Fatalf("409 body = %s; want the benchmark named in the message and listed", resp.body)
		}
		if m := call[archivable](t, b, "GET", "/v1/models/"+model.Id.String(), "", http.StatusOK); m.ArchivedAt != nil {
			t.Fatalf("a refused delete archived the model")
		}
		if got := call[benchmarkState](t, b, "GET", "/v1/benchmarks/"+bm.ID, "", http.StatusOK); got.Schedule.Status != "active" || got.NextRunAt == nil {
			t.Fatalf("schedule = %+v next %v; want still active with a next run", got.Schedule, got.NextRunAt)
		}

		// Forced, the model is archived and the schedule says it is blocked.
		if r := b.do(t, "DELETE", "/v1/models/"+model.Id.String()+"?force=true", ""); r.status != http.StatusNoContent {
			t.Fatalf("forced delete: %d %s", r.status, r.body)
		}
		if m := call[archivable](t, b, "GET", "/v1/models/"+model.Id.String(), "", http.StatusOK); m.ArchivedAt == nil {
			t.Errorf("archived model has no archived_at")
		}
		got := call[benchmarkState](t, b, "GET", "/v1/benchmarks/"+bm.ID, "", http.StatusOK)
		if sc := got.Schedule; sc == nil || sc.Status != "blocked" || sc.BlockedReason == nil ||
			!strings.Contains(*sc.BlockedReason, model.Name) || !strings.Contains(*sc.BlockedReason, "model_ids") || got.NextRunAt != nil {
			t.Fatalf("benchmark = %+v next %v; want blocked naming the archived model, next_run_at null", got.Schedule, got.NextRunAt)
		}
		wantError(t, b.do(t, "POST", "/v1/benchmarks/"+bm.ID+"/runs", ""), http.StatusConflict, "")

		// A change that does not touch model_ids is not refused because of
		// them: disabling the schedule works.
		got = call[benchmarkState](t, b, "PATCH", "/v1/benchmarks/"+bm.ID, `{"schedule":{"enabled":false}}`, http.StatusOK)
		if got.Schedule.Enabled || got.Schedule.Status != "disabled" {
			t.Errorf("after disabling: %+v; want disabled", got.Schedule)
		}
		got = call[benchmarkState](t, b, "PATCH", "/v1/benchmarks/"+bm.ID, `{"name":"renamed","config":{"samples":2}}`, http.StatusOK)
		if got.Name != "renamed" || *got.Config.Samples != 2 {
			t.Errorf("after a rename: %+v", got)
		}
		// Keeping the archived model is refused, naming it.
		wantError(t, b.do(t, "PATCH", "/v1/benchmarks/"+bm.ID, mustJSON(t, map[string]any{"model_ids": []string{model.Id.String()}})),
			http.StatusUnprocessableEntity, "model_ids[0]")

		// Replacing it with a live model (and enabling again) unblocks it.
		live := b.model(t, w.provider.Id.String(), nil)
		got = call[benchmarkState](t, b, "PATCH", "/v1/benchmarks/"+bm.ID,
			mustJSON(t, map[string]any{"model_ids": []string{live.Id.String()}, "schedule": map[string]any{"enabled": true}}), http.StatusOK)
		if got.Schedule.Status != "active" || got.Schedule.BlockedReason != nil || got.NextRunAt == nil {
			t.Errorf("after replacing the model: %+v next %v; want active with a next run", got.Schedule, got.NextRunAt)
		}
	})

	t.Run("PatchIgnoresUntouchedMembers", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		// Without an enabled schedule the model is archived at once.
		if r := b.do(t, "DELETE", "/v1/models/"+w.models[0].Id.String(), ""); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		id := w.benchmark.Id.String()
		if got := call[benchmarkState](t, b, "PATCH", "/v1/benchmarks/"+id, `{"name":"renamed"}`, http.StatusOK); got.Name != "renamed" {
			t.Errorf("renamed to %q", got.Name)
		}
		got := call[benchmarkState](t, b, "PATCH", "/v1/benchmarks/"+id, `{"schedule":{"cron":"@daily"}}`, http.StatusOK)
		if got.Schedule == nil || !got.Schedule.Enabled || got.Schedule.Status != "blocked" || got.NextRunAt != nil {
			t.Errorf("schedule added to a benchmark with an archived model: %+v next %v; want enabled but blocked", got.Schedule, got.NextRunAt)
		}
	})

	t.Run("ArchivedSuite", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		bm := call[benchmarkState](t, b, "POST", "/v1/benchmarks", scheduledBody(t, w, map[string]any{"cron": "@daily"}), http.StatusCreated)
		suite := w.suite.Id.String()
		resp := b.do(t, "DELETE", "/v1/suites/"+suite, "")
		if iu := decode[inUseError](t, resp); resp.status != http.StatusConflict || len(iu.Benchmarks) != 1 || iu.Benchmarks[0].ID != bm.ID {
			t.Fatalf("delete of a scheduled benchmark's suite: %d %s; want 409 listing %s", resp.status, resp.body, bm.ID)
		}
		if r := b.do(t, "DELETE", "/v1/suites/"+suite+"?force=true", ""); r.status != http.StatusNoContent {
			t.Fatalf("forced delete: %d %s", r.status, r.body)
		}
		if s := call[archivable](t, b, "GET", "/v1/suites/"+suite, "", http.StatusOK); s.ArchivedAt == nil {
			t.Errorf("archived suite has no archived_at")
		}
		got := call[benchmarkState](t, b, "GET", "/v1/benchmarks/"+bm.ID, "", http.StatusOK)
		if sc := got.Schedule; sc.Status != "blocked" || sc.BlockedReason == nil || !strings.Contains(*sc.BlockedReason, "suite_ids") || got.NextRunAt != nil {
			t.Errorf("benchmark = %+v next %v; want blocked naming suite_ids", sc, got.NextRunAt)
		}
		wantError(t, b.do(t, "POST", "/v1/benchmarks/"+bm.ID+"/runs", ""), http.StatusConflict, "")
	})

	t.Run("NoActiveQuestions", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		bm := call[benchmarkState](t, b, "POST", "/v1/benchmarks", scheduledBody(t, w, map[string]any{"cron": "@daily"}), http.StatusCreated)
		page := call[listPage](t, b, "GET", "/v1/suites/"+w.suite.Id.String()+"/questions", "", http.StatusOK)
		var q struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(page.Items[0], &q); err != nil {
			t.Fatal(err)
		}
		if r := b.do(t, "DELETE", "/v1/questions/"+q.ID, ""); r.status != http.StatusNoContent {
			t.Fatalf("delete question: %d %s", r.status, r.body)
		}
		if got := call[archivable](t, b, "GET", "/v1/questions/"+q.ID, "", http.StatusOK); got.ArchivedAt == nil {
			t.Errorf("archived question has no archived_at")
		}
		got := call[benchmarkState](t, b, "GET", "/v1/benchmarks/"+bm.ID, "", http.StatusOK)
		if sc := got.Schedule; sc.Status != "blocked" || sc.BlockedReason == nil || !strings.Contains(*sc.BlockedReason, "no active questions") {
			t.Errorf("benchmark = %+v; want blocked for want of questions", sc)
		}
	})

	t.Run("ArchivedBenchmark", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		bm := call[benchmarkState](t, b, "POST", "/v1/benchmarks", scheduledBody(t, w, map[string]any{"cron": "@daily"}), http.StatusCreated)
		call[archivable](t, b, "POST", "/v1/benchmarks/"+bm.ID+"/runs", "", http.StatusAccepted)
		if r := b.do(t, "DELETE", "/v1/benchmarks/"+bm.ID, ""); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		got := call[benchmarkState](t, b, "GET", "/v1/benchmarks/"+bm.ID, "", http.StatusOK)
		if got.ArchivedAt == nil || got.Schedule == nil || got.Schedule.Enabled || got.Schedule.Status != "disabled" || got.NextRunAt != nil {
			t.Errorf("archived benchmark = archived_at %v schedule %+v next %v; want archived_at, schedule disabled, no next run",
				got.ArchivedAt, got.Schedule, got.NextRunAt)
		}
		wantError(t, b.do(t, "PATCH", "/v1/benchmarks/"+bm.ID, `{"schedule":{"enabled":true}}`), http.StatusConflict, "")
	})
}

func TestServer_BenchmarkConfigDefaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.world(t, 1, 1, 1)

	// An unknown suite is reported as such, whatever the config says.
	for _, config := range []any{nil, map[string]any{}, map[string]any{"samples": 2}} {
		body := map[string]any{"name": "x", "suite_ids": []string{"00000000-0000-7000-8000-000000000000"}, "model_ids": []string{w.models[0].Id.String()}}
		if config != nil {
			body["config"] = config
		}
		wantError(t, b.do(t, "POST", "/v1/benchmarks", mustJSON(t, body)), http.StatusUnprocessableEntity, "suite_ids[0]")
	}

	body := mustJSON(t, map[string]any{"name": "defaults", "suite_ids": []string{w.suite.Id.String()}, "model_ids": []string{w.models[0].Id.String()}})
	got := call[benchmarkState](t, b, "POST", "/v1/benchmarks", body, http.StatusCreated)
	c := got.Config
	if c.Temperature == nil || *c.Temperature != 0 || c.MaxTokens == nil || *c.MaxTokens != 1024 || c.Samples == nil || *c.Samples != 1 {
		t.Errorf("config = %+v; want temperature 0, max_tokens 1024, samples 1", c)
	}
	got = call[benchmarkState](t, b, "PATCH", "/v1/benchmarks/"+got.ID, `{"config":{"max_tokens":50}}`, http.StatusOK)
	if c := got.Config; *c.MaxTokens != 50 || *c.Samples != 1 || *c.Temperature != 0 {
		t.Errorf("patched config = %+v; want max_tokens 50 and the other defaults", c)
	}
	// An explicit value out of bounds is still refused.
	wantError(t, b.do(t, "PATCH", "/v1/benchmarks/"+got.ID, `{"config":{"samples":0}}`), http.StatusUnprocessableEntity, "config.samples")
}

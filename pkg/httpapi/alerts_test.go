package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/alerting"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

func TestBenchmarkAlertSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.world(t, 1, 1, 1)
	path := "/v1/benchmarks/" + w.benchmark.Id.String()
	if w.benchmark.Alerts != nil {
		t.Fatalf("a benchmark created without alerts has %+v", w.benchmark.Alerts)
	}

	t.Run("Defaults", func(t *testing.T) {
		got := call[oapi.Benchmark](t, b, "PATCH", path, `{"alerts": {}}`, http.StatusOK)
		a := got.Alerts
		if a == nil || !a.Enabled || len(a.Metrics) != 1 || a.Metrics[0] != "score" || a.CompareTo != "previous_run" || a.Alpha != 0.05 ||
			*a.MinEffect.Score != 0.02 || *a.MinEffect.LatencyP95 != 0.2 || *a.MinEffect.Cost != 0.2 {
			t.Errorf("default alerts %+v", a)
		}
	})

	t.Run("Replace", func(t *testing.T) {
		body := `{"alerts": {"metrics": ["cost", "latency_p95"], "compare_to": "previous_week", "min_effect": {"cost": 0.5}, "alpha": 0.01, "enabled": false}}`
		got := call[oapi.Benchmark](t, b, "PATCH", path, body, http.StatusOK)
		a := got.Alerts
		if a == nil || a.Enabled || len(a.Metrics) != 2 || a.Metrics[0] != "cost" || a.CompareTo != "previous_week" || a.Alpha != 0.01 ||
			*a.MinEffect.Cost != 0.5 || *a.MinEffect.Score != 0.02 {
			t.Errorf("replaced alerts %+v", a)
		}
		// Another field's change keeps them; GET shows them.
		call[oapi.Benchmark](t, b, "PATCH", path, `{"name": "renamed"}`, http.StatusOK)
		if got := call[oapi.Benchmark](t, b, "GET", path, "", http.StatusOK); got.Alerts == nil || got.Alerts.Alpha != 0.01 {
			t.Errorf("after a rename, alerts %+v", got.Alerts)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		for _, c := range []struct{ body, field string }{
			{`{"alerts": {"metrics": ["score", "accuracy"]}}`, "alerts.metrics[1]"},
			{`{"alerts": {"min_effect": {"score": 2}}}`, "alerts.min_effect.score"},
			{`{"alerts": {"min_effect": {"latency_p95": -1}}}`, "alerts.min_effect.latency_p95"},
			{`{"alerts": {"alpha": 0.5}}`, "alerts.alpha"},
			{`{"alerts": {"compare_to": "yesterday"}}`, "alerts.compare_to"},
			{`{"alerts": {"metrics": []}}`, "alerts.metrics"},
		} {
			resp := b.do(t, "PATCH", path, c.body)
			if resp.status != http.StatusUnprocessableEntity && resp.status != http.StatusBadRequest {
				t.Errorf("%s: status %d", c.body, resp.status)
				continue
			}
			wantError(t, resp, resp.status, c.field)
		}
		// Nothing was half-written.
		if got := call[oapi.Benchmark](t, b, "GET", path, "", http.StatusOK); got.Alerts == nil || got.Alerts.Alpha != 0.01 {
			t.Errorf("after refused changes, alerts %+v", got.Alerts)
		}
	})

	t.Run("Remove", func(t *testing.T) {
		got := call[oapi.Benchmark](t, b, "PATCH", path, `{"alerts": null}`, http.StatusOK)
		if got.Alerts != nil {
			t.Errorf("alerts: null left %+v", got.Alerts)
		}
		raw := b.do(t, "GET", path, "")
		if !jsonHas(t, raw.body, "alerts", "null") {
			t.Errorf("GET shows alerts other than null: %s", raw.body)
		}
	})

	t.Run("Create", func(t *testing.T) {
		body := map[string]any{
			"name": "with alerts", "suite_ids": []string{w.suite.Id.String()}, "model_ids": []string{w.models[0].Id.String()},
			"alerts": map[string]any{"metrics": []string{"score", "latency_p95", "cost"}},
		}
		got := call[oapi.Benchmark](t, b, "POST", "/v1/benchmarks", mustJSON(t, body), http.StatusCreated)
		if got.Alerts == nil || len(got.Alerts.Metrics) != 3 || !got.Alerts.Enabled {
			t.Errorf("created alerts %+v", got.Alerts)
		}
		body["name"], body["alerts"] = "bad alerts", map[string]any{"min_effect": map[string]any{"cost": 101}}
		wantError(t, b.do(t, "POST", "/v1/benchmarks", mustJSON(t, body)), http.StatusUnprocessableEntity, "alerts.min_effect.cost")
	})
}

// jsonHas reports whether the JSON object body has key with the raw value.
func jsonHas(t *testing.T, body []byte, key, raw string) bool {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	v, ok := m[key]
	return ok && string(v) == raw
}

func TestAlerts(t *testing.T) {
	t.Parallel()
	testenv.OnEachStorage(t, testAlerts)
}

func testAlerts(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	b := setupOn(t, pool)
	st := b.store
	p := testfactory.Provider(ctx, t, st, nil)
	ma := testfactory.Model(ctx, t, st, &testfactory.ModelOpts{ProviderID: p.ID, Name: "alpha"})
	mb := testfactory.Model(ctx, t, st, &testfactory.ModelOpts{ProviderID: p.ID, Name: "beta"})
	su := testfactory.Suite(ctx, t, st, nil)
	testfactory.Questions(ctx, t, st, &testfactory.QuestionsOpts{SuiteID: su.ID, Count: 20})
	settings := catalog.DefaultAlertSettings()
	bench := testfactory.Benchmark(ctx, t, st, &testfactory.BenchmarkOpts{
		Name: "weekly", SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: []uuid.UUID{ma.ID, mb.ID}, Alerts: &settings,
	})
	base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	testfactory.FinishedRun(ctx, t, st, testfactory.FinishedRunOpts{BenchmarkID: bench.ID, CreatedAt: base})
	// Both models fail every question: two alerts.
	bad := testfactory.FinishedRun(ctx, t, st, testfactory.FinishedRunOpts{
		BenchmarkID: bench.ID, CreatedAt: base.Add(24 * time.Hour),
		Outcome: func(uuid.UUID, int, int) testfactory.Unit { return testfactory.Unit{} },
	})
	checker := alerting.NewChecker(st, analytics.NewService(st), &fakeQueue{enqueue: noEnqueue}, slog.New(slog.DiscardHandler))
	at := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)
	checker.Now = func() time.Time { return at }
	rec, err := checker.Check(ctx, bad.ID)
	if err != nil || rec == nil || len(rec.Alerts) != 2 {
		t.Fatalf("check = %+v, %v; want 2 alerts", rec, err)
	}

	list := call[oapi.AlertList](t, b, "GET", "/v1/alerts", "", http.StatusOK)
	if len(list.Items) != 2 || list.NextCursor != nil {
		t.Fatalf("list: %d items, next %v", len(list.Items), list.NextCursor)
	}
	// Newest first: the same time, so by id descending.
	if list.Items[0].Id.String() < list.Items[1].Id.String() {
		t.Errorf("list not newest first: %s before %s", list.Items[0].Id, list.Items[1].Id)
	}
	a := list.Items[0]
	if a.BenchmarkName != "weekly" || (a.ModelName != "alpha" && a.ModelName != "beta") || a.Metric != "score" ||
		a.Previous != 1 || a.Current != 0 || a.Diff != -1 || a.Correction != "holm" || a.Comparisons != 2 ||
		a.Questions != 20 || a.Regressed != 20 || len(a.Flipped) != alerting.MaxFlipped || !a.CreatedAt.Equal(at) || a.RunId != bad.ID {
		t.Errorf("alert %+v", a)
	}

	q := func(params url.Values) int {
		t.Helper()
		return len(call[oapi.AlertList](t, b, "GET", "/v1/alerts?"+params.Encode(), "", http.StatusOK).Items)
	}
	for name, c := range map[string]struct {
		params url.Values
		want   int
	}{
		"Benchmark":      {url.Values{"benchmark_id": {bench.ID.String()}}, 2},
		"OtherBenchmark": {url.Values{"benchmark_id": {uuid.NewString()}}, 0},
		"Model":          {url.Values{"model_id": {ma.ID.String()}}, 1},
		"Run":            {url.Values{"run_id": {bad.ID.String()}}, 2},
		"OtherRun":       {url.Values{"run_id": {uuid.NewString()}}, 0},
		"Metric":         {url.Values{"metric": {"score"}}, 2},
		"OtherMetric":    {url.Values{"metric": {"cost"}}, 0},
		"From":           {url.Values{"from": {at.Format(time.RFC3339)}}, 2},
		"FromLater":      {url.Values{"from": {at.Add(time.Second).Format(time.RFC3339)}}, 0},
		"To":             {url.Values{"to": {at.Format(time.RFC3339)}}, 0},
		"ToLater":        {url.Values{"to": {at.Add(time.Second).Format(time.RFC3339)}}, 2},
	} {
		if got := q(c.params); got != c.want {
			t.Errorf("%s: %d alerts, want %d", name, got, c.want)
		}
	}

	// Pages of one.
	first := call[oapi.AlertList](t, b, "GET", "/v1/alerts?limit=1", "", http.StatusOK)
	if len(first.Items) != 1 || first.NextCursor == nil {
		t.Fatalf("first page %+v", first)
	}
	second := call[oapi.AlertList](t, b, "GET", "/v1/alerts?limit=1&cursor="+*first.NextCursor, "", http.StatusOK)
	if len(second.Items) != 1 || second.Items[0].Id != list.Items[1].Id || second.NextCursor != nil {
		t.Errorf("second page %+v, want the second alert and no cursor", second)
	}

	// One by id, with a read token; 404 for an unknown one.
	reader := b.newToken(t, apitoken.ScopeRead)
	got := call[oapi.Alert](t, b, "GET", "/v1/alerts/"+a.Id.String(), "", http.StatusOK, as(reader))
	if got.Id != a.Id || got.Diff != a.Diff || len(got.Flipped) != len(a.Flipped) {
		t.Errorf("GET alert %+v, want %+v", got, a)
	}
	wantError(t, b.do(t, "GET", "/v1/alerts/"+uuid.NewString(), ""), http.StatusNotFound, "")
	resp := b.do(t, "GET", "/v1/alerts?metric=accuracy", "")
	if resp.status != http.StatusBadRequest && resp.status != http.StatusUnprocessableEntity {
		t.Errorf("a bad metric: status %d", resp.status)
	} else {
		wantError(t, resp, resp.status, "metric")
	}
	wantError(t, b.do(t, "GET", "/v1/alerts?cursor=nonsense", ""), http.StatusBadRequest, "cursor")
}

func noEnqueue(context.Context, *asynq.Task, ...asynq.Option) (*asynq.TaskInfo, error) {
	return &asynq.TaskInfo{}, nil
}

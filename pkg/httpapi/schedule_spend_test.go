package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/store"
)

// tokenID is the id of the token with secret.
func (b *bundle) tokenID(t *testing.T, secret string) string {
	t.Helper()
	tok, err := b.store.TokenByHash(context.Background(), apitoken.Hash(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok.ID.String()
}

func TestServer_ScheduleSpend(t *testing.T) {
	t.Parallel()

	t.Run("OverBudgetTokenSchedules", func(t *testing.T) {
		t.Parallel()
		// The case: a write token over its daily units sets an
		// overlapping schedule on a benchmark.
		lim := store.RunLimits{MaxUnitsPerTokenDay: 4}
		b := setup(t, func(d *httpapi.Deps) { d.Config.Limits = lim })
		w := b.world(t, 2, 2, 1) // 4 units a run
		writer := b.newToken(t, apitoken.ScopeWrite)
		id := w.benchmark.Id.String()
		call[oapi.Run](t, b, "POST", "/v1/benchmarks/"+id+"/runs", "", http.StatusAccepted, as(writer))
		wantError(t, b.do(t, "POST", "/v1/benchmarks/"+id+"/runs", "", as(writer)), http.StatusTooManyRequests, "")

		got := call[oapi.Benchmark](t, b, "PATCH", "/v1/benchmarks/"+id,
			`{"schedule": {"cron": "@every 1m", "overlap": "allow"}}`, http.StatusOK, as(writer))
		if got.Schedule == nil || got.Schedule.SetByTokenId == nil || got.Schedule.SetByTokenId.String() != b.tokenID(t, writer) {
			t.Fatalf("schedule = %+v; want the writer's token id recorded", got.Schedule)
		}

		// The occurrence a tick finds is charged to the writer: skipped.
		st := b.store.WithRunLimits(lim)
		es, err := st.EnabledSchedules(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.BenchmarkID != w.benchmark.Id {
				continue
			}
			at := e.Last.Truncate(time.Minute).Add(time.Minute)
			res, err := st.AdvanceSchedule(context.Background(), schedule.Advance{BenchmarkID: e.BenchmarkID, From: e.Last, To: at, Occurrences: []time.Time{at}, Now: at})
			if err != nil || len(res.Created) != 0 || res.Skipped != 1 {
				t.Fatalf("advance = %+v, %v; want the occurrence skipped", res, err)
			}
		}
		got = call[oapi.Benchmark](t, b, "GET", "/v1/benchmarks/"+id, "", http.StatusOK)
		if got.Schedule.LastSkipReason == nil || !strings.Contains(*got.Schedule.LastSkipReason, "SABE_MAX_UNITS_PER_TOKEN_DAY") {
			t.Errorf("last skip reason = %v; want the token's daily units named", got.Schedule.LastSkipReason)
		}
	})

	t.Run("ErrMinInterval", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) { d.Config.Limits.MinScheduleInterval = time.Minute })
		w := b.world(t, 1, 1, 1)
		for _, cron := range []string{"@every 1s", "@every 59s"} {
			e := wantError(t, b.do(t, "PATCH", "/v1/benchmarks/"+w.benchmark.Id.String(), `{"schedule": {"cron": "`+cron+`"}}`),
				http.StatusUnprocessableEntity, "schedule.cron")
			if !strings.Contains(e.Error.Message, "1m0s") {
				t.Errorf("%s: message %q does not name the minimum", cron, e.Error.Message)
			}
		}
		call[oapi.Benchmark](t, b, "PATCH", "/v1/benchmarks/"+w.benchmark.Id.String(), `{"schedule": {"cron": "* * * * *"}}`, http.StatusOK)
	})

	t.Run("BenchmarkBudget", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		path := "/v1/benchmarks/" + w.benchmark.Id.String()
		writer := b.newToken(t, apitoken.ScopeWrite)
		wantError(t, b.do(t, "PUT", path+"/budget", `{"max_cost_usd_per_month": 1000}`, as(writer)), http.StatusForbidden, "")
		admin := b.newToken(t, apitoken.ScopeAdmin)
		wantError(t, b.do(t, "PUT", path+"/budget", `{"max_cost_usd_per_month": 0}`, as(admin)), http.StatusUnprocessableEntity, "max_cost_usd_per_month")
		got := call[oapi.Benchmark](t, b, "PUT", path+"/budget", `{"max_cost_usd_per_month": 2}`, http.StatusOK, as(admin))
		if got.Budget.MaxCostUsdPerMonth == nil || *got.Budget.MaxCostUsdPerMonth != 2 {
			t.Fatalf("budget = %+v; want $2 a month", got.Budget)
		}
		r := call[oapi.Run](t, b, "POST", path+"/runs", "", http.StatusAccepted, as(writer))
		if r.MaxCostUsd == nil || *r.MaxCostUsd != 2 {
			t.Errorf("run's cap = %v; want the $2 the budget has left", r.MaxCostUsd)
		}
		resp := b.do(t, "POST", path+"/runs", "", as(writer))
		e := wantError(t, resp, http.StatusTooManyRequests, "")
		if !strings.Contains(e.Error.Message, "$2 a month") {
			t.Errorf("message %q does not name the benchmark's budget", e.Error.Message)
		}
		if n, err := strconv.Atoi(resp.header.Get("Retry-After")); err != nil || n < 1 || n > 31*24*3600 {
			t.Errorf("Retry-After = %q, want seconds until the month ends", resp.header.Get("Retry-After"))
		}
		got = call[oapi.Benchmark](t, b, "PUT", path+"/budget", `{"max_cost_usd_per_month": null}`, http.StatusOK, as(admin))
		if got.Budget.MaxCostUsdPerMonth != nil {
			t.Errorf("budget = %+v after removing it", got.Budget)
		}
	})
}

package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestServer_BadText sends what PostgreSQL (or the JSON encoder) cannot
// take: a NUL character or invalid UTF-8 in a query parameter, a path
// parameter or a JSON string, and date-times past the range SABE computes
// with. Each is refused at the edge with a 4xx naming the field, never a
// 500, and nothing is written.
func TestServer_BadText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := b.world(t, 1, 1, 1)
	bench := w.benchmark.Id.String()
	suitePath := "/v1/suites/" + w.suite.Id.String()

	t.Run("Requests", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
			field                    string
		}{
			{"QueryNUL", "GET", "/v1/leaderboard?benchmark_id=" + bench + "&category=a%00b", "", http.StatusBadRequest, "category"},
			{"QueryInvalidUTF8", "GET", "/v1/leaderboard?benchmark_id=" + bench + "&category=a%ff%fe", "", http.StatusBadRequest, "category"},
			{"CompareQueryNUL", "GET", "/v1/analytics/compare?benchmark_id=" + bench + "&category=%00", "", http.StatusBadRequest, "category"},
			{"QueryFarFuture", "GET", "/v1/leaderboard?benchmark_id=" + bench + "&at=9999-12-31T23:59:59Z", "", http.StatusBadRequest, "at"},
			{"CompareFarFuture", "GET", "/v1/analytics/compare?benchmark_id=" + bench + "&at=9999-12-31T23:59:59Z", "", http.StatusBadRequest, "at"},
			{"QueryFarPast", "GET", "/v1/leaderboard?benchmark_id=" + bench + "&at=0000-01-01T00:00:00Z", "", http.StatusBadRequest, "at"},
			{"TimeseriesFarFuture", "GET", "/v1/analytics/timeseries?benchmark_id=" + bench + "&metric=score&from=2024-01-01T00:00:00Z&to=9999-12-31T23:59:59Z", "", http.StatusBadRequest, "to"},
			{"BodyNUL", "POST", "/v1/suites", `{"name": "a\u0000b"}`, http.StatusUnprocessableEntity, "name"},
			{"BodyInvalidUTF8", "POST", "/v1/suites", "{\"name\": \"a\xff\xfeb\"}", http.StatusUnprocessableEntity, "name"},
			{"NestedBodyNUL", "POST", suitePath + "/questions", `{"prompt":"p","expected_answer":"1","category":"x\u0000","scoring":{"method":"exact_match"}}`, http.StatusUnprocessableEntity, "category"},
			{"ArrayItemNUL", "POST", "/v1/benchmarks", `{"name":"b","suite_ids":["` + w.suite.Id.String() + `","\u0000"],"model_ids":["` + w.models[0].Id.String() + `"]}`, http.StatusUnprocessableEntity, "suite_ids[1]"},
			{"HeaderValueNUL", "POST", "/v1/providers", `{"name":"p","kind":"openai","base_url":"https://api.openai.com/v1","api_key":"k","headers":{"x-team":"a\u0000"}}`, http.StatusUnprocessableEntity, "headers.x-team"},
			{"TokenExpiryFarFuture", "POST", "/v1/tokens", `{"name":"t","scopes":["read"],"expires_at":"9999-12-31T23:59:59Z"}`, http.StatusUnprocessableEntity, "expires_at"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				wantError(t, b.do(t, tc.method, tc.path, tc.body), tc.status, tc.field)
			})
		}
		t.Run("FormNUL", func(t *testing.T) {
			t.Parallel()
			for _, body := range []string{"token=a%00b", "token=sabe_x&next=%2F%ff"} {
				field := "token"
				if strings.Contains(body, "next") {
					field = "next"
				}
				wantError(t, b.do(t, "POST", "/login", body, as(""), header("Content-Type", "application/x-www-form-urlencoded")), http.StatusUnprocessableEntity, field)
			}
		})
		t.Run("ImportNUL", func(t *testing.T) {
			t.Parallel()
			resp := b.do(t, "POST", suitePath+"/questions:import", `{"prompt":"p\u0000","expected_answer":"1","scoring":{"method":"exact_match"}}`, header("Content-Type", "application/x-ndjson"))
			if resp.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", resp.status, resp.body)
			}
		})
	})
	t.Run("NothingWritten", func(t *testing.T) {
		if got := call[listPage](t, b, "GET", "/v1/suites", "", http.StatusOK); len(got.Items) != 1 {
			t.Errorf("%d suites, want only the fixture", len(got.Items))
		}
		if got := call[listPage](t, b, "GET", suitePath+"/questions", "", http.StatusOK); len(got.Items) != 1 {
			t.Errorf("%d questions, want only the fixture", len(got.Items))
		}
	})
}

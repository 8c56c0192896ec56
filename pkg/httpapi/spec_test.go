package httpapi

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// publicOperations need no credential; every other operation must.
var publicOperations = []string{"healthz", "readyz", "getOpenAPI", "loginPage", "login", "logout"}

func TestSpec(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		doc, err := Spec()
		if err != nil {
			t.Fatalf("Spec: %v", err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		again, err := Spec()
		if err != nil || again != doc {
			t.Errorf("second Spec() = %p, %v; want the same document %p", again, err, doc)
		}
	})

	t.Run("EveryRoute", func(t *testing.T) {
		t.Parallel()
		doc := mustSpec(t)
		// The routes of the HTTP API contract, by operation id.
		want := map[string]string{
			"createProvider": "POST /v1/providers", "listProviders": "GET /v1/providers",
			"getProvider": "GET /v1/providers/{id}", "updateProvider": "PATCH /v1/providers/{id}",
			"deleteProvider": "DELETE /v1/providers/{id}",
			"testProvider":   "POST /v1/providers/{id}/test", "listRemoteModels": "GET /v1/providers/{id}/remote-models",
			"estimateBenchmark":  "GET /v1/benchmarks/{id}/estimate",
			"setBenchmarkBudget": "PUT /v1/benchmarks/{id}/budget",
			"createModel":        "POST /v1/models", "listModels": "GET /v1/models",
			"getModel": "GET /v1/models/{id}", "updateModel": "PATCH /v1/models/{id}",
			"deleteModel": "DELETE /v1/models/{id}",
			"createSuite": "POST /v1/suites", "listSuites": "GET /v1/suites",
			"getSuite": "GET /v1/suites/{id}", "updateSuite": "PATCH /v1/suites/{id}",
			"deleteSuite":    "DELETE /v1/suites/{id}",
			"createQuestion": "POST /v1/suites/{id}/questions", "listQuestions": "GET /v1/suites/{id}/questions",
			"importQuestions": "POST /v1/suites/{id}/questions:import",
			"getQuestion":     "GET /v1/questions/{id}", "updateQuestion": "PATCH /v1/questions/{id}",
			"deleteQuestion":  "DELETE /v1/questions/{id}",
			"createBenchmark": "POST /v1/benchmarks", "listBenchmarks": "GET /v1/benchmarks",
			"getBenchmark": "GET /v1/benchmarks/{id}", "updateBenchmark": "PATCH /v1/benchmarks/{id}",
			"deleteBenchmark": "DELETE /v1/benchmarks/{id}",
			"createRun":       "POST /v1/benchmarks/{id}/runs", "listRuns": "GET /v1/runs",
			"getRun": "GET /v1/runs/{id}", "listRunResults": "GET /v1/runs/{id}/results",
			"streamRunEvents": "GET /v1/runs/{id}/events", "getSession": "GET /v1/session",
			"getRunRankings": "GET /v1/runs/{id}/rankings", "cancelRun": "POST /v1/runs/{id}/cancel",
			"rescoreRun": "POST /v1/runs/{id}/rescore", "listRunRescores": "GET /v1/runs/{id}/rescores",
			"getRunRescore": "GET /v1/runs/{id}/rescores/{version}", "retryFailedRun": "POST /v1/runs/{id}/retry-failed",
			"getRunAgreement": "GET /v1/runs/{id}/agreement", "reviewExecution": "PUT /v1/executions/{id}/review",
			"healthz": "GET /healthz", "readyz": "GET /readyz", "getOpenAPI": "GET /openapi.json",
			"loginPage": "GET /login", "login": "POST /login", "logout": "POST /logout",
			"createToken": "POST /v1/tokens", "listTokens": "GET /v1/tokens",
			"revokeToken": "DELETE /v1/tokens/{id}", "listAudit": "GET /v1/audit",
			"getTimeseries": "GET /v1/analytics/timeseries", "getComparison": "GET /v1/analytics/compare",
			"getLeaderboard": "GET /v1/leaderboard", "getModelDrift": "GET /v1/models/{id}/drift",
			"listAlerts": "GET /v1/alerts", "getAlert": "GET /v1/alerts/{id}",
		}
		got := map[string]string{}
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if _, dup := got[op.OperationID]; dup {
					t.Errorf("operationId %q is used twice", op.OperationID)
				}
				got[op.OperationID] = method + " " + path
			}
		}
		for id, route := range want {
			if got[id] != route {
				t.Errorf("operation %s: got %q, want %q", id, got[id], route)
			}
		}
		for id, route := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("unexpected operation %s (%s)", id, route)
			}
		}
	})

	t.Run("OperationsDescribed", func(t *testing.T) {
		t.Parallel()
		doc := mustSpec(t)
		camel := regexp.MustCompile(`^[a-z][a-zA-Z]*$`)
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				name := method + " " + path
				if !camel.MatchString(op.OperationID) {
					t.Errorf("%s: operationId %q is not camelCase", name, op.OperationID)
				}
				if op.Summary == "" {
					t.Errorf("%s: no summary", name)
				}
				if len(op.Tags) == 0 {
					t.Errorf("%s: no tag", name)
				}
				public := slices.Contains(publicOperations, op.OperationID)
				switch {
				case public && (op.Security == nil || len(*op.Security) != 0):
					t.Errorf("%s: public operation must have security: []", name)
				case !public && op.Security != nil && len(*op.Security) == 0:
					t.Errorf("%s: must not be public", name)
				case !public && op.Responses.Status(401) == nil:
					t.Errorf("%s: no 401 response", name)
				}
			}
		}
		schemes := map[string]bool{}
		for _, req := range doc.Security {
			for name := range req {
				schemes[name] = true
			}
		}
		if !schemes["bearerAuth"] || !schemes["cookieAuth"] || len(doc.Security) != 2 {
			t.Errorf("global security = %v, want bearerAuth or cookieAuth", doc.Security)
		}
		if c := doc.Components.SecuritySchemes["cookieAuth"].Value; c.In != "cookie" || c.Name != "sabe_session" {
			t.Errorf("cookieAuth = %+v, want the sabe_session cookie", c)
		}
	})

	t.Run("RequestBodiesClosed", func(t *testing.T) {
		t.Parallel()
		doc := mustSpec(t)
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if op.RequestBody == nil {
					continue
				}
				for mediaType, content := range op.RequestBody.Value.Content {
					s := content.Schema.Value
					if !s.Type.Is(openapi3.TypeObject) {
						continue
					}
					if has := s.AdditionalProperties.Has; has == nil || *has {
						t.Errorf("%s %s (%s): request body schema must have additionalProperties: false", method, path, mediaType)
					}
					for prop, ref := range s.Properties {
						if p := ref.Value; p.Type.Is(openapi3.TypeObject) && len(p.Properties) > 0 &&
							(p.AdditionalProperties.Has == nil || *p.AdditionalProperties.Has) {
							t.Errorf("%s %s: %s must have additionalProperties: false", method, path, prop)
						}
					}
				}
			}
		}
	})

	t.Run("MatchesYAML", func(t *testing.T) {
		t.Parallel()
		// The generated package embeds the document it was made from: when
		// openapi.yaml changes without regenerating, the served document and
		// the code disagree.
		onDisk, err := openapi3.NewLoader().LoadFromFile("openapi.yaml")
		if err != nil {
			t.Fatalf("load openapi.yaml: %v", err)
		}
		want, err := json.Marshal(onDisk)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SpecJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("pkg/httpapi/oapi is stale: run go generate ./pkg/httpapi/oapi")
		}
	})
}

func TestSpecJSON(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		data, err := SpecJSON()
		if err != nil {
			t.Fatalf("SpecJSON: %v", err)
		}
		if !json.Valid(data) {
			t.Fatalf("SpecJSON is not valid JSON")
		}
		var raw struct {
			OpenAPI string                     `json:"openapi"`
			Paths   map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(raw.OpenAPI, "3.0") {
			t.Errorf("openapi = %q, want 3.0.x", raw.OpenAPI)
		}
		parsed, err := openapi3.NewLoader().LoadFromData(data)
		if err != nil {
			t.Fatalf("reload: %v", err)
		}
		if err := parsed.Validate(context.Background()); err != nil {
			t.Errorf("reloaded document does not validate: %v", err)
		}
		got := slices.Sorted(maps.Keys(raw.Paths))
		want := mustSpec(t).Paths.InMatchingOrder()
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("paths = %v, want %v", got, want)
		}
	})
}

func mustSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := Spec()
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	return doc
}

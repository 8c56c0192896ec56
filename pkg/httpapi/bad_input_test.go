package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// TestServer_BadInput sends the bad requests the issue lists and checks
// that each gets its status and names the field.
func TestServer_BadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.suite(t)
	suitePath := "/v1/suites/" + s.Id.String()

	// The requests run in parallel inside a group, so that the check that
	// nothing was written runs after all of them.
	t.Run("Requests", func(t *testing.T) {
		requests(t, b, suitePath)
	})

	t.Run("NothingWritten", func(t *testing.T) {
		// Every refused create left the suite as the only resource.
		if page := call[oapi.ProviderList](t, b, "GET", "/v1/providers", "", http.StatusOK); len(page.Items) != 0 {
			t.Errorf("refused providers were stored: %+v", page.Items)
		}
		if page := call[oapi.SuiteList](t, b, "GET", "/v1/suites", "", http.StatusOK); len(page.Items) != 1 {
			t.Errorf("%d suites, want only the fixture", len(page.Items))
		}
		if got := call[oapi.Suite](t, b, "GET", suitePath, "", http.StatusOK); got.QuestionCount != 0 {
			t.Errorf("refused questions were stored: %d", got.QuestionCount)
		}
	})
}

func requests(t *testing.T, b *bundle, suitePath string) {
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"MalformedJSON", "POST", "/v1/suites", `{"name": "x",`, http.StatusBadRequest, "body"},
		{"TrailingGarbage", "POST", "/v1/suites", `{"name": "x"} {}`, http.StatusBadRequest, "body"},
		{"UnknownField", "POST", "/v1/suites", `{"name": "x", "colour": "red"}`, http.StatusBadRequest, "colour"},
		{"MissingField", "POST", "/v1/providers", `{"name": "x", "kind": "openai", "api_key": "k"}`, http.StatusBadRequest, "base_url"},
		{"WrongType", "POST", "/v1/suites", `{"name": 42}`, http.StatusBadRequest, "name"},
		{"WrongNestedType", "POST", suitePath + "/questions", `{"prompt":"p","expected_answer":"1","scoring":{"method":"numeric","tolerance":"x"}}`, http.StatusBadRequest, "scoring.tolerance"},
		{"UnknownEnum", "POST", suitePath + "/questions", `{"prompt":"p","expected_answer":"1","scoring":{"method":"fuzzy"}}`, http.StatusUnprocessableEntity, "scoring.method"},
		{"InvalidRegex", "POST", suitePath + "/questions", `{"prompt":"p","expected_answer":"1","scoring":{"method":"regex","pattern":"[z-a]"}}`, http.StatusUnprocessableEntity, "scoring.pattern"},
		{"MessagesAndPrompt", "POST", suitePath + "/questions", `{"prompt":"p","messages":[{"role":"user","content":"q"}],"expected_answer":"1","scoring":{"method":"exact_match"}}`, http.StatusUnprocessableEntity, "messages"},
		{"MessageRoleUnknown", "POST", suitePath + "/questions", `{"messages":[{"role":"user","content":"q"},{"role":"tool","content":"x"}],"expected_answer":"1"}`, http.StatusUnprocessableEntity, "messages[1].role"},
		{"MessageLastNotUser", "POST", suitePath + "/questions", `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"expected_answer":"1","scoring":{"method":"exact_match"}}`, http.StatusUnprocessableEntity, "messages[1].role"},
		{"MessageUnknownField", "POST", suitePath + "/questions", `{"messages":[{"role":"user","content":"q","name":"x"}],"expected_answer":"1"}`, http.StatusBadRequest, "messages[0].name"},
		{"OneChoice", "POST", suitePath + "/questions", `{"prompt":"p","choices":["x"],"expected_answer":"A"}`, http.StatusUnprocessableEntity, "choices"},
		{"EmptyChoice", "POST", suitePath + "/questions", `{"prompt":"p","choices":["x",""],"expected_answer":"A"}`, http.StatusUnprocessableEntity, "choices[1]"},
		{"AssertionWeightZero", "POST", suitePath + "/questions", `{"prompt":"p","expected_answer":"1","scoring":{"assertions":[{"method":"contains","weight":1},{"method":"contains"},{"method":"contains","weight":0}]}}`, http.StatusUnprocessableEntity, "scoring.assertions[2].weight"},
		{"JudgeTemplateUnknown", "POST", suitePath + "/questions", `{"prompt":"p","expected_answer":"1","scoring":{"method":"llm_judge","template":"vibes"}}`, http.StatusUnprocessableEntity, "scoring.template"},
		{"VerdictKindUnknown", "POST", suitePath + "/questions", `{"prompt":"p","expected_answer":"1","scoring":{"method":"llm_judge","verdict":{"kind":"stars"}}}`, http.StatusUnprocessableEntity, "scoring.verdict.kind"},
		{"ThresholdOverOne", "POST", suitePath + "/questions", `{"prompt":"p","expected_answer":"1","scoring":{"method":"similarity","threshold":1.5}}`, http.StatusUnprocessableEntity, "scoring.threshold"},
		{"JudgeIDNotUUID", "POST", suitePath + "/questions", `{"prompt":"p","expected_answer":"1","scoring":{"method":"llm_judge","judge_model_ids":["x"]}}`, http.StatusUnprocessableEntity, "scoring.judge_model_ids[0]"},
		{"FewShotEndsWithUser", "POST", "/v1/suites", `{"name":"fs","few_shot":[{"role":"user","content":"q"}]}`, http.StatusUnprocessableEntity, "few_shot[0].role"},
		{"FewShotSystem", "PATCH", suitePath, `{"few_shot":[{"role":"system","content":"s"},{"role":"assistant","content":"a"}]}`, http.StatusUnprocessableEntity, "few_shot[0].role"},
		{"StructuredOutputNotBool", "POST", "/v1/models", `{"provider_id":"` + uuid.NewString() + `","name":"m","provider_model_id":"x","input_cost_per_mtok":0,"output_cost_per_mtok":0,"request_overrides":{"structured_output":"no"}}`, http.StatusBadRequest, "request_overrides.structured_output"},
		{"ConfigScoringMethod", "POST", "/v1/benchmarks", `{"name":"b","suite_ids":["` + uuid.NewString() + `"],"model_ids":["` + uuid.NewString() + `"],"config":{"scoring":{"method":"fuzzy"}}}`, http.StatusUnprocessableEntity, "config.scoring.method"},
		{"ConfigJudgeNotUUID", "POST", "/v1/benchmarks", `{"name":"b","suite_ids":["` + uuid.NewString() + `"],"model_ids":["` + uuid.NewString() + `"],"config":{"judge_model_ids":["x"]}}`, http.StatusUnprocessableEntity, "config.judge_model_ids[0]"},
		{"BaseURLNotHTTP", "POST", "/v1/providers", `{"name":"x","kind":"openai","base_url":"gopher://x","api_key":"k"}`, http.StatusUnprocessableEntity, "base_url"},
		{"KindUnknown", "POST", "/v1/providers", `{"name":"x","kind":"cohere","base_url":"https://api.cohere.com","api_key":"k"}`, http.StatusUnprocessableEntity, "kind"},
		{"LimitsNegative", "POST", "/v1/providers", `{"name":"x","kind":"anthropic","base_url":"https://api.anthropic.com","api_key":"k","limits":{"requests_per_minute":-1}}`, http.StatusUnprocessableEntity, "limits.requests_per_minute"},
		{"LimitsUnknown", "POST", "/v1/providers", `{"name":"x","kind":"google","base_url":"https://generativelanguage.googleapis.com","api_key":"k","limits":{"rpm":5}}`, http.StatusBadRequest, "limits.rpm"},
		{"BadUUIDInPath", "GET", "/v1/runs/not-a-uuid", "", http.StatusBadRequest, "id"},
		{"BadUUIDInBody", "POST", "/v1/models", `{"provider_id":"nope","name":"m","provider_model_id":"x","input_cost_per_mtok":0,"output_cost_per_mtok":0}`, http.StatusUnprocessableEntity, "provider_id"},
		{"LimitOverMax", "GET", "/v1/providers?limit=1000", "", http.StatusBadRequest, "limit"},
		{"LimitZero", "GET", "/v1/providers?limit=0", "", http.StatusBadRequest, "limit"},
		{"LimitNotNumber", "GET", "/v1/providers?limit=ten", "", http.StatusBadRequest, "limit"},
		{"BadCursor", "GET", "/v1/providers?cursor=%21%21", "", http.StatusBadRequest, "cursor"},
		{"BadStatusFilter", "GET", "/v1/runs?status=sleeping", "", http.StatusBadRequest, "status"},
		{"RunNotFound", "GET", "/v1/runs/" + uuid.NewString(), "", http.StatusNotFound, ""},
		{"CancelUnknownRun", "POST", "/v1/runs/" + uuid.NewString() + "/cancel", "", http.StatusNotFound, ""},
		{"UnknownRoute", "GET", "/v1/nothing", "", http.StatusNotFound, ""},
		{"MethodNotAllowed", "PUT", "/v1/providers", "", http.StatusMethodNotAllowed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantError(t, b.do(t, tc.method, tc.path, tc.body), tc.status, tc.field)
		})
	}

	t.Run("BodyOverLimit", func(t *testing.T) {
		t.Parallel()
		body := `{"name":"x","description":"` + strings.Repeat("a", 1<<20) + `"}`
		wantError(t, b.do(t, "POST", "/v1/suites", body), http.StatusRequestEntityTooLarge, "body")
	})

	t.Run("BodyAtLimitIsRead", func(t *testing.T) {
		t.Parallel()
		// Just under 1 MiB gets past the limit to validation, which refuses
		// the description's length: the limit is 1 MiB, not 10^6 bytes.
		pad := 1<<20 - len(`{"name":"x","description":""}`)
		body := `{"name":"x","description":"` + strings.Repeat("a", pad) + `"}`
		wantError(t, b.do(t, "POST", "/v1/suites", body), http.StatusUnprocessableEntity, "description")
	})
}

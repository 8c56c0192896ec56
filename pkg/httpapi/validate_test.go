package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

const someID = "0193f1a2-7c4e-7d3a-9b2f-5e6d7c8b9a01"

// validProvider is a createProvider body that passes validation.
const validProvider = `{"name":"openrouter","kind":"openai","base_url":"https://openrouter.ai/api/v1","api_key":"sk-x","headers":{"X-Title":"sabe"}}`

// validBenchmark is a createBenchmark body that passes validation.
const validBenchmark = `{"name":"math","suite_ids":["` + someID + `"],"model_ids":["` + someID + `"],"config":{"temperature":0.5,"max_tokens":256,"samples":2}}`

// validationBundle is an Echo instance with the real document's validation
// in front of a catch-all handler that records what reached it.
type validationBundle struct {
	e *echo.Echo

	mu      sync.Mutex
	reached []string // bodies the handler read, in order
}

func setupValidation(t *testing.T) *validationBundle {
	t.Helper()
	b := &validationBundle{e: echo.New()}
	b.e.HTTPErrorHandler = ErrorHandler(slog.New(slog.DiscardHandler))
	b.e.Use(middleware.BodyLimit("64K"))
	validate, err := ValidateRequests(mustSpec(t))
	if err != nil {
		t.Fatalf("ValidateRequests: %v", err)
	}
	b.e.Use(validate)
	b.e.Any("/*", func(c echo.Context) error {
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.reached = append(b.reached, string(body))
		b.mu.Unlock()
		return c.NoContent(http.StatusNoContent)
	})
	return b
}

func (b *validationBundle) do(method, target, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set(echo.HeaderContentType, contentType)
	}
	rec := httptest.NewRecorder()
	b.e.ServeHTTP(rec, req)
	return rec
}

func (b *validationBundle) reachedBodies() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.reached...)
}

// decodeError parses an error response.
func decodeError(t *testing.T, rec *httptest.ResponseRecorder) oapi.Error {
	t.Helper()
	var e oapi.Error
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", rec.Body.String(), err)
	}
	return e
}

func TestValidateRequests(t *testing.T) {
	t.Parallel()

	const jsonType = echo.MIMEApplicationJSON

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setupValidation(t)
		rec := b.do(http.MethodPost, "/v1/providers", jsonType, validProvider)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("status = %d, body %s; want 204", rec.Code, rec.Body)
		}
		if got := b.reachedBodies(); len(got) != 1 || got[0] != validProvider {
			t.Errorf("handler read %q, want the body intact", got)
		}
	})

	t.Run("OKWithoutOptionalBody", func(t *testing.T) {
		t.Parallel()
		b := setupValidation(t)
		for _, body := range []string{"", "{}"} {
			rec := b.do(http.MethodPost, "/v1/benchmarks/"+someID+"/runs", jsonType, body)
			if rec.Code != http.StatusNoContent {
				t.Errorf("body %q: status = %d, body %s; want 204", body, rec.Code, rec.Body)
			}
		}
	})

	t.Run("OKImport", func(t *testing.T) {
		t.Parallel()
		b := setupValidation(t)
		lines := `{"prompt":"2+2?","expected_answer":"4","scoring":{"method":"numeric"}}` + "\n" + `not json at all` + "\n"
		for _, ct := range []string{"application/x-ndjson", "text/plain; charset=utf-8"} {
			rec := b.do(http.MethodPost, "/v1/suites/"+someID+"/questions:import", ct, lines)
			if rec.Code != http.StatusNoContent {
				t.Errorf("%s: status = %d, body %s; want 204", ct, rec.Code, rec.Body)
			}
		}
		// Lines are checked by the handler, not here.
		if got := b.reachedBodies(); len(got) != 2 || got[0] != lines || got[1] != lines {
			t.Errorf("handler read %q, want the body intact twice", got)
		}
	})

	t.Run("OKNotInDocument", func(t *testing.T) {
		t.Parallel()
		b := setupValidation(t)
		for _, tc := range []struct{ method, target string }{
			{http.MethodGet, "/monitoring/api/queues?limit=abc"},
			{http.MethodPost, "/monitoring/api/queues/default:pause"},
			{http.MethodPut, "/v1/providers"}, // method not in the document
		} {
			rec := b.do(tc.method, tc.target, jsonType, `{"bogus":`)
			if rec.Code != http.StatusNoContent {
				t.Errorf("%s %s: status = %d, body %s; want it passed through", tc.method, tc.target, rec.Code, rec.Body)
			}
		}
	})

	for _, tc := range []struct {
		name        string
		method      string
		target      string
		contentType string
		body        string
		wantStatus  int
		wantField   string
		wantMessage string // prefix
	}{
		{
			name: "ErrUnknownField", method: http.MethodPost, target: "/v1/providers",
			body:       `{"name":"x","kind":"openai","base_url":"https://x","api_key":"k","colour":"red"}`,
			wantStatus: http.StatusBadRequest, wantField: "colour", wantMessage: "unknown field",
		},
		{
			name: "ErrUnknownNestedField", method: http.MethodPost, target: "/v1/suites/" + someID + "/questions",
			body:       `{"prompt":"p","expected_answer":"a","scoring":{"method":"contains","fuzzy":true}}`,
			wantStatus: http.StatusBadRequest, wantField: "scoring.fuzzy", wantMessage: "unknown field",
		},
		{
			name: "ErrMissingRequired", method: http.MethodPost, target: "/v1/providers",
			body:       `{"kind":"openai","base_url":"https://x","api_key":"k"}`,
			wantStatus: http.StatusBadRequest, wantField: "name", wantMessage: "is required",
		},
		{
			name: "ErrMissingNestedRequired", method: http.MethodPost, target: "/v1/suites/" + someID + "/questions",
			body:       `{"prompt":"p","expected_answer":"x","scoring":{"method":"llm_judge","verdict":{"kind":"choice","choices":[{"name":"A"},{"name":"B","score":1}]}}}`,
			wantStatus: http.StatusBadRequest, wantField: "scoring.verdict.choices[0].score", wantMessage: "is required",
		},
		{
			name: "ErrWrongType", method: http.MethodPost, target: "/v1/providers",
			body:       `{"name":5,"kind":"openai","base_url":"https://x","api_key":"k"}`,
			wantStatus: http.StatusBadRequest, wantField: "name", wantMessage: "must be a string",
		},
		{
			name: "ErrNull", method: http.MethodPatch, target: "/v1/suites/" + someID,
			body:       `{"description":null}`,
			wantStatus: http.StatusBadRequest, wantField: "description", wantMessage: "must not be null",
		},
		{
			name: "ErrBodyNotObject", method: http.MethodPost, target: "/v1/suites",
			body:       `["a"]`,
			wantStatus: http.StatusBadRequest, wantField: "body", wantMessage: "must be an object",
		},
		{
			name: "ErrEnum", method: http.MethodPost, target: "/v1/suites/" + someID + "/questions",
			body:       `{"prompt":"p","expected_answer":"a","scoring":{"method":"fuzzy"}}`,
			wantStatus: http.StatusUnprocessableEntity, wantField: "scoring.method",
			wantMessage: "must be one of: exact_match, contains, regex, numeric",
		},
		{
			name: "ErrMinimum", method: http.MethodPost, target: "/v1/benchmarks",
			body:       strings.Replace(validBenchmark, `"samples":2`, `"samples":0`, 1),
			wantStatus: http.StatusUnprocessableEntity, wantField: "config.samples", wantMessage: "must be at least 1",
		},
		{
			name: "ErrMaximum", method: http.MethodPost, target: "/v1/benchmarks",
			body:       strings.Replace(validBenchmark, `"temperature":0.5`, `"temperature":2.5`, 1),
			wantStatus: http.StatusUnprocessableEntity, wantField: "config.temperature", wantMessage: "must be at most 2",
		},
		{
			name: "ErrItemFormat", method: http.MethodPost, target: "/v1/benchmarks",
			body:       strings.Replace(validBenchmark, `"suite_ids":["`+someID+`"]`, `"suite_ids":["nope"]`, 1),
			wantStatus: http.StatusUnprocessableEntity, wantField: "suite_ids[0]", wantMessage: "must be a UUID",
		},
		{
			name: "ErrMinItems", method: http.MethodPost, target: "/v1/benchmarks",
			body:       strings.Replace(validBenchmark, `"model_ids":["`+someID+`"]`, `"model_ids":[]`, 1),
			wantStatus: http.StatusUnprocessableEntity, wantField: "model_ids", wantMessage: "must have at least 1 items",
		},
		{
			name: "ErrMaxLength", method: http.MethodPost, target: "/v1/suites",
			body:       `{"name":"` + strings.Repeat("n", 201) + `"}`,
			wantStatus: http.StatusUnprocessableEntity, wantField: "name", wantMessage: "must be at most 200 characters long",
		},
		{
			name: "ErrEmpty", method: http.MethodPost, target: "/v1/suites",
			body:       `{"name":""}`,
			wantStatus: http.StatusUnprocessableEntity, wantField: "name", wantMessage: "must not be empty",
		},
		{
			name: "ErrPattern", method: http.MethodPost, target: "/v1/providers",
			body:       `{"name":"x","kind":"openai","base_url":"ftp://x","api_key":"k"}`,
			wantStatus: http.StatusUnprocessableEntity, wantField: "base_url", wantMessage: "must be an http:// or https:// URL",
		},
		{
			name: "ErrMaxProperties", method: http.MethodPatch, target: "/v1/providers/" + someID,
			body:       `{"headers":{` + manyHeaders(21) + `}}`,
			wantStatus: http.StatusUnprocessableEntity, wantField: "headers", wantMessage: "must have at most 20 entries",
		},
		{
			name: "ErrMalformedJSON", method: http.MethodPost, target: "/v1/providers",
			body:       `{"name": "x",`,
			wantStatus: http.StatusBadRequest, wantField: "body", wantMessage: "malformed JSON",
		},
		{
			name: "ErrTrailingData", method: http.MethodPost, target: "/v1/suites",
			body:       `{"name": "x"} {"name": "y"}`,
			wantStatus: http.StatusBadRequest, wantField: "body", wantMessage: "malformed JSON at byte 15: invalid character",
		},
		{
			name: "ErrBadJSONToken", method: http.MethodPost, target: "/v1/providers",
			body:       `{name: "x"}`,
			wantStatus: http.StatusBadRequest, wantField: "body", wantMessage: "malformed JSON at byte 2: invalid character",
		},
		{
			name: "ErrBodyRequired", method: http.MethodPost, target: "/v1/suites",
			wantStatus: http.StatusBadRequest, wantField: "body", wantMessage: "is required",
		},
		{
			name: "ErrContentType", method: http.MethodPost, target: "/v1/suites", contentType: "application/x-www-form-urlencoded",
			body:       `name=x`,
			wantStatus: http.StatusBadRequest, wantField: "body", wantMessage: "Content-Type must be application/json",
		},
		{
			name: "ErrImportContentType", method: http.MethodPost, target: "/v1/suites/" + someID + "/questions:import",
			body:       `{}`,
			wantStatus: http.StatusBadRequest, wantField: "body", wantMessage: "Content-Type must be application/x-ndjson or text/plain",
		},
		{
			name: "ErrLimitNotNumber", method: http.MethodGet, target: "/v1/runs?limit=abc",
			wantStatus: http.StatusBadRequest, wantField: "limit", wantMessage: "must be an integer",
		},
		{
			name: "ErrLimitTooBig", method: http.MethodGet, target: "/v1/providers?limit=201",
			wantStatus: http.StatusBadRequest, wantField: "limit", wantMessage: "must be at most 200",
		},
		{
			name: "ErrLimitZero", method: http.MethodGet, target: "/v1/suites/" + someID + "/questions?limit=0",
			wantStatus: http.StatusBadRequest, wantField: "limit", wantMessage: "must be at least 1",
		},
		{
			name: "ErrQueryEnum", method: http.MethodGet, target: "/v1/runs?status=done",
			wantStatus: http.StatusBadRequest, wantField: "status", wantMessage: "must be one of: queued, running",
		},
		{
			name: "ErrQueryFormat", method: http.MethodGet, target: "/v1/runs?benchmark_id=42",
			wantStatus: http.StatusBadRequest, wantField: "benchmark_id", wantMessage: "must be a UUID",
		},
		{
			name: "ErrPathID", method: http.MethodGet, target: "/v1/runs/42",
			wantStatus: http.StatusBadRequest, wantField: "id", wantMessage: "must be a UUID",
		},
		{
			name: "ErrRunBodyUnknownField", method: http.MethodPost, target: "/v1/benchmarks/" + someID + "/runs",
			body:       `{"priority":1}`,
			wantStatus: http.StatusBadRequest, wantField: "priority", wantMessage: "unknown field",
		},
		{
			name: "ErrRunMaxCostZero", method: http.MethodPost, target: "/v1/benchmarks/" + someID + "/runs",
			body:       `{"max_cost_usd":0}`,
			wantStatus: http.StatusUnprocessableEntity, wantField: "max_cost_usd", wantMessage: "must be above 0",
		},
		{
			name: "ErrLoginTokenMissing", method: http.MethodPost, target: "/login", contentType: "application/x-www-form-urlencoded",
			body:       `user=x`,
			wantStatus: http.StatusBadRequest, wantField: "token",
		},
		{
			name: "ErrImportTooLarge", method: http.MethodPost, target: "/v1/suites/" + someID + "/questions:import",
			contentType: "application/x-ndjson", body: strings.Repeat(`{"prompt":"p"}`+"\n", 5000),
			wantStatus: http.StatusRequestEntityTooLarge, wantField: "body", wantMessage: "request body is too large",
		},
		{
			name: "ErrTooLarge", method: http.MethodPost, target: "/v1/suites",
			body:       `{"name":"x","description":"` + strings.Repeat("d", 70<<10) + `"}`,
			wantStatus: http.StatusRequestEntityTooLarge, wantField: "body", wantMessage: "request body is too large",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupValidation(t)
			ct := tc.contentType
			if ct == "" && tc.body != "" {
				ct = jsonType
			}
			rec := b.do(tc.method, tc.target, ct, tc.body)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, body %s; want %d", rec.Code, rec.Body, tc.wantStatus)
			}
			e := decodeError(t, rec)
			if e.Error.Field == nil || *e.Error.Field != tc.wantField {
				t.Errorf("field = %v, want %q (body %s)", deref(e.Error.Field), tc.wantField, rec.Body)
			}
			if !strings.HasPrefix(e.Error.Message, tc.wantMessage) {
				t.Errorf("message = %q, want prefix %q", e.Error.Message, tc.wantMessage)
			}
			if got := b.reachedBodies(); len(got) != 0 {
				t.Errorf("handler was reached with %q", got)
			}
		})
	}

	t.Run("ErrHugeFieldNameClipped", func(t *testing.T) {
		t.Parallel()
		b := setupValidation(t)
		key := strings.Repeat("k", 10_000)
		rec := b.do(http.MethodPost, "/v1/suites", jsonType, `{"name":"x","`+key+`":1}`)
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("status = %d; want 400", rec.Code)
		}
		if rec.Body.Len() > 1000 {
			t.Errorf("response is %d bytes; want the field name clipped", rec.Body.Len())
		}
		if e := decodeError(t, rec); e.Error.Field == nil || !strings.HasPrefix(*e.Error.Field, "kkkk") {
			t.Errorf("field = %v, want the clipped key", deref(e.Error.Field))
		}
	})

	t.Run("ErrSecretNotEchoed", func(t *testing.T) {
		t.Parallel()
		b := setupValidation(t)
		rec := b.do(http.MethodPost, "/v1/providers", jsonType,
			`{"name":"x","kind":"openai","base_url":"https://x","api_key":"sk-SECRET-`+strings.Repeat("z", 5000)+`"}`)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("status = %d, body %s; want 422", rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "SECRET") {
			t.Errorf("response echoes the submitted key: %s", rec.Body)
		}
	})
}

// TestValidateRequests_StrictHandler runs the generated strict server behind
// the validation, as the API wires them, to check that a handler receives the
// validated body.
func TestValidateRequests_StrictHandler(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		var got oapi.CreateBenchmarkRequestObject
		api := &fakeAPI{createBenchmark: func(_ context.Context, req oapi.CreateBenchmarkRequestObject) (oapi.CreateBenchmarkResponseObject, error) {
			got = req
			return oapi.CreateBenchmark201JSONResponse{Name: req.Body.Name}, nil
		}}
		e := echo.New()
		e.HTTPErrorHandler = ErrorHandler(slog.New(slog.DiscardHandler))
		validate, err := ValidateRequests(mustSpec(t))
		if err != nil {
			t.Fatal(err)
		}
		e.Use(validate)
		oapi.RegisterHandlers(e, oapi.NewStrictHandler(api, nil))

		req := httptest.NewRequest(http.MethodPost, "/v1/benchmarks", strings.NewReader(validBenchmark))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("status = %d, body %s; want 201", rec.Code, rec.Body)
		}
		if got.Body == nil {
			t.Fatal("handler got no body")
		}
		b := got.Body
		if c := b.Config; b.Name != "math" || len(b.SuiteIds) != 1 || b.SuiteIds[0].String() != someID || c == nil ||
			c.Temperature == nil || *c.Temperature != 0.5 || c.MaxTokens == nil || *c.MaxTokens != 256 || c.Samples == nil || *c.Samples != 2 || c.SystemPrompt != nil {
			t.Errorf("handler got %+v", *b)
		}
	})
}

// fakeAPI implements the one operation a test calls; the embedded nil
// interface makes any other call fail loudly.
type fakeAPI struct {
	oapi.StrictServerInterface
	createBenchmark func(context.Context, oapi.CreateBenchmarkRequestObject) (oapi.CreateBenchmarkResponseObject, error)
}

var _ oapi.StrictServerInterface = (*fakeAPI)(nil)

func (f *fakeAPI) CreateBenchmark(ctx context.Context, req oapi.CreateBenchmarkRequestObject) (oapi.CreateBenchmarkResponseObject, error) {
	return f.createBenchmark(ctx, req)
}

func manyHeaders(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"X-H` + strings.Repeat("x", i) + `":"v"`
	}
	return strings.Join(parts, ",")
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

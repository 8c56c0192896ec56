package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

const testRequestID = "req-7f3a"

// errorBundle is an Echo instance whose /fail route returns err, with the
// ErrorHandler under test and a log to inspect.
type errorBundle struct {
	e   *echo.Echo
	log *syncBuffer
}

func setupErrors(t *testing.T, err error) *errorBundle {
	t.Helper()
	b := &errorBundle{e: echo.New(), log: &syncBuffer{}}
	b.e.HTTPErrorHandler = ErrorHandler(slog.New(slog.NewJSONHandler(b.log, nil)))
	b.e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// What echo's RequestID middleware does.
			c.Response().Header().Set(echo.HeaderXRequestID, testRequestID)
			return next(c)
		}
	})
	b.e.Any("/fail", func(echo.Context) error { return err })
	b.e.GET("/only-get", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	return b
}

func (b *errorBundle) do(method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	b.e.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

// syncBuffer is a log sink safe for the handler's goroutine and the test's.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestErrorHandler(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
		wantField  string
	}{
		{"BadRequest", fault.BadRequest("name", "must be a string"), 400, "bad_request", "must be a string", "name"},
		{"Unauthorized", fault.Unauthorized("missing token"), 401, "unauthorized", "missing token", ""},
		{"Forbidden", fault.Forbidden("read-only token"), 403, "forbidden", "read-only token", ""},
		{"NotFound", fault.NotFound("run"), 404, "not_found", "run not found", ""},
		{"Conflict", fault.Conflict("provider is used by 2 models"), 409, "conflict", "provider is used by 2 models", ""},
		{"TooLarge", fault.TooLarge("body", "over 1 MiB"), 413, "too_large", "over 1 MiB", "body"},
		{"Invalid", fault.Invalid("scoring.pattern", "invalid regex"), 422, "invalid", "invalid regex", "scoring.pattern"},
		{"Unavailable", fault.Unavailable("database unavailable"), 503, "unavailable", "database unavailable", ""},
		{"Upstream", fmt.Errorf("list models: %w", &UpstreamError{Message: "provider answered HTTP 401: invalid key"}), 502, "bad_gateway", "provider answered HTTP 401: invalid key", ""},
		{"Wrapped", fmt.Errorf("get run %s: %w", someID, fault.NotFound("run")), 404, "not_found", "run not found", ""},
		{"LongMessageClipped", fault.Invalid("name", "%s", strings.Repeat("m", 5000)), 422, "invalid", strings.Repeat("m", 100), "name"},
		{"EchoNotFound", echo.ErrNotFound, 404, "not_found", "not found", ""},
		{"EchoMethodNotAllowed", echo.ErrMethodNotAllowed, 405, "method_not_allowed", "method not allowed", ""},
		{"EchoTooLarge", echo.ErrStatusRequestEntityTooLarge, 413, "too_large", "request body is too large", "body"},
		{"EchoUnsupportedMediaType", echo.ErrUnsupportedMediaType, 415, "unsupported_media_type", "unsupported Content-Type", "body"},
		{"EchoTooManyRequests", echo.ErrTooManyRequests, 429, "too_many_requests", "too many requests", ""},
		{"EchoUnauthorized", echo.ErrUnauthorized, 401, "unauthorized", "unauthorized", ""},
		{
			"EchoBindSyntax",
			echo.NewHTTPError(400, "Syntax error: offset=3").SetInternal(&json.SyntaxError{Offset: 3}),
			400, "bad_request", "malformed JSON", "body",
		},
		{
			"EchoBindType",
			echo.NewHTTPError(400, "Unmarshal type error").SetInternal(&json.UnmarshalTypeError{
				Value: "number 1.5", Type: reflect.TypeFor[int](), Field: "config.samples",
			}),
			400, "bad_request", "must be an integer", "config.samples",
		},
		{
			"EchoBindUUIDType",
			echo.NewHTTPError(400, "Unmarshal type error").SetInternal(&json.UnmarshalTypeError{
				Value: "number", Type: reflect.TypeFor[uuid.UUID](), Field: "suite_ids",
			}),
			400, "bad_request", "must be a string", "suite_ids",
		},
		{
			"EchoParameter",
			echo.NewHTTPError(400, "Invalid format for parameter id: error unmarshaling 'x' text as *uuid.UUID: invalid UUID length: 1"),
			400, "bad_request", "invalid value", "id",
		},
		{
			"EchoRequiredQuery",
			echo.NewHTTPError(400, "Query argument limit is required, but not found"),
			400, "bad_request", "is required", "limit",
		},
		{"EchoOtherBadRequest", echo.NewHTTPError(400, "strconv.ParseInt: parsing \"x\": invalid syntax"), 400, "bad_request", "bad request", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupErrors(t, tc.err)
			target := "/fail"
			switch tc.name {
			case "EchoNotFound":
				target = "/nowhere" // Echo's own 404
			case "EchoMethodNotAllowed":
				target = "/only-get" // Echo's own 405, via DELETE
			}
			method := http.MethodGet
			if tc.name == "EchoMethodNotAllowed" {
				method = http.MethodDelete
			}
			rec := b.do(method, target)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, body %s; want %d", rec.Code, rec.Body, tc.wantStatus)
			}
			if ct := rec.Header().Get(echo.HeaderContentType); !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil || len(raw) != 1 || raw["error"] == nil {
				t.Fatalf("body %s: want exactly {\"error\": {...}}", rec.Body)
			}
			e := decodeError(t, rec)
			if e.Error.Code != tc.wantCode {
				t.Errorf("code = %q, want %q", e.Error.Code, tc.wantCode)
			}
			if !strings.HasPrefix(e.Error.Message, tc.wantMsg) {
				t.Errorf("message = %q, want prefix %q", e.Error.Message, tc.wantMsg)
			}
			if len(e.Error.Message) > maxMessageLen {
				t.Errorf("message is %d bytes, want at most %d", len(e.Error.Message), maxMessageLen)
			}
			if got := deref(e.Error.Field); tc.wantField == "" && got != nil || tc.wantField != "" && got != tc.wantField {
				t.Errorf("field = %v, want %q", got, tc.wantField)
			}
			for _, leak := range []string{"offset", "uuid.UUID", "strconv", "Unmarshal"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Errorf("body %s shows Go internals (%q)", rec.Body, leak)
				}
			}
			wantAuth := ""
			if tc.wantStatus == http.StatusUnauthorized {
				wantAuth = "Bearer"
			}
			if got := rec.Header().Get(echo.HeaderWWWAuthenticate); got != wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantAuth)
			}
			if tc.wantStatus < 500 && b.log.String() != "" {
				t.Errorf("a client error was logged: %s", b.log)
			}
		})
	}

	t.Run("ErrInternal", func(t *testing.T) {
		t.Parallel()
		for name, err := range map[string]error{
			"Plain":      fmt.Errorf("insert run: %w", errors.New(`pq: password authentication failed for user "sabe"`)),
			"FaultKind":  &fault.Error{Kind: fault.KindInternal, Message: `pq: password authentication failed for user "sabe"`},
			"EchoServer": echo.NewHTTPError(500, `pq: password authentication failed for user "sabe"`),
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b := setupErrors(t, err)
				rec := b.do(http.MethodPost, "/fail")
				if rec.Code != http.StatusInternalServerError {
					t.Fatalf("status = %d; want 500", rec.Code)
				}
				want := `{"error":{"code":"internal","message":"internal error"}}`
				if got := strings.TrimSpace(rec.Body.String()); got != want {
					t.Errorf("body = %s, want %s", got, want)
				}
				logged := b.log.String()
				if !strings.Contains(logged, testRequestID) || !strings.Contains(logged, "password authentication failed") {
					t.Errorf("log = %q, want the request id and the error", logged)
				}
			})
		}
	})

	t.Run("ImportError", func(t *testing.T) {
		t.Parallel()
		err := fmt.Errorf("import: %w", &ImportError{Lines: []LineError{
			{Line: 3, Field: "scoring.pattern", Message: "invalid regular expression"},
			{Line: 7, Message: "malformed JSON"},
		}})
		if k := fault.KindOf(err); k != fault.KindInvalid {
			t.Errorf("fault.KindOf = %v, want KindInvalid", k)
		}
		b := setupErrors(t, err)
		rec := b.do(http.MethodPost, "/fail")
		if rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("status = %d; want 422", rec.Code)
		}
		var got oapi.ImportError
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Error.Code != "invalid" || deref(got.Error.Field) != "line 3: scoring.pattern" ||
			got.Error.Message != "invalid regular expression (and 1 more invalid line)" {
			t.Errorf("error = %+v (field %v)", got.Error, deref(got.Error.Field))
		}
		if len(got.Errors) != 2 ||
			got.Errors[0].Line != 3 || deref(got.Errors[0].Field) != "scoring.pattern" || got.Errors[0].Message != "invalid regular expression" ||
			got.Errors[1].Line != 7 || got.Errors[1].Field != nil || got.Errors[1].Message != "malformed JSON" {
			t.Errorf("errors = %s", rec.Body)
		}
	})

	t.Run("ImportErrorBounded", func(t *testing.T) {
		t.Parallel()
		lines := make([]LineError, 5000)
		for i := range lines {
			lines[i] = LineError{Line: i + 1, Field: "prompt", Message: "is required"}
		}
		b := setupErrors(t, &ImportError{Lines: lines})
		rec := b.do(http.MethodPost, "/fail")
		var got oapi.ImportError
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Errors) != maxLineErrors || !strings.Contains(got.Error.Message, "4999 more") {
			t.Errorf("got %d lines, message %q; want %d and the full count", len(got.Errors), got.Error.Message, maxLineErrors)
		}
	})

	t.Run("HeadHasNoBody", func(t *testing.T) {
		t.Parallel()
		for _, err := range []error{fault.NotFound("run"), errors.New("boom")} {
			b := setupErrors(t, err)
			rec := b.do(http.MethodHead, "/fail")
			if rec.Code != kindStatus(fault.KindOf(err)) || rec.Body.Len() != 0 {
				t.Errorf("%v: status %d, body %q; want %d and no body", err, rec.Code, rec.Body, kindStatus(fault.KindOf(err)))
			}
		}
	})

	t.Run("CommittedOnlyLogs", func(t *testing.T) {
		t.Parallel()
		b := setupErrors(t, nil)
		b.e.GET("/half", func(c echo.Context) error {
			if err := c.String(http.StatusOK, "partial"); err != nil {
				return err
			}
			return errors.New("stream broke")
		})
		rec := b.do(http.MethodGet, "/half")
		if rec.Code != http.StatusOK || rec.Body.String() != "partial" {
			t.Errorf("status %d, body %q; want the response as written", rec.Code, rec.Body)
		}
		if logged := b.log.String(); !strings.Contains(logged, "stream broke") || !strings.Contains(logged, testRequestID) {
			t.Errorf("log = %q, want the error and request id", logged)
		}
	})
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/fault"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// fuzzSuiteID is the suite in the fuzzed question routes' paths.
const fuzzSuiteID = "0193f1a2-7c4e-7d3a-9b2f-5e6d7c8b9a02"

// fuzzRoutes are the create routes FuzzValidateRequest sends bodies to.
var fuzzRoutes = []string{
	"/v1/suites/" + fuzzSuiteID + "/questions",
	"/v1/suites/" + fuzzSuiteID + "/questions:import",
	"/v1/benchmarks",
	"/v1/providers",
}

// fuzzContentTypes are the Content-Types the fuzzer picks from: the ones
// the routes take, and a few they must refuse.
var fuzzContentTypes = []string{"application/json", "application/x-ndjson", "text/plain", "application/json; charset=utf-8", "", "application/xml", "multipart/form-data; boundary=x"}

// decodeStrict decodes a body that passed validation the way the
// generated strict server binds it; a failure is a 400, as there.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fault.BadRequest("body", "does not match the schema")
	}
	return nil
}

// fuzzHandler is every fuzzed route's handler without the database: it
// decodes what validation let through and applies the domain's rules, as
// the real handlers do before they reach the store.
func fuzzHandler(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return readFault(err)
	}
	switch c.Request().URL.Path {
	case fuzzRoutes[0]:
		var b oapi.CreateQuestionRequest
		if err := decodeStrict(body, &b); err != nil {
			return err
		}
		if err := fromCreateQuestion(b).Validate(); err != nil {
			return err
		}
	case fuzzRoutes[1]:
		if _, err := parseImport(body); err != nil {
			return err
		}
	case fuzzRoutes[2]:
		var b oapi.CreateBenchmarkRequest
		if err := decodeStrict(body, &b); err != nil {
			return err
		}
		in := catalog.BenchmarkInput{Name: b.Name, SuiteIDs: b.SuiteIds, ModelIDs: b.ModelIds, Config: fromBenchmarkConfig(b.Config), Schedule: fromScheduleInput(b.Schedule)}
		if err := in.Validate(); err != nil {
			return err
		}
	case fuzzRoutes[3]:
		var b oapi.CreateProviderRequest
		if err := decodeStrict(body, &b); err != nil {
			return err
		}
		in := catalog.ProviderInput{Name: b.Name, Kind: catalog.ProviderKind(b.Kind), BaseURL: b.BaseUrl, APIKey: b.ApiKey, Limits: fromLimits(b.Limits)}
		if b.Headers != nil {
			in.Headers = *b.Headers
		}
		if err := in.Validate(); err != nil {
			return err
		}
	default:
		return errors.New("fuzz: unexpected route")
	}
	return c.NoContent(http.StatusCreated)
}

// FuzzValidateRequest sends arbitrary bodies and Content-Types to the
// create routes through the real document's validation, the error
// handler and the domain's rules. Every answer must be a 2xx or a 4xx in
// the error shape: never a 5xx, never a panic.
func FuzzValidateRequest(f *testing.F) {
	spec, err := Spec()
	if err != nil {
		f.Fatal(err)
	}
	validate, err := ValidateRequests(spec)
	if err != nil {
		f.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = ErrorHandler(slog.New(slog.DiscardHandler))
	e.Use(middleware.BodyLimit(DefaultBodyLimit))
	e.Use(validate)
	e.POST("/v1/suites/:id/questions", fuzzHandler)
	e.POST("/v1/suites/:id/questions:import", fuzzHandler)
	e.POST("/v1/benchmarks", fuzzHandler)
	e.POST("/v1/providers", fuzzHandler)

	f.Fuzz(func(t *testing.T, route, ctype uint8, body []byte) {
		target := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		if ct := fuzzContentTypes[int(ctype)%len(fuzzContentTypes)]; ct != "" {
			req.Header.Set(echo.HeaderContentType, ct)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("POST %s (%s) %q: status %d: %s", target, req.Header.Get(echo.HeaderContentType), body, rec.Code, rec.Body)
		case rec.Code >= 400:
			var shape struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &shape); err != nil || shape.Error.Code == "" || shape.Error.Message == "" {
				t.Fatalf("POST %s %q: status %d with body %q, not the error shape", target, body, rec.Code, rec.Body)
			}
			if !utf8.ValidString(shape.Error.Message) {
				t.Errorf("error message %q is not valid UTF-8", shape.Error.Message)
			}
		case rec.Code != http.StatusCreated:
			t.Fatalf("POST %s %q: status %d", target, body, rec.Code)
		}
	})
}

// FuzzImportParser feeds arbitrary JSON Lines bodies to the questions
// import parser: it accepts valid questions only, and refuses everything
// else with a 4xx error naming the lines, never a panic or an internal
// error.
func FuzzImportParser(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		inputs, err := parseImport(body)
		if err != nil {
			if ie, ok := errors.AsType[*ImportError](err); ok {
				if len(ie.Lines) == 0 {
					t.Fatal("ImportError without lines")
				}
				for _, l := range ie.Lines {
					if l.Line < 1 || l.Message == "" || !utf8.ValidString(l.Message) {
						t.Errorf("line error %+v", l)
					}
				}
				return
			}
			fe := fault.As(err)
			if fe == nil || (fe.Kind != fault.KindInvalid && fe.Kind != fault.KindTooLarge) {
				t.Fatalf("parseImport error %v is neither an ImportError nor a 4xx fault", err)
			}
			return
		}
		if len(inputs) == 0 {
			t.Fatal("no questions and no error")
		}
		for i, in := range inputs {
			if err := in.Validate(); err != nil {
				t.Errorf("question %d accepted but invalid: %v", i, err)
			}
		}
	})
}

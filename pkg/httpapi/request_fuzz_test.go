package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
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
	"/v1/suites",
}

// richSeeds are bodies with the question, suite and benchmark fields of
// issue 14 (turns, choices, few-shot, every scoring method, default
// scoring and judges), valid and not, for the fuzzers to start from.
var richSeeds = []struct {
	route uint8
	body  string
}{
	{0, `{"messages":[{"role":"system","content":"s"},{"role":"user","content":"q"}],"expected_answer":"4","scoring":{"method":"numeric","extract":"Answer: (.*)"}}`},
	{0, `{"messages":[{"role":"user","content":"q"},{"role":"tool","content":"x"}],"expected_answer":"4"}`},
	{0, `{"prompt":"p","choices":["a","b","c"],"expected_answer":"B","scoring":{"method":"multiple_choice"}}`},
	{0, `{"prompt":"p","expected_answer":"x","scoring":{"assertions":[{"method":"contains_any","values":["a","b"],"weight":2},{"method":"json_schema","schema":{"type":"object"}},{"method":"llm_judge","rubric":"r","verdict":{"kind":"score","min":1,"max":5}}],"threshold":0.5}}`},
	{0, `{"prompt":"p","expected_answer":"x","scoring":{"method":"llm_judge","template":"factuality","aggregate":"majority","min_judges":2,"judge_model_ids":["0193f1a2-7c4e-7d3a-9b2f-5e6d7c8b9a03","0193f1a2-7c4e-7d3a-9b2f-5e6d7c8b9a04"],"verdict":{"kind":"choice","choices":[{"name":"A","score":1},{"name":"B","score":0}]}}}`},
	{0, `{"prompt":"p","expected_answer":"x","scoring":{"method":"similarity","threshold":0.8,"negate":true}}`},
	{1, `{"messages":[{"role":"user","content":"q"}],"expected_answer":"1","scoring":{"method":"starts_with"}}` + "\n" + `{"prompt":"p","choices":["x"],"expected_answer":"A"}`},
	{2, `{"name":"b","suite_ids":["0193f1a2-7c4e-7d3a-9b2f-5e6d7c8b9a02"],"model_ids":["0193f1a2-7c4e-7d3a-9b2f-5e6d7c8b9a03"],"config":{"scoring":{"method":"llm_judge","template":"closed_qa"},"judge_model_ids":["0193f1a2-7c4e-7d3a-9b2f-5e6d7c8b9a03"]}}`},
	{4, `{"name":"s","few_shot":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`},
	{4, `{"name":"s","few_shot":[{"role":"system","content":"q"}]}`},
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
	case fuzzRoutes[4]:
		var b oapi.CreateSuiteRequest
		if err := decodeStrict(body, &b); err != nil {
			return err
		}
		if err := fromCreateSuite(b).Validate(); err != nil {
			return err
		}
	default:
		return errors.New("fuzz: unexpected route")
	}
	return c.NoContent(http.StatusCreated)
}

// fuzzServer is the Echo server the request fuzz targets send to: the
// real document's validation and error handler, with no routes yet.
func fuzzServer(f *testing.F) (*echo.Echo, *openapi3.T) {
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
	return e, spec
}

// FuzzValidateRequest sends arbitrary bodies and Content-Types to the
// create routes through the real document's validation, the error
// handler and the domain's rules. Every answer must be a 2xx or a 4xx in
// the error shape: never a 5xx, never a panic.
func FuzzValidateRequest(f *testing.F) {
	e, _ := fuzzServer(f)
	e.POST("/v1/suites/:id/questions", fuzzHandler)
	e.POST("/v1/suites/:id/questions:import", fuzzHandler)
	e.POST("/v1/benchmarks", fuzzHandler)
	e.POST("/v1/providers", fuzzHandler)
	e.POST("/v1/suites", fuzzHandler)
	for _, seed := range richSeeds {
		ct := uint8(0) // application/json
		if seed.route == 1 {
			ct = 1 // application/x-ndjson
		}
		f.Add(seed.route, ct, []byte(seed.body))
	}

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
	for _, seed := range richSeeds {
		if seed.route <= 1 {
			f.Add([]byte(seed.body))
		}
	}
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

// edgeOperation is one operation of the document as FuzzEdgeText fills
// it in.
type edgeOperation struct {
	method, path string
	pathParams   []string
	queryParams  []string
	contentType  string   // of the body; empty when it takes none
	props        []string // the body's top-level members
	dates        map[string]bool
}

// edgeOperations lists every operation of the document, in a fixed order.
func edgeOperations(spec *openapi3.T) []edgeOperation {
	var ops []edgeOperation
	for _, path := range spec.Paths.InMatchingOrder() {
		item := spec.Paths.Value(path)
		for _, method := range slices.Sorted(maps.Keys(item.Operations())) {
			op := item.GetOperation(method)
			eo := edgeOperation{method: method, path: path, dates: map[string]bool{}}
			params := slices.Concat(item.Parameters, op.Parameters)
			for _, p := range params {
				if p.Value == nil {
					continue
				}
				switch p.Value.In {
				case openapi3.ParameterInPath:
					eo.pathParams = append(eo.pathParams, p.Value.Name)
				case openapi3.ParameterInQuery:
					eo.queryParams = append(eo.queryParams, p.Value.Name)
				}
				if s := p.Value.Schema; s != nil && s.Value != nil && s.Value.Format == "date-time" {
					eo.dates[p.Value.Name] = true
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				types := slices.Sorted(maps.Keys(op.RequestBody.Value.Content))
				eo.contentType = types[0]
				if s := op.RequestBody.Value.Content[types[0]].Schema; s != nil && s.Value != nil {
					for _, name := range slices.Sorted(maps.Keys(s.Value.Properties)) {
						eo.props = append(eo.props, name)
						if ps := s.Value.Properties[name]; ps.Value != nil && ps.Value.Format == "date-time" {
							eo.dates[name] = true
						}
					}
				}
			}
			ops = append(ops, eo)
		}
	}
	return ops
}

// edgeClean is what every value that reaches a handler must be: valid
// UTF-8 without NUL, and a date-time field's value within range.
func edgeClean(name, v string, date bool) error {
	if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
		return fmt.Errorf("%s = %q reached the handler", name, v)
	}
	if t, err := time.Parse(time.RFC3339Nano, v); date && err == nil && (t.Year() < 1000 || t.Year() > 9998) {
		return fmt.Errorf("date-time %s = %q reached the handler", name, v)
	}
	return nil
}

// FuzzEdgeText sends a value to every operation of the document, in each
// path parameter, each query parameter and each body member (as a string,
// in an array, in an object), through the real validation and error
// handler. Every answer must be below 500, and no NUL, invalid UTF-8 or
// out-of-range date-time may reach a handler, which here is one that
// answers 500 when it sees one.
func FuzzEdgeText(f *testing.F) {
	e, spec := fuzzServer(f)
	ops := edgeOperations(spec)
	current := map[string]edgeOperation{}
	e.Any("/*", func(c echo.Context) error {
		req := c.Request()
		op := current[req.Method]
		for name, vs := range req.URL.Query() {
			for _, v := range append(vs, name) {
				if err := edgeClean(name, v, op.dates[name]); err != nil {
					return err
				}
			}
		}
		if err := edgeClean("path", req.URL.Path, false); err != nil {
			return err
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return readFault(err)
		}
		if !utf8.Valid(body) {
			return fmt.Errorf("body %q reached the handler", body)
		}
		if isForm(req.Header.Get(echo.HeaderContentType)) {
			form, _ := url.ParseQuery(string(body))
			for name, vs := range form {
				for _, v := range append(vs, name) {
					if err := edgeClean(name, v, false); err != nil {
						return err
					}
				}
			}
		}
		var members map[string]any
		if json.Unmarshal(body, &members) == nil {
			for name, v := range members {
				if s, ok := v.(string); ok {
					if err := edgeClean(name, s, op.dates[name]); err != nil {
						return err
					}
				}
			}
		}
		if bytes.Contains(body, []byte(`\u0000`)) {
			return fmt.Errorf("body %q reached the handler", body)
		}
		return c.NoContent(http.StatusNoContent)
	})
	// Seeds: every operation, with each kind of bad value in its path, its
	// query and its body in turn (few enough to keep the fuzzer's baseline
	// short); the fuzzer varies the rest.
	bad := []string{"a\x00b", "\xff\xfe", "9999-12-31T23:59:59Z"}
	for i, op := range ops {
		for where := range uint8(2) {
			f.Add(uint16(i), where, uint8(0), bad[(i+int(where))%len(bad)])
		}
		for j := range op.props {
			for _, v := range bad[:2] {
				f.Add(uint16(i), uint8(2), uint8(j), v)
			}
		}
	}

	f.Fuzz(func(t *testing.T, opIndex uint16, where, which uint8, value string) {
		op := ops[int(opIndex)%len(ops)]
		current[op.method] = op
		path := op.path
		for i, name := range op.pathParams {
			v := fuzzSuiteID
			if where%6 == 0 && int(which)%len(op.pathParams) == i {
				v = value
			}
			path = strings.Replace(path, "{"+name+"}", url.PathEscape(v), 1)
		}
		if where%6 == 1 && len(op.queryParams) > 0 {
			path += "?" + url.Values{op.queryParams[int(which)%len(op.queryParams)]: {value}}.Encode()
		}
		var body []byte
		if op.contentType != "" && len(op.props) > 0 {
			name := op.props[int(which)%len(op.props)]
			var member any = value
			switch where % 6 {
			case 3:
				member = []any{value}
			case 4:
				member = map[string]any{value: value}
			case 5:
				member = map[string]any{"key": []any{map[string]any{"v": value}}}
			}
			// Marshalling replaces invalid UTF-8; splice the raw value in
			// instead so that it arrives as sent.
			body, _ = json.Marshal(map[string]any{name: member})
			body = bytes.ReplaceAll(body, []byte(`"\ufffd"`), []byte(`"`+value+`"`))
			if isForm(op.contentType) {
				body = []byte(url.Values{name: {value}}.Encode())
			}
		}
		req := httptest.NewRequest(op.method, "/", bytes.NewReader(body))
		req.URL, _ = url.Parse(path)
		if req.URL == nil {
			return
		}
		if op.contentType != "" {
			req.Header.Set(echo.HeaderContentType, op.contentType)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", op.method, path, body, rec.Code, rec.Body)
		}
	})
}

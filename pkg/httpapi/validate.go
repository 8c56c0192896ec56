package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
)

// ndjsonMediaType is the body of the questions import. kin-openapi has no
// decoder for it; its bodies are plain text to the schema (type: string).
const ndjsonMediaType = "application/x-ndjson"

// patternMessageExtension names a schema extension that says in words what
// a pattern requires, since a regular expression is a poor error message.
const patternMessageExtension = "x-pattern-message"

// ValidateRequests returns Echo middleware that checks every request to an
// operation of spec against it, before any handler runs: path and query
// parameters, Content-Type, and the body against its schema (unknown fields,
// required fields, types, bounds, enums, formats). A request that fails gets
// a *fault.Error naming the field, for ErrorHandler to render: 400 for
// malformed input (bad JSON, unknown or missing field, wrong type, any bad
// parameter) and 422 for well-formed values out of bounds.
//
// It does not authenticate: security requirements are the auth middleware's
// job, so it must run before this one. Requests to paths the document does
// not describe (such as /monitoring/...) and methods it does not list pass
// through untouched, for Echo to route. Echo's BodyLimit middleware should
// run before it too, since validation reads the whole body (into memory);
// the handler can read the body again afterwards.
//
// Defaults declared in the document are not written into requests: handlers
// apply their own, so they behave the same with or without this middleware.
func ValidateRequests(spec *openapi3.T) (echo.MiddlewareFunc, error) {
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, fmt.Errorf("route openapi document: %w", err)
	}
	// The decoder registry is kin-openapi's own and process-wide; registering
	// the same decoder again is harmless, and an application that registered
	// its own keeps it.
	if openapi3filter.RegisteredBodyDecoder(ndjsonMediaType) == nil {
		openapi3filter.RegisterBodyDecoder(ndjsonMediaType, openapi3filter.PlainBodyDecoder)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
		SkipSettingDefaults: true,
		// The generated strict handlers bind the value validated here instead
		// of decoding the body a second time, matching member names exactly.
		KeepValidatedValue:      true,
		SchemaValidationOptions: schemaOptions(),
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route, pathParams, err := router.FindRoute(req)
			if err != nil {
				// Not an operation of the document (kin-openapi's
				// routers.ErrPathNotFound or ErrMethodNotAllowed): Echo
				// routes it, or answers 404 or 405.
				return next(c)
			}
			if err := checkParams(req, pathParams); err != nil {
				return err
			}
			if route.Operation.RequestBody != nil {
				ct := req.Header.Get(echo.HeaderContentType)
				switch {
				case isJSON(ct):
					if err := checkJSONSyntax(req); err != nil {
						return err
					}
				case isForm(ct):
					if err := checkFormText(req); err != nil {
						return err
					}
				}
			}
			input := &openapi3filter.RequestValidationInput{
				Request:    req,
				PathParams: pathParams,
				Route:      route,
				Options:    opts,
			}
			if err := openapi3filter.ValidateRequest(req.Context(), input); err != nil {
				return validationFault(err)
			}
			return next(c)
		}
	}, nil
}

// schemaOptions are the options every check of a value against the
// document's schemas uses, in requests and in imported lines alike.
func schemaOptions() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{
		openapi3.WithStringFormatValidator("uuid",
			openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
		openapi3.WithStringFormatValidator("date-time", dateTimeFormat),
		// Error strings may end up in logs; keep submitted values (API
		// keys among them) out of them.
		openapi3.DisableSchemaErrorDetails(),
	}
}

// checkJSONSyntax rejects a body that is not one well-formed JSON value,
// or one with a string checkText refuses.
// kin-openapi decodes only the first value and ignores what follows it, so
// `{"name": "x"} garbage` would otherwise pass. It leaves the body readable.
func checkJSONSyntax(req *http.Request) error {
	data, err := readBody(req)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if json.Valid(data) {
		return checkJSONText(data)
	}
	var v any
	err = json.Unmarshal(data, &v)
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fault.BadRequest("body", "malformed JSON at byte %d: %s", se.Offset, text.Clip(se.Error(), maxMessageLen))
	}
	return fault.BadRequest("body", "malformed JSON: unexpected end of input")
}

// readBody reads the whole request body (bounded by Echo's BodyLimit
// middleware) and puts it back, so that later steps and the handler can
// read it again.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	data, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, readFault(err)
	}
	req.ContentLength = int64(len(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	req.Body, _ = req.GetBody()
	return data, nil
}

// isJSON reports whether a Content-Type is JSON (application/json or +json).
func isJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mediaType == echo.MIMEApplicationJSON || strings.HasSuffix(mediaType, "+json"))
}

// validationFault turns an error of openapi3filter.ValidateRequest into the
// fault the client sees.
func validationFault(err error) error {
	if _, ok := errors.AsType[*echo.HTTPError](err); ok {
		return readFault(err)
	}
	if me, ok := err.(openapi3.MultiError); ok && len(me) > 0 {
		return validationFault(me[0])
	}
	reqErr, ok := errors.AsType[*openapi3filter.RequestError](err)
	if !ok {
		return fmt.Errorf("validate request: %w", err)
	}
	switch {
	case reqErr.Parameter != nil:
		return fault.BadRequest(text.Clip(reqErr.Parameter.Name, maxFieldLen), "%s", parameterMessage(reqErr))
	case reqErr.RequestBody != nil:
		return bodyFault(reqErr)
	default:
		return fault.BadRequest("", "invalid request")
	}
}

// readFault explains why the body could not be read: over the limit of
// Echo's BodyLimit middleware (whose reader fails with a 413 HTTPError), or
// cut short by the client.
func readFault(err error) error {
	if he, ok := errors.AsType[*echo.HTTPError](err); ok && he.Code == http.StatusRequestEntityTooLarge {
		return fault.TooLarge("body", "request body is too large")
	}
	return fault.BadRequest("body", "could not read the request body")
}

// parameterMessage says what is wrong with a path or query parameter. Every
// parameter problem is a 400: a parameter is part of the request's address.
func parameterMessage(reqErr *openapi3filter.RequestError) string {
	switch {
	case errors.Is(reqErr.Err, openapi3filter.ErrInvalidRequired):
		return "is required"
	case errors.Is(reqErr.Err, openapi3filter.ErrInvalidEmptyValue):
		return "must not be empty"
	}
	if se, ok := errors.AsType[*openapi3.SchemaError](reqErr.Err); ok {
		_, msg := schemaProblem(se)
		return msg
	}
	if p := reqErr.Parameter; p.Schema != nil && p.Schema.Value != nil {
		return typeMessage(p.Schema.Value)
	}
	return "invalid value"
}

// bodyFault turns a request body error into a fault about the body or the
// field within it.
func bodyFault(reqErr *openapi3filter.RequestError) error {
	if errors.Is(reqErr.Err, openapi3filter.ErrInvalidRequired) {
		return fault.BadRequest("body", "is required")
	}
	if reqErr.Err == nil && strings.HasPrefix(reqErr.Reason, "header Content-Type") {
		types := make([]string, 0, len(reqErr.RequestBody.Content))
		for t := range reqErr.RequestBody.Content {
			types = append(types, t)
		}
		slices.Sort(types)
		return fault.BadRequest("body", "Content-Type must be %s", strings.Join(types, " or "))
	}
	if se, ok := errors.AsType[*openapi3.SchemaError](reqErr.Err); ok {
		return schemaFault(se)
	}
	if pe, ok := errors.AsType[*openapi3filter.ParseError](reqErr.Err); ok {
		if pe.Kind == openapi3filter.KindUnsupportedFormat {
			return fault.BadRequest("body", "unsupported Content-Type")
		}
		cause := pe.RootCause()
		if errors.Is(cause, io.EOF) || errors.Is(cause, io.ErrUnexpectedEOF) {
			cause = errors.New("unexpected end of input")
		}
		what := "body"
		if isJSON(reqErr.Input.Request.Header.Get(echo.HeaderContentType)) {
			what = "JSON"
		}
		if cause == nil {
			return fault.BadRequest("body", "malformed %s", what)
		}
		return fault.BadRequest("body", "malformed %s: %s", what, text.Clip(cause.Error(), maxMessageLen))
	}
	if reqErr.Reason == "reading failed" {
		return readFault(reqErr.Err)
	}
	return fault.BadRequest("body", "%s", text.Clip(reqErr.Reason, maxMessageLen))
}

// schemaFault turns a schema violation in the body into a fault naming the
// field by its dotted JSON path.
func schemaFault(se *openapi3.SchemaError) error {
	// A field typed as allOf a schema (the way OpenAPI 3.0 makes a
	// referenced object nullable) fails as a whole; the inner error names
	// the field inside it that is wrong, by its whole path.
	for se.SchemaField == "allOf" {
		var inner *openapi3.SchemaError
		if !errors.As(se.Origin, &inner) {
			break
		}
		se = inner
	}
	path := se.JSONPointer()
	kind, msg := schemaProblem(se)
	if se.SchemaField == "properties" {
		if key := unknownProperty(se); key != "" {
			path = append(path, key)
		}
	}
	field := dottedPath(path)
	if kind == fault.KindBadRequest {
		return fault.BadRequest(field, "%s", msg)
	}
	return fault.Invalid(field, "%s", msg)
}

// schemaProblem classifies a schema violation: structure (unknown or missing
// field, wrong type) is a bad request, a disallowed value is invalid.
func schemaProblem(se *openapi3.SchemaError) (fault.Kind, string) {
	s := se.Schema
	if s == nil {
		s = &openapi3.Schema{}
	}
	switch se.SchemaField {
	case "properties":
		return fault.KindBadRequest, "unknown field"
	case "required":
		return fault.KindBadRequest, "is required"
	case "type":
		return fault.KindBadRequest, typeMessage(s)
	case "nullable":
		return fault.KindBadRequest, "must not be null"
	case "enum":
		values := make([]string, 0, len(s.Enum))
		for _, v := range s.Enum {
			values = append(values, fmt.Sprint(v))
		}
		return fault.KindInvalid, "must be one of: " + strings.Join(values, ", ")
	case "minimum":
		if s.Min != nil {
			return fault.KindInvalid, "must be at least " + formatNumber(*s.Min)
		}
	case "exclusiveMinimum":
		if s.Min != nil {
			return fault.KindInvalid, "must be above " + formatNumber(*s.Min)
		}
	case "maximum":
		if s.Max != nil {
			return fault.KindInvalid, "must be at most " + formatNumber(*s.Max)
		}
	case "minLength":
		if s.MinLength == 1 {
			return fault.KindInvalid, "must not be empty"
		}
		return fault.KindInvalid, fmt.Sprintf("must be at least %d characters long", s.MinLength)
	case "maxLength":
		if s.MaxLength != nil {
			return fault.KindInvalid, fmt.Sprintf("must be at most %d characters long", *s.MaxLength)
		}
	case "pattern":
		if msg, ok := s.Extensions[patternMessageExtension].(string); ok {
			return fault.KindInvalid, msg
		}
		return fault.KindInvalid, "must match the pattern " + s.Pattern
	case "format":
		switch s.Format {
		case "uuid":
			return fault.KindInvalid, "must be a UUID"
		case "date-time":
			return fault.KindInvalid, dateTimeMessage
		}
		return fault.KindInvalid, "must be a valid " + s.Format
	case "minItems":
		return fault.KindInvalid, fmt.Sprintf("must have at least %d items", s.MinItems)
	case "maxItems":
		if s.MaxItems != nil {
			return fault.KindInvalid, fmt.Sprintf("must have at most %d items", *s.MaxItems)
		}
	case "uniqueItems":
		return fault.KindInvalid, "must not contain duplicates"
	case "minProperties":
		return fault.KindInvalid, fmt.Sprintf("must have at least %d entries", s.MinProps)
	case "maxProperties":
		if s.MaxProps != nil {
			return fault.KindInvalid, fmt.Sprintf("must have at most %d entries", *s.MaxProps)
		}
	}
	// kin-openapi keeps submitted values out of Reason.
	return fault.KindInvalid, text.Clip(se.Reason, maxMessageLen)
}

// typeMessage says which JSON type schema s wants.
func typeMessage(s *openapi3.Schema) string {
	switch {
	case s.Type.Is(openapi3.TypeString):
		return "must be a string"
	case s.Type.Is(openapi3.TypeInteger):
		return "must be an integer"
	case s.Type.Is(openapi3.TypeNumber):
		return "must be a number"
	case s.Type.Is(openapi3.TypeBoolean):
		return "must be a boolean"
	case s.Type.Is(openapi3.TypeArray):
		return "must be an array"
	case s.Type.Is(openapi3.TypeObject):
		return "must be an object"
	}
	return "has the wrong type"
}

// unknownProperty returns the first member of the rejected object that its
// schema does not declare: the one kin-openapi complained about, since it
// checks members in sorted order.
func unknownProperty(se *openapi3.SchemaError) string {
	obj, ok := se.Value.(map[string]any)
	if !ok || se.Schema == nil {
		return ""
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		if _, declared := se.Schema.Properties[k]; !declared {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return slices.Min(keys)
}

// dottedPath joins a JSON pointer's segments into a field name: members
// with dots, array elements by index in brackets ("config.samples",
// "suite_ids[0]", "scoring.assertions[2].weight"), as the domain names
// fields too; the empty pointer is the body itself.
func dottedPath(segments []string) string {
	if len(segments) == 0 {
		return "body"
	}
	var b strings.Builder
	for i, s := range segments {
		if isIndex(s) && i > 0 {
			b.WriteString("[" + text.Clip(s, maxSegmentLen) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(text.Clip(s, maxSegmentLen))
	}
	return text.Clip(b.String(), maxFieldLen)
}

// isIndex reports whether a pointer segment is an array index. A member
// named by digits alone reads as one too, which only changes how the field
// is written.
func isIndex(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// Bounds on what goes back to the client: field names come from the request
// and may be arbitrarily long.
const (
	maxSegmentLen = 64
	maxFieldLen   = 200
	maxMessageLen = 300
)

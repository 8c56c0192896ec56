package httpapi

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// maxLineErrors bounds the lines an import error lists: a 1 MiB body of bad
// lines would otherwise make a response several times its size.
const maxLineErrors = 1000

// LineError is what is wrong with one line of a JSON Lines import.
type LineError struct {
	// Line is the line number, from 1.
	Line int
	// Field is the dotted JSON path within the line's object
	// ("scoring.pattern"), empty when the error is about the whole line.
	Field string
	// Message is safe to show to the caller.
	Message string
}

// ImportError reports every invalid line of a JSON Lines import, which is
// all or nothing. ErrorHandler renders it as 422 with the first line in
// "error" and all of them (up to 1000) in "errors". It unwraps to a
// fault.KindInvalid error, so fault.KindOf classifies it like the rest.
type ImportError struct {
	Lines []LineError
}

// Error implements error.
func (e *ImportError) Error() string {
	return e.summary().Error()
}

// Unwrap returns the import's first problem as a *fault.Error.
func (e *ImportError) Unwrap() error {
	return e.summary()
}

// summary is the single error that stands for the whole import.
func (e *ImportError) summary() *fault.Error {
	if len(e.Lines) == 0 {
		return &fault.Error{Kind: fault.KindInvalid, Field: "body", Message: "invalid import"}
	}
	first := e.Lines[0]
	field := fmt.Sprintf("line %d", first.Line)
	if first.Field != "" {
		field += ": " + first.Field
	}
	msg := first.Message
	if n := len(e.Lines) - 1; n == 1 {
		msg += " (and 1 more invalid line)"
	} else if n > 1 {
		msg += fmt.Sprintf(" (and %d more invalid lines)", n)
	}
	return &fault.Error{Kind: fault.KindInvalid, Field: field, Message: msg}
}

// UpstreamError is the failure of a provider that SABE called on the
// client's behalf (to list its models, for example). ErrorHandler renders it
// as 502 with code "bad_gateway" and Message, which is the provider's own
// account and must already be scrubbed of credentials.
type UpstreamError struct {
	Message string
}

// Error implements error.
func (e *UpstreamError) Error() string { return "provider failed: " + e.Message }

// ErrorHandler returns Echo's HTTPErrorHandler for the API: the one place
// where errors become responses. A *fault.Error answers with its kind's
// status and its message and field; an *ImportError adds the invalid lines;
// a *catalog.InUseError (409) lists the benchmarks in the way;
// an *UpstreamError is a 502 with the provider's (scrubbed) message;
// Echo's own errors (unknown route, method not allowed, body over the limit,
// binding failures) get the same shape with a plain message. Anything else is
// a 500 "internal error": the details go to log with the request id, never to
// the client. Every body has the shape
// {"error": {"code": "...", "message": "...", "field": "..."}}.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		req := c.Request()
		requestID := c.Response().Header().Get(echo.HeaderXRequestID)
		if requestID == "" {
			requestID = req.Header.Get(echo.HeaderXRequestID)
		}
		attrs := []any{
			slog.String("request_id", requestID),
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.Any("err", err),
		}
		if c.Response().Committed {
			log.ErrorContext(req.Context(), "request failed after its response started", attrs...)
			return
		}

		status, body := errorResponse(err)
		switch {
		case status == http.StatusServiceUnavailable:
			log.WarnContext(req.Context(), "dependency unavailable", attrs...)
		case status == http.StatusBadGateway:
			log.InfoContext(req.Context(), "provider failed", attrs...)
		case status >= http.StatusInternalServerError:
			log.ErrorContext(req.Context(), "request failed", attrs...)
		}
		if status == http.StatusUnauthorized {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, "Bearer")
		}

		var werr error
		if req.Method == http.MethodHead {
			werr = c.NoContent(status)
		} else {
			werr = c.JSON(status, body)
		}
		if werr != nil {
			log.WarnContext(req.Context(), "write error response", slog.String("request_id", requestID), slog.Any("err", werr))
		}
	}
}

// errorResponse decides the status and JSON body for err.
func errorResponse(err error) (int, any) {
	if ie, ok := errors.AsType[*ImportError](err); ok {
		lines := ie.Lines[:min(len(ie.Lines), maxLineErrors)]
		out := oapi.ImportError{
			Error:  detail(ie.summary()),
			Errors: make([]oapi.LineError, 0, len(lines)),
		}
		for _, l := range lines {
			le := oapi.LineError{Line: l.Line, Message: text.Clip(l.Message, maxMessageLen)}
			if l.Field != "" {
				f := text.Clip(l.Field, maxFieldLen)
				le.Field = &f
			}
			out.Errors = append(out.Errors, le)
		}
		return http.StatusUnprocessableEntity, out
	}
	if iu, ok := errors.AsType[*catalog.InUseError](err); ok {
		out := oapi.InUseError{Error: detail(fault.As(iu)), Benchmarks: make([]oapi.BenchmarkRef, len(iu.Benchmarks))}
		for i, b := range iu.Benchmarks {
			out.Benchmarks[i] = oapi.BenchmarkRef{Id: b.ID, Name: b.Name}
		}
		return http.StatusConflict, out
	}
	if ue, ok := errors.AsType[*UpstreamError](err); ok {
		return http.StatusBadGateway, oapi.Error{Error: oapi.ErrorDetail{
			Code: statusCode(http.StatusBadGateway), Message: text.Clip(ue.Message, maxMessageLen),
		}}
	}
	if fe := fault.As(err); fe != nil {
		status := kindStatus(fe.Kind)
		if fe.Kind == fault.KindInternal {
			return status, internalError()
		}
		return status, oapi.Error{Error: detail(fe)}
	}
	if he, ok := errors.AsType[*echo.HTTPError](err); ok {
		return echoError(he)
	}
	return http.StatusInternalServerError, internalError()
}

// kindStatus is the HTTP status of each kind of fault.
func kindStatus(k fault.Kind) int {
	switch k {
	case fault.KindBadRequest:
		return http.StatusBadRequest
	case fault.KindUnauthorized:
		return http.StatusUnauthorized
	case fault.KindForbidden:
		return http.StatusForbidden
	case fault.KindNotFound:
		return http.StatusNotFound
	case fault.KindConflict:
		return http.StatusConflict
	case fault.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.KindInvalid:
		return http.StatusUnprocessableEntity
	case fault.KindUnavailable:
		return http.StatusServiceUnavailable
	case fault.KindTooMany:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

// detail renders a fault, bounding what came from the request.
func detail(fe *fault.Error) oapi.ErrorDetail {
	d := oapi.ErrorDetail{Code: fe.Kind.String(), Message: text.Clip(fe.Message, maxMessageLen)}
	if fe.Field != "" {
		f := text.Clip(fe.Field, maxFieldLen)
		d.Field = &f
	}
	return d
}

func internalError() oapi.Error {
	return oapi.Error{Error: oapi.ErrorDetail{Code: fault.KindInternal.String(), Message: "internal error"}}
}

// echoError renders an error raised by Echo itself or by generated code. Its
// message may hold Go details (type names, offsets), so only what is known
// to be meant for clients is kept.
func echoError(he *echo.HTTPError) (int, any) {
	// Echo's convention: an HTTPError wrapping another is about the inner one.
	if inner, ok := he.Internal.(*echo.HTTPError); ok {
		he = inner
	}
	status := he.Code
	switch {
	case status == http.StatusBadRequest:
		return status, oapi.Error{Error: detail(badRequestDetail(he))}
	case status == http.StatusRequestEntityTooLarge:
		return status, oapi.Error{Error: detail(&fault.Error{Kind: fault.KindTooLarge, Field: "body", Message: "request body is too large"})}
	case status == http.StatusUnsupportedMediaType:
		f := "body"
		return status, oapi.Error{Error: oapi.ErrorDetail{Code: statusCode(status), Message: "unsupported Content-Type", Field: &f}}
	case status < http.StatusBadRequest || status == http.StatusInternalServerError:
		return http.StatusInternalServerError, internalError()
	}
	return status, oapi.Error{Error: oapi.ErrorDetail{Code: statusCode(status), Message: strings.ToLower(http.StatusText(status))}}
}

// statusCode is the "code" of a response with status: the fault kind that
// maps to it, else the status text in snake case ("method_not_allowed").
func statusCode(status int) string {
	for k := fault.KindInternal; k <= fault.KindTooMany; k++ {
		if kindStatus(k) == status {
			return k.String()
		}
	}
	text := http.StatusText(status)
	if text == "" {
		return "error"
	}
	return strings.ReplaceAll(strings.ToLower(text), " ", "_")
}

// badRequestDetail explains a 400 from Echo's binder or from the generated
// parameter binding.
func badRequestDetail(he *echo.HTTPError) *fault.Error {
	if se, ok := errors.AsType[*json.SyntaxError](he.Internal); ok {
		return &fault.Error{Kind: fault.KindBadRequest, Field: "body", Message: "malformed JSON: " + se.Error()}
	}
	if ute, ok := errors.AsType[*json.UnmarshalTypeError](he.Internal); ok {
		field := ute.Field
		if field == "" {
			field = "body"
		}
		return &fault.Error{Kind: fault.KindBadRequest, Field: field, Message: "must be " + jsonTypeName(ute.Type)}
	}
	if errors.Is(he.Internal, io.ErrUnexpectedEOF) {
		return &fault.Error{Kind: fault.KindBadRequest, Field: "body", Message: "malformed JSON: unexpected end of input"}
	}
	if msg, ok := he.Message.(string); ok {
		// The generated wrappers name the parameter they could not bind.
		if rest, found := strings.CutPrefix(msg, "Invalid format for parameter "); found {
			name, _, _ := strings.Cut(rest, ":")
			return &fault.Error{Kind: fault.KindBadRequest, Field: name, Message: "invalid value"}
		}
		if rest, found := strings.CutPrefix(msg, "Query argument "); found {
			name, _, _ := strings.Cut(rest, " ")
			return &fault.Error{Kind: fault.KindBadRequest, Field: name, Message: "is required"}
		}
	}
	return &fault.Error{Kind: fault.KindBadRequest, Message: "bad request"}
}

// jsonTypeName names the JSON type that decodes into t, with its article.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// UUIDs and times decode from strings.
	if reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
}

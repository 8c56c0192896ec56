package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/sabe-dev/sabe/internal/fault"
)

// The range of date-times SABE takes. PostgreSQL stores far more, but
// reports compute periods around a given time (a week, a month, a
// year-long window) and Go's JSON encoder refuses years past 9999, so a
// time at the edge of the calendar turned into a 500 after the query ran.
// Both bounds leave a year of room either way.
var (
	minDateTime = time.Date(1000, time.January, 1, 0, 0, 0, 0, time.UTC)
	maxDateTime = time.Date(9999, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// dateTimeMessage says what a date-time must be, in the error a client
// gets for one outside it.
const dateTimeMessage = "must be an RFC 3339 date-time from 1000-01-01 to 9998-12-31"

// dateTimeFormat validates the document's date-time format for every
// parameter and body field that has it: RFC 3339, and within
// [minDateTime, maxDateTime).
var dateTimeFormat = openapi3.NewCallbackValidator(func(s string) error {
	if err := openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringDateTime).Validate(s); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return errors.New("not an RFC 3339 date-time")
	}
	if t.Before(minDateTime) || !t.Before(maxDateTime) {
		return errors.New("date-time out of range")
	}
	return nil
})

// checkText is the one rule for text anywhere in a request: it must be
// valid UTF-8 without a NUL character. PostgreSQL's text cannot hold a NUL
// (SQLSTATE 22021) and its encoding check refuses invalid UTF-8, which
// Go's JSON decoder would silently turn into U+FFFD instead; either way
// the value is not what the client meant to store.
func checkText(field, s string) error {
	switch {
	case !utf8.ValidString(s):
		return fault.Invalid(fieldName(field), "must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return fault.Invalid(fieldName(field), "must not contain a NUL character")
	}
	return nil
}

// fieldName makes a field name taken from the request fit to show: it may
// itself hold the bytes being refused.
func fieldName(field string) string {
	field = strings.ToValidUTF8(field, "\uFFFD")
	return strings.ReplaceAll(field, "\x00", `\u0000`)
}

// checkParams applies checkText to every path and query parameter, names
// and values, as a 400: a parameter is part of the request's address.
func checkParams(req *http.Request, pathParams map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(pathParams)) {
		if err := checkText(name, pathParams[name]); err != nil {
			return asBadRequest(err)
		}
	}
	query := req.URL.Query()
	for _, name := range slices.Sorted(maps.Keys(query)) {
		if err := checkText(name, name); err != nil {
			return asBadRequest(err)
		}
		for _, v := range query[name] {
			if err := checkText(name, v); err != nil {
				return asBadRequest(err)
			}
		}
	}
	return nil
}

// asBadRequest turns checkText's fault into a 400 about the same field.
func asBadRequest(err error) error {
	fe := fault.As(err)
	return fault.BadRequest(fe.Field, "%s", fe.Message)
}

// checkJSONText applies checkText to every string of a JSON text, member
// names included, naming the field by its dotted path ("config.stop[1]").
// It reads the raw bytes of each string token, since the decoded value has
// invalid UTF-8 already replaced. data must be well-formed JSON; one or
// more values in a row (JSON Lines) are all checked.
func checkJSONText(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// Each open container: its path, whether it is an object, and for an
	// object whether the next string is a member name; for an array, the
	// index of the next element.
	type frame struct {
		path   []string
		object bool
		key    bool
		index  int
	}
	var stack []frame
	current := func() []string {
		if len(stack) == 0 {
			return nil
		}
		return stack[len(stack)-1].path
	}
	var pending string // the member name whose value comes next
	elementPath := func() []string {
		if len(stack) == 0 {
			return nil
		}
		top := &stack[len(stack)-1]
		if top.object {
			return append(slices.Clone(top.path), pending)
		}
		p := append(slices.Clone(top.path), strconv.Itoa(top.index))
		top.index++
		return p
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fault.BadRequest("body", "malformed JSON")
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				path := elementPath()
				stack = append(stack, frame{path: path, object: v == '{', key: v == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			raw := data[start:dec.InputOffset()]
			if len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].key {
				stack[len(stack)-1].key = false
				pending = v
				if err := checkRawString(dottedPath(append(slices.Clone(current()), v)), v, raw); err != nil {
					return err
				}
				continue
			}
			if err := checkRawString(dottedPath(elementPath()), v, raw); err != nil {
				return err
			}
		default:
			elementPath()
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}

// checkRawString checks one JSON string token: raw is its text as sent
// (with any separators before it), v its decoded value.
func checkRawString(field, v string, raw []byte) error {
	if !utf8.Valid(raw) {
		return fault.Invalid(fieldName(field), "must be valid UTF-8")
	}
	return checkText(field, v)
}

// isForm reports whether a Content-Type is an HTML form's
// (application/x-www-form-urlencoded).
func isForm(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == echo.MIMEApplicationForm
}

// checkFormText applies checkText to every field of a form body, names
// and values, as a 422 like a JSON body's. It leaves the body readable;
// a body that does not parse is left for the schema validation to refuse.
func checkFormText(req *http.Request) error {
	data, err := readBody(req)
	if err != nil {
		return err
	}
	form, err := url.ParseQuery(string(data))
	if err != nil {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(form)) {
		if err := checkText(name, name); err != nil {
			return err
		}
		for _, v := range form[name] {
			if err := checkText(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// sabe reads SABE's own JSON Lines: one CreateQuestionRequest per line,
// unknown fields refused. The server checks these lines against the
// OpenAPI schema itself; this reading lets a client (the CLI, apply)
// hold every format as the same records.
func (p *parser) sabe(body []byte) error {
	return p.eachJSONLine(body, func(line int, raw []byte, _ map[string]json.RawMessage) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var q oapi.CreateQuestionRequest
		if err := dec.Decode(&q); err != nil {
			field, msg := decodeFault(err)
			p.fail(line, field, "%s", msg)
			return
		}
		if q.Prompt == "" && q.Messages == nil {
			p.fail(line, "prompt", "is required (or messages)")
			return
		}
		p.add(line, q)
	})
}

// decodeFault names the field of a decoding error and says what is
// wrong with it.
func decodeFault(err error) (string, string) {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return te.Field, "must be " + kindName(te.Type) + ", not a JSON " + te.Value
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return strings.Trim(name, `"`), "unknown field"
	}
	return "", "does not match the question schema: " + msg
}

// kindName names a Go type the way a JSON document's author knows it.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return kindName(t.Elem())
	default:
		return "a number"
	}
}

package scoring

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
)

// MaxSchemaBytes bounds a json_schema rule's schema, which is stored with
// every question revision and compiled by every worker that loads a run.
const MaxSchemaBytes = 32 << 10

// schemaURL is the location the schema is compiled under. It has no
// loader, so a $ref to anything outside the schema (a file, a URL) is
// refused rather than fetched.
const schemaURL = "https://sabe.invalid/scoring/schema.json"

func (s *Scorer) compileSchema(raw json.RawMessage, field string) error {
	switch {
	case len(bytes.TrimSpace(raw)) == 0:
		return fault.Invalid(field, "is required for method json_schema")
	case len(raw) > MaxSchemaBytes:
		return fault.Invalid(field, "must be at most %d bytes, got %d", MaxSchemaBytes, len(raw))
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fault.Invalid(field, "is not valid JSON")
	}
	switch doc.(type) {
	case map[string]any, bool:
	default:
		return fault.Invalid(field, "must be a JSON Schema object")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// The schema's "pattern" and "patternProperties" regexes get the
	// bounds of a regex rule's pattern, and share MaxPatternClasses·2
	// character classes, since parsing classes is what costs.
	var refused error
	classes := 0
	c.UseRegexpEngine(func(p string) (jsonschema.Regexp, error) {
		if refused != nil {
			return nil, refused
		}
		if classes += countClasses(p); classes > 2*MaxPatternClasses {
			refused = fault.Invalid(field, "patterns may have at most %d character classes ([...], \\p or \\P) in all", 2*MaxPatternClasses)
			return nil, refused
		}
		re, _, err := compilePattern(field, p, true)
		if err != nil {
			refused = err
			return nil, err
		}
		return re, nil
	})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return fault.Invalid(field, "is not a valid JSON Schema")
	}
	sch, err := c.Compile(schemaURL)
	if refused != nil {
		return refused
	}
	if err != nil {
		return fault.Invalid(field, "is not a valid JSON Schema: %s", text.Clip(schemaMessage(err), 160))
	}
	s.schema = sch
	return nil
}

// schemaMessage is the first line of a schema library error, without the
// schema's internal URL.
func schemaMessage(err error) string {
	msg := err.Error()
	var le *jsonschema.LoadURLError
	if errors.As(err, &le) {
		return "$ref " + quote(le.URL) + " cannot be loaded: only references inside the schema are allowed"
	}
	msg = strings.ReplaceAll(msg, schemaURL, "schema")
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// jsonText is the JSON a model wrote: the response trimmed, without one
// Markdown code fence around it.
func jsonText(response string) string {
	t := strings.TrimSpace(response)
	if !strings.HasPrefix(t, "```") {
		return t
	}
	body, ok := strings.CutSuffix(t, "```")
	if !ok || len(body) < 3 {
		return t
	}
	body = body[3:]
	// The fence's info string ("json") runs to the end of its line.
	if i := strings.IndexByte(body, '\n'); i >= 0 {
		body = body[i+1:]
	} else {
		return t
	}
	return strings.TrimSpace(body)
}

func (s *Scorer) jsonValid(response string) Result {
	t := jsonText(response)
	if t == "" {
		return verdict(false, "empty response is not JSON")
	}
	if json.Valid([]byte(t)) {
		return verdict(true, "valid JSON")
	}
	return verdict(false, "not valid JSON: "+jsonProblem(t))
}

// jsonProblem describes why t is not JSON, briefly.
func jsonProblem(t string) string {
	var v json.RawMessage
	err := json.Unmarshal([]byte(t), &v)
	if err == nil {
		return "unknown error"
	}
	return text.Clip(err.Error(), 120)
}

func (s *Scorer) jsonSchema(response string) Result {
	t := jsonText(response)
	if t == "" {
		return verdict(false, "empty response is not JSON")
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(t))
	if err != nil {
		return verdict(false, "not valid JSON: "+jsonProblem(t))
	}
	if err := s.schema.Validate(v); err != nil {
		return verdict(false, "does not match the schema: "+validationMessage(err))
	}
	return verdict(true, "matches the schema")
}

// validationMessage names the first failing location and why.
func validationMessage(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return "invalid"
	}
	out := ve.BasicOutput()
	for _, u := range out.Errors {
		if u.Error == nil {
			continue
		}
		msg := u.Error.String()
		if strings.Contains(msg, "validation failed") && len(out.Errors) > 1 {
			continue
		}
		loc := u.InstanceLocation
		if loc == "" {
			loc = "/"
		}
		return "at " + quote(loc) + ": " + msg
	}
	return schemaMessage(err)
}

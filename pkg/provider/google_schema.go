package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/genai"
)

// geminiTypes maps JSON Schema types to Gemini's.
var geminiTypes = map[string]genai.Type{
	"object":  genai.TypeObject,
	"array":   genai.TypeArray,
	"string":  genai.TypeString,
	"integer": genai.TypeInteger,
	"number":  genai.TypeNumber,
	"boolean": genai.TypeBoolean,
}

// jsonSchemaNode is the part of a JSON Schema object that Gemini's
// responseSchema (an OpenAPI 3.0 subset) can say.
type jsonSchemaNode struct {
	Type        json.RawMessage            `json:"type"`
	Description string                     `json:"description"`
	Properties  map[string]json.RawMessage `json:"properties"`
	Required    []string                   `json:"required"`
	Enum        []any                      `json:"enum"`
	Items       json.RawMessage            `json:"items"`
	Minimum     *float64                   `json:"minimum"`
	Maximum     *float64                   `json:"maximum"`
}

// geminiSchema converts a JSON Schema to Gemini's responseSchema. It keeps
// type (a ["T", "null"] pair becomes nullable T), description, properties
// in their written order (as propertyOrdering, since Gemini otherwise
// orders them alphabetically), required, enum (as strings, which is how
// Gemini takes enums of any type), items, minimum and maximum, and drops
// everything else, additionalProperties included, which Gemini rejects.
func geminiSchema(raw json.RawMessage) (*genai.Schema, error) {
	var n jsonSchemaNode
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("output schema: %w", err)
	}
	s := &genai.Schema{Description: n.Description, Required: n.Required, Minimum: n.Minimum, Maximum: n.Maximum}
	if len(n.Type) > 0 {
		var one string
		var many []string
		switch {
		case json.Unmarshal(n.Type, &one) == nil:
			many = []string{one}
		case json.Unmarshal(n.Type, &many) == nil:
		default:
			return nil, fmt.Errorf("output schema: type must be a string or a list of strings")
		}
		for _, t := range many {
			if t == "null" {
				s.Nullable = genai.Ptr(true)
				continue
			}
			gt, ok := geminiTypes[t]
			if !ok || s.Type != "" {
				return nil, fmt.Errorf("output schema: Gemini cannot take type %s", n.Type)
			}
			s.Type = gt
		}
	} else if n.Properties != nil {
		s.Type = genai.TypeObject
	}
	if len(n.Properties) > 0 {
		order, err := objectKeys(raw, "properties")
		if err != nil {
			return nil, fmt.Errorf("output schema: %w", err)
		}
		s.Properties = make(map[string]*genai.Schema, len(n.Properties))
		for _, name := range order {
			if s.Properties[name], err = geminiSchema(n.Properties[name]); err != nil {
				return nil, fmt.Errorf("%w (in property %q)", err, name)
			}
		}
		s.PropertyOrdering = order
	}
	for _, v := range n.Enum {
		switch v := v.(type) {
		case string:
			s.Enum = append(s.Enum, v)
		default:
			b, _ := json.Marshal(v)
			s.Enum = append(s.Enum, string(b))
		}
	}
	if len(s.Enum) > 0 {
		s.Format = "enum"
	}
	if len(n.Items) > 0 {
		items, err := geminiSchema(n.Items)
		if err != nil {
			return nil, err
		}
		s.Items = items
	}
	return s, nil
}

// objectKeys returns the keys of the object at raw[field] in the order
// they are written, which a Go map forgets.
func objectKeys(raw json.RawMessage, field string) ([]string, error) {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(raw, &outer); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(outer[field]))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%s must be an object", field)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if !strings.Contains(key, "\x00") {
			keys = append(keys, key)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

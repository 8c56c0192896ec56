package apply

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is a problem with one value of the file: Path names it as
// the API names fields (`benchmarks[1].schedule.cron`), Line is where it
// is in the file (0 when not known).
type FieldError struct {
	Path string
	Line int
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// decodeStrict fills v (a pointer) from n, field by field through the
// `json` tags of v's structs, so that the file's names are the API's.
// An unknown field, a list where a mapping belongs, a string where a
// number belongs: each is a *FieldError with its path and line, where
// yaml's own KnownFields would give a Go type name and no path.
func decodeStrict(n *yaml.Node, path string, v any) error {
	return decodeValue(n, path, reflect.ValueOf(v).Elem())
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func decodeValue(n *yaml.Node, path string, v reflect.Value) error {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	bad := func(format string, a ...any) error {
		return &FieldError{Path: path, Line: n.Line, Msg: fmt.Sprintf(format, a...)}
	}
	if isNull(n) {
		v.SetZero()
		return nil
	}
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		if err := decodeValue(n, path, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		if n.Kind != yaml.ScalarNode {
			return bad("want a string")
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			return bad("%v", err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return bad("want a mapping of fields")
		}
		fields := jsonFields(v.Type())
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			name := k.Value
			fp := join(path, name)
			if seen[name] {
				return &FieldError{Path: fp, Line: k.Line, Msg: "given twice"}
			}
			seen[name] = true
			idx, ok := fields[name]
			if !ok {
				return &FieldError{Path: fp, Line: k.Line, Msg: "unknown field (known: " + knownNames(v.Type()) + ")"}
			}
			if err := decodeValue(val, fp, v.FieldByIndex(idx)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return bad("want a list")
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := decodeValue(item, fmt.Sprintf("%s[%d]", path, i), s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return bad("want a mapping")
		}
		if v.Type().Key().Kind() != reflect.String {
			return bad("unsupported map key type %s", v.Type().Key())
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			e := reflect.New(v.Type().Elem()).Elem()
			if err := decodeValue(val, join(path, k.Value), e); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
		}
		v.Set(m)
		return nil
	case reflect.Interface:
		g, err := generic(n, path)
		if err != nil {
			return err
		}
		if g != nil {
			v.Set(reflect.ValueOf(g))
		}
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return bad("want a single value, not a %s", kindName(n))
	}
	switch v.Kind() {
	case reflect.String:
		// Any scalar is its text: `expected_answer: 4` means "4", as
		// written.
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Tag != "!!bool" {
			return bad("want true or false")
		}
		b, _ := strconv.ParseBool(n.Value)
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Tag != "!!int" {
			return bad("want a whole number")
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || v.OverflowInt(i) {
			return bad("want a whole number")
		}
		v.SetInt(i)
	case reflect.Float64:
		if n.Tag != "!!int" && n.Tag != "!!float" {
			return bad("want a number")
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return bad("want a number")
		}
		v.SetFloat(f)
	default:
		return bad("unsupported type %s", v.Type())
	}
	return nil
}

// generic is n as JSON-like Go values (map[string]any, []any, string,
// float64 or int64, bool, nil): for free-form fields such as a
// question's metadata or a JSON schema.
func generic(n *yaml.Node, path string) (any, error) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			g, err := generic(n.Content[i+1], join(path, n.Content[i].Value))
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = g
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			g, err := generic(item, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			s[i] = g
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool":
			b, _ := strconv.ParseBool(n.Value)
			return b, nil
		case "!!int":
			if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
				return float64(i), nil
			}
			return nil, &FieldError{Path: path, Line: n.Line, Msg: "number out of range"}
		case "!!float":
			f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, &FieldError{Path: path, Line: n.Line, Msg: "not a finite number"}
			}
			return f, nil
		default:
			return n.Value, nil
		}
	}
	return nil, &FieldError{Path: path, Line: n.Line, Msg: "unsupported value"}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// join appends a field name to a path (an empty name adds nothing).
func join(path, name string) string {
	if path == "" || name == "" {
		return path + name
	}
	return path + "." + name
}

// jsonField is one field of a struct by its json name.
type jsonField struct {
	name  string
	index []int
}

// jsonFieldList lists t's fields (embedded structs' too) by their json
// names, in the order of the struct.
func jsonFieldList(t reflect.Type) []jsonField {
	var out []jsonField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name, f.Index})
	}
	return out
}

// jsonFields maps each json name of t's fields to the field's index.
func jsonFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for _, f := range jsonFieldList(t) {
		out[f.name] = f.index
	}
	return out
}

// knownNames lists t's json names for an unknown-field error.
func knownNames(t reflect.Type) string {
	var names []string
	for _, f := range jsonFieldList(t) {
		names = append(names, f.name)
	}
	return strings.Join(names, ", ")
}

package apply

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/sabe-dev/sabe/internal/text"
)

// FieldChange is one field that an update changes, as the plan shows it:
// Old and New are short renderings, never a secret's value (a key shows
// as "(changed)").
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// diff compares two views of one kind (structs whose json tags name the
// API's fields, empty values omitted) field by field, in the order of
// the struct, and returns the fields that differ with prefix before
// their names.
func diff(prefix string, old, new any) []FieldChange {
	o, n := canonical(old), canonical(new)
	var out []FieldChange
	for _, f := range jsonFieldList(reflect.TypeOf(new)) {
		ov, nv := o[f.name], n[f.name]
		if reflect.DeepEqual(ov, nv) {
			continue
		}
		out = append(out, FieldChange{Field: prefix + f.name, Old: render(ov), New: render(nv)})
	}
	return out
}

// canonical is v as its JSON object: numbers as float64, empty values
// gone (per the views' omitempty), so that two views compare by
// reflect.DeepEqual whatever Go types built them.
func canonical(v any) map[string]any {
	m, _ := canonicalAny(v).(map[string]any)
	return m
}

// same reports whether two values encode to the same JSON value.
func same(a, b any) bool {
	return reflect.DeepEqual(canonicalAny(a), canonicalAny(b))
}

// canonicalAny is v as the JSON value it encodes to.
func canonicalAny(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		// The views are plain data; failing here is a bug in this package.
		panic("apply: encode value: " + err.Error())
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic("apply: decode value: " + err.Error())
	}
	return out
}

// maxRender is how many characters of a value the plan shows.
const maxRender = 60

// render is a value as the plan shows it: strings as they are (one line),
// numbers as written, anything else as compact JSON, cut at maxRender.
func render(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return "(none)"
	case string:
		s = strconv.Quote(x)
		if !strings.ContainsAny(x, " \t\n\r\"\\:,") && x != "" {
			s = x
		}
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		s = string(b)
	}
	return text.ClipRunes(s, maxRender)
}

package importer

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// expectedForm is how promptfoo reads an __expected cell: an optional
// not-, a known assertion type, an optional (threshold), then :value.
var expectedForm = regexp.MustCompile(`^(not-)?(` + strings.Join(quoteAll(promptfooTypes), "|") + `)(?:\((\d+(?:\.\d+)?)\))?(?::([\s\S]*))?$`)

// quoteAll quotes each type for a regexp alternation, longest first so
// that contains-any is not read as contains.
func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = regexp.QuoteMeta(s)
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// promptfooCSV reads a promptfoo CSV test file: every column is a
// variable except promptfoo's special ones: __expected, __expected1 … (an
// assertion each, as type:value), __description, __metadata:name (and
// __metadata:name[] for a comma-separated list), __threshold, __prefix and
// __suffix; __metric and __providerOutput are read and ignored.
func (p *parser) promptfooCSV(body []byte) error {
	f, err := p.readCSV(body)
	if err != nil || f == nil {
		return err
	}
	for _, row := range f.rows {
		t := &promptfooTest{line: row.line, vars: map[string]string{}}
		bad := len(p.bad)
		for i, h := range f.header {
			v := row.fields[i]
			switch {
			case strings.HasPrefix(h, "__expected"):
				if strings.TrimSpace(v) != "" {
					t.asserts = append(t.asserts, assertionFromString(h, v))
				}
			case h == "__description":
				t.description = v
			case strings.HasPrefix(h, "__metadata:"):
				name := strings.TrimPrefix(h, "__metadata:")
				if strings.TrimSpace(v) == "" {
					continue
				}
				if t.metadata == nil {
					t.metadata = map[string]any{}
				}
				if list, ok := strings.CutSuffix(name, "[]"); ok {
					t.metadata[list] = splitComma(v)
				} else {
					t.metadata[name] = v
				}
			case h == "__threshold":
				if strings.TrimSpace(v) == "" {
					continue
				}
				th, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					p.fail(row.line, h, "must be a number")
					continue
				}
				t.threshold = &th
			case h == "__prefix":
				t.prefix = v
			case h == "__suffix":
				t.suffix = v
			case h == "__metric", h == "__providerOutput":
			default:
				t.vars[h] = v
			}
		}
		if len(p.bad) > bad {
			continue
		}
		p.promptfooQuestion(t)
	}
	return nil
}

// assertionFromString reads an __expected cell as promptfoo does: the
// legacy prefixes (javascript:, fn:, eval:, python:, grade:, file://), a
// known type with an optional threshold in parentheses and a value after
// a colon, and anything else as equals.
func assertionFromString(column, s string) promptfooAssert {
	a := promptfooAssert{field: column, cell: true}
	text := func(v string) *string { return &v }
	switch {
	case strings.HasPrefix(s, "javascript:"), strings.HasPrefix(s, "fn:"), strings.HasPrefix(s, "eval:"):
		a.typ = "javascript"
	case strings.HasPrefix(s, "python:"), strings.HasPrefix(s, "file://") && strings.Contains(s, ".py"):
		a.typ = "python"
	case strings.HasPrefix(s, "file://"):
		a.typ = "javascript"
	case strings.HasPrefix(s, "grade:"):
		a.typ, a.text = "llm-rubric", text(strings.TrimPrefix(s, "grade:"))
	case strings.HasPrefix(s, "llm-rubric:"):
		a.typ, a.text = "llm-rubric", text(strings.TrimPrefix(s, "llm-rubric:"))
	default:
		m := expectedForm.FindStringSubmatch(s)
		if m == nil {
			a.typ, a.text = "equals", text(s)
			break
		}
		a.typ, a.text = m[1]+m[2], text(m[4])
		if m[3] != "" {
			th, _ := strconv.ParseFloat(m[3], 64)
			a.threshold = &th
		}
		switch m[2] {
		case "contains-any", "contains-all", "icontains-any", "icontains-all":
			a.list = splitComma(m[4])
		}
	}
	return a
}

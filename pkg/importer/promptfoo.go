package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// yamlStart matches the first line of a YAML document as promptfoo files
// begin: a list item, or a mapping key followed by a colon and a space
// (a CSV header such as "__metadata:topic,question" has no space).
var yamlStart = regexp.MustCompile(`^(-(\s|$)|([A-Za-z_][A-Za-z0-9_-]*|"[^"]*"|'[^']*')\s*:(\s|$)|---|%)`)

// looksLikeYAML reports whether the first line that is neither blank nor
// a comment starts a YAML document rather than a CSV header.
func looksLikeYAML(body []byte) bool {
	for line := range bytes.Lines(body) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		return yamlStart.Match(line)
	}
	return false
}

// promptfooTest is one promptfoo test case, merged with the file's
// defaultTest, before it becomes a question.
type promptfooTest struct {
	line        int
	vars        map[string]string
	asserts     []promptfooAssert
	description string
	metadata    map[string]any
	threshold   *float64
	prefix      string
	suffix      string
}

// promptfooAssert is one assertion of a test, where it came from (its
// field path) and its parts.
type promptfooAssert struct {
	field     string
	typ       string
	value     *yaml.Node // nil when absent
	text      *string    // the value of a CSV assertion (always text)
	list      []string   // the values of a CSV contains-any and its kind
	threshold *float64
	weight    *float64
	// cell is set for an assertion of a CSV cell, which errors name by
	// its column alone.
	cell bool
	// unsupported names a field of the assertion SABE cannot apply
	// (transform, rubricPrompt), which makes the assertion unsupported.
	unsupported string
}

// The keys of a promptfoo test case. Those SABE has no use for (which
// provider answers, a canned output) are read and ignored: a SABE run
// asks the benchmark's models.
var (
	promptfooTestKeys   = []string{"description", "vars", "assert", "options", "threshold", "metadata", "provider", "providers", "prompts", "providerOutput", "assertScoringFunction"}
	promptfooAssertKeys = []string{"type", "value", "threshold", "weight", "metric", "provider", "transform", "rubricPrompt", "config"}
	promptfooOptionKeys = []string{"prefix", "suffix", "transform", "provider", "rubricPrompt", "disableVarExpansion", "disableConversationVar", "runSerially", "storeOutputAs"}
)

// promptfooYAML reads a promptfoo test file: a list of test cases, or a
// configuration (a mapping) whose `tests` lists them and whose
// `defaultTest` is merged into each.
func (p *parser) promptfooYAML(body []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		line, msg := yamlError(err)
		p.fail(line, "", "malformed YAML: %s", msg)
		return nil
	}
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = deref(root.Content[0])
	}
	var tests *yaml.Node
	def := &promptfooTest{}
	switch root.Kind {
	case yaml.SequenceNode:
		tests = root
	case yaml.MappingNode:
		for k, v := range pairs(root) {
			switch k.Value {
			case "tests":
				tests = v
			case "prompts":
				if err := p.filePrompt(v); err != nil {
					p.fail(v.Line, err.field, "%s", err.msg)
					return nil
				}
			case "defaultTest":
				if v.Kind != yaml.MappingNode {
					p.fail(v.Line, "defaultTest", "must be a mapping (a file:// reference is not imported)")
					return nil
				}
				def = p.promptfooTestNode(v, "defaultTest.", nil)
				if def == nil {
					return nil
				}
			}
		}
		if tests == nil {
			p.fail(root.Line, "tests", "is required: a promptfoo file is a list of tests, or a mapping whose tests lists them")
			return nil
		}
		if tests.Kind != yaml.SequenceNode {
			p.fail(tests.Line, "tests", "must be a list of test cases (a file:// or CSV reference is not imported: import that file)")
			return nil
		}
	default:
		p.fail(root.Line, "", "a promptfoo file is a list of tests, or a mapping whose tests lists them")
		return nil
	}
	for i, n := range tests.Content {
		n = deref(n)
		if err := p.item(); err != nil {
			return err
		}
		if n.Kind != yaml.MappingNode {
			p.fail(n.Line, fmt.Sprintf("tests[%d]", i), "must be a test case (a mapping with vars and assert); a file:// reference is not imported")
			continue
		}
		if t := p.promptfooTestNode(n, "", def); t != nil {
			p.promptfooQuestion(t)
		}
	}
	return nil
}

// filePrompt takes a configuration's prompts as the prompt template when
// the suite has none: one text prompt (a string, or a list of one) with
// {{var}} placeholders. Several prompts, file references and chat prompts
// are left to the suite's prompt_template.
func (p *parser) filePrompt(n *yaml.Node) *fieldErr {
	if p.o.PromptTemplate != "" {
		return nil
	}
	field := "prompts"
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) != 1 {
			return nil
		}
		n, field = deref(n.Content[0]), "prompts[0]"
	}
	if n.Kind != yaml.ScalarNode || strings.HasPrefix(n.Value, "file://") || strings.HasPrefix(strings.TrimSpace(n.Value), "[") {
		return nil
	}
	if err := CheckTemplate(n.Value); err != nil {
		return &fieldErr{field, err.Error()}
	}
	p.o.PromptTemplate = n.Value
	return nil
}

// promptfooTestNode reads a test case (or the defaultTest, field
// "defaultTest.") merged over def. Problems are reported on the test's
// line; it returns nil when there are any.
func (p *parser) promptfooTestNode(n *yaml.Node, field string, def *promptfooTest) *promptfooTest {
	t := &promptfooTest{line: n.Line, vars: map[string]string{}}
	if def != nil {
		maps.Copy(t.vars, def.vars)
		t.asserts = slices.Clone(def.asserts)
		t.metadata = maps.Clone(def.metadata)
		t.threshold, t.prefix, t.suffix = def.threshold, def.prefix, def.suffix
	}
	bad := len(p.bad)
	fail := func(f, format string, args ...any) { p.fail(t.line, field+f, format, args...) }
	for k, v := range pairs(n) {
		switch k.Value {
		case "vars":
			if v.Kind != yaml.MappingNode {
				fail("vars", "must be a mapping of variable names to values (a file:// reference is not imported)")
				continue
			}
			for name, val := range pairs(v) {
				s, err := varValue(val)
				if err != nil {
					fail("vars."+name.Value, "%s", err)
					continue
				}
				t.vars[name.Value] = s
			}
		case "assert":
			if v.Kind != yaml.SequenceNode {
				fail("assert", "must be a list of assertions")
				continue
			}
			for i, a := range v.Content {
				at := fmt.Sprintf("%sassert[%d]", field, i)
				pa, err := assertNode(deref(a), at)
				if err != nil {
					p.fail(t.line, err.field, "%s", err.msg)
					continue
				}
				t.asserts = append(t.asserts, pa)
			}
		case "description":
			t.description = v.Value
		case "metadata":
			var md map[string]any
			if v.Kind != yaml.MappingNode || v.Decode(&md) != nil {
				fail("metadata", "must be a mapping")
				continue
			}
			if t.metadata == nil {
				t.metadata = map[string]any{}
			}
			maps.Copy(t.metadata, jsonSafe(md).(map[string]any))
		case "threshold":
			th, err := number(v)
			if err != nil {
				fail("threshold", "%s", err)
				continue
			}
			t.threshold = &th
		case "options":
			if v.Kind != yaml.MappingNode {
				fail("options", "must be a mapping")
				continue
			}
			for ok, ov := range pairs(v) {
				switch ok.Value {
				case "prefix":
					t.prefix = ov.Value
				case "suffix":
					t.suffix = ov.Value
				case "transform":
					fail("options.transform", "transforms the output with code, which SABE cannot do: remove it, or score the raw output")
				default:
					if !slices.Contains(promptfooOptionKeys, ok.Value) {
						fail("options."+ok.Value, "unknown option (known: %s)", strings.Join(promptfooOptionKeys, ", "))
					}
				}
			}
		case "assertScoringFunction":
			fail("assertScoringFunction", "is code SABE cannot run: remove it (the assertions' weighted mean and threshold are used)")
		default:
			if !slices.Contains(promptfooTestKeys, k.Value) {
				fail(k.Value, "unknown field of a test case (known: %s)", strings.Join(promptfooTestKeys, ", "))
			}
		}
	}
	if len(p.bad) > bad {
		return nil
	}
	return t
}

// promptfooQuestion turns a test into a question: the prompt template
// rendered with the vars (without a template, the var named prompt is
// the prompt), the assertions into a scoring rule.
func (p *parser) promptfooQuestion(t *promptfooTest) {
	var q oapi.CreateQuestionRequest
	bad := len(p.bad)
	var prompt string
	if p.o.PromptTemplate == "" && t.vars["prompt"] != "" {
		prompt = t.vars["prompt"]
	} else {
		prompt = p.renderRow(t.line, "vars.", t.vars)
	}
	q.Prompt = t.prefix + prompt + t.suffix
	md := map[string]any{}
	maps.Copy(md, t.metadata)
	if t.description != "" {
		md["description"] = t.description
	}
	p.promptfooScoring(&q, t)
	if len(p.bad) > bad {
		return
	}
	setMetadata(&q, md)
	p.add(t.line, q)
}

// varValue renders a variable's value as text: scalars as written,
// mappings as JSON. A list (promptfoo runs a test per value) and a file
// reference are refused.
func varValue(n *yaml.Node) (string, error) {
	n = deref(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "", nil
		}
		if strings.HasPrefix(n.Value, "file://") {
			return "", fmt.Errorf("a file:// reference is not imported: put the text in the file")
		}
		return n.Value, nil
	case yaml.MappingNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return "", err
		}
		b, err := json.Marshal(jsonSafe(v))
		if err != nil {
			return "", err
		}
		return string(b), nil
	case yaml.SequenceNode:
		return "", fmt.Errorf("a list makes promptfoo run the test once per value; SABE imports one question per test: write one test per value")
	}
	return "", fmt.Errorf("must be a scalar or a mapping")
}

// number reads a YAML number.
func number(n *yaml.Node) (float64, error) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f, nil
		}
	}
	return 0, fmt.Errorf("must be a number")
}

// deref follows an alias.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// pairs iterates over a mapping's keys and values (aliases followed).
func pairs(n *yaml.Node) func(yield func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(deref(n.Content[i]), deref(n.Content[i+1])) {
				return
			}
		}
	}
}

// jsonSafe turns what yaml decodes (maps with any keys) into what JSON
// encodes.
func jsonSafe(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonSafe(e)
		}
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = jsonSafe(e)
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = jsonSafe(e)
		}
		return v
	}
	return v
}

// yamlLine reads the line number yaml.v3 puts in its error messages
// ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func yamlError(err error) (int, string) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, strings.TrimPrefix(msg, m[0])
	}
	return 1, strings.TrimPrefix(msg, "yaml: ")
}

package judge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sabe-dev/sabe/internal/text"
)

// MaxReasoningLength is the longest reasoning kept from a verdict, in
// bytes; a longer one is cut at a rune boundary.
const MaxReasoningLength = 4000

// MaxVerdictText is the longest judge reply Parse reads, in bytes. A
// verdict is a short object; a longer reply is refused rather than scanned.
const MaxVerdictText = 64 << 10

// Verdict is one judge's parsed answer.
type Verdict struct {
	// Label is "pass" or "fail", the score as an integer ("4"), or the
	// choice's name.
	Label string `json:"label"`
	// Score is in 0..1 (see the package comment).
	Score float64 `json:"score"`
	// Passed is the verdict for pass_fail, and Score ≥ DefaultThreshold
	// for the other kinds until Aggregate applies the rule's threshold.
	Passed    bool   `json:"passed"`
	Reasoning string `json:"reasoning"`
}

// ParseError is a judge reply that is not a valid verdict. Problem is a
// short description for the evaluation's error, without the reply itself.
type ParseError struct {
	Problem string
}

func (e *ParseError) Error() string { return "judge verdict: " + e.Problem }

func parseErr(format string, args ...any) error {
	return &ParseError{Problem: fmt.Sprintf(format, args...)}
}

// Parse reads a judge's reply (structured output or text) as a verdict of
// c's kind. Any problem is a *ParseError; there is no partial verdict.
func Parse(c Config, text string) (Verdict, error) {
	n := c.Normalized()
	if len(text) > MaxVerdictText {
		return Verdict{}, parseErr("reply is %d bytes, more than %d", len(text), MaxVerdictText)
	}
	obj, err := findObject(text)
	if err != nil {
		return Verdict{}, err
	}
	return checkVerdict(n.Verdict, obj)
}

// findObject returns the JSON object of a reply: the whole reply when it
// is one, else the last top-level object in it that decodes and has a
// "verdict" key, else the last that decodes.
func findObject(text string) (map[string]json.RawMessage, error) {
	text = strings.TrimPrefix(strings.TrimSpace(text), "\ufeff")
	if obj, ok := decodeObject(text); ok {
		return obj, nil
	}
	spans := objectSpans(text)
	if len(spans) == 0 {
		if strings.Contains(text, "{") {
			return nil, parseErr("the JSON object is not complete (truncated reply?)")
		}
		return nil, parseErr("no JSON object in the reply")
	}
	var last map[string]json.RawMessage
	for i := len(spans) - 1; i >= 0; i-- {
		obj, ok := decodeObject(text[spans[i][0]:spans[i][1]])
		if !ok {
			continue
		}
		if _, has := obj["verdict"]; has {
			return obj, nil
		}
		if last == nil {
			last = obj
		}
	}
	if last == nil {
		return nil, parseErr("no valid JSON object in the reply")
	}
	return last, nil
}

// decodeObject decodes s as one JSON object, after dropping trailing
// commas.
func decodeObject(s string) (map[string]json.RawMessage, bool) {
	if !strings.HasPrefix(s, "{") {
		return nil, false
	}
	var obj map[string]json.RawMessage
	d := json.NewDecoder(strings.NewReader(dropTrailingCommas(s)))
	if err := d.Decode(&obj); err != nil || obj == nil {
		return nil, false
	}
	if _, err := d.Token(); err == nil {
		return nil, false // more after the object
	}
	return obj, true
}

// objectSpans returns the [start, end) of every top-level {…} in text whose
// braces balance, reading JSON strings (with escapes) inside the braces
// only, since prose outside an object has unpaired quotes.
func objectSpans(text string) [][2]int {
	var spans [][2]int
	depth, start := 0, 0
	var str stringState
	for i := 0; i < len(text); i++ {
		ch := text[i]
		if str.consume(ch) {
			continue
		}
		switch ch {
		case '"':
			str.in = depth > 0
		case '{':
			if depth == 0 {
				start = i
			}
			depth++
		case '}':
			if depth > 0 {
				depth--
				if depth == 0 {
					spans = append(spans, [2]int{start, i + 1})
				}
			}
		}
	}
	return spans
}

// stringState follows a byte scan through JSON strings.
type stringState struct{ in, escaped bool }

// consume reports whether ch belongs to a string that was open before it
// (its closing quote included), updating the state.
func (st *stringState) consume(ch byte) bool {
	if !st.in {
		return false
	}
	switch {
	case st.escaped:
		st.escaped = false
	case ch == '\\':
		st.escaped = true
	case ch == '"':
		st.in = false
	}
	return true
}

// dropTrailingCommas removes each comma that, outside strings, is followed
// only by whitespace and then } or ].
func dropTrailingCommas(s string) string {
	if !strings.Contains(s, ",") {
		return s
	}
	var b strings.Builder
	var str stringState
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if str.consume(ch) {
			b.WriteByte(ch)
			continue
		}
		str.in = ch == '"'
		if ch == ',' {
			j := i + 1
			for j < len(s) && strings.IndexByte(" \t\r\n", s[j]) >= 0 {
				j++
			}
			if j < len(s) && (s[j] == '}' || s[j] == ']') {
				continue
			}
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// checkVerdict holds obj to the verdict schema of v exactly.
func checkVerdict(v VerdictSpec, obj map[string]json.RawMessage) (Verdict, error) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k != "reasoning" && k != "verdict" {
			return Verdict{}, parseErr("unexpected key %s", strconv.Quote(text.Clip(k, 40)))
		}
	}
	rawReason, ok := obj["reasoning"]
	if !ok {
		return Verdict{}, parseErr(`missing key "reasoning"`)
	}
	raw, ok := obj["verdict"]
	if !ok {
		return Verdict{}, parseErr(`missing key "verdict"`)
	}
	var reasoning string
	if !isString(rawReason) || json.Unmarshal(rawReason, &reasoning) != nil {
		return Verdict{}, parseErr(`"reasoning" is not a string`)
	}
	out := Verdict{Reasoning: text.Clip(reasoning, MaxReasoningLength)}
	switch v.Kind {
	case KindScore:
		var x float64
		if !isNumber(raw) || json.Unmarshal(raw, &x) != nil || x != math.Trunc(x) {
			return Verdict{}, parseErr(`"verdict" is not an integer`)
		}
		if x < float64(*v.Min) || x > float64(*v.Max) {
			return Verdict{}, parseErr(`"verdict" %s is outside %d to %d`, strconv.FormatFloat(x, 'g', 6, 64), *v.Min, *v.Max)
		}
		out.Label = strconv.Itoa(int(x))
		out.Score = (x - float64(*v.Min)) / float64(*v.Max-*v.Min)
		out.Passed = out.Score >= DefaultThreshold
	case KindChoice:
		label, err := stringVerdict(raw)
		if err != nil {
			return Verdict{}, err
		}
		i := slices.IndexFunc(v.Choices, func(c Choice) bool { return c.Name == label })
		if i < 0 {
			return Verdict{}, parseErr(`"verdict" %s is not one of the choices`, strconv.Quote(text.Clip(label, 40)))
		}
		out.Label, out.Score = label, v.Choices[i].Score
		out.Passed = out.Score >= DefaultThreshold
	default:
		label, err := stringVerdict(raw)
		if err != nil {
			return Verdict{}, err
		}
		switch label {
		case "pass":
			out.Label, out.Score, out.Passed = label, 1, true
		case "fail":
			out.Label = label
		default:
			return Verdict{}, parseErr(`"verdict" %s is not "pass" or "fail"`, strconv.Quote(text.Clip(label, 40)))
		}
	}
	return out, nil
}

func stringVerdict(raw json.RawMessage) (string, error) {
	var s string
	if !isString(raw) || json.Unmarshal(raw, &s) != nil {
		return "", parseErr(`"verdict" is not a string`)
	}
	return s, nil
}

func isString(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '"' }

func isNumber(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && (raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9'))
}

package mockllm

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
)

// This file holds how the mock judges: which verdict a judge model gives
// a judge prompt, and the malformed verdicts it can be told to give.

// Judge models. Each judges a prompt deterministically (see Judge); they
// differ in what they compare so that a panel of them disagrees in a way a
// test can compute by hand.
const (
	// JudgeModel passes an answer that contains the key anywhere, ignoring
	// case.
	JudgeModel = "mock-judge"
	// JudgeModel2 passes an answer that contains the key as a whole word
	// (not inside a longer run of letters and digits), ignoring case: it
	// fails "14" against the key "4", where JudgeModel passes it.
	JudgeModel2 = "mock-judge-2"
	// JudgeModel3 looks only at the answer's first line, ignoring case: it
	// fails an answer whose key is on a later line.
	JudgeModel3 = "mock-judge-3"
)

// VerdictKind is the kind of verdict a schema asks for.
type VerdictKind string

// Verdict kinds, as the judge's verdict schema defines them.
const (
	KindPassFail VerdictKind = "pass_fail"
	KindScore    VerdictKind = "score"
	KindChoice   VerdictKind = "choice"
)

// verdictSpec is what the verdict schema allows: pass/fail, an integer
// in [Min, Max], or one of Choices.
type verdictSpec struct {
	kind     VerdictKind
	min, max int64
	choices  []string
}

// Judgment is a judge model's verdict on a judge prompt.
type Judgment struct {
	// Pass is whether the judge found the key in the answer (or, without a
	// key, a non-empty answer).
	Pass bool
	// Kind is the verdict kind the schema asked for (pass_fail when there
	// was no schema).
	Kind VerdictKind
	// Verdict is the verdict value: "pass"/"fail", the scale's max/min, or
	// a choice name.
	Verdict any
	// Reasoning says what the judge compared.
	Reasoning string
}

// JSON is the verdict object the judge answers: {"reasoning": ...,
// "verdict": ...}.
func (j Judgment) JSON() string {
	b, _ := json.Marshal(struct {
		Reasoning string `json:"reasoning"`
		Verdict   any    `json:"verdict"`
	}{j.Reasoning, j.Verdict})
	return string(b)
}

// IsJudge reports whether model is one of the mock's judge models.
func IsJudge(model string) bool {
	return model == JudgeModel || model == JudgeModel2 || model == JudgeModel3
}

// Judge is the verdict judge model gives to prompt, a judge prompt whose
// parts are tagged <question>, <answer>, <reference>, <rubric> and, when
// the verdict schema is not sent as structured output, <schema>. schema is
// the structured-output schema of the request (JSON Schema, or Gemini's
// responseSchema); when empty, the prompt's <schema> block is used, and
// without either the verdict is pass/fail.
//
// The key is the <reference> text, else the first double-quoted string in
// the <rubric>. The answer passes iff it contains the key, ignoring case
// (JudgeModel2: as a whole word; JudgeModel3: on its first line); with no
// key it passes iff it is not empty. The verdict is "pass"/"fail", the
// scale's maximum/minimum, or for choices "C" when passing and "D" when
// failing if the schema offers them, else the first/last choice.
func Judge(model, prompt string, schema []byte) Judgment {
	if len(schema) == 0 {
		if s, ok := tagged(prompt, "schema"); ok {
			schema = []byte(s)
		}
	}
	spec := parseVerdictSpec(schema)
	answer, _ := tagged(prompt, "answer")
	answer = strings.TrimSpace(answer)
	if model == JudgeModel3 {
		answer, _, _ = strings.Cut(answer, "\n")
		answer = strings.TrimSpace(answer)
	}
	key, from := judgeKey(prompt)
	var pass bool
	var reasoning string
	switch {
	case key == "":
		pass = answer != ""
		reasoning = "No reference or quoted rubric key; the answer is " + map[bool]string{true: "not empty", false: "empty"}[pass] + "."
	case model == JudgeModel2:
		pass = containsWord(answer, key)
		reasoning = "The answer " + map[bool]string{true: "contains", false: "does not contain"}[pass] + " the " + from + " " + strconv.Quote(key) + " as a whole word."
	default:
		pass = strings.Contains(strings.ToLower(answer), strings.ToLower(key))
		where := "answer"
		if model == JudgeModel3 {
			where = "answer's first line"
		}
		reasoning = "The " + where + " " + map[bool]string{true: "contains", false: "does not contain"}[pass] + " the " + from + " " + strconv.Quote(key) + "."
	}
	j := Judgment{Pass: pass, Kind: spec.kind, Reasoning: reasoning}
	switch spec.kind {
	case KindScore:
		j.Verdict = spec.min
		if pass {
			j.Verdict = spec.max
		}
	case KindChoice:
		j.Verdict = spec.pick(pass)
	default:
		j.Verdict = "fail"
		if pass {
			j.Verdict = "pass"
		}
	}
	return j
}

func (s verdictSpec) pick(pass bool) string {
	want, idx := "D", len(s.choices)-1
	if pass {
		want, idx = "C", 0
	}
	for _, c := range s.choices {
		if c == want {
			return c
		}
	}
	return s.choices[idx]
}

// judgeKey is what the judge looks for in the answer, and where it came
// from.
func judgeKey(prompt string) (string, string) {
	if ref, ok := tagged(prompt, "reference"); ok && strings.TrimSpace(ref) != "" {
		return strings.TrimSpace(ref), "reference"
	}
	if rubric, ok := tagged(prompt, "rubric"); ok {
		if i := strings.IndexByte(rubric, '"'); i >= 0 {
			if j := strings.IndexByte(rubric[i+1:], '"'); j > 0 {
				return rubric[i+1 : i+1+j], "rubric key"
			}
		}
	}
	return "", ""
}

// tagged returns the text between the first </tag> and the last <tag>
// before it: a system prompt that names the tag ("the answer inside
// <answer>") does not open the part.
func tagged(s, tag string) (string, bool) {
	open, closing := "<"+tag+">", "</"+tag+">"
	j := strings.Index(s, closing)
	if j < 0 {
		return "", false
	}
	i := strings.LastIndex(s[:j], open)
	if i < 0 {
		return "", false
	}
	return s[i+len(open) : j], true
}

// containsWord reports whether key occurs in s, ignoring case, with no
// letter or digit right before or after it.
func containsWord(s, key string) bool {
	ls, lk := strings.ToLower(s), strings.ToLower(key)
	for from := 0; ; {
		i := strings.Index(ls[from:], lk)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(lk)
		if !wordByteBefore(ls, i) && !wordByteAt(ls, end) {
			return true
		}
		from = i + 1
	}
}

func wordByteBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r := rune(s[i-1])
	return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

func wordByteAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r := rune(s[i])
	return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// parseVerdictSpec reads the verdict property of a verdict schema, in JSON
// Schema or Gemini's responseSchema (types in capitals, enums as strings).
// An enum of exactly pass and fail is pass/fail, another enum a choice, an
// integer a score; anything unreadable is pass/fail.
func parseVerdictSpec(schema []byte) verdictSpec {
	spec := verdictSpec{kind: KindPassFail}
	var root struct {
		Properties map[string]struct {
			Type    any      `json:"type"`
			Enum    []any    `json:"enum"`
			Minimum *float64 `json:"minimum"`
			Maximum *float64 `json:"maximum"`
		} `json:"properties"`
	}
	if json.Unmarshal(schema, &root) != nil {
		return spec
	}
	v, ok := root.Properties["verdict"]
	if !ok {
		return spec
	}
	if len(v.Enum) > 0 {
		names := make([]string, 0, len(v.Enum))
		for _, e := range v.Enum {
			if s, ok := e.(string); ok {
				names = append(names, s)
			}
		}
		if len(names) == 2 && names[0] == "pass" && names[1] == "fail" || len(names) == 2 && names[0] == "fail" && names[1] == "pass" {
			return spec
		}
		if len(names) > 0 {
			return verdictSpec{kind: KindChoice, choices: names}
		}
	}
	if t, _ := v.Type.(string); strings.EqualFold(t, "integer") || strings.EqualFold(t, "number") {
		spec = verdictSpec{kind: KindScore, min: 0, max: 1}
		if v.Minimum != nil {
			spec.min = int64(*v.Minimum)
		}
		if v.Maximum != nil {
			spec.max = int64(*v.Maximum)
		}
	}
	return spec
}

// Malformed verdict kinds, for Config.JudgeMalformedKind.
const (
	// MalformedBrokenJSON is an object with a missing comma, which no
	// lenient parser repairs.
	MalformedBrokenJSON = "broken_json"
	// MalformedTruncated is the verdict object cut in half.
	MalformedTruncated = "truncated"
	// MalformedMissingKey is an object without the verdict key.
	MalformedMissingKey = "missing_key"
	// MalformedOutOfRange is a verdict the schema does not allow: the
	// scale's maximum + 1, or a label not in the enum.
	MalformedOutOfRange = "out_of_range"
)

// malformedKinds are the kinds a malformed verdict cycles through when
// Config.JudgeMalformedKind is empty.
var malformedKinds = []string{MalformedBrokenJSON, MalformedTruncated, MalformedMissingKey, MalformedOutOfRange}

// malformed is j's verdict spoiled in the given way.
func (j Judgment) malformed(kind string) string {
	switch kind {
	case MalformedBrokenJSON:
		r, _ := json.Marshal(j.Reasoning)
		v, _ := json.Marshal(j.Verdict)
		return `{"reasoning": ` + string(r) + ` "verdict": ` + string(v) + `}`
	case MalformedTruncated:
		s := j.JSON()
		return s[:len(s)/2]
	case MalformedMissingKey:
		b, _ := json.Marshal(struct {
			Reasoning string `json:"reasoning"`
		}{j.Reasoning})
		return string(b)
	default:
		bad := j
		switch v := j.Verdict.(type) {
		case int64:
			bad.Verdict = v + 1
			if !j.Pass {
				bad.Verdict = v - 1
			}
		default:
			bad.Verdict = "not-a-verdict"
		}
		return bad.JSON()
	}
}

package scoring_test

import (
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// checkResult holds for every verdict of every scorer.
func checkResult(t *testing.T, s *scoring.Scorer, r scoring.Result) {
	t.Helper()
	if r.Passed != (r.Score == 1) || (r.Score != 0 && r.Score != 1) {
		t.Errorf("%s: Passed %v with Score %v", s.Name(), r.Passed, r.Score)
	}
	if len(r.Detail) > scoring.MaxDetailLength || !utf8.ValidString(r.Detail) {
		t.Errorf("%s: bad detail %q", s.Name(), r.Detail)
	}
}

// checkFault holds for every rule Compile refuses: a 422 naming one of the
// fields a question body has, with a short, printable message.
func checkFault(t *testing.T, err error, fields ...string) {
	t.Helper()
	fe := fault.As(err)
	if fe == nil || fe.Kind != fault.KindInvalid {
		t.Fatalf("Compile error %v is not a fault.Invalid", err)
	}
	if !strings.Contains(strings.Join(fields, " "), fe.Field) || fe.Field == "" {
		t.Errorf("Compile error field %q, want one of %v", fe.Field, fields)
	}
	if !utf8.ValidString(fe.Message) || len(fe.Message) > 400 {
		t.Errorf("Compile error message %q", fe.Message)
	}
}

// FuzzCompile_Regex compiles arbitrary patterns: each either is refused as
// scoring.pattern or has a bounded program and grades exactly as RE2 matches
// (on the prefix it reads), case-sensitively unless case_sensitive is false;
// without case_sensitive it grades as with true.
func FuzzCompile_Regex(f *testing.F) {
	f.Fuzz(func(t *testing.T, pattern string, caseSensitive bool, response string) {
		s, err := scoring.Compile(scoring.Rule{Method: scoring.MethodRegex, Pattern: pattern, CaseSensitive: &caseSensitive}, scoring.QuestionRef{})
		if err != nil {
			checkFault(t, err, "scoring.pattern")
			return
		}
		if s.ProgramSize() > scoring.MaxProgramSize || int64(s.ScanLimit())*int64(s.ProgramSize()) > scoring.MaxRegexWork {
			t.Fatalf("pattern %q: %d instructions reading %d bytes", pattern, s.ProgramSize(), s.ScanLimit())
		}
		r := s.Score(response)
		checkResult(t, s, r)
		if len(response) > s.ScanLimit() {
			// Graded on a prefix; TestScorer_RegexScanBound covers it.
			return
		}
		expr := pattern
		if !caseSensitive {
			expr = "(?i)" + pattern
		}
		if want := regexp.MustCompile(expr).MatchString(response); r.Passed != want {
			t.Errorf("pattern %q on %q: Passed %v, RE2 matches %v", expr, response, r.Passed, want)
		}
		if !caseSensitive {
			return
		}
		d, err := scoring.Compile(scoring.Rule{Method: scoring.MethodRegex, Pattern: pattern}, scoring.QuestionRef{})
		if err != nil {
			t.Fatalf("pattern %q: compiles with case_sensitive true, not without it: %v", pattern, err)
		}
		if got := d.Score(response); !reflect.DeepEqual(got, r) {
			t.Errorf("pattern %q on %q: default %+v, case_sensitive true %+v", pattern, response, got, r)
		}
	})
}

// FuzzCompile_Numeric parses arbitrary expected answers and tolerances:
// each is refused with the field at fault, or the answer itself, alone or
// at the end of a sentence, is graded correct.
func FuzzCompile_Numeric(f *testing.F) {
	f.Fuzz(func(t *testing.T, expected string, tolerance float64, response string) {
		rule := scoring.Rule{Method: scoring.MethodNumeric}
		if tolerance != 0 {
			rule.Tolerance = &tolerance
		}
		s, err := scoring.Compile(rule, scoring.QuestionRef{Expected: expected})
		if err != nil {
			checkFault(t, err, "expected_answer", "scoring.tolerance")
			return
		}
		if math.IsNaN(tolerance) || math.IsInf(tolerance, 0) || tolerance < 0 {
			t.Fatalf("tolerance %v accepted", tolerance)
		}
		checkResult(t, s, s.Score(response))
		for _, own := range []string{expected, "The answer is " + strings.TrimSpace(expected) + "."} {
			r := s.Score(own)
			checkResult(t, s, r)
			if !r.Passed {
				t.Errorf("expected answer %q graded wrong in %q: %s", expected, own, r.Detail)
			}
		}
	})
}

// newScorers are rules of the new methods and options the fuzz tests
// grade every response with.
var newScorers = []struct {
	rule scoring.Rule
	q    scoring.QuestionRef
}{
	{scoring.Rule{Method: scoring.MethodStartsWith}, scoring.QuestionRef{Expected: "ΣΟΦ"}},
	{scoring.Rule{Method: scoring.MethodContainsAny, Values: []string{"yes", "ΣΟΦΊΑ"}}, scoring.QuestionRef{}},
	{scoring.Rule{Method: scoring.MethodContainsAll, Values: []string{"a", "b"}, CaseSensitive: new(true)}, scoring.QuestionRef{}},
	{scoring.Rule{Method: scoring.MethodJSONValid}, scoring.QuestionRef{}},
	{scoring.Rule{Method: scoring.MethodJSONSchema, Schema: json.RawMessage(`{"type":"object","required":["a"],"properties":{"a":{"type":"integer","maximum":9}}}`)}, scoring.QuestionRef{}},
	{scoring.Rule{Method: scoring.MethodSimilarity}, scoring.QuestionRef{Expected: "the answer is 42"}},
	{scoring.Rule{Method: scoring.MethodMultipleChoice}, scoring.QuestionRef{Expected: "B", Choices: []string{"x", "y", "z"}}},
	{scoring.Rule{Method: scoring.MethodNumeric, Extract: `Answer: (.*)`, Negate: true}, scoring.QuestionRef{Expected: "42"}},
	{scoring.Rule{Assertions: []scoring.Assertion{
		{Rule: scoring.Rule{Method: scoring.MethodJSONValid}, Weight: new(2.0)},
		{Rule: scoring.Rule{Method: scoring.MethodSimilarity, Threshold: new(0.3)}},
		{Rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `\d`, Negate: true}},
	}, Threshold: new(0.5)}, scoring.QuestionRef{Expected: "{}"}},
}

// checkGraded holds for every verdict of every scorer, graded or not.
func checkGraded(t *testing.T, s *scoring.Scorer, r scoring.Result) {
	t.Helper()
	if r.Unscored || r.Reason != "" {
		t.Errorf("%s: deterministic result unscored: %+v", s.Name(), r)
	}
	if !(r.Score >= 0 && r.Score <= 1) {
		t.Errorf("%s: Score %v outside 0..1", s.Name(), r.Score)
	}
	if len(r.Detail) > scoring.MaxDetailLength || !utf8.ValidString(r.Detail) || r.Detail == "" {
		t.Errorf("%s: bad detail %q", s.Name(), r.Detail)
	}
	for _, a := range r.Assertions {
		if a.Passed != (a.Score == 1) && a.Method != string(scoring.MethodSimilarity) {
			t.Errorf("%s: assertion %+v", s.Name(), a)
		}
	}
}

// FuzzScorer_ScoreNew grades arbitrary responses with the new methods:
// scores stay in 0..1 with bounded details, json_valid agrees with
// encoding/json, negate is the opposite verdict, and multiple_choice reads
// "Answer: X" as X.
func FuzzScorer_ScoreNew(f *testing.F) {
	for _, s := range []string{"", "ΣΟΦΊΑ yes", `{"a": 3}`, "```json\n{\"a\": 10}\n```", "Answer: B", "(A) or (B)", "Answer: 42", "\xff{", "the answer is 41"} {
		f.Add(s)
	}
	scorers := make([]*scoring.Scorer, len(newScorers))
	negated := make([]*scoring.Scorer, len(newScorers))
	for i, c := range newScorers {
		var err error
		if scorers[i], err = scoring.Compile(c.rule, c.q); err != nil {
			f.Fatalf("Compile(%+v): %v", c.rule, err)
		}
		if len(c.rule.Assertions) > 0 {
			continue
		}
		n := c.rule
		n.Negate = !n.Negate
		if negated[i], err = scoring.Compile(n, c.q); err != nil {
			f.Fatalf("Compile(%+v): %v", n, err)
		}
	}
	mc := scorers[6]
	f.Fuzz(func(t *testing.T, response string) {
		for i, s := range scorers {
			r := s.Score(response)
			checkGraded(t, s, r)
			if negated[i] == nil {
				continue
			}
			n := negated[i].Score(response)
			checkGraded(t, negated[i], n)
			if strings.Contains(r.Detail, "found nothing") {
				if r.Passed || n.Passed {
					t.Errorf("%s: extract found nothing in %q yet passed", s.Name(), response)
				}
				continue
			}
			if n.Passed == r.Passed || math.Abs(n.Score-(1-r.Score)) > 1e-12 {
				t.Errorf("%s on %q: %+v, negated %+v", s.Name(), response, r, n)
			}
		}
		if text := strings.TrimSpace(response); !strings.HasPrefix(text, "```") && text != "" {
			if got := scorers[3].Score(response).Passed; got != json.Valid([]byte(text)) {
				t.Errorf("json_valid(%q) = %v, encoding/json says %v", response, got, !got)
			}
		}
		for _, l := range "ABC" {
			r := mc.Score(response + "\n\nAnswer: " + string(l))
			if want := l == 'B'; r.Passed != want && !strings.Contains(response, "nswer") {
				t.Errorf("multiple_choice(%q + Answer: %c) = %+v", response, l, r)
			}
		}
	})
}

// FuzzCompile_Rule compiles arbitrary JSON rules with arbitrary expected
// answers and choices: each is refused with a fault naming a field of the
// question body, or grades a response within the invariants.
func FuzzCompile_Rule(f *testing.F) {
	for _, s := range []string{
		`{"method":"contains_any","values":["a","b"]}`,
		`{"method":"similarity","threshold":0.5}`,
		`{"method":"json_schema","schema":{"type":"array","items":{"$ref":"#/$defs/x"},"$defs":{"x":{"type":"string"}}}}`,
		`{"method":"json_schema","schema":{"$ref":"file:///etc/passwd"}}`,
		`{"method":"multiple_choice"}`,
		`{"assertions":[{"method":"contains","weight":2},{"method":"regex","pattern":"(a","weight":1}]}`,
		`{"assertions":[{"method":"llm_judge","rubric":"x"}],"threshold":0.5}`,
		`{"method":"llm_judge","template":"custom","prompt":"{answer} {nope}"}`,
		`{"method":"exact_match","extract":"Answer: (.*)","negate":true}`,
	} {
		f.Add(s, "A", "x\ny", "Answer: A")
	}
	f.Fuzz(func(t *testing.T, ruleJSON, expected, choices, response string) {
		var r scoring.Rule
		if json.Unmarshal([]byte(ruleJSON), &r) != nil {
			return
		}
		q := scoring.QuestionRef{Expected: expected}
		if choices != "" {
			q.Choices = strings.Split(choices, "\n")
		}
		s, err := scoring.Compile(r, q)
		if err != nil {
			fe := fault.As(err)
			if fe == nil || fe.Kind != fault.KindInvalid || fe.Message == "" ||
				!(strings.HasPrefix(fe.Field, "scoring") || fe.Field == "expected_answer" || strings.HasPrefix(fe.Field, "choices")) {
				t.Fatalf("Compile(%s) error %v", ruleJSON, err)
			}
			if !utf8.ValidString(fe.Message) || len(fe.Message) > 400 || strings.Contains(fe.Message, "sabe.invalid") {
				t.Errorf("Compile(%s) message %q", ruleJSON, fe.Message)
			}
			return
		}
		if s.NeedsJudge() {
			if res := s.Score(response); !res.Unscored {
				t.Errorf("judged rule %s scored without a judge: %+v", ruleJSON, res)
			}
			return
		}
		checkGraded(t, s, s.Score(response))
	})
}

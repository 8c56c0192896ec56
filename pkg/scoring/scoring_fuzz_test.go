package scoring_test

import (
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

package scoring_test

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// scoreCase is one response graded by one rule.
type scoreCase struct {
	name     string
	rule     scoring.Rule
	expected string
	response string
	pass     bool
	// detail, when set, must equal Result.Detail.
	detail string
}

func runScoreCases(t *testing.T, cases []scoreCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := scoring.Compile(tc.rule, scoring.QuestionRef{Expected: tc.expected})
			if err != nil {
				t.Fatalf("Compile(%+v, %q): %v", tc.rule, tc.expected, err)
			}
			got := s.Score(tc.response)
			if got.Passed != tc.pass {
				t.Errorf("Score(%q).Passed = %v, want %v (detail %q)", tc.response, got.Passed, tc.pass, got.Detail)
			}
			wantScore := 0.0
			if tc.pass {
				wantScore = 1
			}
			if got.Score != wantScore {
				t.Errorf("Score(%q).Score = %v, want %v", tc.response, got.Score, wantScore)
			}
			if tc.detail != "" && got.Detail != tc.detail {
				t.Errorf("Score(%q).Detail = %q, want %q", tc.response, got.Detail, tc.detail)
			}
			if got.Detail == "" {
				t.Errorf("Score(%q).Detail is empty", tc.response)
			}
		})
	}
}

func TestScorer_ExactMatch(t *testing.T) {
	t.Parallel()
	exact := scoring.Rule{Method: scoring.MethodExactMatch}
	sensitive := scoring.Rule{Method: scoring.MethodExactMatch, CaseSensitive: new(true)}
	runScoreCases(t, []scoreCase{
		{name: "OK", rule: exact, expected: "Paris", response: "Paris", pass: true, detail: `matched "Paris"`},
		{name: "OKTrimsBothSides", rule: exact, expected: "  Paris\n", response: "\t Paris \r\n", pass: true},
		{name: "OKIgnoresCase", rule: exact, expected: "Paris", response: "PARIS", pass: true},
		{name: "OKUnicodeFold", rule: exact, expected: "ΣΊΣΥΦΟΣ", response: "σίσυφος", pass: true},
		{name: "OKFinalSigma", rule: exact, expected: "ς", response: "Σ", pass: true},
		{name: "OKKelvinSign", rule: exact, expected: "k", response: "\u212a", pass: true},
		{name: "OKCaseSensitive", rule: sensitive, expected: "Paris", response: " Paris ", pass: true},
		{name: "ErrCaseSensitive", rule: sensitive, expected: "Paris", response: "paris", pass: false, detail: `expected "Paris", got "paris"`},
		{name: "ErrExtraText", rule: exact, expected: "Paris", response: "Paris, France", pass: false, detail: `expected "Paris", got "Paris, France"`},
		{name: "ErrInnerWhitespace", rule: exact, expected: "New York", response: "New  York", pass: false},
		{name: "ErrEmptyResponse", rule: exact, expected: "Paris", response: "", pass: false, detail: `expected "Paris", got ""`},
		{name: "ErrNoFullFolding", rule: exact, expected: "STRASSE", response: "straße", pass: false},
	})
}

func TestScorer_Contains(t *testing.T) {
	t.Parallel()
	contains := scoring.Rule{Method: scoring.MethodContains}
	sensitive := scoring.Rule{Method: scoring.MethodContains, CaseSensitive: new(true)}
	runScoreCases(t, []scoreCase{
		{name: "OK", rule: contains, expected: "Paris", response: "The capital is Paris.", pass: true, detail: `found "Paris"`},
		{name: "OKIgnoresCase", rule: contains, expected: "paris", response: "THE CAPITAL IS PARIS", pass: true},
		{name: "OKTrimsExpected", rule: contains, expected: " Paris\n", response: "Paris,France", pass: true},
		{name: "OKWholeResponse", rule: contains, expected: "Paris", response: "Paris", pass: true},
		{name: "OKUnicodeFold", rule: contains, expected: "ΣΟΦΊΑ", response: "η σοφία είναι", pass: true},
		{name: "OKFinalSigma", rule: contains, expected: "ΛΟΓΟΣ", response: "ο λογος!", pass: true},
		{name: "OKKelvinSign", rule: contains, expected: "kelvin", response: "\u212aELVIN scale", pass: true},
		{name: "OKLongS", rule: contains, expected: "ss", response: "Paſs", pass: true},
		{name: "OKCaseSensitive", rule: sensitive, expected: "Paris", response: "in Paris", pass: true},
		{name: "ErrCaseSensitive", rule: sensitive, expected: "Paris", response: "in PARIS", pass: false, detail: `"Paris" not found in response`},
		{name: "ErrMissing", rule: contains, expected: "Paris", response: "London", pass: false},
		{name: "ErrEmptyResponse", rule: contains, expected: "Paris", response: "", pass: false},
		{name: "ErrAccentsAreNotCase", rule: contains, expected: "ΛΟΓΟΣ", response: "λόγος", pass: false},
		{name: "ErrNoFullFolding", rule: contains, expected: "ss", response: "Straße", pass: false},
	})
}

func TestScorer_Regex(t *testing.T) {
	t.Parallel()
	rx := func(p string) scoring.Rule { return scoring.Rule{Method: scoring.MethodRegex, Pattern: p} }
	insensitive := func(p string) scoring.Rule {
		return scoring.Rule{Method: scoring.MethodRegex, Pattern: p, CaseSensitive: new(false)}
	}
	sensitive := func(p string) scoring.Rule {
		return scoring.Rule{Method: scoring.MethodRegex, Pattern: p, CaseSensitive: new(true)}
	}
	runScoreCases(t, []scoreCase{
		{name: "OK", rule: insensitive(`\bparis\b`), response: "It is Paris.", pass: true, detail: `matched "Paris"`},
		{name: "OKUnanchored", rule: rx(`4[0-9]`), response: "x = 42!", pass: true, detail: `matched "42"`},
		{name: "OKExpectedIgnored", rule: rx(`yes`), expected: "no", response: "yes", pass: true},
		{name: "OKAlternationAllInsensitive", rule: insensitive(`foo|bar`), response: "BAR", pass: true},
		{name: "OKAnchorsOnRawResponse", rule: sensitive(`^ answer$`), response: " answer", pass: true},
		{name: "OKMultiline", rule: insensitive(`(?m)^final: 7$`), response: "work\nFinal: 7\nmore", pass: true},
		{name: "OKUnicode", rule: rx(`^日本`), response: "日本語", pass: true},
		{name: "OKEmptyMatch", rule: rx(`x*`), response: "abc", pass: true, detail: `matched ""`},
		{name: "OKCaseInsensitiveOption", rule: insensitive(`THE ANSWER IS`), response: "The answer is 51.", pass: true},
		{name: "OKInlineFoldFlag", rule: rx(`(?i)THE ANSWER IS`), response: "The answer is 51.", pass: true},
		{name: "ErrCaseSensitiveByDefault", rule: rx(`THE ANSWER IS`), response: "The answer is 51.", pass: false, detail: `no match for pattern "THE ANSWER IS"`},
		{name: "ErrCaseSensitive", rule: sensitive(`Paris`), response: "PARIS", pass: false, detail: `no match for pattern "Paris"`},
		{name: "ErrNoTrimForAnchors", rule: rx(`^answer$`), response: "answer\n", pass: false},
		{name: "ErrNoMatch", rule: rx(`\d{3}`), response: "12 and 34", pass: false},
	})
}

// TestRule_ValidatePatternQuotesUserPattern: a syntax error quotes the
// pattern as the user wrote it, never the flag group the scorer adds.
func TestRule_ValidatePatternQuotesUserPattern(t *testing.T) {
	t.Parallel()
	for _, cs := range []*bool{nil, new(false), new(true)} {
		err := scoring.Rule{Method: scoring.MethodRegex, Pattern: `(a`, CaseSensitive: cs}.Validate(scoring.QuestionRef{})
		f := fault.As(err)
		if f == nil || f.Field != "scoring.pattern" {
			t.Fatalf("Validate = %v, want a fault on scoring.pattern", err)
		}
		if !strings.HasSuffix(f.Message, `missing closing ): "(a"`) || strings.Contains(f.Message, "(?") {
			t.Errorf("case_sensitive %v: Message = %q, want it to quote the pattern \"(a\" alone", cs, f.Message)
		}
	}
}

func TestScorer_Numeric(t *testing.T) {
	t.Parallel()
	num := scoring.Rule{Method: scoring.MethodNumeric}
	tol := func(v float64) scoring.Rule { return scoring.Rule{Method: scoring.MethodNumeric, Tolerance: new(v)} }
	runScoreCases(t, []scoreCase{
		{name: "OK", rule: num, expected: "42", response: "42", pass: true, detail: "expected 42 (±0), got 42"},
		{name: "OKSentence", rule: num, expected: "42", response: "The answer is 42.", pass: true},
		{name: "OKLastNumberWins", rule: num, expected: "12", response: "3 times 4 is 12", pass: true},
		{name: "OKDecimal", rule: num, expected: "3.14", response: "pi ≈ 3.14", pass: true},
		{name: "OKTrailingZeros", rule: num, expected: "42", response: "42.000", pass: true},
		{name: "OKThousands", rule: num, expected: "1000", response: "about 1,000 people", pass: true, detail: "expected 1000 (±0), got 1000"},
		{name: "OKThousandsExpected", rule: num, expected: "1,234,567", response: "1234567", pass: true},
		{name: "OKExponent", rule: num, expected: "1000", response: "1e3", pass: true},
		{name: "OKNegative", rule: num, expected: "-7", response: "x = -7", pass: true},
		{name: "OKUnicodeMinus", rule: num, expected: "-7", response: "x = \u22127", pass: true},
		{name: "OKExpectedWhitespace", rule: num, expected: " 5\n", response: "5", pass: true},
		{name: "OKToleranceInside", rule: tol(0.5), expected: "10", response: "10.4", pass: true, detail: "expected 10 (±0.5), got 10.4"},
		{name: "OKToleranceBoundary", rule: tol(0.5), expected: "10", response: "9.5", pass: true},
		{name: "OKToleranceDecimalRounding", rule: tol(0.1), expected: "0.3", response: "0.4", pass: true},
		{name: "OKIgnoresCaseSensitive", rule: scoring.Rule{Method: scoring.MethodNumeric, CaseSensitive: new(true)}, expected: "2", response: "2", pass: true},
		{name: "ErrWrongNumber", rule: num, expected: "42", response: "41", pass: false, detail: "expected 42 (±0), got 41"},
		{name: "ErrNoNumber", rule: num, expected: "42", response: "forty-two", pass: false, detail: "no number in response, expected 42 (±0)"},
		{name: "ErrEmptyResponse", rule: num, expected: "42", response: "", pass: false},
		{name: "ErrEarlierNumberRight", rule: num, expected: "42", response: "42? no, 43", pass: false},
		{name: "ErrToleranceOutside", rule: tol(0.5), expected: "10", response: "10.51", pass: false},
		{name: "ErrToleranceDecimalRounding", rule: tol(0.1), expected: "0.3", response: "0.4000001", pass: false},
		{name: "ErrSubtractionIsNotSign", rule: num, expected: "-3", response: "5-3", pass: false, detail: "expected -3 (±0), got 3"},
		{name: "ErrHyphenIsNotSign", rule: num, expected: "-4", response: "GPT-4", pass: false},
		{name: "ErrOverflow", rule: tol(1e308), expected: "0", response: "1e999", pass: false, detail: "expected 0 (±1e+308), got +Inf"},
	})
}

func TestScorer_Name(t *testing.T) {
	t.Parallel()
	for _, m := range []scoring.Method{scoring.MethodExactMatch, scoring.MethodContains, scoring.MethodRegex, scoring.MethodNumeric} {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			r := scoring.Rule{Method: m}
			expected := "1"
			if m == scoring.MethodRegex {
				r.Pattern = "1"
			}
			s, err := scoring.Compile(r, scoring.QuestionRef{Expected: expected})
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if s.Name() != string(m) {
				t.Errorf("Name() = %q, want %q", s.Name(), m)
			}
		})
	}
}

func TestScorer_DetailBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é\x00\u2028", 500) // multi-byte runes and characters Quote escapes
	cases := []struct {
		name     string
		rule     scoring.Rule
		expected string
	}{
		{name: "ExactMatch", rule: scoring.Rule{Method: scoring.MethodExactMatch}, expected: long},
		{name: "Contains", rule: scoring.Rule{Method: scoring.MethodContains}, expected: long},
		{name: "RegexMatch", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `é.*`}},
		{name: "RegexNoMatch", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: strings.Repeat("ü", scoring.MaxPatternLength/2)}},
		{name: "Numeric", rule: scoring.Rule{Method: scoring.MethodNumeric, Tolerance: new(1.0 / 3)}, expected: "-0.1234567890123456789"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := scoring.Compile(tc.rule, scoring.QuestionRef{Expected: tc.expected})
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			for _, resp := range []string{long, long + " 1e-300", "\xff\xfe" + long} {
				d := s.Score(resp).Detail
				if len(d) > scoring.MaxDetailLength {
					t.Errorf("len(Detail) = %d, want <= %d: %q", len(d), scoring.MaxDetailLength, d)
				}
				if !utf8.ValidString(d) {
					t.Errorf("Detail is not valid UTF-8: %q", d)
				}
			}
		})
	}
}

func TestRule_Validate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		rule     scoring.Rule
		expected string
		// field is the fault field wanted; "" means valid.
		field string
	}{
		{name: "OKExactMatch", rule: scoring.Rule{Method: scoring.MethodExactMatch}, expected: "Paris"},
		{name: "OKContainsCaseSensitive", rule: scoring.Rule{Method: scoring.MethodContains, CaseSensitive: new(true)}, expected: "x"},
		{name: "OKRegexEmptyExpected", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `^\d+$`}},
		{name: "OKRegexMaxLength", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: strings.Repeat("a", scoring.MaxPatternLength)}},
		{name: "OKNumeric", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "-1,234.5e-2"},
		{name: "OKNumericLeadingDot", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "+.5"},
		{name: "OKNumericZeroTolerance", rule: scoring.Rule{Method: scoring.MethodNumeric, Tolerance: new(0.0)}, expected: "1"},
		{name: "OKNumericCaseSensitiveIgnored", rule: scoring.Rule{Method: scoring.MethodNumeric, CaseSensitive: new(true)}, expected: "1"},
		{name: "ErrMethodMissing", rule: scoring.Rule{}, expected: "x", field: "scoring.method"},
		{name: "ErrMethodUnknown", rule: scoring.Rule{Method: "fuzzy"}, expected: "x", field: "scoring.method"},
		{name: "ErrMethodWrongCase", rule: scoring.Rule{Method: "Exact_Match"}, expected: "x", field: "scoring.method"},
		{name: "ErrPatternMissing", rule: scoring.Rule{Method: scoring.MethodRegex}, field: "scoring.pattern"},
		{name: "ErrPatternInvalid", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `(a`}, field: "scoring.pattern"},
		{name: "ErrPatternNotRE2", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `(?=a)b`}, field: "scoring.pattern"},
		{name: "ErrPatternTooLong", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: strings.Repeat("a", scoring.MaxPatternLength+1)}, field: "scoring.pattern"},
		{name: "ErrPatternWithExactMatch", rule: scoring.Rule{Method: scoring.MethodExactMatch, Pattern: "x"}, expected: "x", field: "scoring.pattern"},
		{name: "ErrPatternWithNumeric", rule: scoring.Rule{Method: scoring.MethodNumeric, Pattern: `\d`}, expected: "1", field: "scoring.pattern"},
		{name: "ErrToleranceWithContains", rule: scoring.Rule{Method: scoring.MethodContains, Tolerance: new(1.0)}, expected: "x", field: "scoring.tolerance"},
		{name: "ErrToleranceNegative", rule: scoring.Rule{Method: scoring.MethodNumeric, Tolerance: new(-0.1)}, expected: "1", field: "scoring.tolerance"},
		{name: "ErrToleranceNaN", rule: scoring.Rule{Method: scoring.MethodNumeric, Tolerance: new(math.NaN())}, expected: "1", field: "scoring.tolerance"},
		{name: "ErrToleranceInf", rule: scoring.Rule{Method: scoring.MethodNumeric, Tolerance: new(math.Inf(1))}, expected: "1", field: "scoring.tolerance"},
		{name: "ErrExactMatchEmpty", rule: scoring.Rule{Method: scoring.MethodExactMatch}, expected: "", field: "expected_answer"},
		{name: "ErrContainsBlank", rule: scoring.Rule{Method: scoring.MethodContains}, expected: " \t\n", field: "expected_answer"},
		{name: "ErrNumericEmpty", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "", field: "expected_answer"},
		{name: "ErrNumericWord", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "forty-two", field: "expected_answer"},
		{name: "ErrNumericTrailingText", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "42 apples", field: "expected_answer"},
		{name: "ErrNumericTrailingDot", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "42.", field: "expected_answer"},
		{name: "ErrNumericDecimalComma", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "3,14", field: "expected_answer"},
		{name: "ErrNumericBadGrouping", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "1234,567", field: "expected_answer"},
		{name: "ErrNumericSignOnly", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "-", field: "expected_answer"},
		{name: "ErrNumericInf", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "Inf", field: "expected_answer"},
		{name: "ErrNumericOverflow", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "1e400", field: "expected_answer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.rule.Validate(scoring.QuestionRef{Expected: tc.expected})
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := scoring.Compile(tc.rule, scoring.QuestionRef{Expected: tc.expected}); err != nil {
					t.Fatalf("Compile: %v", err)
				}
				return
			}
			f := fault.As(err)
			if f == nil {
				t.Fatalf("Validate = %v, want a fault.Error on %q", err, tc.field)
			}
			if f.Kind != fault.KindInvalid || f.Field != tc.field {
				t.Errorf("Validate = kind %v field %q, want kind %v field %q (%v)", f.Kind, f.Field, fault.KindInvalid, tc.field, err)
			}
			if f.Message == "" {
				t.Error("Validate error has no message")
			}
			if s, cerr := scoring.Compile(tc.rule, scoring.QuestionRef{Expected: tc.expected}); cerr == nil || s != nil {
				t.Errorf("Compile = %v, %v; want nil and an error", s, cerr)
			}
		})
	}
}

func TestRule_ValidatePatternMessage(t *testing.T) {
	t.Parallel()
	err := scoring.Rule{Method: scoring.MethodRegex, Pattern: "(" + strings.Repeat("a", 900)}.Validate(scoring.QuestionRef{})
	f := fault.As(err)
	if f == nil {
		t.Fatalf("Validate = %v, want a fault.Error", err)
	}
	if !strings.Contains(f.Message, "missing closing )") {
		t.Errorf("Message = %q, want the RE2 error code", f.Message)
	}
	if len(f.Message) > 200 {
		t.Errorf("len(Message) = %d, want the pattern clipped", len(f.Message))
	}
}

func TestMethod_Valid(t *testing.T) {
	t.Parallel()
	for _, m := range []scoring.Method{"exact_match", "contains", "regex", "numeric", "starts_with", "contains_any",
		"contains_all", "json_valid", "json_schema", "similarity", "multiple_choice", "llm_judge"} {
		if !m.Valid() {
			t.Errorf("Method(%q).Valid() = false", m)
		}
	}
	for _, m := range []scoring.Method{"", "EXACT_MATCH", "assertions", "human", "fuzzy"} {
		if m.Valid() {
			t.Errorf("Method(%q).Valid() = true", m)
		}
	}
}

func FuzzScorer_Score(f *testing.F) {
	for _, s := range []string{"", "42", "The answer is -1,234.5e-3.", "x = \u22127", "1,0000", "5-3", ".5.", "\xff1e", "GPT-4 says 1e999"} {
		f.Add(s)
	}
	scorers := make([]*scoring.Scorer, 0, 4)
	for _, c := range []struct {
		rule     scoring.Rule
		expected string
	}{
		{scoring.Rule{Method: scoring.MethodExactMatch}, "42"},
		{scoring.Rule{Method: scoring.MethodContains}, "ΣΟΦΊΑ"},
		{scoring.Rule{Method: scoring.MethodRegex, Pattern: `\d+`}, ""},
		{scoring.Rule{Method: scoring.MethodNumeric, Tolerance: new(0.5)}, "42"},
	} {
		s, err := scoring.Compile(c.rule, scoring.QuestionRef{Expected: c.expected})
		if err != nil {
			f.Fatalf("Compile: %v", err)
		}
		scorers = append(scorers, s)
	}
	f.Fuzz(func(t *testing.T, response string) {
		for _, s := range scorers {
			r := s.Score(response)
			if r.Passed != (r.Score == 1) || (r.Score != 0 && r.Score != 1) {
				t.Errorf("%s: Passed %v with Score %v", s.Name(), r.Passed, r.Score)
			}
			if len(r.Detail) > scoring.MaxDetailLength || !utf8.ValidString(r.Detail) {
				t.Errorf("%s: bad detail %q", s.Name(), r.Detail)
			}
		}
	})
}

func BenchmarkScorer_Score(b *testing.B) {
	// A typical chatty answer: a few sentences of reasoning, then the result.
	response := strings.Repeat("Let me work through this step by step, carrying the 3 and checking 1,024 twice. ", 12) +
		"So the final answer is 4,096."
	cases := []struct {
		name     string
		rule     scoring.Rule
		expected string
	}{
		{name: "ExactMatch", rule: scoring.Rule{Method: scoring.MethodExactMatch}, expected: strings.ToUpper(response)},
		{name: "Contains", rule: scoring.Rule{Method: scoring.MethodContains}, expected: "final answer is 4,096"},
		{name: "ContainsCaseSensitive", rule: scoring.Rule{Method: scoring.MethodContains, CaseSensitive: new(true)}, expected: "final answer is 4,096"},
		{name: "Regex", rule: scoring.Rule{Method: scoring.MethodRegex, Pattern: `final answer is\s+[\d,]+`}},
		{name: "Numeric", rule: scoring.Rule{Method: scoring.MethodNumeric}, expected: "4096"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			s, err := scoring.Compile(tc.rule, scoring.QuestionRef{Expected: tc.expected})
			if err != nil {
				b.Fatalf("Compile: %v", err)
			}
			b.SetBytes(int64(len(response)))
			b.ReportAllocs()
			for b.Loop() {
				if !s.Score(response).Passed {
					b.Fatal("benchmark response should pass")
				}
			}
		})
	}
}

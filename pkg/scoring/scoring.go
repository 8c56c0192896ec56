package scoring

import (
	"cmp"
	"errors"
	"math"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sabe-dev/sabe/internal/fault"
)

// Method names one of the deterministic scorers a question can use.
type Method string

// The scoring methods. Their exact semantics are in the package comment.
const (
	MethodExactMatch Method = "exact_match"
	MethodContains   Method = "contains"
	MethodRegex      Method = "regex"
	MethodNumeric    Method = "numeric"
)

// Valid reports whether m is one of the four methods.
func (m Method) Valid() bool {
	switch m {
	case MethodExactMatch, MethodContains, MethodRegex, MethodNumeric:
		return true
	}
	return false
}

// MaxPatternLength is the longest regex pattern accepted, in bytes. RE2 runs
// in linear time whatever the pattern, but a long pattern still costs memory
// and compile time on every worker.
const MaxPatternLength = 1000

// MaxDetailLength is the longest Result.Detail in bytes, so that a detail can
// be stored and listed beside every evaluation without trimming.
const MaxDetailLength = 200

// quoteLimit bounds each piece of response or answer text quoted in a
// detail, leaving room for two of them and the words around them.
const quoteLimit = 64

// Rule is how a question's answer is scored, as it appears under "scoring"
// in a question body.
type Rule struct {
	Method    Method   `json:"method"`
	Pattern   string   `json:"pattern,omitempty"`
	Tolerance *float64 `json:"tolerance,omitempty"`
	// CaseSensitive is a pointer because its default depends on the
	// method: exact_match and contains ignore case unless it is true,
	// regex honours case unless it is false (RE2's own default, and what
	// a pattern such as "THE ANSWER IS" says).
	CaseSensitive *bool `json:"case_sensitive,omitempty"`
}

// sensitive reports whether r compares case-sensitively.
func (r Rule) sensitive() bool {
	if r.CaseSensitive != nil {
		return *r.CaseSensitive
	}
	return r.Method == MethodRegex
}

// Validate checks the rule together with the question's expected answer. It
// returns a fault.Invalid error whose field is relative to the question body:
// "scoring.method", "scoring.pattern", "scoring.tolerance" or
// "expected_answer". The first problem found is reported.
func (r Rule) Validate(expected string) error {
	_, err := Compile(r, expected)
	return err
}

// Scorer grades responses for one question. It is immutable and safe for
// concurrent use.
type Scorer struct {
	method        Method
	caseSensitive bool
	// want is the trimmed expected answer (exact_match, contains); folded is
	// its case-folded form for case-insensitive contains.
	want   string
	folded string
	// re and pattern are for regex; pattern is the rule's text, for details.
	re      *regexp.Regexp
	pattern string
	// progSize is the regex's program size, which sets how much of a
	// response it reads (see ScanLimit).
	progSize int
	// target and tolerance are for numeric.
	target    float64
	tolerance float64
}

// Result is the verdict on one response.
type Result struct {
	// Passed reports whether the response is correct.
	Passed bool
	// Score is 1 when Passed and 0 otherwise; it is a number so that graded
	// scorers can share the evaluation shape later.
	Score float64
	// Detail is a short human explanation, at most MaxDetailLength bytes of
	// valid UTF-8, such as "expected 42 (±0), got 41".
	Detail string
	// PrefixOnly reports that the response was longer than the scorer
	// reads (Scorer.ScanLimit) and was graded on its prefix; Detail says
	// how many bytes were read.
	PrefixOnly bool
}

// Compile validates r against expected (see Rule.Validate) and prepares a
// Scorer, so that a regex is compiled once per question and not per
// response.
func Compile(r Rule, expected string) (*Scorer, error) {
	switch {
	case r.Method == "":
		return nil, fault.Invalid("scoring.method", "is required")
	case !r.Method.Valid():
		return nil, fault.Invalid("scoring.method", "must be one of exact_match, contains, regex or numeric")
	case r.Method != MethodRegex && r.Pattern != "":
		return nil, fault.Invalid("scoring.pattern", "is only allowed with method regex")
	case r.Method != MethodNumeric && r.Tolerance != nil:
		return nil, fault.Invalid("scoring.tolerance", "is only allowed with method numeric")
	}

	s := &Scorer{method: r.Method, caseSensitive: r.sensitive()}
	switch r.Method {
	case MethodExactMatch, MethodContains:
		s.want = strings.TrimSpace(expected)
		if s.want == "" {
			return nil, fault.Invalid("expected_answer", "is required for method %s", r.Method)
		}
		if r.Method == MethodContains && !s.caseSensitive {
			s.folded = fold(s.want)
		}
	case MethodRegex:
		re, size, err := compilePattern(r.Pattern, s.caseSensitive)
		if err != nil {
			return nil, err
		}
		s.re, s.pattern, s.progSize = re, r.Pattern, size
	case MethodNumeric:
		if r.Tolerance != nil {
			t := *r.Tolerance
			if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
				return nil, fault.Invalid("scoring.tolerance", "must be a finite number of at least 0")
			}
			s.tolerance = t
		}
		v, err := parseExpected(expected)
		if err != nil {
			return nil, err
		}
		s.target = v
	}
	return s, nil
}

func compilePattern(pattern string, caseSensitive bool) (*regexp.Regexp, int, error) {
	switch {
	case pattern == "":
		return nil, 0, fault.Invalid("scoring.pattern", "is required for method regex")
	case len(pattern) > MaxPatternLength:
		return nil, 0, fault.Invalid("scoring.pattern", "must be at most %d bytes, got %d", MaxPatternLength, len(pattern))
	case countClasses(pattern) > MaxPatternClasses:
		return nil, 0, fault.Invalid("scoring.pattern", "must have at most %d character classes ([...], \\p or \\P), got %d", MaxPatternClasses, countClasses(pattern))
	}
	expr := pattern
	if !caseSensitive {
		// A leading flag group applies to the whole expression, including
		// every top-level alternative.
		expr = "(?i)" + pattern
	}
	// The size is checked before regexp.Compile, which would build the
	// whole program of a hostile pattern first.
	size, err := checkProgram(expr)
	if err == errProgramSize {
		return nil, 0, fault.Invalid("scoring.pattern", "compiles to more than %d instructions; use fewer or smaller repetitions", MaxProgramSize)
	}
	var re *regexp.Regexp
	if err == nil {
		re, err = regexp.Compile(expr)
	}
	if err == nil {
		return re, size, nil
	}
	// Report the pattern's own error, so that the message quotes the
	// user's text and not the flag group added here; should the flag alone
	// break it (a size limit), quote the whole pattern.
	frag := pattern
	if _, perr := syntax.Parse(pattern, syntax.Perl); perr != nil {
		err, frag = perr, ""
	}
	var se *syntax.Error
	if !errors.As(err, &se) {
		return nil, 0, fault.Invalid("scoring.pattern", "is not a valid RE2 regular expression")
	}
	// The syntax error names the offending fragment, which may be most of
	// a long pattern: keep the message short.
	return nil, 0, fault.Invalid("scoring.pattern", "is not a valid RE2 regular expression: %s: %s", se.Code, strconv.Quote(clip(cmp.Or(frag, se.Expr), quoteLimit)))
}

func parseExpected(expected string) (float64, error) {
	s := strings.TrimSpace(expected)
	if s == "" {
		return 0, fault.Invalid("expected_answer", "is required for method numeric")
	}
	i := signLen(s)
	if !numberStartsAt(s, i) || scanNumber(s, i) != len(s) {
		return 0, fault.Invalid("expected_answer", "must be a number such as 42, -3.5, 1,000 or 1e3 for method numeric")
	}
	v := parseNumber(s)
	if math.IsInf(v, 0) {
		return 0, fault.Invalid("expected_answer", "is out of range")
	}
	return v, nil
}

// Name returns the method, which is the scorer's name on its evaluations.
func (s *Scorer) Name() string { return string(s.method) }

// Score grades response. It never fails: a response that cannot be read as
// the method needs (no number, no match) is simply incorrect.
func (s *Scorer) Score(response string) Result {
	switch s.method {
	case MethodExactMatch:
		return s.exactMatch(response)
	case MethodContains:
		return s.contains(response)
	case MethodRegex:
		return s.regex(response)
	default:
		return s.numeric(response)
	}
}

func (s *Scorer) exactMatch(response string) Result {
	got := strings.TrimSpace(response)
	ok := got == s.want || (!s.caseSensitive && strings.EqualFold(got, s.want))
	if ok {
		return verdict(true, "matched "+quote(s.want))
	}
	return verdict(false, "expected "+quote(s.want)+", got "+quote(got))
}

func (s *Scorer) contains(response string) Result {
	var ok bool
	if s.caseSensitive {
		ok = strings.Contains(response, s.want)
	} else {
		ok = strings.Contains(fold(response), s.folded)
	}
	if ok {
		return verdict(true, "found "+quote(s.want))
	}
	return verdict(false, quote(s.want)+" not found in response")
}

// regex matches the pattern in the first ScanLimit bytes of response: a
// longer response is graded on that prefix alone (so an anchor such as $
// applies to the end of the prefix), and the detail says so.
func (s *Scorer) regex(response string) Result {
	text := prefix(response, s.ScanLimit())
	note := ""
	if len(text) < len(response) {
		note = readNote(len(text), len(response))
	}
	var r Result
	if loc := s.re.FindStringIndex(text); loc == nil {
		r = verdict(false, "no match for pattern "+quote(s.pattern)+note)
	} else {
		r = verdict(true, "matched "+quote(text[loc[0]:loc[1]])+note)
	}
	r.PrefixOnly = note != ""
	return r
}

func (s *Scorer) numeric(response string) Result {
	want := formatNumber(s.target) + " (±" + formatNumber(s.tolerance) + ")"
	x, ok := lastNumber(response)
	if !ok {
		return verdict(false, "no number in response, expected "+want)
	}
	return verdict(within(x, s.target, s.tolerance), "expected "+want+", got "+formatNumber(x))
}

// within reports whether |x − target| ≤ tol. With a positive tolerance it
// allows for the rounding of the three decimal inputs to binary: each is off
// by at most half an ulp, and the subtraction adds one more rounding, so four
// units of 2^-53 relative to the operands cover it (see the package comment).
func within(x, target, tol float64) bool {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return false
	}
	d := math.Abs(x - target)
	if d <= tol {
		return true
	}
	if tol == 0 {
		return false
	}
	slack := 4 * 0x1p-53 * (math.Abs(x) + math.Abs(target) + tol)
	return d <= tol+slack
}

func verdict(passed bool, detail string) Result {
	r := Result{Passed: passed, Detail: clip(detail, MaxDetailLength)}
	if passed {
		r.Score = 1
	}
	return r
}

// fold maps every rune to the smallest rune of its simple case-folding
// orbit, the same equivalence strings.EqualFold uses, so a substring search
// on folded strings is a case-insensitive search. strings.ToLower is not
// enough: it leaves "ς" and "σ" (which EqualFold matches) different.
func fold(s string) string { return strings.Map(foldRune, s) }

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		// The ASCII letters' orbits are {A, a}, plus the Kelvin sign for K
		// and the long s for S, whose smallest member is the capital letter.
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}

// formatNumber writes numbers the way people do for the usual magnitudes
// (1234567 rather than 1.234567e+06) and in exponent form otherwise.
func formatNumber(v float64) string {
	if a := math.Abs(v); a == 0 || (a >= 1e-6 && a < 1e15) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func quote(s string) string { return strconv.Quote(clip(s, quoteLimit)) }

// clip shortens s to at most n bytes, cutting at a rune boundary and marking
// the cut with an ellipsis.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

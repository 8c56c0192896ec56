package scoring

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
	"github.com/sabe-dev/sabe/pkg/judge"
)

// Method names one of the scorers a question can use.
type Method string

// The scoring methods. Their exact semantics are in the package comment.
const (
	MethodExactMatch     Method = "exact_match"
	MethodContains       Method = "contains"
	MethodRegex          Method = "regex"
	MethodNumeric        Method = "numeric"
	MethodStartsWith     Method = "starts_with"
	MethodContainsAny    Method = "contains_any"
	MethodContainsAll    Method = "contains_all"
	MethodJSONValid      Method = "json_valid"
	MethodJSONSchema     Method = "json_schema"
	MethodSimilarity     Method = "similarity"
	MethodMultipleChoice Method = "multiple_choice"
	MethodLLMJudge       Method = "llm_judge"
)

// methods lists every method in the order error messages name them.
var methods = []Method{
	MethodExactMatch, MethodContains, MethodRegex, MethodNumeric, MethodStartsWith,
	MethodContainsAny, MethodContainsAll, MethodJSONValid, MethodJSONSchema,
	MethodSimilarity, MethodMultipleChoice, MethodLLMJudge,
}

// Valid reports whether m is one of the methods.
func (m Method) Valid() bool { return slices.Contains(methods, m) }

// NameAssertions is the scorer name of a rule made of weighted assertions.
const NameAssertions = "assertions"

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
// in a question body. Which fields each method takes is in the package
// comment; a field a method does not use is refused, except
// case_sensitive, which is ignored where it means nothing.
type Rule struct {
	Method    Method   `json:"method,omitempty"`
	Pattern   string   `json:"pattern,omitempty"`
	Tolerance *float64 `json:"tolerance,omitempty"`
	// CaseSensitive is a pointer because its default depends on the
	// method: exact_match and contains ignore case unless it is true,
	// regex honours case unless it is false (RE2's own default, and what
	// a pattern such as "THE ANSWER IS" says).
	CaseSensitive *bool `json:"case_sensitive,omitempty"`
	// Value, when set, is compared instead of the question's expected
	// answer.
	Value string `json:"value,omitempty"`
	// Values are the strings of contains_any and contains_all.
	Values []string `json:"values,omitempty"`
	// Schema is json_schema's JSON Schema (draft 2020-12 unless it says
	// otherwise with $schema).
	Schema json.RawMessage `json:"schema,omitempty"`
	// Threshold is the score at which similarity, llm_judge and a set of
	// assertions pass.
	Threshold *float64 `json:"threshold,omitempty"`
	// MaxDistance makes similarity pass when the Levenshtein distance is
	// at most this many characters instead of at Threshold (promptfoo's
	// levenshtein assertion); the score stays the normalised similarity.
	MaxDistance *int `json:"max_distance,omitempty"`
	// Negate turns a pass into a fail and a score s into 1 − s.
	Negate bool `json:"negate,omitempty"`
	// Extract is an RE2 pattern whose first group (or whole match) is
	// what the scorer compares instead of the response.
	Extract string `json:"extract,omitempty"`
	// Assertions replace Method: each is a rule with a weight.
	Assertions []Assertion `json:"assertions,omitempty"`
	// Config holds the llm_judge fields.
	judge.Config
}

// Assertion is one weighted rule of a set of assertions.
type Assertion struct {
	Rule
	// Weight is the assertion's share of the set's score; nil means 1.
	Weight *float64 `json:"weight,omitempty"`
}

// QuestionRef is what a rule is checked and scored against besides the
// response: the question's expected answer and its choices.
type QuestionRef struct {
	Expected string
	Choices  []string
}

// sensitive reports whether r compares case-sensitively.
func (r Rule) sensitive() bool {
	if r.CaseSensitive != nil {
		return *r.CaseSensitive
	}
	return r.Method == MethodRegex
}

// IsZero reports whether r sets nothing, as a question that leaves its
// scoring to the benchmark's default.
func (r Rule) IsZero() bool {
	return r.Method == "" && r.Pattern == "" && r.Tolerance == nil && r.CaseSensitive == nil &&
		r.Value == "" && len(r.Values) == 0 && len(r.Schema) == 0 && r.Threshold == nil &&
		r.MaxDistance == nil && !r.Negate && r.Extract == "" && len(r.Assertions) == 0 && r.Config.IsZero()
}

// WithDefaults returns r with a benchmark's defaults applied: def (when
// not nil) replaces a zero rule, and judges fill the judge_model_ids of
// every llm_judge rule or assertion that has none. r itself is not
// changed.
func (r Rule) WithDefaults(def *Rule, judges []uuid.UUID) Rule {
	if r.IsZero() && def != nil {
		r = *def
	}
	if len(judges) == 0 {
		return r
	}
	if r.Method == MethodLLMJudge && len(r.ModelIDs) == 0 {
		r.ModelIDs = slices.Clone(judges)
	}
	if len(r.Assertions) > 0 {
		as := slices.Clone(r.Assertions)
		for i := range as {
			if as[i].Method == MethodLLMJudge && len(as[i].ModelIDs) == 0 {
				as[i].ModelIDs = slices.Clone(judges)
			}
		}
		r.Assertions = as
	}
	return r
}

// Validate checks the rule together with the question. It returns a
// fault.Invalid error whose field is relative to the question body, such
// as "scoring.method", "scoring.pattern", "scoring.assertions[1].values",
// "scoring.verdict.max", "expected_answer" or "choices". The first problem
// found is reported.
func (r Rule) Validate(q QuestionRef) error {
	_, err := Compile(r, q)
	return err
}

// Scorer grades responses for one question. It is immutable and safe for
// concurrent use.
type Scorer struct {
	method        Method
	caseSensitive bool
	negate        bool
	// extract, when set, picks the text that is graded.
	extract        *regexp.Regexp
	extractPattern string
	extractSize    int
	// want is the trimmed expected answer (or value); folded is its
	// case-folded form for case-insensitive comparisons.
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
	// values and foldedValues are for contains_any and contains_all.
	values       []string
	foldedValues []string
	// schema is json_schema's compiled schema.
	schema *jsonschema.Schema
	// wantRunes is similarity's expected answer as runes (folded unless
	// case-sensitive).
	wantRunes []rune
	// threshold is for similarity, llm_judge and assertions.
	threshold float64
	// maxDistance, when not negative, is the Levenshtein distance at
	// which similarity passes instead of threshold.
	maxDistance int
	// choices and wantLetter are for multiple_choice.
	choices    []string
	wantLetter byte
	// judge and reference are for llm_judge; judgeIndex is its position in
	// the top-level scorer's Judges().
	judge      judge.Config
	reference  string
	judgeIndex int
	// assertions and weights make a set of assertions.
	assertions []*Scorer
	weights    []float64
	judges     []judge.Config
}

// Result is the verdict on one response.
type Result struct {
	// Passed reports whether the response is correct.
	Passed bool
	// Score is in 0..1: 1 when Passed and 0 otherwise for the pass/fail
	// methods, graded for similarity, llm_judge and assertions.
	Score float64
	// Detail is a short human explanation, at most MaxDetailLength bytes of
	// valid UTF-8, such as "expected 42 (±0), got 41".
	Detail string
	// PrefixOnly reports that the response was longer than the scorer
	// reads (Scorer.ScanLimit) and was graded on its prefix; Detail says
	// how many bytes were read.
	PrefixOnly bool
	// Unscored reports that no verdict could be reached (a judge failed);
	// Passed and Score mean nothing then and Reason says why.
	Unscored bool
	Reason   string
	// Assertions are the results of a set of assertions, in order.
	Assertions []AssertionResult
	// Judge is the (first) judged outcome, with its reasoning and every
	// judge's result.
	Judge *judge.Outcome
}

// AssertionResult is one assertion's part of a Result.
type AssertionResult struct {
	Method   string  `json:"method"`
	Weight   float64 `json:"weight"`
	Passed   bool    `json:"passed"`
	Score    float64 `json:"score"`
	Detail   string  `json:"detail"`
	Unscored bool    `json:"unscored,omitempty"`
	Reason   string  `json:"reason,omitempty"`
}

// Compile validates r against the question (see Rule.Validate) and
// prepares a Scorer, so that patterns and schemas are compiled once per
// question and not per response.
func Compile(r Rule, q QuestionRef) (*Scorer, error) {
	if q.Choices != nil {
		if err := ValidateChoices(q.Choices); err != nil {
			return nil, err
		}
	}
	if len(r.Assertions) > 0 || (r.Method == "" && r.Assertions != nil) {
		return compileAssertions(r, q)
	}
	s, err := compileRule(r, q, "scoring")
	if err != nil {
		return nil, err
	}
	if s.method == MethodLLMJudge {
		s.judges = []judge.Config{s.judge}
	}
	return s, nil
}

// compileRule compiles one rule that has a method; field is its path.
func compileRule(r Rule, q QuestionRef, field string) (*Scorer, error) {
	f := func(name string) string { return field + "." + name }
	switch {
	case r.Method == "":
		return nil, fault.Invalid(f("method"), "is required")
	case !r.Method.Valid():
		return nil, fault.Invalid(f("method"), "must be one of %s", methodList())
	}
	if err := checkFields(r, f); err != nil {
		return nil, err
	}
	s := &Scorer{method: r.Method, caseSensitive: r.sensitive(), negate: r.Negate}
	if r.Extract != "" {
		re, size, err := compilePattern(f("extract"), r.Extract, true)
		if err != nil {
			return nil, err
		}
		s.extract, s.extractPattern, s.extractSize = re, r.Extract, size
	}
	// want is the rule's value or the question's expected answer; the
	// field named in errors is the one it came from.
	expected, wantField := q.Expected, "expected_answer"
	if r.Value != "" {
		expected, wantField = r.Value, f("value")
	}
	switch r.Method {
	case MethodExactMatch, MethodContains, MethodStartsWith:
		s.want = strings.TrimSpace(expected)
		if s.want == "" {
			return nil, fault.Invalid(wantField, "is required for method %s", r.Method)
		}
		if !s.caseSensitive {
			s.folded = fold(s.want)
		}
	case MethodRegex:
		if r.Pattern == "" {
			return nil, fault.Invalid(f("pattern"), "is required for method regex")
		}
		re, size, err := compilePattern(f("pattern"), r.Pattern, s.caseSensitive)
		if err != nil {
			return nil, err
		}
		s.re, s.pattern, s.progSize = re, r.Pattern, size
	case MethodNumeric:
		if r.Tolerance != nil {
			t := *r.Tolerance
			if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
				return nil, fault.Invalid(f("tolerance"), "must be a finite number of at least 0")
			}
			s.tolerance = t
		}
		v, err := parseExpected(wantField, expected)
		if err != nil {
			return nil, err
		}
		s.target = v
	case MethodContainsAny, MethodContainsAll:
		if err := s.compileValues(r.Values, f("values")); err != nil {
			return nil, err
		}
	case MethodJSONSchema:
		if err := s.compileSchema(r.Schema, f("schema")); err != nil {
			return nil, err
		}
	case MethodSimilarity:
		if err := s.compileSimilarity(expected, wantField, r, f); err != nil {
			return nil, err
		}
	case MethodMultipleChoice:
		if err := s.compileChoice(expected, wantField, q.Choices); err != nil {
			return nil, err
		}
	case MethodLLMJudge:
		if err := s.compileJudge(r, expected, wantField, field); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkFields refuses the fields r's method does not take.
func checkFields(r Rule, f func(string) string) error {
	m := r.Method
	only := func(name string, set bool, allowed ...Method) error {
		if set && !slices.Contains(allowed, m) {
			return fault.Invalid(f(name), "is only allowed with method %s", orList(allowed))
		}
		return nil
	}
	for _, err := range []error{
		only("pattern", r.Pattern != "", MethodRegex),
		only("tolerance", r.Tolerance != nil, MethodNumeric),
		only("values", r.Values != nil, MethodContainsAny, MethodContainsAll),
		only("schema", len(r.Schema) > 0, MethodJSONSchema),
		only("value", r.Value != "", MethodExactMatch, MethodContains, MethodStartsWith, MethodNumeric, MethodSimilarity, MethodMultipleChoice, MethodLLMJudge),
		only("threshold", r.Threshold != nil, MethodSimilarity, MethodLLMJudge),
		only("max_distance", r.MaxDistance != nil, MethodSimilarity),
		only(judgeField(r.Config), !r.Config.IsZero(), MethodLLMJudge),
	} {
		if err != nil {
			return err
		}
	}
	if len(r.Assertions) > 0 {
		return fault.Invalid(f("assertions"), "may not be nested")
	}
	return nil
}

// judgeField names the first llm_judge field set in c, for an error.
func judgeField(c judge.Config) string {
	switch {
	case len(c.ModelIDs) > 0:
		return "judge_model_ids"
	case c.Template != "":
		return "template"
	case c.Prompt != "":
		return "prompt"
	case c.Rubric != "":
		return "rubric"
	case c.Aggregate != "":
		return "aggregate"
	case c.MinJudges != 0:
		return "min_judges"
	}
	return "verdict"
}

func methodList() string { return orList(methods) }

// orList writes "a", "a or b", "a, b or c".
func orList(ms []Method) string {
	var b strings.Builder
	for i, m := range ms {
		switch {
		case i == 0:
		case i == len(ms)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(m))
	}
	return b.String()
}

func compilePattern(field, pattern string, caseSensitive bool) (*regexp.Regexp, int, error) {
	switch {
	case pattern == "":
		return nil, 0, fault.Invalid(field, "is required")
	case len(pattern) > MaxPatternLength:
		return nil, 0, fault.Invalid(field, "must be at most %d bytes, got %d", MaxPatternLength, len(pattern))
	case countClasses(pattern) > MaxPatternClasses:
		return nil, 0, fault.Invalid(field, "must have at most %d character classes ([...], \\p or \\P), got %d", MaxPatternClasses, countClasses(pattern))
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
		return nil, 0, fault.Invalid(field, "compiles to more than %d instructions; use fewer or smaller repetitions", MaxProgramSize)
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
		return nil, 0, fault.Invalid(field, "is not a valid RE2 regular expression")
	}
	// The syntax error names the offending fragment, which may be most of
	// a long pattern: keep the message short.
	return nil, 0, fault.Invalid(field, "is not a valid RE2 regular expression: %s: %s", se.Code, strconv.Quote(text.Clip(cmp.Or(frag, se.Expr), quoteLimit)))
}

func parseExpected(field, expected string) (float64, error) {
	s := strings.TrimSpace(expected)
	if s == "" {
		return 0, fault.Invalid(field, "is required for method numeric")
	}
	i := signLen(s)
	if !numberStartsAt(s, i) || scanNumber(s, i) != len(s) {
		return 0, fault.Invalid(field, "must be a number such as 42, -3.5, 1,000 or 1e3 for method numeric")
	}
	v := parseNumber(s)
	if math.IsInf(v, 0) {
		return 0, fault.Invalid(field, "is out of range")
	}
	return v, nil
}

// Name returns the method, or "assertions" for a set of assertions: the
// scorer's name on its evaluations.
func (s *Scorer) Name() string {
	if s.assertions != nil {
		return NameAssertions
	}
	return string(s.method)
}

// NeedsJudge reports whether grading needs judge outcomes: the rule or one
// of its assertions is llm_judge. Such a scorer grades with ScoreJudged.
func (s *Scorer) NeedsJudge() bool { return len(s.judges) > 0 }

// Judges returns the judge configurations (defaults applied) of the rule's
// llm_judge parts, in assertion order; ScoreJudged takes one outcome per
// entry in the same order.
func (s *Scorer) Judges() []judge.Config { return slices.Clone(s.judges) }

// ReasonNeedsJudge is the reason of a Result from Score on a scorer that
// needs judge outcomes, or from ScoreJudged given too few of them.
const ReasonNeedsJudge = "needs_judge"

// Score grades response with the deterministic methods. It never fails: a
// response that cannot be read as the method needs (no number, no match)
// is simply incorrect. On a scorer that needs a judge it returns an
// unscored Result with ReasonNeedsJudge.
func (s *Scorer) Score(response string) Result { return s.score(response, nil) }

// ScoreJudged grades response with outcomes, one per entry of Judges() in
// the same order (the outcomes of judges that were never called because
// the extract pattern found nothing are ignored). A judge outcome that is
// not scored makes the Result unscored with its reason: never a fail or a
// zero.
func (s *Scorer) ScoreJudged(response string, outcomes []judge.Outcome) Result {
	return s.score(response, outcomes)
}

func (s *Scorer) score(response string, outcomes []judge.Outcome) Result {
	if s.assertions != nil {
		return s.scoreAssertions(response, outcomes)
	}
	part, note, ok := s.extracted(response)
	if !ok {
		r := verdict(false, "extract pattern "+quote(s.extractPattern)+" found nothing"+note)
		r.PrefixOnly = note != ""
		return r
	}
	r := s.grade(part, outcomes)
	if note != "" && !r.PrefixOnly {
		r.PrefixOnly = true
		r.Detail = text.Clip(r.Detail+note, MaxDetailLength)
	}
	if s.negate && !r.Unscored {
		r.Passed = !r.Passed
		r.Score = 1 - r.Score
		r.Detail = text.Clip("negated: "+r.Detail, MaxDetailLength)
	}
	return r
}

// grade applies the method to text (the response or what extract took
// from it).
func (s *Scorer) grade(text string, outcomes []judge.Outcome) Result {
	switch s.method {
	case MethodExactMatch:
		return s.exactMatch(text)
	case MethodContains:
		return s.contains(text)
	case MethodRegex:
		return s.regex(text)
	case MethodNumeric:
		return s.numeric(text)
	case MethodStartsWith:
		return s.startsWith(text)
	case MethodContainsAny, MethodContainsAll:
		return s.containsValues(text)
	case MethodJSONValid:
		return s.jsonValid(text)
	case MethodJSONSchema:
		return s.jsonSchema(text)
	case MethodSimilarity:
		return s.similarity(text)
	case MethodMultipleChoice:
		return s.multipleChoice(text)
	default:
		return s.judged(outcomes)
	}
}

// extracted returns what the scorer grades of response: the response, or
// the first group (else the whole match) of the extract pattern in the
// prefix it reads, and a note when only a prefix was read. ok is false
// when the pattern finds nothing.
func (s *Scorer) extracted(response string) (text, note string, ok bool) {
	if s.extract == nil {
		return response, "", true
	}
	in := prefix(response, scanLimit(s.extractSize))
	if len(in) < len(response) {
		note = readNote(len(in), len(response))
	}
	m := s.extract.FindStringSubmatchIndex(in)
	switch {
	case m == nil:
		return "", note, false
	case len(m) >= 4 && m[2] >= 0:
		return in[m[2]:m[3]], note, true
	case len(m) >= 4:
		return "", note, false // the first group took no part in the match
	default:
		return in[m[0]:m[1]], note, true
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
	r := Result{Passed: passed, Detail: text.Clip(strings.ToValidUTF8(detail, "\uFFFD"), MaxDetailLength)}
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

func quote(s string) string { return strconv.Quote(text.Clip(s, quoteLimit)) }

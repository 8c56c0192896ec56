package scoring

import (
	"encoding/json"
	"regexp/syntax"
	"strconv"
	"unicode/utf8"
)

// MaxProgramSize is the largest compiled regex accepted, in RE2 program
// instructions. Go's regexp runs in time proportional to the text times the
// program, and a match cannot be interrupted by a context, so a short
// pattern such as (?:\w+\s*){999} (about 4000 instructions) is what makes
// a single answer expensive; the pattern's length in bytes says little.
const MaxProgramSize = 2000

// MaxRegexWork bounds the work of one regex match: the bytes read times
// the program's instructions. With the slowest patterns this is about a
// tenth of a second of one core, so no question can hold a worker for long.
const MaxRegexWork = 1 << 24

// MaxScanBytes is the most a regex reads of an answer, however small its
// program: 1 MiB is far beyond what a benchmark answer needs to be graded.
const MaxScanBytes = 1 << 20

// MaxPatternClasses bounds the character classes of a pattern: bracket
// expressions and \p or \P escapes. Parsing builds each as a table of
// rune ranges (case folding a wide range visits every rune in it), which
// costs up to a few milliseconds per class before any program exists;
// without the bound one 1000-byte pattern took 200 ms to parse and an
// import of many of them held the API's CPU for seconds.
const MaxPatternClasses = 8

// MaxImportClasses bounds the character classes of all the regex patterns
// of one question import together, so that an import of thousands of
// patterns each at MaxPatternClasses (tens of milliseconds of parsing
// apiece) cannot hold the API's CPU for minutes.
const MaxImportClasses = 256

// ClassCount is the number of character classes of pattern as
// MaxPatternClasses and MaxImportClasses count them.
func ClassCount(pattern string) int { return countClasses(pattern) }

// PatternClasses is the number of character classes of every regex of
// the rule, as MaxImportClasses counts them: pattern, extract and the
// "pattern" and "patternProperties" regexes of a JSON Schema, over all its
// assertions. An import adds it up per question.
func (r Rule) PatternClasses() int {
	n := countClasses(r.Pattern) + countClasses(r.Extract)
	if len(r.Schema) > 0 && len(r.Schema) <= MaxSchemaBytes {
		var doc any
		if json.Unmarshal(r.Schema, &doc) == nil {
			n += schemaClasses(doc)
		}
	}
	for _, a := range r.Assertions {
		n += a.PatternClasses()
	}
	return n
}

// schemaClasses counts the classes of the regexes anywhere in a decoded
// schema: string values of "pattern" keys and the keys of
// "patternProperties" objects.
func schemaClasses(v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if s, ok := sub.(string); ok && k == "pattern" {
				n += countClasses(s)
			}
			if props, ok := sub.(map[string]any); ok && k == "patternProperties" {
				for p := range props {
					n += countClasses(p)
				}
			}
			n += schemaClasses(sub)
		}
	case []any:
		for _, sub := range v {
			n += schemaClasses(sub)
		}
	}
	return n
}

// countClasses counts what MaxPatternClasses bounds, from the pattern's
// text, before it is parsed. A literal "[" inside a bracket expression
// counts too: an overestimate only refuses a pattern that is near the
// bound anyway.
func countClasses(pattern string) int {
	n := 0
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			if i+1 < len(pattern) && (pattern[i+1] == 'p' || pattern[i+1] == 'P') {
				n++
			}
			i++
		case '[':
			n++
		}
	}
	return n
}

// sizeCap stops estimateSize counting once a pattern is plainly too large,
// so the estimate of a hostile pattern cannot overflow.
const sizeCap = 4 * MaxProgramSize

// estimateSize returns an upper bound, saturating at sizeCap, on the
// instructions syntax.Compile emits for re. It lets Compile refuse a
// pattern that would compile to hundreds of thousands of instructions
// (which costs a tenth of a second and megabytes per question on import)
// without compiling it.
func estimateSize(re *syntax.Regexp) int {
	sub := func(i int) int { return estimateSize(re.Sub[i]) }
	n := 0
	switch re.Op {
	case syntax.OpLiteral:
		n = len(re.Rune)
	case syntax.OpConcat, syntax.OpAlternate:
		for i := range re.Sub {
			n = min(sizeCap, n+sub(i)+1)
		}
	case syntax.OpCapture, syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		n = sub(0) + 2
	case syntax.OpRepeat:
		// x{n,m} becomes n copies of x and m−n optional ones (one more
		// instruction each); x{n,} becomes n copies and a star.
		copies := max(re.Min, re.Max) + 1
		n = min(sizeCap, copies*(sub(0)+1))
	default:
		n = 1
	}
	return min(n, sizeCap)
}

// checkProgram parses expr as regexp.Compile does and refuses it when its
// program has more than MaxProgramSize instructions. It returns the
// program's size, or a syntax error for compilePattern to report.
func checkProgram(expr string) (int, error) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return 0, err
	}
	if estimateSize(re) > sizeCap-1 {
		return 0, errProgramSize
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0, err
	}
	if len(prog.Inst) > MaxProgramSize {
		return 0, errProgramSize
	}
	return len(prog.Inst), nil
}

// errProgramSize marks a pattern refused by checkProgram for its size.
var errProgramSize = &programSizeError{}

type programSizeError struct{}

func (*programSizeError) Error() string { return "compiled program too large" }

// scanLimit is how many bytes of an answer a program of size instructions
// reads: MaxRegexWork shared out, at most MaxScanBytes.
func scanLimit(size int) int {
	return min(MaxScanBytes, MaxRegexWork/max(size, 1))
}

// prefix returns the first at most n bytes of s, cut at a rune boundary so
// the regex sees valid text where the answer was valid.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ProgramSize is the number of instructions in the regex's compiled
// program (0 for the other methods), the measure MaxProgramSize bounds.
func (s *Scorer) ProgramSize() int { return s.progSize }

// ScanLimit is how many bytes of a response the scorer reads, or -1 for
// all of it: for regex, and for an extract pattern, the prefix that keeps
// a match within MaxRegexWork; the other methods run in time linear in the
// response (similarity is bounded separately) and read all of it (the
// response itself is bounded by the provider client's response cap). A
// set of assertions reports -1; each assertion has its own limit.
func (s *Scorer) ScanLimit() int {
	limit := -1
	if s.method == MethodRegex {
		limit = scanLimit(s.progSize)
	}
	if s.extract != nil {
		if e := scanLimit(s.extractSize); limit < 0 || e < limit {
			limit = e
		}
	}
	return limit
}

// readNote says in a detail that only a prefix of the answer was read.
func readNote(read, total int) string {
	return " (first " + strconv.Itoa(read) + " of " + strconv.Itoa(total) + " bytes read)"
}

package scoring_test

import (
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

// TestCompile_ProgramBound refuses patterns whose compiled program is too
// large, however short their text: the 20-byte pattern of issue 12 compiles
// to about 4000 instructions and held a worker for 16 s on a 200 KB answer.
func TestCompile_ProgramBound(t *testing.T) {
	t.Parallel()
	for _, p := range []string{
		`(?:\w+\s*){999}$`,
		strings.Repeat(`(?:\w+\s*){999}`, 66),
		`[a-z]{1000}[0-9]{1000}[A-Z]{1000}`,
	} {
		_, err := scoring.Compile(scoring.Rule{Method: scoring.MethodRegex, Pattern: p}, scoring.QuestionRef{})
		fe := fault.As(err)
		if fe == nil || fe.Field != "scoring.pattern" || !strings.Contains(fe.Message, "instructions") {
			t.Errorf("Compile(%.30q) = %v, want a scoring.pattern fault about its size", p, err)
		}
	}
	// A pattern of ordinary size still compiles, its size reported.
	s, err := scoring.Compile(scoring.Rule{Method: scoring.MethodRegex, Pattern: `(?:\w+\s*){100}$`}, scoring.QuestionRef{})
	if err != nil {
		t.Fatal(err)
	}
	if n := s.ProgramSize(); n <= 0 || n > scoring.MaxProgramSize {
		t.Errorf("ProgramSize() = %d, want in (0, %d]", n, scoring.MaxProgramSize)
	}
}

// TestScorer_RegexScanBound shows that a regex reads a bounded prefix of a
// long answer, the larger its program the shorter, and that the detail says
// so.
func TestScorer_RegexScanBound(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", scoring.MaxScanBytes/4) + "THE END"
	for _, p := range []string{`(?:\w+\s*){100}END$`, `END`, `x+y`} {
		s, err := scoring.Compile(scoring.Rule{Method: scoring.MethodRegex, Pattern: p}, scoring.QuestionRef{})
		if err != nil {
			t.Fatal(err)
		}
		limit := s.ScanLimit()
		if limit <= 0 || limit >= len(long) {
			t.Fatalf("%s: ScanLimit() = %d, want below %d", p, limit, len(long))
		}
		if work := int64(limit) * int64(s.ProgramSize()); work > scoring.MaxRegexWork {
			t.Errorf("%s: %d bytes × %d instructions = %d, above %d", p, limit, s.ProgramSize(), work, scoring.MaxRegexWork)
		}
		r := s.Score(long)
		if r.Passed {
			t.Errorf("%s: matched text past the first %d bytes", p, limit)
		}
		if !r.PrefixOnly || !strings.Contains(r.Detail, "first ") {
			t.Errorf("%s: detail %q does not say only a prefix was read", p, r.Detail)
		}
	}
	// The larger program reads less.
	small, _ := scoring.Compile(scoring.Rule{Method: scoring.MethodRegex, Pattern: `END`}, scoring.QuestionRef{})
	big, _ := scoring.Compile(scoring.Rule{Method: scoring.MethodRegex, Pattern: `(?:\w+\s*){100}END$`}, scoring.QuestionRef{})
	if big.ScanLimit() >= small.ScanLimit() {
		t.Errorf("ScanLimit %d for %d instructions, %d for %d", big.ScanLimit(), big.ProgramSize(), small.ScanLimit(), small.ProgramSize())
	}
	// A short answer is read whole and its detail is unchanged.
	r := small.Score("THE END")
	if !r.Passed || r.PrefixOnly || strings.Contains(r.Detail, "first ") {
		t.Errorf("short answer: %+v", r)
	}
}

// TestCompile_ClassBound refuses patterns with many character classes,
// which cost milliseconds each to parse (wide case-folded ranges most), so
// an import of many such patterns cannot hold the API's CPU.
func TestCompile_ClassBound(t *testing.T) {
	t.Parallel()
	for _, p := range []string{
		"(?i)" + strings.Repeat(`[\x{100}-\x{1FFFF}]|`, 45),
		strings.Repeat(`[\pL\pN\pP\pS\pM]|`, 55),
		strings.Repeat(`\PL`, 300),
		strings.Repeat(`\pL`, scoring.MaxPatternClasses+1),
	} {
		_, err := scoring.Compile(scoring.Rule{Method: scoring.MethodRegex, Pattern: p[:min(len(p), scoring.MaxPatternLength)]}, scoring.QuestionRef{})
		fe := fault.As(err)
		if fe == nil || fe.Field != "scoring.pattern" || !strings.Contains(fe.Message, "character classes") {
			t.Errorf("Compile(%.30q) = %v, want a scoring.pattern fault about its classes", p, err)
		}
	}
	ok := strings.Repeat(`[a-z]`, scoring.MaxPatternClasses-2) + `\pL\\p\[`
	if _, err := scoring.Compile(scoring.Rule{Method: scoring.MethodRegex, Pattern: ok}, scoring.QuestionRef{}); err != nil {
		t.Errorf("Compile(%q) = %v", ok, err)
	}
}

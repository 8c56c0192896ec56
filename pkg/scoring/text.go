package scoring

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/text"
)

// Limits of contains_any and contains_all.
const (
	MaxValues      = 100
	MaxValueLength = 1000
)

// Limits of similarity. The edit distance costs time proportional to the
// product of the two lengths, so the expected answer is bounded when the
// rule is compiled and a response longer than MaxSimilarityResponse runes
// is not compared: it scores 0 (its similarity to an expected answer of at
// most MaxSimilarityExpected runes could not exceed 0.25 anyway, as the
// distance is at least the difference of the lengths).
const (
	MaxSimilarityExpected  = 1000
	MaxSimilarityResponse  = 4000
	DefaultSimilarityLimit = 0.8
)

func (s *Scorer) compileValues(values []string, field string) error {
	switch {
	case len(values) == 0:
		return fault.Invalid(field, "must list at least one string for method %s", s.method)
	case len(values) > MaxValues:
		return fault.Invalid(field, "must list at most %d strings, got %d", MaxValues, len(values))
	}
	s.values = make([]string, len(values))
	for i, v := range values {
		at := fmt.Sprintf("%s[%d]", field, i)
		v = strings.TrimSpace(v)
		switch {
		case v == "":
			return fault.Invalid(at, "must not be empty")
		case len(v) > MaxValueLength:
			return fault.Invalid(at, "must be at most %d bytes, got %d", MaxValueLength, len(v))
		case !utf8.ValidString(v):
			return fault.Invalid(at, "must be valid UTF-8")
		}
		s.values[i] = v
	}
	if !s.caseSensitive {
		s.foldedValues = make([]string, len(s.values))
		for i, v := range s.values {
			s.foldedValues[i] = fold(v)
		}
	}
	return nil
}

func (s *Scorer) startsWith(response string) Result {
	got := strings.TrimLeftFunc(response, unicode.IsSpace)
	ok := strings.HasPrefix(got, s.want)
	if !ok && !s.caseSensitive {
		ok = hasFoldPrefix(got, s.folded)
	}
	if ok {
		return verdict(true, "starts with "+quote(s.want))
	}
	return verdict(false, "expected to start with "+quote(s.want)+", got "+quote(got))
}

// hasFoldPrefix reports whether s starts with the folded string want,
// comparing rune by rune so that a long response is not folded whole.
func hasFoldPrefix(s, want string) bool {
	for _, w := range want {
		r, size := utf8.DecodeRuneInString(s)
		if size == 0 || foldRune(r) != w {
			return false
		}
		s = s[size:]
	}
	return true
}

func (s *Scorer) containsValues(response string) Result {
	hay, values := response, s.values
	if !s.caseSensitive {
		hay, values = fold(response), s.foldedValues
	}
	found, missing := -1, -1
	for i, v := range values {
		if strings.Contains(hay, v) {
			if found < 0 {
				found = i
			}
		} else if missing < 0 {
			missing = i
		}
	}
	if s.method == MethodContainsAny {
		if found >= 0 {
			return verdict(true, "found "+quote(s.values[found]))
		}
		return verdict(false, "none of "+strconv.Itoa(len(values))+" strings found, such as "+quote(s.values[0]))
	}
	if missing < 0 {
		return verdict(true, "found all "+strconv.Itoa(len(values))+" strings")
	}
	return verdict(false, quote(s.values[missing])+" not found in response")
}

func (s *Scorer) compileSimilarity(expected, wantField string, r Rule, f func(string) string) error {
	want := strings.TrimSpace(expected)
	switch {
	case want == "":
		return fault.Invalid(wantField, "is required for method similarity")
	case utf8.RuneCountInString(want) > MaxSimilarityExpected:
		return fault.Invalid(wantField, "must be at most %d characters for method similarity", MaxSimilarityExpected)
	}
	s.maxDistance = -1
	if d := r.MaxDistance; d != nil {
		switch {
		case r.Threshold != nil:
			return fault.Invalid(f("max_distance"), "cannot be given with threshold: give one of them")
		case *d < 0 || *d > MaxSimilarityExpected:
			// Beyond the longest expected answer, a response too long
			// to compare could be within the distance.
			return fault.Invalid(f("max_distance"), "must be from 0 to %d", MaxSimilarityExpected)
		}
		s.want, s.maxDistance = want, *d
	} else {
		t, err := checkThreshold(r.Threshold, f("threshold"), DefaultSimilarityLimit)
		if err != nil {
			return err
		}
		s.want, s.threshold = want, t
	}
	if !s.caseSensitive {
		want = fold(want)
	}
	s.wantRunes = []rune(want)
	return nil
}

// checkThreshold returns the threshold, def when absent; a given one must
// be in (0, 1].
func checkThreshold(t *float64, field string, def float64) (float64, error) {
	if t == nil {
		return def, nil
	}
	if !(*t > 0 && *t <= 1) {
		return 0, fault.Invalid(field, "must be greater than 0 and at most 1")
	}
	return *t, nil
}

func (s *Scorer) similarity(response string) Result {
	got := strings.TrimSpace(response)
	if utf8.RuneCountInString(got) > MaxSimilarityResponse {
		return Result{Detail: fmt.Sprintf("response longer than %d characters, not compared", MaxSimilarityResponse)}
	}
	if !s.caseSensitive {
		got = fold(got)
	}
	a := []rune(got)
	d := levenshtein(a, s.wantRunes)
	sim := 1.0
	if n := max(len(a), len(s.wantRunes)); n > 0 {
		sim = 1 - float64(d)/float64(n)
	}
	// Scores are stored and compared at a precision people read.
	sim = math.Round(sim*1e6) / 1e6
	if s.maxDistance >= 0 {
		r := Result{Passed: d <= s.maxDistance, Score: sim}
		r.Detail = text.Clip(fmt.Sprintf("distance %d to %s (at most %d), similarity %s", d, quote(s.want), s.maxDistance, formatNumber(sim)), MaxDetailLength)
		return r
	}
	r := Result{Passed: sim >= s.threshold, Score: sim}
	r.Detail = text.Clip(fmt.Sprintf("similarity %s to %s (threshold %s)", formatNumber(sim), quote(s.want), formatNumber(s.threshold)), MaxDetailLength)
	return r
}

// levenshtein is the edit distance of a and b in runes (insertions,
// deletions and substitutions cost 1), in O(len(b)) memory.
func levenshtein(a, b []rune) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			next := min(row[j]+1, row[j-1]+1, diag+cost)
			diag, row[j] = row[j], next
		}
	}
	return row[len(b)]
}

package scoring

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// unicodeMinus is U+2212, which models write for negative numbers often
// enough that ignoring it would fail correct answers.
const unicodeMinus = "\u2212"

// lastNumber returns the value of the last number in s (syntax in the
// package comment). It scans forward because whether a sign or comma belongs
// to a number depends on what comes before it; only the last candidate is
// parsed.
func lastNumber(s string) (float64, bool) {
	start, end := -1, -1
	for i := 0; i < len(s); {
		if !numberStartsAt(s, i) {
			i++
			continue
		}
		end = scanNumber(s, i)
		start = i - signBefore(s, i)
		i = end
	}
	if start < 0 {
		return 0, false
	}
	return parseNumber(s[start:end]), true
}

// numberStartsAt reports whether an unsigned number begins at s[i]: a digit,
// or a "." followed by a digit that does not continue a word or an earlier
// number (so "3.2.1" does not yield ".1").
func numberStartsAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	if isDigit(s[i]) {
		return true
	}
	return s[i] == '.' && i+1 < len(s) && isDigit(s[i+1]) && !wordBefore(s, i)
}

// scanNumber returns the end of the unsigned number that starts at s[i].
func scanNumber(s string, i int) int {
	j := i
	if s[j] != '.' {
		j = skipDigits(s, j)
		if j-i <= 3 {
			j = skipGroups(s, j)
		}
	}
	if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
		j = skipDigits(s, j+1)
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			j = skipDigits(s, k)
		}
	}
	return j
}

// skipGroups skips thousands groups ",ddd" that are not followed by another
// digit, so "1,000" is one number and "1,0000" is not.
func skipGroups(s string, j int) int {
	for j+3 < len(s) && s[j] == ',' && isDigit(s[j+1]) && isDigit(s[j+2]) && isDigit(s[j+3]) &&
		(j+4 == len(s) || !isDigit(s[j+4])) {
		j += 4
	}
	return j
}

// signBefore returns the length in bytes of the sign that belongs to the
// number starting at s[i], or 0. A "-" after a letter or digit is a hyphen or
// an operator ("GPT-4", "5-3"), not a sign.
func signBefore(s string, i int) int {
	switch {
	case i >= 1 && (s[i-1] == '-' || s[i-1] == '+') && !wordBefore(s, i-1):
		return 1
	case i >= len(unicodeMinus) && s[i-len(unicodeMinus):i] == unicodeMinus && !wordBefore(s, i-len(unicodeMinus)):
		return len(unicodeMinus)
	}
	return 0
}

// signLen returns the length of a leading sign of s, or 0.
func signLen(s string) int {
	switch {
	case strings.HasPrefix(s, "-"), strings.HasPrefix(s, "+"):
		return 1
	case strings.HasPrefix(s, unicodeMinus):
		return len(unicodeMinus)
	}
	return 0
}

// wordBefore reports whether the rune before s[i] is a letter or digit.
func wordBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// parseNumber converts a literal accepted by the scanner. Out-of-range
// values come back as ±Inf or ±0, as strconv.ParseFloat returns them; the
// syntax is always valid for ParseFloat once separators are removed.
func parseNumber(lit string) float64 {
	if strings.HasPrefix(lit, unicodeMinus) {
		lit = "-" + lit[len(unicodeMinus):]
	}
	if strings.IndexByte(lit, ',') >= 0 {
		lit = strings.ReplaceAll(lit, ",", "")
	}
	v, _ := strconv.ParseFloat(lit, 64)
	return v
}

func skipDigits(s string, j int) int {
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

package mockllm

import (
	"math"
	"strconv"
	"strings"
)

// questionSpace is the number of distinct questions Question generates:
// three operators times 98 × 98 operand pairs (2..99).
const questionSpace = 3 * 98 * 98

// questionStride is coprime with questionSpace (= 2² · 3 · 7⁴), so
// i ↦ i·stride mod questionSpace is a bijection: consecutive questions look
// unrelated yet never repeat within questionSpace.
const questionStride = 7919

// Question returns the deterministic arithmetic question number i and its
// answer, in the form Solve parses ("What is 17 + 25?"), with operators +, -
// and * and operands in 2..99. Questions 0 to 28,811 are pairwise distinct;
// after that they repeat. The demo seeder and the tests use it.
func Question(i int) (prompt string, answer int64) {
	k := int64(i % questionSpace)
	if k < 0 {
		k += questionSpace
	}
	j := (k*questionStride + 12345) % questionSpace
	a := 2 + (j/3)%98
	b := 2 + j/(3*98)
	var op byte
	switch j % 3 {
	case 0:
		op, answer = '+', a+b
	case 1:
		op, answer = '-', a-b
	default:
		op, answer = '*', a*b
	}
	buf := make([]byte, 0, 24)
	buf = append(buf, "What is "...)
	buf = strconv.AppendInt(buf, a, 10)
	buf = append(buf, ' ', op, ' ')
	buf = strconv.AppendInt(buf, b, 10)
	buf = append(buf, '?')
	return string(buf), answer
}

// Solve computes the answer to an arithmetic question of the form the demo
// uses: "What is A op B?" where op is +, -, *, × or x, A and B are integers
// (possibly negative, possibly in parentheses), "what is" matches in any
// case anywhere in the prompt, and the expression ends at a question mark or
// at the end of the prompt. It reports false for anything else, including
// results that overflow int64.
func Solve(prompt string) (int64, bool) {
	rest := prompt
	for {
		i := indexWhatIs(rest)
		if i < 0 {
			return 0, false
		}
		rest = rest[i+len(whatIs):]
		if v, ok := solveExpr(rest); ok {
			return v, true
		}
	}
}

const whatIs = "what is"

// indexWhatIs finds "what is" in s ignoring ASCII case, without the
// allocation strings.ToLower would cost on every request.
func indexWhatIs(s string) int {
	for i := 0; i+len(whatIs) <= len(s); i++ {
		match := true
		for j := 0; j < len(whatIs); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != whatIs[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

func solveExpr(s string) (int64, bool) {
	a, s, ok := parseOperand(skipSpaces(s))
	if !ok {
		return 0, false
	}
	s = skipSpaces(s)
	var op byte
	switch {
	case strings.HasPrefix(s, "×"):
		op, s = '*', s[len("×"):]
	case strings.HasPrefix(s, "−"):
		op, s = '-', s[len("−"):]
	case s != "" && strings.IndexByte("+-*xX", s[0]) >= 0:
		op, s = s[0], s[1:]
		if op == 'x' || op == 'X' {
			op = '*'
		}
	default:
		return 0, false
	}
	b, s, ok := parseOperand(skipSpaces(s))
	if !ok {
		return 0, false
	}
	s = skipSpaces(s)
	if s != "" && s[0] != '?' {
		return 0, false
	}
	switch op {
	case '+':
		return addChecked(a, b)
	case '-':
		if b == math.MinInt64 {
			return 0, false
		}
		return addChecked(a, -b)
	default:
		return mulChecked(a, b)
	}
}

func skipSpaces(s string) string {
	return strings.TrimLeft(s, " \t")
}

// parseOperand reads an integer with an optional sign ("-", "+" or the
// Unicode minus "−"), optionally in parentheses, and returns the rest of s.
func parseOperand(s string) (int64, string, bool) {
	if strings.HasPrefix(s, "(") {
		v, rest, ok := parseOperand(skipSpaces(s[1:]))
		rest = skipSpaces(rest)
		if !ok || !strings.HasPrefix(rest, ")") {
			return 0, s, false
		}
		return v, rest[1:], true
	}
	neg := false
	switch {
	case strings.HasPrefix(s, "−"):
		neg, s = true, s[len("−"):]
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	n := 0
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	// A decimal point would make the operand something Solve does not
	// handle; reading "2.5" as 2 would give a confidently wrong answer.
	if n == 0 || (n < len(s) && s[n] == '.' && n+1 < len(s) && '0' <= s[n+1] && s[n+1] <= '9') {
		return 0, s, false
	}
	v, err := strconv.ParseInt(s[:n], 10, 64)
	if err != nil {
		return 0, s, false
	}
	if neg {
		v = -v
	}
	return v, s[n:], true
}

func addChecked(a, b int64) (int64, bool) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, false
	}
	return a + b, true
}

func mulChecked(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	if (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	r := a * b
	if r/b != a {
		return 0, false
	}
	return r, true
}

// unknownAnswers are what a mock says to prompts it cannot solve. None holds
// a digit, so a numeric scorer never finds a number in them by accident.
var unknownAnswers = [...]string{
	"I do not know.",
	"I am not sure about that.",
	"I cannot answer that question.",
}

// Answer returns what model replies to prompt in the given sample. For an
// arithmetic question (see Solve) it is "The answer is N.", where N is the
// right value when Correct(model, prompt, sample) holds and otherwise a
// deterministic wrong value (off by 1 to 9, never equal to the right one).
// For any other prompt it is a fixed sentence, chosen by hash, that contains
// no digits.
func Answer(model, prompt string, sample int) string {
	right, ok := Solve(prompt)
	if !ok {
		return unknownAnswers[unitHash(saltUnknown, model, prompt, sample)%uint64(len(unknownAnswers))]
	}
	n := right
	if !Correct(model, prompt, sample) {
		off := 1 + int64(unitHash(saltWrong, model, prompt, sample)%9)
		if right > math.MaxInt64-off {
			n = right - off
		} else {
			n = right + off
		}
	}
	buf := make([]byte, 0, 40)
	buf = append(buf, "The answer is "...)
	buf = strconv.AppendInt(buf, n, 10)
	buf = append(buf, '.')
	return string(buf)
}

package scoring

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sabe-dev/sabe/internal/fault"
)

// Limits of a question's choices.
const (
	MinChoices      = 2
	MaxChoices      = 26
	MaxChoiceLength = 1000
)

// ValidateChoices checks a question's choices (field "choices"): from
// MinChoices to MaxChoices non-empty strings. Any method may have them
// (the prompt shows them); multiple_choice needs them. Compile calls it
// whenever QuestionRef.Choices is not nil.
func ValidateChoices(choices []string) error {
	if len(choices) < MinChoices || len(choices) > MaxChoices {
		return fault.Invalid("choices", "must list from %d to %d choices, got %d", MinChoices, MaxChoices, len(choices))
	}
	for i, c := range choices {
		at := fmt.Sprintf("choices[%d]", i)
		switch {
		case strings.TrimSpace(c) == "":
			return fault.Invalid(at, "must not be empty")
		case len(c) > MaxChoiceLength:
			return fault.Invalid(at, "must be at most %d bytes, got %d", MaxChoiceLength, len(c))
		case !utf8.ValidString(c):
			return fault.Invalid(at, "must be valid UTF-8")
		}
	}
	return nil
}

// ChoicesPrompt is the prompt of a question with choices as the tested
// model sees it: the prompt, a blank line, then one "A. choice" line per
// choice. Without choices it is the prompt unchanged.
func ChoicesPrompt(prompt string, choices []string) string {
	if len(choices) == 0 {
		return prompt
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(prompt, "\n"))
	b.WriteString("\n\n")
	for i, c := range choices {
		b.WriteByte(byte('A' + i))
		b.WriteString(". ")
		b.WriteString(strings.TrimSpace(c))
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

func (s *Scorer) compileChoice(expected, wantField string, choices []string) error {
	if choices == nil {
		return fault.Invalid("choices", "are required for method multiple_choice")
	}
	s.choices = choices
	want := strings.TrimSpace(expected)
	if want == "" {
		return fault.Invalid(wantField, "is required for method multiple_choice")
	}
	if l, ok := s.letterOf(want); ok {
		s.wantLetter = l
		return nil
	}
	if l, ok := s.choiceText(want); ok {
		s.wantLetter = l
		return nil
	}
	return fault.Invalid(wantField, "must be a letter from A to %c or the text of one of the choices", 'A'+len(choices)-1)
}

// letterOf reads a bare letter, written "C", "c", "(C)", "C." or "C)",
// within the choices' range.
func (s *Scorer) letterOf(t string) (byte, bool) {
	t = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(t, "("), ")"), ".")
	if len(t) != 1 {
		return 0, false
	}
	return s.inRange(t[0])
}

func (s *Scorer) inRange(c byte) (byte, bool) {
	if 'a' <= c && c <= 'z' {
		c -= 'a' - 'A'
	}
	if c < 'A' || int(c-'A') >= len(s.choices) {
		return 0, false
	}
	return c, true
}

// choiceText finds the choice whose text is t, ignoring case and
// surrounding spaces.
func (s *Scorer) choiceText(t string) (byte, bool) {
	for i, c := range s.choices {
		if strings.EqualFold(strings.TrimSpace(c), t) {
			return byte('A' + i), true
		}
	}
	return 0, false
}

// The forms a model states its choice in, strongest first. Letters are
// capitals, except in a bare response, so that "the answer is a bit
// longer" does not read as choice A.
var (
	// "Answer: C", "The answer is C", "answer is (C)", "**Answer:** C",
	// "Final answer - C".
	answerPhrase = regexp.MustCompile(`(?i:answer)(?:\s*\*\*)?(?:\s+(?i:is))?\s*(?::|-|=)?\s*(?:\*\*)?\s*[\(\[]?\s*([A-Z])(?:[^\pL\pN]|$)`)
	// "(C)", "**C**", "[C]", or a line that starts "C." or "C)".
	letterForm = regexp.MustCompile(`\(([A-Z])\)|\*\*([A-Z])\*\*|\[([A-Z])\]|(?m:^\s*([A-Z])[.)](?:\s|$))`)
)

// chosenLetter extracts the letter a response chose, or explains why none.
func (s *Scorer) chosenLetter(response string) (byte, string) {
	t := strings.TrimSpace(response)
	if l, ok := s.letterOf(strings.Trim(t, "*")); ok {
		return l, ""
	}
	var last byte
	for _, m := range answerPhrase.FindAllStringSubmatch(t, -1) {
		if l, ok := s.inRange(m[1][0]); ok {
			last = l
		}
	}
	if last != 0 {
		return last, ""
	}
	var found byte
	for _, m := range letterForm.FindAllStringSubmatch(t, -1) {
		for _, g := range m[1:] {
			if g == "" {
				continue
			}
			l, ok := s.inRange(g[0])
			if !ok {
				continue
			}
			if found != 0 && found != l {
				return 0, "several choices named (" + string(found) + " and " + string(l) + ")"
			}
			found = l
		}
	}
	if found != 0 {
		return found, ""
	}
	if l, ok := s.choiceText(t); ok {
		return l, ""
	}
	return 0, "no choice letter found"
}

func (s *Scorer) multipleChoice(response string) Result {
	want := string(s.wantLetter)
	l, problem := s.chosenLetter(response)
	if l == 0 {
		return verdict(false, problem+", expected "+want)
	}
	return verdict(l == s.wantLetter, "expected "+want+", got "+string(l))
}

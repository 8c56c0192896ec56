package mockllm_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/mockllm"
)

func TestSolve(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		for prompt, want := range map[string]int64{
			"What is 17 + 25?":                        42,
			"What is 17 - 25?":                        -8,
			"What is 6 * 7?":                          42,
			"What is 6 × 7?":                          42,
			"What is 6 x 7?":                          42,
			"What is 6x7?":                            42,
			"what is -3 * 4":                          -12,
			"WHAT IS 5 - -3 ?":                        8,
			"What is 5 - (-3)?":                       8,
			"What is −2 + 10?":                        8,
			"What is 9 − 10?":                         -1,
			"Question 4. What is 2 + 2? Reply with N": 4,
			"What is the capital? What is 3 + 4?":     7,
		} {
			got, ok := mockllm.Solve(prompt)
			if !ok || got != want {
				t.Errorf("Solve(%q) = %d, %v; want %d, true", prompt, got, ok, want)
			}
		}
	})

	t.Run("ErrNotArithmetic", func(t *testing.T) {
		t.Parallel()
		for _, prompt := range []string{
			"",
			"What is the capital of France?",
			"17 + 25",
			"What is 17 / 25?",
			"What is 2.5 + 1?",
			"What is 2 + 1.5?",
			"What is 2 + 3 + 4?",
			"What is 2 +?",
			"What is 9223372036854775807 + 1?",
			"What is 9223372036854775807 * 2?",
			"What is 99999999999999999999 + 1?",
		} {
			if got, ok := mockllm.Solve(prompt); ok {
				t.Errorf("Solve(%q) = %d, true; want false", prompt, got)
			}
		}
	})
}

func TestQuestion(t *testing.T) {
	t.Parallel()

	shape := regexp.MustCompile(`^What is (\d+) ([-+*]) (\d+)\?$`)
	seen := make(map[string]int)
	ops := make(map[string]int)
	for i := range 5000 {
		prompt, answer := mockllm.Question(i)
		m := shape.FindStringSubmatch(prompt)
		if m == nil {
			t.Fatalf("Question(%d) = %q, not of the form %s", i, prompt, shape)
		}
		for _, operand := range []string{m[1], m[3]} {
			if v, _ := strconv.Atoi(operand); v < 2 || v > 99 {
				t.Errorf("Question(%d) = %q: operand %d outside 2..99", i, prompt, v)
			}
		}
		if got, ok := mockllm.Solve(prompt); !ok || got != answer {
			t.Errorf("Question(%d) = %q, %d but Solve says %d, %v", i, prompt, answer, got, ok)
		}
		if j, dup := seen[prompt]; dup {
			t.Errorf("Question(%d) repeats Question(%d): %q", i, j, prompt)
		}
		seen[prompt] = i
		ops[m[2]]++
		if again, _ := mockllm.Question(i); again != prompt {
			t.Fatalf("Question(%d) is not stable: %q then %q", i, prompt, again)
		}
	}
	for _, op := range []string{"+", "-", "*"} {
		if ops[op] < 1000 {
			t.Errorf("operator %q used %d times in 5000 questions; want a fair share", op, ops[op])
		}
	}
	if p, _ := mockllm.Question(-1); p == "" {
		t.Error("Question(-1) is empty")
	}
}

func TestAnswer(t *testing.T) {
	t.Parallel()

	t.Run("Arithmetic", func(t *testing.T) {
		t.Parallel()
		shape := regexp.MustCompile(`^The answer is (-?\d+)\.$`)
		for _, model := range []string{"mock-strong", "mock-weak", "mock-50"} {
			right, wrong := 0, 0
			for i := range 600 {
				prompt, want := mockllm.Question(i)
				sample := i % 4
				got := mockllm.Answer(model, prompt, sample)
				m := shape.FindStringSubmatch(got)
				if m == nil {
					t.Fatalf("Answer(%q, %q, %d) = %q, not of the form %s", model, prompt, sample, got, shape)
				}
				n, _ := strconv.ParseInt(m[1], 10, 64)
				if correct := mockllm.Correct(model, prompt, sample); correct != (n == want) {
					t.Errorf("Answer(%q, %q, %d) = %q; Correct = %v but the right answer is %d", model, prompt, sample, got, correct, want)
				}
				if n == want {
					right++
				} else {
					wrong++
					if d := n - want; d < 1 || d > 9 {
						t.Errorf("Answer(%q, %q, %d) = %q is off by %d; want 1..9", model, prompt, sample, got, d)
					}
				}
				if again := mockllm.Answer(model, prompt, sample); again != got {
					t.Fatalf("Answer is not stable: %q then %q", got, again)
				}
			}
			if right == 0 || wrong == 0 {
				t.Errorf("%s: %d right and %d wrong answers; want both", model, right, wrong)
			}
		}
	})

	t.Run("NearOverflow", func(t *testing.T) {
		t.Parallel()
		const prompt = "What is 9223372036854775806 + 1?"
		got := mockllm.Answer("mock-zero", prompt, 0)
		if got == "The answer is 9223372036854775807." || !strings.HasPrefix(got, "The answer is 9223372036854775") {
			t.Errorf("Answer(mock-zero, %q) = %q; want a wrong answer below the maximum", prompt, got)
		}
	})

	t.Run("NotArithmetic", func(t *testing.T) {
		t.Parallel()
		for i := range 50 {
			prompt := "Name a colour, please (" + strconv.Itoa(i) + ")"
			got := mockllm.Answer("mock-perfect", prompt, i)
			if got == "" || strings.ContainsAny(got, "0123456789") {
				t.Errorf("Answer(%q) = %q; want a sentence without digits", prompt, got)
			}
			if again := mockllm.Answer("mock-perfect", prompt, i); again != got {
				t.Errorf("Answer(%q) is not stable: %q then %q", prompt, got, again)
			}
		}
	})
}

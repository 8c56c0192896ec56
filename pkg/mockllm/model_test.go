package mockllm_test

import (
	"math"
	"testing"

	"github.com/sabe-dev/sabe/pkg/mockllm"
)

func TestAccuracy(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		for model, want := range map[string]float64{
			"mock-perfect": 1.0,
			"mock-strong":  0.9,
			"mock-medium":  0.6,
			"mock-weak":    0.3,
			"mock-zero":    0.0,
			"mock-0":       0.0,
			"mock-7":       0.07,
			"mock-75":      0.75,
			"mock-100":     1.0,
		} {
			got, ok := mockllm.Accuracy(model)
			if !ok || got != want {
				t.Errorf("Accuracy(%q) = %v, %v; want %v, true", model, got, ok, want)
			}
		}
	})

	t.Run("ErrUnknown", func(t *testing.T) {
		t.Parallel()
		for _, model := range []string{"", "gpt-4o", "mock-", "mock-101", "mock--1", "mock-05", "mock-+5", "mock-1.5", "MOCK-STRONG", "mock-strong "} {
			if got, ok := mockllm.Accuracy(model); ok {
				t.Errorf("Accuracy(%q) = %v, true; want unknown", model, got)
			}
		}
	})

	t.Run("ModelsAreKnown", func(t *testing.T) {
		t.Parallel()
		names := mockllm.Models()
		if len(names) != 5 {
			t.Fatalf("Models() = %v, want the 5 named models", names)
		}
		prev := math.Inf(1)
		for _, name := range names {
			acc, ok := mockllm.Accuracy(name)
			if !ok || acc > prev {
				t.Errorf("Models() = %v: %q unknown or out of order (accuracy %v after %v)", names, name, acc, prev)
			}
			prev = acc
		}
	})
}

func TestCorrect_Deterministic(t *testing.T) {
	t.Parallel()

	// Changing the sample must change some outcomes, or samples would be
	// pointless; repeating a call must change none.
	differ := 0
	for i := range 500 {
		prompt, _ := mockllm.Question(i)
		a := mockllm.Correct("mock-medium", prompt, 0)
		if a != mockllm.Correct("mock-medium", prompt, 0) {
			t.Fatalf("Correct(%q, 0) is not stable", prompt)
		}
		if a != mockllm.Correct("mock-medium", prompt, 1) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("sample 0 and sample 1 agree on all 500 prompts; the sample does not reach the hash")
	}
}

func TestCorrect_ObservedAccuracy(t *testing.T) {
	t.Parallel()

	const n = 2000
	for _, model := range []string{"mock-perfect", "mock-strong", "mock-medium", "mock-weak", "mock-zero", "mock-45"} {
		t.Run(model, func(t *testing.T) {
			t.Parallel()
			want, _ := mockllm.Accuracy(model)
			correct := 0
			for i := range n {
				prompt, _ := mockllm.Question(i)
				if mockllm.Correct(model, prompt, i%3) {
					correct++
				}
			}
			got := float64(correct) / n
			if math.Abs(got-want) > 0.05 {
				t.Errorf("observed accuracy %.3f over %d prompts, want %.2f ± 0.05", got, n, want)
			}
			if (want == 1 && correct != n) || (want == 0 && correct != 0) {
				t.Errorf("accuracy %v must be exact: %d of %d correct", want, correct, n)
			}
		})
	}

	t.Run("ErrUnknownModel", func(t *testing.T) {
		t.Parallel()
		prompt, _ := mockllm.Question(1)
		if mockllm.Correct("gpt-4o", prompt, 0) {
			t.Error("an unknown model was correct")
		}
	})
}

package catalog_test

import (
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/scoring"
)

func turns(roles ...string) []catalog.Message {
	out := make([]catalog.Message, len(roles))
	for i, r := range roles {
		out[i] = catalog.Message{Role: r, Content: "turn " + r}
	}
	return out
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestQuestionInput_Validate(t *testing.T) {
	t.Parallel()
	exact := scoring.Rule{Method: scoring.MethodExactMatch}
	for _, tc := range []struct {
		name      string
		in        catalog.QuestionInput
		wantField string // "" when valid
	}{
		{"OKPrompt", catalog.QuestionInput{Prompt: "p", ExpectedAnswer: "a", Scoring: exact}, ""},
		{"OKNoScoring", catalog.QuestionInput{Prompt: "p"}, ""},
		{"OKMessages", catalog.QuestionInput{Messages: turns("system", "user", "assistant", "user"), ExpectedAnswer: "a", Scoring: exact}, ""},
		{"OKChoices", catalog.QuestionInput{Prompt: "p", Choices: []string{"x", "y"}, ExpectedAnswer: "A"}, ""},
		{"ErrNeither", catalog.QuestionInput{ExpectedAnswer: "a"}, "prompt"},
		{"ErrBoth", catalog.QuestionInput{Prompt: "p", Messages: turns("user")}, "messages"},
		{"ErrEmptyMessages", catalog.QuestionInput{Messages: []catalog.Message{}}, "messages"},
		{"ErrRole", catalog.QuestionInput{Messages: turns("user", "tool", "user")}, "messages[1].role"},
		{"ErrLastNotUser", catalog.QuestionInput{Messages: turns("user", "assistant")}, "messages[1].role"},
		{"ErrSystemNotFirst", catalog.QuestionInput{Messages: turns("user", "system", "user")}, "messages[1].role"},
		{"ErrEmptyContent", catalog.QuestionInput{Messages: []catalog.Message{{Role: "user", Content: " "}}}, "messages[0].content"},
		{"ErrTooManyTurns", catalog.QuestionInput{Messages: turns(repeat("user", catalog.MaxMessages+1)...)}, "messages"},
		{"ErrTooLong", catalog.QuestionInput{Messages: []catalog.Message{
			{Role: "user", Content: strings.Repeat("x", catalog.MaxPromptLength/2+1)},
			{Role: "assistant", Content: "ok"},
			{Role: "user", Content: strings.Repeat("x", catalog.MaxPromptLength/2+1)},
		}}, "messages"},
		{"ErrOneChoice", catalog.QuestionInput{Prompt: "p", Choices: []string{"x"}}, "choices"},
		{"ErrTooManyChoices", catalog.QuestionInput{Prompt: "p", Choices: repeat("c", catalog.MaxChoices+1)}, "choices"},
		{"ErrEmptyChoice", catalog.QuestionInput{Prompt: "p", Choices: []string{"x", ""}}, "choices[1]"},
		{"ErrScoring", catalog.QuestionInput{Prompt: "p", Scoring: scoring.Rule{Method: scoring.MethodRegex}}, "scoring.pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.in.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if fe := fault.As(err); fe == nil || fe.Kind != fault.KindInvalid || fe.Field != tc.wantField {
				t.Fatalf("err = %v, want invalid %s", err, tc.wantField)
			}
		})
	}
}

func TestValidateFewShot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		in        []catalog.Message
		wantField string
	}{
		{"OKNone", nil, ""},
		{"OK", turns("user", "assistant", "user", "assistant"), ""},
		{"ErrSystem", turns("system", "user", "assistant"), "few_shot[0].role"},
		{"ErrEndsWithUser", turns("user", "assistant", "user"), "few_shot[2].role"},
		{"ErrRole", turns("user", "bot"), "few_shot[1].role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := catalog.ValidateFewShot("few_shot", tc.in)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if fe := fault.As(err); fe == nil || fe.Field != tc.wantField {
				t.Fatalf("err = %v, want invalid %s", err, tc.wantField)
			}
		})
	}
}

func TestBenchmarkConfig_ValidateScoring(t *testing.T) {
	t.Parallel()
	base := catalog.BenchmarkConfig{MaxTokens: 8, Samples: 1}
	t.Run("OKDefaultNeedsQuestion", func(t *testing.T) {
		// exact_match needs an expected answer, which only a question has:
		// the default alone is accepted.
		c := base
		c.Scoring = &scoring.Rule{Method: scoring.MethodExactMatch}
		if err := c.Validate("config"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrEmptyDefault", func(t *testing.T) {
		c := base
		c.Scoring = &scoring.Rule{}
		if fe := fault.As(c.Validate("config")); fe == nil || fe.Field != "config.scoring" {
			t.Fatalf("err = %v", fe)
		}
	})
	t.Run("ErrDefaultField", func(t *testing.T) {
		c := base
		c.Scoring = &scoring.Rule{Method: "nope"}
		if fe := fault.As(c.Validate("config")); fe == nil || fe.Field != "config.scoring.method" {
			t.Fatalf("err = %v, want config.scoring.method", fe)
		}
	})
}

func TestRefield(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"scoring", "config.scoring"},
		{"scoring.method", "config.scoring.method"},
		{"scoring.assertions[2].weight", "config.scoring.assertions[2].weight"},
		{"pattern", "config.scoring.pattern"},
	} {
		err := catalog.Refield("config.scoring", "scoring", fault.Invalid(tc.in, "x"))
		if fe := fault.As(err); fe == nil || fe.Field != tc.want {
			t.Errorf("Refield(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

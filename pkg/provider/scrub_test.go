package provider_test

import (
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/provider"
)

func TestScrub(t *testing.T) {
	t.Parallel()
	const secret = "Zq7RkP2mXw9TnB4vLc8H"
	cases := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"NothingToDo", "model not found", []string{secret}, "model not found"},
		{"WholeSecret", "bad key " + secret + " given", []string{secret}, "bad key [redacted] given"},
		{"SecretFragment", "key ends in " + secret[8:16] + ".", []string{secret}, "key ends in [redacted]."},
		{"ShortFragmentKept", "key ends in " + secret[15:] + ".", []string{secret}, "key ends in " + secret[15:] + "."},
		{"EverySecret", "a=" + secret + " b=abcdefgh", []string{secret, "abcdefgh"}, "a=[redacted] b=[redacted]"},
		{"ShortSecret", "pin 1234 used", []string{"1234"}, "pin [redacted] used"},
		{"EmptySecret", "nothing secret", []string{"", "  "}, "nothing secret"},
		{"OpenAIKey", "Incorrect API key provided: sk-proj-abcDEF123456.", nil, "Incorrect API key provided: [redacted]."},
		{"AnthropicKey", "key sk-ant-api03-abc_DEF-123 invalid", nil, "key [redacted] invalid"},
		{"OpenRouterKey", "sk-or-v1-0123456789abcdef", nil, "[redacted]"},
		{"MaskedKey", "Incorrect API key provided: sk-abc****wxyz. You can find", nil, "Incorrect API key provided: [redacted]. You can find"},
		{"MaskedDots", "key sk-abc...wxyz rejected", nil, "key [redacted] rejected"},
		{"MaskedUnknownShape", "key abcd********wxyz rejected", nil, "key [redacted] rejected"},
		{"MaskedTail", "key ending ****wxyz rejected", nil, "key ending [redacted] rejected"},
		{"GoogleKey", "API key not valid: AIzaSyA-1234567890abcdefghij", nil, "API key not valid: [redacted]"},
		{"Bearer", "header Authorization: Bearer abc.def-ghi_123 rejected", nil, "header Authorization: Bearer [redacted] rejected"},
		{"BearerLowercase", `"authorization": "bearer xyz123"`, nil, `"authorization": "bearer [redacted]"`},
		{"SabeToken", "token sabe_0123456789abcdefABCDEF0123456789abcdef rejected", nil, "token [redacted] rejected"},
		{"OtherVendor", "groq says gsk_abcdefghijklmnop is invalid", nil, "groq says [redacted] is invalid"},
		{"QueryKey", "GET https://example.com/v1/models?key=abc123&alt=json failed", nil, "GET https://example.com/v1/models?key=[redacted]&alt=json failed"},
		{"PlainWordsKept", "ask-me task-force risk-free", nil, "ask-me task-force risk-free"},
		{"UTF8", "clé " + secret + " é", []string{secret}, "clé [redacted] é"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := provider.Scrub(tc.in, tc.secrets...); got != tc.want {
				t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestScrub_NoFragmentSurvives checks the promise for every window of a key:
// no six characters of it survive, however the message cuts it.
func TestScrub_NoFragmentSurvives(t *testing.T) {
	t.Parallel()
	const key = "Qm4tV8xR2pL7nK1wZ9cB5hJ3"
	for i := 0; i < len(key); i++ {
		for j := i + 6; j <= len(key); j++ {
			msg := "prefix " + key[i:j] + " suffix " + key[:j-i]
			got := provider.Scrub(msg, key)
			for k := 0; k+6 <= len(key); k++ {
				if strings.Contains(got, key[k:k+6]) {
					t.Fatalf("Scrub(%q) = %q keeps %q", msg, got, key[k:k+6])
				}
			}
		}
	}
}

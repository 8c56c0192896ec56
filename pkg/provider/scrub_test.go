package provider_test

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"unicode"

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

// TestScrub_TransformedEchoes covers the ways a provider has been seen to
// echo a key back transformed: no form of it may survive Scrub, and checking
// a form means looking for any six characters of that form in the output,
// compared without case and without the spaces or punctuation it was
// split with.
func TestScrub_TransformedEchoes(t *testing.T) {
	t.Parallel()
	const key = "Qm4tV8xR2pL7nK1wZ9cB5hJ3"
	rev := func(s string) string {
		b := []byte(s)
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return string(b)
	}
	spaced := func(s string) string { return strings.Join(strings.Split(s, ""), " ") }
	forms := map[string]string{
		"Lower":        strings.ToLower(key),
		"Upper":        strings.ToUpper(key),
		"Base64":       base64.StdEncoding.EncodeToString([]byte(key)),
		"Base64URL":    base64.RawURLEncoding.EncodeToString([]byte(key)),
		"Base64Basic":  base64.StdEncoding.EncodeToString([]byte("user:" + key)),
		"Base64Offset": base64.StdEncoding.EncodeToString([]byte("x" + key)),
		"Hex":          hex.EncodeToString([]byte(key)),
		"HexUpper":     strings.ToUpper(hex.EncodeToString([]byte(key))),
		"Spaced":       spaced(key),
		"Dashed":       strings.Join(strings.Split(key, ""), "-"),
		"Reversed":     rev(key),
		"Split":        key[:12] + "\n" + key[12:],
		"SplitWords":   key[:8] + " and then " + key[8:16] + ", finally " + key[16:],
		"Quoted":       `"` + key[:10] + `" + "` + key[10:] + `"`,
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			msg := "invalid credentials: " + form + " (check your settings)"
			got := provider.Scrub(msg, key)
			if !strings.Contains(got, "[redacted]") {
				t.Fatalf("Scrub(%q) = %q removes nothing", msg, got)
			}
			// Every form's six-character pieces, normalised, must be gone.
			norm := func(s string) string {
				var b strings.Builder
				for _, r := range strings.ToLower(s) {
					if unicode.IsLetter(r) || unicode.IsDigit(r) {
						b.WriteRune(r)
					}
				}
				return b.String()
			}
			out := norm(strings.ReplaceAll(got, "[redacted]", "|"))
			checks := []string{key, rev(key), hex.EncodeToString([]byte(key))}
			if strings.HasPrefix(name, "Base64") {
				// Past the first eight characters, which may encode a prefix
				// such as "user:" that is no secret.
				checks = append(checks, form[8:])
			}
			for _, f := range checks {
				nf := norm(f)
				for k := 0; k+6 <= len(nf); k++ {
					if strings.Contains(out, nf[k:k+6]) {
						t.Fatalf("Scrub(%q) = %q keeps %q", msg, got, nf[k:k+6])
					}
				}
			}
			if !strings.HasPrefix(got, "invalid credentials: ") || !strings.HasSuffix(got, " (check your settings)") {
				t.Errorf("Scrub(%q) = %q removed text around the key", msg, got)
			}
		})
	}
}

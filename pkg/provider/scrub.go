package provider

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// redacted replaces everything Scrub removes.
const redacted = "[redacted]"

// minFragment is the shortest piece of a known secret that Scrub removes.
// Providers often echo a key partly ("sk-abc…wxyz"); six characters of a
// random key are already useful to nobody but an attacker narrowing it down.
const minFragment = 6

// keyShape is a pattern for a credential Scrub removes without knowing it,
// and what to put in its place.
type keyShape struct {
	re   *regexp.Regexp
	repl string
}

// keyChars matches one character of a key or of a key's masked rendering
// (providers mask with '*', '•', '…' or "...").
const keyChars = `(?:[A-Za-z0-9_\-*•…]|\.{3,})`

var keyShapes = []keyShape{
	{regexp.MustCompile(`(?i)\b(bearer\s+)[^\s"',;]+`), "${1}" + redacted},
	// OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), OpenRouter (sk-or-v1-).
	{regexp.MustCompile(`\bsk-` + keyChars + `{3,}`), redacted},
	// Google API keys.
	{regexp.MustCompile(`\bAIza` + keyChars + `{6,}`), redacted},
	// SABE's own API tokens.
	{regexp.MustCompile(`\bsabe_` + keyChars + `{4,}`), redacted},
	// Other common provider prefixes: xAI, Groq, Perplexity, NVIDIA,
	// Hugging Face, Replicate, Cerebras, Fireworks.
	{regexp.MustCompile(`\b(?:xai|gsk|pplx|nvapi|hf|r8|csk|fw)[-_]` + keyChars + `{8,}`), redacted},
	// A masked key of unknown shape: "abcd****wxyz", "****wxyz", "ab…yz".
	{regexp.MustCompile(`[A-Za-z0-9_\-]*(?:\*{3,}|•{3,})[A-Za-z0-9_\-]*`), redacted},
	{regexp.MustCompile(`[A-Za-z0-9_\-]{2,}…[A-Za-z0-9_\-]{2,}`), redacted},
	// Credentials in query strings: ?key=..., &api_key=..., access_token=...
	{regexp.MustCompile(`(?i)\b((?:api[_-]?key|key|access_token|token)=)[^&\s"']+`), "${1}" + redacted},
}

// Scrub removes credentials from msg before it is stored or logged: every
// occurrence of each given secret and of any piece of it at least six
// characters long, then anything shaped like a well-known key (sk-...,
// sk-ant-..., AIza..., Bearer tokens, sabe_... tokens, masked fragments like
// "sk-abc****wxyz"). Each is replaced by "[redacted]". It errs on the side of
// removing too much.
func Scrub(msg string, secrets ...string) string {
	// Shapes first: a masked rendering such as "sk-abc****wxyz" goes as a
	// whole, before removing the known secret could split it into pieces
	// that no longer look like a key.
	for _, s := range keyShapes {
		msg = s.re.ReplaceAllString(msg, s.repl)
	}
	return scrubSecrets(msg, secrets)
}

// scrubSecrets marks every byte of msg covered by a minFragment-long window
// that also occurs in a secret, then replaces each marked run. Any substring
// of a secret of length >= minFragment is a union of such windows, so it is
// fully covered; unrelated text is only touched if it shares six characters
// with a key, which is the acceptable direction to be wrong in.
func scrubSecrets(msg string, secrets []string) string {
	var marked []bool
	mark := func(from, to int) {
		if marked == nil {
			marked = make([]bool, len(msg))
		}
		for i := from; i < to; i++ {
			marked[i] = true
		}
	}
	for _, secret := range secrets {
		if strings.TrimSpace(secret) == "" {
			continue
		}
		if len(secret) < minFragment {
			for off := 0; ; {
				i := strings.Index(msg[off:], secret)
				if i < 0 {
					break
				}
				mark(off+i, off+i+len(secret))
				off += i + len(secret)
			}
			continue
		}
		windows := make(map[string]struct{}, len(secret)-minFragment+1)
		for i := 0; i+minFragment <= len(secret); i++ {
			windows[secret[i:i+minFragment]] = struct{}{}
		}
		for i := 0; i+minFragment <= len(msg); i++ {
			if _, ok := windows[msg[i:i+minFragment]]; ok {
				mark(i, i+minFragment)
			}
		}
	}
	if marked == nil {
		return msg
	}
	var b strings.Builder
	b.Grow(len(msg))
	for i := 0; i < len(msg); {
		if !marked[i] {
			b.WriteByte(msg[i])
			i++
			continue
		}
		for i < len(msg) && marked[i] {
			i++
		}
		b.WriteString(redacted)
	}
	// A secret with multi-byte characters may have been cut mid-rune.
	return strings.ToValidUTF8(b.String(), "")
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

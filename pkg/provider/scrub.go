package provider

import (
	"encoding/base64"
	"encoding/hex"
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
// that also occurs in a form of a secret, then replaces each marked run. Any
// substring of a secret of length >= minFragment is a union of such windows,
// so it is fully covered; unrelated text is only touched if it shares six
// characters with a key, which is the acceptable direction to be wrong in.
//
// Providers echo keys transformed, so the comparison is not on the bytes as
// sent: both sides are folded to lower case and stripped of the spaces and
// punctuation a key may be split or spaced with (see normalize), and each
// secret is also looked for reversed, hex-encoded and base64-encoded (at
// each of the three byte alignments it can have inside a longer encoded
// string, such as HTTP Basic's "user:key").
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
	norm, at := normalize(msg)
	for _, secret := range secrets {
		if strings.TrimSpace(secret) == "" {
			continue
		}
		for _, form := range secretForms(secret) {
			if len(form) == 0 {
				continue
			}
			if len(form) < minFragment {
				for off := 0; ; {
					i := strings.Index(norm[off:], form)
					if i < 0 {
						break
					}
					mark(at[off+i], at[off+i+len(form)-1]+1)
					off += i + len(form)
				}
				continue
			}
			windows := make(map[string]struct{}, len(form)-minFragment+1)
			for i := 0; i+minFragment <= len(form); i++ {
				windows[form[i:i+minFragment]] = struct{}{}
			}
			for i := 0; i+minFragment <= len(norm); i++ {
				if _, ok := windows[norm[i:i+minFragment]]; ok {
					mark(at[i], at[i+minFragment-1]+1)
				}
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

// secretForms lists the normalised forms of a secret that scrubSecrets
// looks for: the secret itself, reversed, hex-encoded and base64-encoded.
// Standard and URL base64 differ only in '+' '/' versus '-' '_', which
// normalize drops, so one encoding covers both.
func secretForms(secret string) []string {
	raw := []byte(secret)
	reversed := make([]byte, len(raw))
	for i, c := range raw {
		reversed[len(raw)-1-i] = c
	}
	forms := []string{secret, string(reversed), hex.EncodeToString(raw)}
	// Inside a longer base64 string the secret starts at some byte offset;
	// only whole 3-byte groups encode to the same characters wherever they
	// sit, so encode the groups starting at each of the three offsets.
	for off := 0; off < 3 && off < len(raw); off++ {
		n := (len(raw) - off) / 3 * 3
		if n == 0 {
			continue
		}
		forms = append(forms, base64.RawStdEncoding.EncodeToString(raw[off:off+n]))
	}
	for i, f := range forms {
		forms[i], _ = normalize(f)
	}
	return forms
}

// normalize folds ASCII letters to lower case and drops the separators a
// key may be spaced, split or quoted with, returning the result and, for
// each of its bytes, the offset in s it came from. Only ASCII is changed,
// so offsets stay exact for any input.
func normalize(s string) (string, []int) {
	b := make([]byte, 0, len(s))
	at := make([]int, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isSeparator(c) {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
		at = append(at, i)
	}
	return string(b), at
}

// isSeparator reports whether c is whitespace or punctuation that carries
// nothing of a key: what a provider may have put between its pieces, and
// what base64 pads or varies with.
func isSeparator(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', '-', '_', '.', ',', ':', ';', '"', '\'', '`', '|', '+', '/', '=', '\\', '(', ')', '[', ']', '{', '}', '<', '>':
		return true
	}
	return false
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

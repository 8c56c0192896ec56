// Package text holds the one way SABE shortens text it quotes in details,
// errors and stored verdicts.
package text

import "unicode/utf8"

// Ellipsis marks where Clip cut.
const Ellipsis = "…"

// Clip shortens s to at most n bytes, cutting at a rune boundary and
// marking the cut with Ellipsis (which counts towards n), so a clipped
// string is still valid UTF-8 and never longer than its bound.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(Ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:max(cut, 0)] + Ellipsis
}

// ClipRunes shortens s to at most n characters (runes), marking the cut
// with Ellipsis (which counts as one of them): Clip for text measured as a
// person reads it, in a table cell or a label, rather than in bytes.
func ClipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + Ellipsis
}

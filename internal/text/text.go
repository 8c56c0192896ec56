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

package text_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sabe-dev/sabe/internal/text"
)

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg…"},
		{strings.Repeat("é", 6), 8, "éé…"}, // 12 bytes: the cut backs off to a rune boundary
	} {
		got := text.Clip(tc.s, tc.n)
		if got != tc.want || len(got) > tc.n || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q (%d bytes), want %q within the bound", tc.s, tc.n, got, len(got), tc.want)
		}
	}
}

func TestClipRunes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"one too long", 11, "one too lo…"},
		{"żółć gęślą", 5, "żółć…"},
	} {
		got := text.ClipRunes(c.in, c.n)
		if got != c.want || utf8.RuneCountInString(got) > c.n {
			t.Errorf("ClipRunes(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

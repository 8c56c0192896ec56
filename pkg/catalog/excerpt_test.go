package catalog_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sabe-dev/sabe/pkg/catalog"
)

func TestPromptExcerpt(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", catalog.PromptExcerptLength+1)
	for _, tc := range []struct{ name, in, want string }{
		{"Short", "What is 2+2?", "What is 2+2?"},
		{"Whitespace", "  Line one\n\n\tline two  ", "Line one line two"},
		{"Exact", long[:2*catalog.PromptExcerptLength], long[:2*catalog.PromptExcerptLength]},
		{"Cut", long, strings.Repeat("é", catalog.PromptExcerptLength-1) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := catalog.PromptExcerpt(tc.in)
			if got != tc.want || utf8.RuneCountInString(got) > catalog.PromptExcerptLength {
				t.Errorf("PromptExcerpt(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

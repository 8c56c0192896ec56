package catalog

import (
	"strings"

	"github.com/sabe-dev/sabe/internal/text"
)

// PromptExcerptLength is the most characters PromptExcerpt keeps, the
// ellipsis included: enough to recognise a question in a list of results.
const PromptExcerptLength = 80

// PromptExcerpt returns the start of a prompt for responses that name a
// question beside its id: runs of whitespace (newlines included) become
// one space, and a prompt longer than PromptExcerptLength characters is
// cut with "…". The store reads only a prompt's first few hundred
// characters for it, so whole prompts are not carried for a label.
func PromptExcerpt(prompt string) string {
	return text.ClipRunes(strings.Join(strings.Fields(prompt), " "), PromptExcerptLength)
}

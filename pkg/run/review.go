package run

import (
	"unicode/utf8"

	"github.com/sabe-dev/sabe/internal/fault"
)

// MaxReviewNote bounds a review's note, in characters.
const MaxReviewNote = 2000

// Review is a person's verdict on one unit (PUT /v1/executions/{id}/review).
// It is stored as an evaluation of the scorer "human", beside the judge's,
// never over it; the newest review is the unit's effective verdict.
type Review struct {
	Passed bool
	// Score is the unit's score in 0..1; nil means 1 when Passed, else 0.
	Score *float64
	// Note is why, at most MaxReviewNote characters.
	Note string
	// Reviewer names who reviewed: the API token's name (or its id when
	// it has none). Set by the API from the caller, never by the body.
	Reviewer string
}

// Validate checks a review and fills its default score; fault.Invalid
// names the field.
func (r *Review) Validate() error {
	if r.Score != nil && (*r.Score < 0 || *r.Score > 1 || *r.Score != *r.Score) {
		return fault.Invalid("score", "must be between 0 and 1")
	}
	if n := utf8.RuneCountInString(r.Note); n > MaxReviewNote {
		return fault.Invalid("note", "must be at most %d characters, got %d", MaxReviewNote, n)
	}
	if !utf8.ValidString(r.Note) {
		return fault.Invalid("note", "must be valid UTF-8")
	}
	if r.Reviewer == "" {
		return fault.Invalid("reviewer", "is required")
	}
	if r.Score == nil {
		s := 0.0
		if r.Passed {
			s = 1
		}
		r.Score = &s
	}
	return nil
}

// Package fault holds the kinds of error that cross SABE's package
// boundaries: a domain package returns one of these (or wraps one), and the
// HTTP layer turns its kind into a status code in exactly one place.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller did wrong, not by where it
// happened.
type Kind int

// The kinds of error. Each maps to one HTTP status in the API.
const (
	// KindInternal is anything the caller cannot fix (500).
	KindInternal Kind = iota
	// KindBadRequest is malformed input: bad JSON, unknown field, wrong type (400).
	KindBadRequest
	// KindUnauthorized is a missing or invalid credential (401).
	KindUnauthorized
	// KindForbidden is a valid credential without the right (403).
	KindForbidden
	// KindNotFound is a resource that does not exist (404).
	KindNotFound
	// KindConflict is a request that clashes with the current state (409).
	KindConflict
	// KindTooLarge is a body or collection over its limit (413).
	KindTooLarge
	// KindInvalid is well-formed input with a value that is not allowed (422).
	KindInvalid
	// KindUnavailable is a dependency that is down (503).
	KindUnavailable
	// KindTooMany is a request over a rate or a spend budget (429); the
	// caller may try again once it renews.
	KindTooMany
)

// String returns the machine-readable code used in JSON error bodies.
func (k Kind) String() string {
	switch k {
	case KindBadRequest:
		return "bad_request"
	case KindUnauthorized:
		return "unauthorized"
	case KindForbidden:
		return "forbidden"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindTooLarge:
		return "too_large"
	case KindInvalid:
		return "invalid"
	case KindUnavailable:
		return "unavailable"
	case KindTooMany:
		return "too_many_requests"
	default:
		return "internal"
	}
}

// Error is an error with a kind, an optional field it is about (a JSON path
// such as "scoring.pattern" or "line 3: prompt"), and a message safe to show
// to the caller.
type Error struct {
	Kind    Kind
	Field   string
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Is makes errors.Is match two *Error values of the same kind, field and
// message, so that package sentinels built with these constructors work.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Field == e.Field && t.Message == e.Message
}

// BadRequest reports malformed input about field.
func BadRequest(field, format string, args ...any) error {
	return &Error{Kind: KindBadRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a value of field that is well-formed but not allowed.
func Invalid(field, format string, args ...any) error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports that the named resource does not exist.
func NotFound(resource string) error {
	return &Error{Kind: KindNotFound, Message: resource + " not found"}
}

// Conflict reports a request that clashes with the current state.
func Conflict(format string, args ...any) error {
	return &Error{Kind: KindConflict, Message: fmt.Sprintf(format, args...)}
}

// TooLarge reports a body or collection of field over its limit.
func TooLarge(field, format string, args ...any) error {
	return &Error{Kind: KindTooLarge, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Unauthorized reports a missing or invalid credential.
func Unauthorized(format string, args ...any) error {
	return &Error{Kind: KindUnauthorized, Message: fmt.Sprintf(format, args...)}
}

// Forbidden reports a credential that lacks a right.
func Forbidden(format string, args ...any) error {
	return &Error{Kind: KindForbidden, Message: fmt.Sprintf(format, args...)}
}

// TooMany reports a request over a rate or a spend budget.
func TooMany(format string, args ...any) error {
	return &Error{Kind: KindTooMany, Message: fmt.Sprintf(format, args...)}
}

// Unavailable reports a dependency that is down.
func Unavailable(format string, args ...any) error {
	return &Error{Kind: KindUnavailable, Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of err, KindInternal when it carries none.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return KindInternal
}

// Package envconf reads typed settings from the environment for the
// services' Config structs. Every error names the variable it is about, and
// none repeats a secret's value.
package envconf

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reader collects the errors of several reads, so a service reports every
// bad variable at start, not one per restart.
type Reader struct {
	getenv func(string) string
	errs   []error
}

// New returns a Reader over getenv.
func New(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

// Err returns all errors met so far, joined, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// Fail records an error about the variable name.
func (r *Reader) Fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// String returns the variable's value, or def when it is unset or empty.
func (r *Reader) String(name, def string) string {
	return cmp.Or(strings.TrimSpace(r.getenv(name)), def)
}

// Int returns the variable as an integer within [lo, hi].
func (r *Reader) Int(name string, def, lo, hi int) int {
	s := r.getenv(name)
	if strings.TrimSpace(s) == "" {
		return def
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < lo || v > hi {
		r.Fail(name, "must be an integer between %d and %d, got %q", lo, hi, s)
		return def
	}
	return v
}

// Float returns the variable as a number within [lo, hi].
func (r *Reader) Float(name string, def, lo, hi float64) float64 {
	s := r.getenv(name)
	if strings.TrimSpace(s) == "" {
		return def
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < lo || v > hi {
		r.Fail(name, "must be a number between %g and %g, got %q", lo, hi, s)
		return def
	}
	return v
}

// Bool returns the variable as a boolean (true/false, 1/0, yes/no).
func (r *Reader) Bool(name string, def bool) bool {
	s := strings.ToLower(strings.TrimSpace(r.getenv(name)))
	switch s {
	case "":
		return def
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	r.Fail(name, "must be true or false, got %q", s)
	return def
}

// Duration returns the variable as a Go duration ("30s", "2m") within [lo, hi].
func (r *Reader) Duration(name string, def, lo, hi time.Duration) time.Duration {
	s := strings.TrimSpace(r.getenv(name))
	if s == "" {
		return def
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < lo || v > hi {
		r.Fail(name, "must be a duration between %s and %s, got %q", lo, hi, s)
		return def
	}
	return v
}

// Secret returns the variable's value; errors about it never include it.
func (r *Reader) Secret(name string) string { return strings.TrimSpace(r.getenv(name)) }

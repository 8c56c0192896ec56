package catalog

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
)

// BenchmarkRef names a benchmark.
type BenchmarkRef struct {
	ID   uuid.UUID
	Name string
}

// InUseError refuses to archive a model or suite that benchmarks with an
// enabled schedule use: archiving it would block those schedules, and
// they would stop making runs. It unwraps to a fault.KindConflict error,
// so it is a 409 wherever faults are classified; the API lists
// Benchmarks in full.
type InUseError struct {
	// Resource is "model" or "suite".
	Resource string
	// Benchmarks are the ones whose schedule would be blocked.
	Benchmarks []BenchmarkRef
}

// inUseNamed is how many benchmarks the message names, with their ids,
// so that it stays short; the rest are counted.
const inUseNamed = 2

// Error implements error.
func (e *InUseError) Error() string { return e.summary().Error() }

// Unwrap returns the refusal as a *fault.Error.
func (e *InUseError) Unwrap() error { return e.summary() }

func (e *InUseError) summary() *fault.Error {
	named := make([]string, 0, inUseNamed)
	for _, b := range e.Benchmarks[:min(len(e.Benchmarks), inUseNamed)] {
		named = append(named, fmt.Sprintf("%q (%s)", b.Name, b.ID))
	}
	list := strings.Join(named, ", ")
	if n := len(e.Benchmarks) - len(named); n > 0 {
		list += fmt.Sprintf(" and %d more", n)
	}
	return &fault.Error{Kind: fault.KindConflict, Field: "force", Message: fmt.Sprintf(
		"the %s is used by the enabled schedule of %s: archiving it would stop them; replace it there, disable those schedules, or delete with force=true",
		e.Resource, list)}
}

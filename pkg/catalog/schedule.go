package catalog

import (
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/schedule"
)

// Schedule runs a benchmark on a cron spec (see pkg/schedule for the
// occurrence rules).
type Schedule struct {
	// Cron is a 5-field cron spec or a descriptor (@daily, @every 10m).
	Cron string
	// Timezone is the IANA zone the cron fields are read in.
	Timezone string
	Enabled  bool
	// Overlap says what an occurrence does while the previous scheduled
	// run is unfinished.
	Overlap schedule.Overlap

	// The fields below report on a stored schedule (see
	// Benchmark.ResolveSchedule); input ignores them.

	// Status says whether occurrences make runs now.
	Status ScheduleStatus
	// BlockedReason says why a blocked schedule cannot run and what to
	// change.
	BlockedReason string
	// LastSkippedAt is the latest occurrence that made no run (overlap,
	// a blocked benchmark, an outage not caught up), and LastSkipReason
	// why; nil when none was skipped.
	LastSkippedAt  *time.Time
	LastSkipReason string
	// SetByTokenID is the token that last set the schedule, whose daily
	// budgets its runs are charged to; nil when none is recorded.
	SetByTokenID *uuid.UUID
}

// ScheduleStatus says whether a schedule's occurrences make runs.
type ScheduleStatus string

// The schedule statuses.
const (
	// ScheduleActive makes a run per occurrence.
	ScheduleActive ScheduleStatus = "active"
	// ScheduleDisabled makes none: the schedule was disabled, or its
	// benchmark archived.
	ScheduleDisabled ScheduleStatus = "disabled"
	// ScheduleBlocked is enabled but cannot run: each occurrence is
	// skipped, and recorded, until the benchmark is changed.
	ScheduleBlocked ScheduleStatus = "blocked"
)

// ResolveSchedule sets the schedule's status and the benchmark's
// NextRunAt as of now, given the last occurrence a tick considered and
// what keeps the benchmark from running. A blocked schedule has no next
// run: its occurrences would be skipped.
func (b *Benchmark) ResolveSchedule(last *time.Time, bl Blockers, now time.Time) {
	b.NextRunAt = nil
	sc := b.Schedule
	if sc == nil {
		return
	}
	sc.BlockedReason = ""
	if !sc.Enabled || b.ArchivedAt != nil || last == nil {
		sc.Status = ScheduleDisabled
		return
	}
	if _, err := schedule.Parse(sc.Cron, sc.Timezone); err != nil {
		sc.Status, sc.BlockedReason = ScheduleBlocked, "the schedule no longer parses: "+err.Error()
		return
	}
	if reason := bl.Reason(); reason != "" {
		sc.Status, sc.BlockedReason = ScheduleBlocked, reason
		return
	}
	sc.Status = ScheduleActive
	b.NextRunAt = sc.NextRun(*last, now)
}

// Validate checks a schedule; errors name schedule.cron,
// schedule.timezone or schedule.overlap.
func (s Schedule) Validate() error {
	if _, err := schedule.Parse(s.Cron, s.Timezone); err != nil {
		return err
	}
	if _, err := schedule.ParseOverlap(string(s.Overlap)); err != nil {
		return fault.Invalid("schedule.overlap", "must be skip or allow")
	}
	return nil
}

// Normalized returns s with the defaults filled in (timezone UTC, overlap
// skip) and surrounding spaces trimmed.
func (s Schedule) Normalized() Schedule {
	s.Cron = strings.TrimSpace(s.Cron)
	s.Timezone = strings.TrimSpace(s.Timezone)
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	if s.Overlap == "" {
		s.Overlap = schedule.OverlapSkip
	}
	return s
}

// NextRun is the schedule's next occurrence after both now and last (the
// last occurrence considered); nil when it is disabled or never occurs
// again.
func (s Schedule) NextRun(last, now time.Time) *time.Time {
	if !s.Enabled {
		return nil
	}
	p, err := schedule.Parse(s.Cron, s.Timezone)
	if err != nil {
		return nil
	}
	n := p.Next(latest(last, now))
	if n.IsZero() {
		return nil
	}
	return &n
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// SchedulePatch changes a schedule; nil fields stay as they are.
type SchedulePatch struct {
	Cron     *string
	Timezone *string
	Enabled  *bool
	Overlap  *schedule.Overlap
}

// Validate checks the fields the patch sets.
func (p SchedulePatch) Validate() error {
	if p.Cron != nil || p.Timezone != nil {
		cron, tz := "@daily", ""
		if p.Cron != nil {
			cron = *p.Cron
		}
		if p.Timezone != nil {
			tz = *p.Timezone
		}
		if _, err := schedule.Parse(cron, tz); err != nil {
			return err
		}
	}
	if p.Overlap != nil {
		if _, err := schedule.ParseOverlap(string(*p.Overlap)); err != nil {
			return fault.Invalid("schedule.overlap", "must be skip or allow")
		}
	}
	return nil
}

// Apply returns cur with the patch's fields set. A benchmark without a
// schedule gets one only from a patch that names its cron; a patch that
// does not say enabled enables a new schedule and keeps an existing one's
// state. The spec is checked when the patch sets it or enables the
// schedule, not otherwise: a stored spec that no longer parses (its
// schedule shows as blocked) does not stop the schedule being disabled.
func (p SchedulePatch) Apply(cur *Schedule) (Schedule, error) {
	var out Schedule
	switch {
	case cur != nil:
		out = *cur
	case p.Cron == nil:
		return Schedule{}, fault.Invalid("schedule.cron", "is required: the benchmark has no schedule yet")
	default:
		out.Enabled = true
	}
	if p.Cron != nil {
		out.Cron = *p.Cron
	}
	if p.Timezone != nil {
		out.Timezone = *p.Timezone
	}
	if p.Enabled != nil {
		out.Enabled = *p.Enabled
	}
	if p.Overlap != nil {
		out.Overlap = *p.Overlap
	}
	out = out.Normalized()
	if cur == nil || p.Cron != nil || p.Timezone != nil || (p.Enabled != nil && *p.Enabled) {
		return out, out.Validate()
	}
	return out, p.Validate()
}

// CheckInterval refuses, as a fault.Invalid naming schedule.cron, a
// schedule whose occurrences can come less than min apart (0: no
// minimum).
func (s Schedule) CheckInterval(min time.Duration) error {
	p, err := schedule.Parse(s.Cron, s.Timezone)
	if err != nil {
		return err
	}
	return p.CheckInterval(min)
}

// Restarts reports whether changing a schedule from old to s starts it
// afresh: its first occurrence is the first after the change. That is so
// when it is enabled now and was not before, or when its spec or zone
// changed; other edits (overlap) keep its place.
func (s Schedule) Restarts(old *Schedule) bool {
	if !s.Enabled {
		return false
	}
	return old == nil || !old.Enabled || old.Cron != s.Cron || old.Timezone != s.Timezone
}

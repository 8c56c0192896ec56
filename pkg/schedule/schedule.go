package schedule

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	// The IANA database is embedded so that zones resolve the same on a
	// minimal container image without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/sabe-dev/sabe/internal/fault"
)

// MaxSpecLength bounds a cron spec.
const MaxSpecLength = 100

// MaxCatchup is the most occurrences one tick creates runs for in one
// schedule: after a long outage, catch-up "all" runs the most recent
// MaxCatchup missed occurrences, not every one.
const MaxCatchup = 100

// Schedule is a parsed cron spec in its time zone. Occurrences are whole
// seconds; every method returns them in UTC.
type Schedule struct {
	spec  cron.Schedule // nil for @every
	every time.Duration // > 0 for @every
	loc   *time.Location
}

// Parse parses a 5-field cron spec or a descriptor (@yearly, @monthly,
// @weekly, @daily, @hourly, @every <duration>) in an IANA time zone ("" is
// UTC). Errors are fault.Invalid naming schedule.cron or schedule.timezone.
//
// `@every d` is not "d after some start": its occurrences are the multiples
// of d since the Unix epoch, so every process computes the same ones.
func Parse(spec, tz string) (*Schedule, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "":
		return nil, fault.Invalid("schedule.cron", "must not be empty")
	case len(spec) > MaxSpecLength:
		return nil, fault.Invalid("schedule.cron", "must be at most %d characters", MaxSpecLength)
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		return nil, fault.Invalid("schedule.cron", "must not name a time zone; set schedule.timezone instead")
	}
	loc, err := location(tz)
	if err != nil {
		return nil, err
	}
	if rest, ok := strings.CutPrefix(spec, "@every"); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		switch {
		case err != nil || !strings.HasPrefix(rest, " "):
			return nil, fault.Invalid("schedule.cron", "@every needs a duration such as @every 10m")
		case d < time.Second:
			return nil, fault.Invalid("schedule.cron", "@every must be at least 1s")
		case d%time.Second != 0:
			return nil, fault.Invalid("schedule.cron", "@every must be a whole number of seconds")
		}
		return &Schedule{every: d, loc: loc}, nil
	}
	cs, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fault.Invalid("schedule.cron", "%s", cronError(err))
	}
	s := &Schedule{spec: cs, loc: loc}
	// A spec such as "0 0 30 2 *" parses but never occurs.
	if s.Next(time.Unix(0, 0)).IsZero() {
		return nil, fault.Invalid("schedule.cron", "never occurs")
	}
	return s, nil
}

func cronError(err error) string {
	return fmt.Sprintf("not a 5-field cron spec or descriptor: %v", err)
}

func location(tz string) (*time.Location, error) {
	tz = strings.TrimSpace(tz)
	switch tz {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		// The server's zone is not the user's: it must be named.
		return nil, fault.Invalid("schedule.timezone", "must be an IANA time zone such as Europe/Berlin, not Local")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fault.Invalid("schedule.timezone", "unknown IANA time zone %q", tz)
	}
	return loc, nil
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next returns the first occurrence strictly after after, in UTC; zero if
// there is none within five years (a spec such as "0 0 29 2 1" can be
// that sparse). Cron fields are read in the schedule's zone: "0 9 * * *"
// is 09:00 local on both sides of a DST change. On a spring-forward day a
// local time that does not exist is skipped; on a fall-back day a local
// time that occurs twice occurs twice (robfig/cron's rules).
func (s *Schedule) Next(after time.Time) time.Time {
	if s.every > 0 {
		return s.floor(after).Add(s.every).UTC()
	}
	n := s.spec.Next(after.In(s.loc))
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

// Prev returns the latest occurrence at or before t, in UTC; zero if there
// is none within five years.
func (s *Schedule) Prev(t time.Time) time.Time {
	if s.every > 0 {
		return s.floor(t).UTC()
	}
	// robfig/cron only looks forward: scan windows ending at t, doubling
	// their length until one holds an occurrence. A window at most twice
	// the gap before t holds few occurrences for any real spec.
	for w := time.Minute; w <= 6*366*24*time.Hour; w *= 2 {
		var last time.Time
		for o := s.Next(t.Add(-w)); !o.IsZero() && !o.After(t); o = s.Next(o) {
			last = o
		}
		if !last.IsZero() {
			return last
		}
	}
	return time.Time{}
}

// floor is the latest multiple of s.every since the Unix epoch at or
// before t.
func (s *Schedule) floor(t time.Time) time.Time {
	ns := t.UnixNano()
	d := s.every.Nanoseconds()
	m := ns % d
	if m < 0 {
		m += d
	}
	return time.Unix(0, ns-m)
}

// CatchupMode says what a tick does with occurrences it finds missed
// (older than the Catchup's grace), typically after the scheduler or every
// worker was down.
type CatchupMode string

// The catch-up modes.
const (
	// CatchupLatest runs only the most recent missed occurrence, and only
	// when no occurrence is on time: an outage costs one run, not one per
	// missed occurrence.
	CatchupLatest CatchupMode = "latest"
	// CatchupAll runs each missed occurrence (at most MaxCatchup).
	CatchupAll CatchupMode = "all"
	// CatchupNone drops missed occurrences.
	CatchupNone CatchupMode = "none"
)

// ParseCatchupMode checks a catch-up mode's name.
func ParseCatchupMode(s string) (CatchupMode, error) {
	switch m := CatchupMode(strings.ToLower(strings.TrimSpace(s))); m {
	case CatchupLatest, CatchupAll, CatchupNone:
		return m, nil
	}
	return "", fmt.Errorf("must be latest, all or none, got %q", s)
}

// Catchup is a tick's policy for occurrences it finds overdue.
type Catchup struct {
	Mode CatchupMode
	// Grace is how late an occurrence may be found and still count as on
	// time rather than missed. It must exceed the tick interval plus the
	// tick task's queueing delay, or on-time occurrences would be treated
	// as missed.
	Grace time.Duration
}

// Due returns the occurrences in (last, now] that should get a run, oldest
// first: every on-time one (within c.Grace of now) and, of the missed ones,
// what c.Mode says: all of them, none, or (latest) the most recent one
// when no occurrence is on time, since an on-time run already brings the
// benchmark up to date. At most MaxCatchup, the most recent.
func (s *Schedule) Due(last, now time.Time, c Catchup) []time.Time {
	var out []time.Time // newest first while collecting
	for o := s.Prev(now); !o.IsZero() && o.After(last) && len(out) < MaxCatchup; o = s.Prev(o.Add(-time.Nanosecond)) {
		if o.After(now.Add(-c.Grace)) {
			out = append(out, o)
			continue
		}
		// o is the most recent missed occurrence.
		switch c.Mode {
		case CatchupNone:
		case CatchupLatest:
			if len(out) == 0 {
				out = append(out, o)
			}
		case CatchupAll:
			for ; !o.IsZero() && o.After(last) && len(out) < MaxCatchup; o = s.Prev(o.Add(-time.Nanosecond)) {
				out = append(out, o)
			}
		}
		break
	}
	slices.Reverse(out)
	return out
}

// gapSample is how many consecutive occurrences MinGap compares: enough
// to see every gap of a spec whose pattern repeats within days, which is
// how a cron spec gets frequent.
const gapSample = 1000

// MinGap is the shortest gap between two consecutive occurrences, read
// from the first gapSample occurrences after the Unix epoch (an @every
// schedule's gap is its duration).
func (s *Schedule) MinGap() time.Duration {
	if s.every > 0 {
		return s.every
	}
	var gap time.Duration
	prev := s.Next(time.Unix(0, 0))
	for range gapSample {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		if d := next.Sub(prev); gap == 0 || d < gap {
			gap = d
		}
		prev = next
	}
	return gap
}

// CheckInterval refuses a schedule whose occurrences can come less than
// min apart, as a fault.Invalid naming schedule.cron and the minimum: a
// frequent schedule multiplies whatever a run spends.
func (s *Schedule) CheckInterval(min time.Duration) error {
	if gap := s.MinGap(); min > 0 && gap > 0 && gap < min {
		return fault.Invalid("schedule.cron", "occurs every %s at the shortest, more often than the minimum interval of %s (SABE_MIN_SCHEDULE_INTERVAL)", gap, min)
	}
	return nil
}

package schedule_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/schedule"
)

func mustParse(t *testing.T, spec, tz string) *schedule.Schedule {
	t.Helper()
	s, err := schedule.Parse(spec, tz)
	if err != nil {
		t.Fatalf("Parse(%q, %q): %v", spec, tz, err)
	}
	return s
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParse(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ spec, tz string }{
			{"*/5 * * * *", ""}, {"0 6 * * 1", "Europe/Berlin"}, {"30 2 1 * *", "America/New_York"},
			{"@hourly", "UTC"}, {"@daily", "Asia/Kolkata"}, {"@weekly", ""}, {"@monthly", ""}, {"@yearly", ""},
			{"@every 10m", ""}, {"@every 1s", ""}, {"@every 36h", "Europe/Berlin"}, {"  @daily  ", " UTC "},
		} {
			if _, err := schedule.Parse(tc.spec, tc.tz); err != nil {
				t.Errorf("Parse(%q, %q): %v", tc.spec, tc.tz, err)
			}
		}
	})

	for _, tc := range []struct {
		name, spec, tz, field, msg string
	}{
		{"ErrEmpty", " ", "", "schedule.cron", "empty"},
		{"ErrFields", "* * *", "", "schedule.cron", "cron"},
		{"ErrSixFields", "0 0 6 * * 1", "", "schedule.cron", "cron"},
		{"ErrRange", "61 * * * *", "", "schedule.cron", "cron"},
		{"ErrDescriptor", "@fortnightly", "", "schedule.cron", "cron"},
		{"ErrZoneInSpec", "CRON_TZ=Europe/Berlin 0 6 * * *", "", "schedule.cron", "schedule.timezone"},
		{"ErrEveryTooShort", "@every 500ms", "", "schedule.cron", "at least 1s"},
		{"ErrEveryFraction", "@every 1500ms", "", "schedule.cron", "whole number of seconds"},
		{"ErrEveryNoDuration", "@every", "", "schedule.cron", "duration"},
		{"ErrEveryGarbage", "@everyday", "", "schedule.cron", "duration"},
		{"ErrNever", "0 0 30 2 *", "", "schedule.cron", "never"},
		{"ErrTooLong", "0 0 * * " + strings.Repeat("1,", 60) + "1", "", "schedule.cron", "at most"},
		{"ErrZone", "@daily", "Mars/Olympus", "schedule.timezone", "Mars/Olympus"},
		{"ErrLocal", "@daily", "Local", "schedule.timezone", "IANA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := schedule.Parse(tc.spec, tc.tz)
			fe := fault.As(err)
			if fe == nil || fe.Kind != fault.KindInvalid || fe.Field != tc.field || !strings.Contains(fe.Message, tc.msg) {
				t.Fatalf("Parse(%q, %q) = %v; want Invalid on %s mentioning %q", tc.spec, tc.tz, err, tc.field, tc.msg)
			}
		})
	}
}

func TestSchedule_Every(t *testing.T) {
	t.Parallel()

	t.Run("EpochAligned", func(t *testing.T) {
		t.Parallel()
		// Occurrences are multiples of d since the Unix epoch whatever the
		// time asked from and whatever the zone.
		rng := rand.New(rand.NewPCG(4, 4))
		for _, tc := range []struct {
			spec, tz string
			d        time.Duration
		}{{"@every 7s", "", 7 * time.Second}, {"@every 10m", "Asia/Kolkata", 10 * time.Minute}, {"@every 36h", "Europe/Berlin", 36 * time.Hour}} {
			s := mustParse(t, tc.spec, tc.tz)
			for range 200 {
				from := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9))
				n := s.Next(from)
				if n.UnixNano()%tc.d.Nanoseconds() != 0 || !n.After(from) || n.Sub(from) > tc.d {
					t.Fatalf("%s: Next(%v) = %v; want the first multiple of %v after it", tc.spec, from, n, tc.d)
				}
				p := s.Prev(from)
				if p.UnixNano()%tc.d.Nanoseconds() != 0 || p.After(from) || from.Sub(p) >= tc.d {
					t.Fatalf("%s: Prev(%v) = %v; want the last multiple of %v at or before it", tc.spec, from, p, tc.d)
				}
				if n.Location() != time.UTC || p.Location() != time.UTC {
					t.Fatalf("occurrences not in UTC: %v %v", n, p)
				}
			}
		}
	})

	t.Run("KnownValues", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, "@every 10m", "")
		if got := s.Next(utc("2025-06-01T12:34:56Z")); !got.Equal(utc("2025-06-01T12:40:00Z")) {
			t.Errorf("Next = %v, want 12:40:00", got)
		}
		if got := s.Next(utc("2025-06-01T12:40:00Z")); !got.Equal(utc("2025-06-01T12:50:00Z")) {
			t.Errorf("Next from an occurrence = %v, want the one after", got)
		}
		if got := s.Prev(utc("2025-06-01T12:40:00Z")); !got.Equal(utc("2025-06-01T12:40:00Z")) {
			t.Errorf("Prev at an occurrence = %v, want itself", got)
		}
		// Before the epoch too.
		if got := s.Prev(utc("1969-12-31T23:55:00Z")); !got.Equal(utc("1969-12-31T23:50:00Z")) {
			t.Errorf("Prev before 1970 = %v", got)
		}
	})
}

func TestSchedule_Next(t *testing.T) {
	t.Parallel()

	t.Run("DailyInZoneAcrossDST", func(t *testing.T) {
		t.Parallel()
		// Europe/Berlin moves from UTC+1 to UTC+2 on 2025-03-30 and back on
		// 2025-10-26: 09:00 local is 08:00Z before and 07:00Z after.
		s := mustParse(t, "0 9 * * *", "Europe/Berlin")
		got := occurrences(s, utc("2025-03-28T12:00:00Z"), 4)
		want := []time.Time{utc("2025-03-29T08:00:00Z"), utc("2025-03-30T07:00:00Z"), utc("2025-03-31T07:00:00Z"), utc("2025-04-01T07:00:00Z")}
		if !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("spring: %v, want %v", got, want)
		}
		got = occurrences(s, utc("2025-10-25T12:00:00Z"), 2)
		want = []time.Time{utc("2025-10-26T08:00:00Z"), utc("2025-10-27T08:00:00Z")}
		if !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("autumn: %v, want %v", got, want)
		}
		// @daily is local midnight.
		d := mustParse(t, "@daily", "America/New_York")
		got = occurrences(d, utc("2025-03-08T12:00:00Z"), 2)
		want = []time.Time{utc("2025-03-09T05:00:00Z"), utc("2025-03-10T04:00:00Z")}
		if !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("@daily New York: %v, want %v", got, want)
		}
	})

	t.Run("DSTGapAndRepeat", func(t *testing.T) {
		t.Parallel()
		// The documented edge cases: 02:30 does not exist in New York on
		// 2025-03-09, so that day has no occurrence; 01:30 happens twice on
		// 2025-11-02, so it occurs twice.
		gap := occurrences(mustParse(t, "30 2 * * *", "America/New_York"), utc("2025-03-08T12:00:00Z"), 2)
		if want := []time.Time{utc("2025-03-10T06:30:00Z"), utc("2025-03-11T06:30:00Z")}; !slices.EqualFunc(gap, want, time.Time.Equal) {
			t.Errorf("spring gap: %v, want %v", gap, want)
		}
		rep := occurrences(mustParse(t, "30 1 * * *", "America/New_York"), utc("2025-11-01T12:00:00Z"), 3)
		if want := []time.Time{utc("2025-11-02T05:30:00Z"), utc("2025-11-02T06:30:00Z"), utc("2025-11-03T06:30:00Z")}; !slices.EqualFunc(rep, want, time.Time.Equal) {
			t.Errorf("autumn repeat: %v, want %v", rep, want)
		}
	})

	t.Run("PrevAgreesWithNext", func(t *testing.T) {
		t.Parallel()
		rng := rand.New(rand.NewPCG(7, 7))
		for _, tc := range []struct{ spec, tz string }{
			{"*/5 * * * *", ""}, {"0 9 * * 1-5", "Europe/Berlin"}, {"30 1 * * *", "America/New_York"},
			{"@monthly", "Asia/Kolkata"}, {"0 0 29 2 *", ""}, {"* 9 * * *", "UTC"},
		} {
			s := mustParse(t, tc.spec, tc.tz)
			for range 50 {
				at := utc("2024-01-01T00:00:00Z").Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
				p := s.Prev(at)
				if p.IsZero() || p.After(at) || !s.Next(p.Add(-time.Second)).Equal(p) || !s.Next(p).After(at) {
					t.Fatalf("%s in %q: Prev(%v) = %v, Next after it %v", tc.spec, tc.tz, at, p, s.Next(p))
				}
			}
		}
	})
}

func occurrences(s *schedule.Schedule, from time.Time, n int) []time.Time {
	var out []time.Time
	for range n {
		from = s.Next(from)
		out = append(out, from)
	}
	return out
}

func TestSchedule_Due(t *testing.T) {
	t.Parallel()
	hourly := mustParse(t, "@hourly", "")
	last := utc("2025-06-01T00:00:00Z")
	grace := 80 * time.Second
	hours := func(hs ...int) []time.Time {
		out := make([]time.Time, len(hs))
		for i, h := range hs {
			out[i] = last.Add(time.Duration(h) * time.Hour)
		}
		return out
	}

	for _, tc := range []struct {
		name string
		now  time.Time
		mode schedule.CatchupMode
		want []time.Time
	}{
		// The scheduler was down from 00:30 to 05:00:30: 01:00-04:00 were
		// missed, 05:00 is on time.
		{"LatestOnTimeWins", utc("2025-06-01T05:00:30Z"), schedule.CatchupLatest, hours(5)},
		{"AllRunsEach", utc("2025-06-01T05:00:30Z"), schedule.CatchupAll, hours(1, 2, 3, 4, 5)},
		{"NoneOnTimeOnly", utc("2025-06-01T05:00:30Z"), schedule.CatchupNone, hours(5)},
		// Back at 05:30: nothing is on time.
		{"LatestMissedOnce", utc("2025-06-01T05:30:00Z"), schedule.CatchupLatest, hours(5)},
		{"AllMissed", utc("2025-06-01T05:30:00Z"), schedule.CatchupAll, hours(1, 2, 3, 4, 5)},
		{"NoneMissed", utc("2025-06-01T05:30:00Z"), schedule.CatchupNone, nil},
		// Normal ticking: one occurrence, on time, in every mode.
		{"OnTimeLatest", utc("2025-06-01T01:00:05Z"), schedule.CatchupLatest, hours(1)},
		{"OnTimeNone", utc("2025-06-01T01:00:05Z"), schedule.CatchupNone, hours(1)},
		{"NothingDue", utc("2025-06-01T00:59:59Z"), schedule.CatchupAll, nil},
		{"LastIsExclusive", last, schedule.CatchupAll, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := hourly.Due(last, tc.now, schedule.Catchup{Mode: tc.mode, Grace: grace})
			if !slices.EqualFunc(got, tc.want, time.Time.Equal) {
				t.Errorf("Due = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("OnTimeBurst", func(t *testing.T) {
		t.Parallel()
		// A schedule faster than the tick: every occurrence within the grace
		// is on time and runs, in every mode.
		s := mustParse(t, "@every 1s", "")
		now := utc("2025-06-01T00:00:10.5Z")
		for _, m := range []schedule.CatchupMode{schedule.CatchupLatest, schedule.CatchupNone, schedule.CatchupAll} {
			got := s.Due(utc("2025-06-01T00:00:00Z"), now, schedule.Catchup{Mode: m, Grace: 20 * time.Second})
			if len(got) != 10 || !got[0].Equal(utc("2025-06-01T00:00:01Z")) || !got[9].Equal(utc("2025-06-01T00:00:10Z")) {
				t.Errorf("%s: Due = %v, want 00:00:01 to 00:00:10", m, got)
			}
		}
	})

	t.Run("AllCapped", func(t *testing.T) {
		t.Parallel()
		// A year down: "all" runs the most recent MaxCatchup, not 8760.
		got := hourly.Due(last, last.Add(365*24*time.Hour+time.Minute*30), schedule.Catchup{Mode: schedule.CatchupAll, Grace: grace})
		if len(got) != schedule.MaxCatchup || !slices.IsSortedFunc(got, time.Time.Compare) {
			t.Fatalf("%d occurrences, want %d in order", len(got), schedule.MaxCatchup)
		}
		if want := last.Add(365 * 24 * time.Hour); !got[len(got)-1].Equal(want) {
			t.Errorf("newest = %v, want %v", got[len(got)-1], want)
		}
	})
}

func TestParseCatchupMode(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		for in, want := range map[string]schedule.CatchupMode{"latest": schedule.CatchupLatest, "ALL": schedule.CatchupAll, " none ": schedule.CatchupNone} {
			if got, err := schedule.ParseCatchupMode(in); err != nil || got != want {
				t.Errorf("ParseCatchupMode(%q) = %q, %v", in, got, err)
			}
		}
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		t.Parallel()
		if _, err := schedule.ParseCatchupMode("some"); err == nil {
			t.Error("accepted an unknown mode")
		}
	})
}

package cli

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/internal/command"
)

// parseRunIDs reads run ids given as arguments; one that is not an id is
// a usage error naming it.
func parseRunIDs(cmd *cobra.Command, args []string) ([]uuid.UUID, error) {
	ids := make([]uuid.UUID, len(args))
	for i, a := range args {
		id, err := uuid.Parse(a)
		if err != nil {
			return nil, command.Usagef(cmd.UsageString(), "%q is not a run id (sabe runs ls lists them)", a)
		}
		ids[i] = id
	}
	return ids, nil
}

// parseAt reads --at: an RFC 3339 time or a date (midnight UTC); "" is
// the zero time, which the API reads as "the newest with a finished run".
func parseAt(cmd *cobra.Command, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, command.Usagef(cmd.UsageString(), "--at %q: give a time such as 2026-11-15T00:00:00Z or a date such as 2026-11-15", s)
}

// usd is an amount of US dollars as tables show it: cents for large
// amounts, four decimals for the small ones a benchmark often costs.
func usd(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("$%.2f", v)
	}
	return fmt.Sprintf("$%.4f", v)
}

// when is a time as tables show it: UTC to the minute, the same in every
// time zone, so that golden tests and CI logs agree.
func when(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04")
}

// ms is a latency in milliseconds, or "-" when there is none.
func ms(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f ms", *v)
}

package run

import (
	"testing"

	"github.com/google/uuid"
)

func TestFailureSummary(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("01a24e0f-7bb2-781f-82e8-74be9c6e8f0d")
	for _, tc := range []struct {
		name   string
		failed int
		causes []FailureCause
		want   string
	}{
		{"None", 3, nil, ""},
		{"OneCauseForAll", 3, []FailureCause{{ProviderID: id, ProviderName: "dead", Error: "refused", Units: 3}},
			`: provider "dead" (` + id.String() + `): refused`},
		{"CountsSingularAndPlural", 3, []FailureCause{
			{ProviderID: id, ProviderName: "dead", Error: "circuit open", Units: 2},
			{ProviderID: id, ProviderName: "dead", Error: "refused", Units: 1},
		}, `: provider "dead" (` + id.String() + `): circuit open [2 units]; provider "dead" (` + id.String() + `): refused [1 unit]`},
		{"DeletedProvider", 1, []FailureCause{{ProviderID: id, Units: 1}},
			`: provider "(deleted)" (` + id.String() + `): no error recorded`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := failureSummary(tc.failed, tc.causes); got != tc.want {
				t.Errorf("failureSummary() = %q\nwant %q", got, tc.want)
			}
		})
	}
}

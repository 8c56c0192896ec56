package catalog_test

import (
	"testing"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/schedule"
)

func TestSchedulePatch_Apply(t *testing.T) {
	t.Parallel()
	no, yes := false, true
	skip, bad := schedule.OverlapAllow, schedule.Overlap("queue")
	cron := "@hourly"
	// A stored spec that the parser refuses today (a stricter release, a
	// zone gone from the database): its schedule shows as blocked.
	broken := &catalog.Schedule{Cron: "@every 1ms", Timezone: "UTC", Enabled: true, Overlap: schedule.OverlapSkip}

	t.Run("OKUntouchedSpecNotChecked", func(t *testing.T) {
		t.Parallel()
		for name, p := range map[string]catalog.SchedulePatch{"disable": {Enabled: &no}, "overlap": {Overlap: &skip}} {
			if out, err := p.Apply(broken); err != nil || out.Cron != broken.Cron {
				t.Errorf("%s: %+v, %v; want it applied, the spec kept", name, out, err)
			}
		}
		if out, err := (catalog.SchedulePatch{Cron: &cron}).Apply(broken); err != nil || out.Cron != cron || !out.Enabled {
			t.Errorf("replacing the spec: %+v, %v", out, err)
		}
	})

	t.Run("ErrTouchedChecked", func(t *testing.T) {
		t.Parallel()
		for name, tc := range map[string]struct {
			p     catalog.SchedulePatch
			field string
		}{
			"enable":  {catalog.SchedulePatch{Enabled: &yes}, "schedule.cron"},
			"overlap": {catalog.SchedulePatch{Enabled: &no, Overlap: &bad}, "schedule.overlap"},
		} {
			_, err := tc.p.Apply(broken)
			if fe := fault.As(err); fe == nil || fe.Field != tc.field {
				t.Errorf("%s: %v; want an error on %s", name, err, tc.field)
			}
		}
	})
}

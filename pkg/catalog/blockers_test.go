package catalog_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
)

func TestBlockers_Reason(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		b    catalog.Blockers
		want string
	}{
		{"Runnable", catalog.Blockers{ActiveQuestions: 3}, ""},
		{"OneModel", catalog.Blockers{ArchivedModels: []string{"gpt"}, ActiveQuestions: 3},
			`the benchmark uses archived model "gpt": replace it in model_ids`},
		{"ModelsAndSuite", catalog.Blockers{ArchivedModels: []string{"a", "b"}, ArchivedSuites: []string{"s"}},
			`the benchmark uses archived models "a", "b": replace them in model_ids; uses archived suite "s": replace it in suite_ids`},
		{"NoQuestions", catalog.Blockers{}, "the benchmark's suites have no active questions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.Reason(); got != tc.want {
				t.Errorf("Reason() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBenchmark_ResolveSchedule(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 2, 10, 30, 0, 0, time.UTC)
	last := now.Add(-time.Hour)
	runnable := catalog.Blockers{ActiveQuestions: 1}
	bench := func(enabled bool, cron string) *catalog.Benchmark {
		return &catalog.Benchmark{Schedule: &catalog.Schedule{Cron: cron, Timezone: "UTC", Enabled: enabled}}
	}

	b := bench(true, "@hourly")
	b.ResolveSchedule(&last, runnable, now)
	if b.Schedule.Status != catalog.ScheduleActive || b.NextRunAt == nil || !b.NextRunAt.Equal(time.Date(2025, 6, 2, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("runnable: %+v next %v; want active, next 11:00", b.Schedule, b.NextRunAt)
	}
	b = bench(true, "@hourly")
	b.ResolveSchedule(&last, catalog.Blockers{ArchivedSuites: []string{"s"}, ActiveQuestions: 1}, now)
	if b.Schedule.Status != catalog.ScheduleBlocked || !strings.Contains(b.Schedule.BlockedReason, "suite_ids") || b.NextRunAt != nil {
		t.Errorf("archived suite: %+v next %v; want blocked, no next run", b.Schedule, b.NextRunAt)
	}
	b = bench(true, "@every 1ms")
	b.ResolveSchedule(&last, runnable, now)
	if b.Schedule.Status != catalog.ScheduleBlocked || !strings.Contains(b.Schedule.BlockedReason, "no longer parses") {
		t.Errorf("unparsable spec: %+v; want blocked saying so", b.Schedule)
	}
	b = bench(false, "@hourly")
	b.ResolveSchedule(&last, catalog.Blockers{}, now)
	if b.Schedule.Status != catalog.ScheduleDisabled || b.Schedule.BlockedReason != "" || b.NextRunAt != nil {
		t.Errorf("disabled: %+v; want disabled, not blocked", b.Schedule)
	}
	b = bench(true, "@hourly")
	b.ArchivedAt = &now
	b.ResolveSchedule(&last, runnable, now)
	if b.Schedule.Status != catalog.ScheduleDisabled || b.NextRunAt != nil {
		t.Errorf("archived benchmark: %+v next %v; want disabled", b.Schedule, b.NextRunAt)
	}
}

func TestInUseError(t *testing.T) {
	t.Parallel()
	refs := make([]catalog.BenchmarkRef, 5)
	for i := range refs {
		refs[i] = catalog.BenchmarkRef{ID: uuid.New(), Name: "bench" + string(rune('a'+i))}
	}
	err := error(&catalog.InUseError{Resource: "model", Benchmarks: refs})
	fe := fault.As(err)
	if fe == nil || fe.Kind != fault.KindConflict || fe.Field != "force" {
		t.Fatalf("fault = %+v; want a conflict about force", fe)
	}
	if !strings.Contains(fe.Message, `"bencha" (`+refs[0].ID.String()+")") || strings.Contains(fe.Message, "benchc") ||
		!strings.Contains(fe.Message, "and 3 more") || len(fe.Message) > 300 {
		t.Errorf("message = %q; want the first 2 named with ids, the rest counted, under 300 bytes", fe.Message)
	}
	var iu *catalog.InUseError
	if !errors.As(err, &iu) || len(iu.Benchmarks) != 5 {
		t.Errorf("errors.As lost the list")
	}
}

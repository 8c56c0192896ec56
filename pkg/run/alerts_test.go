package run_test

import (
	"context"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// TestRun_AlertCheckAfterFinalize: a run of a benchmark with alerts gets
// its regression check from the worker once it finishes, against the run
// before it; the mock's unchanged models raise nothing.
func TestRun_AlertCheckAfterFinalize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, mockllm.Config{}, run.Config{})
	f := b.seed(t, b.mock.URL+"/v1", "sk-test", []string{"mock-strong", "mock-weak"}, 12, 1)
	settings := catalog.DefaultAlertSettings()
	if _, err := b.store.UpdateBenchmark(ctx, f.benchmark.ID, catalog.BenchmarkPatch{Alerts: &settings}, 0); err != nil {
		t.Fatal(err)
	}
	b.startWorker(t, 8)
	first := b.waitFinal(t, b.startRun(t, f).ID)
	second := b.waitFinal(t, b.startRun(t, f).ID)
	if first.Status != run.StatusCompleted || second.Status != run.StatusCompleted {
		t.Fatalf("runs ended %s and %s", first.Status, second.Status)
	}
	var check store.AlertCheck
	testenv.WaitFor(t, "the second run's alert check", 30*time.Second, func() bool {
		var err error
		check, err = b.store.GetAlertCheck(ctx, second.ID)
		return err == nil
	})
	if check.BaselineRunID == nil || *check.BaselineRunID != first.ID || check.Comparisons != 2 || check.AlertsCount != 0 || check.Note != "" {
		t.Errorf("check %+v, want 2 comparisons against %s and no alert", check, first.ID)
	}
	testenv.WaitFor(t, "the first run's alert check", 30*time.Second, func() bool {
		c, err := b.store.GetAlertCheck(ctx, first.ID)
		return err == nil && c.BaselineRunID == nil && c.Note != ""
	})
}

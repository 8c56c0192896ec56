package maintenance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/pkg/testfactory"
)

// TestReconciler_SweepsAlertChecks: a run finalized without its check
// enqueued (the worker died in between) is checked after the next pass.
func TestReconciler_SweepsAlertChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, mockllm.Config{})
	f := b.seed(t, []string{"mock-perfect"}, 3, catalog.BenchmarkConfig{})
	settings := catalog.DefaultAlertSettings()
	if _, err := b.store.UpdateBenchmark(ctx, f.benchmark.ID, catalog.BenchmarkPatch{Alerts: &settings}, 0); err != nil {
		t.Fatal(err)
	}
	// Finalized through the store, not the finalize task: nothing enqueued
	// its check.
	r := testfactory.FinishedRun(ctx, t, b.store, testfactory.FinishedRunOpts{BenchmarkID: f.benchmark.ID})
	if _, err := b.store.GetAlertCheck(ctx, r.ID); err == nil {
		t.Fatal("the run has a check before any pass")
	}
	b.startWorker(t, 2)
	_, log := b.startReconciler(t, Config{})
	testenv.WaitFor(t, "the swept run's alert check", 30*time.Second, func() bool {
		c, err := b.store.GetAlertCheck(ctx, r.ID)
		return err == nil && c.Note != ""
	})
	if !strings.Contains(log.String(), "alert checks enqueued by the sweep") {
		t.Errorf("the pass did not say it enqueued the check:\n%s", log.String())
	}
}

package run_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/scoring"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

func TestUnitQueue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		trigger run.Trigger
		units   int
		want    string
	}{
		{run.TriggerAPI, 10, run.QueueInteractive},
		{run.TriggerManual, run.BulkRunUnits - 1, run.QueueInteractive},
		{run.TriggerAPI, run.BulkRunUnits, run.QueueBulk},
		{run.TriggerSchedule, 10, run.QueueScheduled},
		{run.TriggerSchedule, 100_000, run.QueueScheduled},
	} {
		r := &run.Run{Trigger: tc.trigger, ModelCount: 1, QuestionCount: tc.units, Samples: 1}
		if got := run.UnitQueue(r); got != tc.want {
			t.Errorf("%s run of %d units: queue %s, want %s", tc.trigger, tc.units, got, tc.want)
		}
	}
}

// TestRun_SmallRunNotStarvedByLargeOne starts a 1,000-unit run, then a
// 4-unit run on the same fleet: the small one finishes first, because its
// units are drawn from their own, heavier queue instead of waiting behind
// the large run's.
func TestRun_SmallRunNotStarvedByLargeOne(t *testing.T) {
	t.Parallel()
	b := setup(t, mockllm.Config{Latency: 10 * time.Millisecond}, run.Config{})
	ctx := context.Background()
	big := b.seed(t, b.mock.URL+"/v1", "", []string{"mock-strong", "mock-weak"}, run.BulkRunUnits/2, 1)
	su, err := b.store.CreateSuite(ctx, catalog.SuiteInput{Name: "small"})
	if err != nil {
		t.Fatal(err)
	}
	p, a := mockllm.Question(1)
	if _, err := b.store.CreateQuestions(ctx, su.ID, []catalog.QuestionInput{{Prompt: p, ExpectedAnswer: fmt.Sprint(a), Scoring: scoring.Rule{Method: scoring.MethodNumeric}}}); err != nil {
		t.Fatal(err)
	}
	smallBench, err := b.store.CreateBenchmark(ctx, catalog.BenchmarkInput{Name: "small", SuiteIDs: []uuid.UUID{su.ID}, ModelIDs: []uuid.UUID{big.models[0].ID},
		Config: catalog.BenchmarkConfig{MaxTokens: 16, Samples: 4}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	b.startWorker(t, 8)
	bigRun := b.startRun(t, big)
	// Let the large run's units fill the queues before the small run starts.
	testenv.WaitFor(t, "the large run to get going", 20*time.Second, func() bool { return b.mock.Server.Requests() >= 50 })
	smallRun := b.startRun(t, fixture{benchmark: smallBench})

	small := b.waitFinal(t, smallRun.ID)
	bigNow, err := b.store.GetRun(ctx, bigRun.ID)
	if err != nil {
		t.Fatal(err)
	}
	if small.Status != run.StatusCompleted {
		t.Fatalf("small run %s: %s", small.Status, small.Error)
	}
	if bigNow.Status.Final() {
		t.Errorf("the 1,000-unit run finished before the 4-unit run started after it")
	}
	if q := run.UnitQueue(bigNow); q != run.QueueBulk {
		t.Errorf("large run's units on %s, want %s", q, run.QueueBulk)
	}
	if fin := b.waitFinal(t, bigRun.ID); fin.Status != run.StatusCompleted {
		t.Errorf("large run %s: %s", fin.Status, fin.Error)
	}
}

package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sabe-dev/sabe/pkg/audit"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/store"
)

// The synthetic history sabe dev writes once, so that the dashboard's
// Trends and Compare pages have weeks to show next to the demo's one or
// two runs: seed-history's world (planHistory), about 20,000 executions,
// small enough to take seconds. Finalizing each run costs more than its
// executions, so the history has few runs of many units.
const (
	devHistoryBenchmark = "Weekly history (demo)"
	devHistoryWeeks     = 8
	devHistoryModels    = 4
	devHistoryQuestions = 300
	devHistoryRuns      = 16 // two a week: a week-over-week comparison has runs on both sides
)

// seedDevHistory writes the synthetic history when the database has none
// yet (no benchmark named devHistoryBenchmark). It must run before the
// worker starts: the history's runs are queued and dated in the past until
// they are finalized, which a worker's reconciler would take for lost runs.
func seedDevHistory(ctx context.Context, c *client.Client, dbURL string, say func(string, ...any)) error {
	if _, found, err := c.FindByName(ctx, "/v1/benchmarks", devHistoryBenchmark); err != nil || found {
		return err
	}
	o := seedOptions{
		executions: devHistoryRuns * devHistoryModels * devHistoryQuestions,
		weeks:      devHistoryWeeks, models: devHistoryModels, questions: devHistoryQuestions, samples: 1,
		benchmark: devHistoryBenchmark, seed: 1, end: time.Now(), parallel: 2,
	}
	h, err := planHistory(o)
	if err != nil {
		return err
	}
	pool, err := store.Open(ctx, dbURL, int32(o.parallel+2))
	if err != nil {
		return err
	}
	defer pool.Close()
	start := time.Now()
	out, err := h.write(audit.WithActor(ctx, audit.Actor{TokenName: devTokenName}), store.New(pool, nil), io.Discard)
	if err != nil {
		return fmt.Errorf("dev: write the synthetic history: %w", err)
	}
	say("wrote a synthetic history for the dashboard's Trends and Compare: %q, %d runs over %d weeks, %d executions (%s)",
		devHistoryBenchmark, len(out.runs), devHistoryWeeks, out.executions, time.Since(start).Round(100*time.Millisecond))
	return nil
}

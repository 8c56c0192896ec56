package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// eventLeaders is how many lines of a run's leaderboard its event carries.
const eventLeaders = 5

// writeRunEvent writes, in the caller's transaction, the run.* event of a
// run that has just been given its final status (and, for completed and
// partial runs, its rankings). The dedup key names the retry round and
// the scoring version: finalizing the same round twice writes one event,
// a round of retried units finalized again is news.
func writeRunEvent(ctx context.Context, q *dbsqlc.Queries, r *run.Run) error {
	typ := notify.RunEventType(string(r.Status))
	if typ == "" {
		return fmt.Errorf("run %s: status %q is not final", r.ID, r.Status)
	}
	name, err := q.EventBenchmarkName(ctx, r.BenchmarkID)
	if err != nil {
		return fmt.Errorf("benchmark of run %s: %w", r.ID, err)
	}
	rows, err := q.EventLeaderboard(ctx, dbsqlc.EventLeaderboardParams{RunID: r.ID, Limit: eventLeaders})
	if err != nil {
		return fmt.Errorf("leaderboard of run %s: %w", r.ID, err)
	}
	leaders := make([]notify.LeaderLine, len(rows))
	for i, row := range rows {
		leaders[i] = notify.LeaderLine{Rank: int(row.Position), ModelID: row.ModelID, ModelName: row.ModelName, Score: row.Score, CILow: row.CiLow, CIHigh: row.CiHigh}
	}
	finished := deref(r.FinishedAt).UTC()
	if r.FinishedAt == nil {
		finished = time.Now().UTC()
	}
	p := notify.RunFinished{
		RunID: r.ID, BenchmarkID: r.BenchmarkID, BenchmarkName: name, Status: string(r.Status), Trigger: string(r.Trigger),
		ScheduledFor: r.ScheduledFor, Reason: r.Error, CreatedAt: r.CreatedAt.UTC(), FinishedAt: finished,
		Total: r.Progress.Total, Succeeded: r.Progress.Succeeded, Failed: r.Progress.Failed, Cancelled: r.Progress.Cancelled,
		Skipped: r.Progress.Skipped, Unscored: r.Unscored, CostUSD: r.CostUSD, Leaderboard: leaders,
	}
	if p.ScheduledFor != nil {
		at := p.ScheduledFor.UTC()
		p.ScheduledFor = &at
	}
	benchmarkID := r.BenchmarkID
	_, err = q.InsertEvent(ctx, dbsqlc.InsertEventParams{
		ID: newID(), Type: typ, OccurredAt: finished, BenchmarkID: &benchmarkID,
		DedupKey: fmt.Sprintf("%s:%s:%d:%d", typ, r.ID, r.RetryRound, max(r.ScoringVersion, 1)),
		Payload:  mustJSON(p),
	})
	return err
}

package maintenance

import (
	"context"
	"fmt"
)

// maxRefreshesPerPass bounds the rollup refresh batches of one pass, so
// that the lease never stays taken for long; the rest waits a pass.
const maxRefreshesPerPass = 10

// refreshRollups brings the rollups up to date with the runs finished
// since the last pass.
func (r *Reconciler) refreshRollups(ctx context.Context) error {
	for range maxRefreshesPerPass {
		res, err := r.store.RefreshRollups(ctx)
		if err != nil {
			return fmt.Errorf("refresh rollups: %w", err)
		}
		if res.Runs > 0 {
			r.log.Debug("rollups refreshed", "runs", res.Runs, "buckets", res.Buckets)
		}
		if !res.More || ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

package maintenance

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/run"
)

// raiseScript raises a float counter to at least ARGV[1], by increment so
// that concurrent INCRBYFLOATs are not lost, and refreshes its TTL.
var raiseScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
if cur < floor then
  redis.call('INCRBYFLOAT', KEYS[1], floor - cur)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// spendTTL matches the tracker's lifetime of a run's keys.
const spendTTL = 7 * 24 * time.Hour

// restoreSpend raises the run's spend counter to at least what its recorded
// executions cost. Every call's cost is added before its unit is recorded,
// so an intact counter is never below that sum; a lost one is rebuilt from
// it (calls that were paid for but not recorded are lost with Redis).
func (r *Reconciler) restoreSpend(ctx context.Context, rn *run.Run) error {
	cost, err := r.store.RecordedCost(ctx, rn)
	if err != nil || cost <= 0 {
		return err
	}
	n, err := raiseScript.Run(ctx, r.rdb, []string{run.SpendKey(rn.ID)}, strconv.FormatFloat(cost, 'g', -1, 64), spendTTL.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("restore spend of run %s: %w", rn.ID, err)
	}
	if n == 1 {
		r.log.Info("run spend restored from recorded executions", "run_id", rn.ID, "cost_usd", cost)
	}
	return nil
}

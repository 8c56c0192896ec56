package maintenance

import (
	"context"
	"fmt"

	"github.com/sabe-dev/sabe/pkg/alerting"
)

// sweepAlerts enqueues the regression checks of recently finished runs
// that have none (alerting.Sweep): the check the finalizer enqueues is
// lost when the worker dies between the two.
func (r *Reconciler) sweepAlerts(ctx context.Context) error {
	n, err := alerting.Sweep(ctx, r.store, r.queue, r.now())
	if n > 0 {
		r.log.Info("alert checks enqueued by the sweep", "runs", n)
	}
	if err != nil {
		return fmt.Errorf("sweep alert checks: %w", err)
	}
	return nil
}

package maintenance

import (
	"context"
	"time"
)

// RetentionResult says what one retention pass deleted.
type RetentionResult struct {
	Evaluations, Executions int64
	// Audit counts the audit rows deleted.
	Audit int64
	// Chunks counts the TimescaleDB chunks dropped (always 0 on plain
	// PostgreSQL).
	Chunks int64
	// Batches is the number of delete statements that removed rows.
	Batches int
	// More: rows older than the retention remain for the next pass.
	More bool
}

// retain deletes the evaluations and then the executions of finished runs
// older than the retention, then the audit rows older than the audit
// retention, a batch per statement (each its own short transaction, so
// neither workers nor autovacuum wait on a long one), up to
// RetentionBatchesPerPass batches. Evaluations go first: an evaluation is
// never left without its execution. A retention of 0 skips its steps.
func (r *Reconciler) retain(ctx context.Context) (RetentionResult, error) {
	var res RetentionResult
	now := r.now()
	cutoff, auditCutoff := now.Add(-r.cfg.Retention), now.Add(-r.cfg.AuditRetention)
	steps := []struct {
		keep   time.Duration
		cutoff time.Time
		del    func(context.Context, time.Time, int) (int64, error)
		count  *int64
	}{
		{r.cfg.Retention, cutoff, r.store.DeleteExpiredEvaluations, &res.Evaluations},
		{r.cfg.Retention, cutoff, r.store.DeleteExpiredExecutions, &res.Executions},
		{r.cfg.AuditRetention, auditCutoff, r.store.DeleteAuditBefore, &res.Audit},
	}
	if r.cfg.Retention > 0 {
		// With TimescaleDB whole chunks go first, which costs nothing like
		// deleting their rows; the batches below take what is left.
		n, err := r.store.DropOldChunks(ctx, cutoff)
		if err != nil {
			return res, err
		}
		res.Chunks = n
	}
	for _, st := range steps {
		if st.keep <= 0 {
			continue
		}
		for {
			if res.Batches >= r.cfg.RetentionBatchesPerPass {
				res.More = true
				return res, nil
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
			n, err := st.del(ctx, st.cutoff, r.cfg.RetentionBatch)
			if err != nil {
				return res, err
			}
			*st.count += n
			if n > 0 {
				res.Batches++
			}
			if n < int64(r.cfg.RetentionBatch) {
				break
			}
		}
	}
	if res.Batches > 0 || res.Chunks > 0 {
		r.log.Info("retention deleted old rows", "cutoff", cutoff, "evaluations", res.Evaluations,
			"executions", res.Executions, "chunks", res.Chunks, "audit_cutoff", auditCutoff, "audit", res.Audit, "batches", res.Batches)
	}
	return res, nil
}

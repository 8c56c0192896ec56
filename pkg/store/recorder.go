package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// RecordExecutions stores executions and their evaluations, each exactly
// once per (run, model, question, sample), in one round trip and one
// transaction; inserted[i] reports whether es[i] was inserted by this call
// (false: it was recorded already). It is all or nothing: on error nothing
// was written.
func (s *Store) RecordExecutions(ctx context.Context, es []*run.Execution, inserted []bool) error {
	if len(inserted) != len(es) {
		return fmt.Errorf("record executions: %d results for %d executions", len(inserted), len(es))
	}
	args := make([]dbsqlc.RecordExecutionsParams, len(es))
	for i, e := range es {
		args[i] = recordParams(e)
	}
	// A batch is sent with one Sync, so PostgreSQL runs it as one implicit
	// transaction: a failed statement rolls back the ones before it even
	// though they answered, so any error fails the whole batch.
	var first error
	s.q.RecordExecutions(ctx, args).QueryRow(func(i int, n int32, err error) {
		if err != nil && first == nil {
			first = err
		}
		inserted[i] = n == 1
	})
	if first != nil {
		clear(inserted)
		return fmt.Errorf("record execution: %w", first)
	}
	return nil
}

func recordParams(e *run.Execution) dbsqlc.RecordExecutionsParams {
	arg := dbsqlc.RecordExecutionsParams{
		RunCreatedAt: e.RunCreatedAt, RunID: e.RunID, ModelID: e.ModelID, QuestionID: e.QuestionID, Sample: int32(e.Sample),
		BenchmarkID: e.BenchmarkID, QuestionRevisionID: e.QuestionRevisionID, Category: e.Category,
		Status: string(e.Status), Response: e.Response, Attempts: int32(max(e.Attempts, 1)),
		LatencyMs: e.LatencyMs, TtftMs: e.TTFTMs, OutputTokensPerS: e.OutputTokensPerS,
		InputTokens: int32(e.InputTokens), OutputTokens: int32(e.OutputTokens), CostUsd: e.CostUSD,
		StartedAt: e.StartedAt, FinishedAt: e.FinishedAt,
	}
	if e.Error != "" {
		arg.Error = &e.Error
	}
	if e.HTTPStatus != 0 {
		hs := int32(e.HTTPStatus)
		arg.HttpStatus = &hs
	}
	if ev := e.Evaluation; ev != nil {
		// Only inline (deterministic, version 1, scored) verdicts travel
		// with the execution; a judged unit's comes by RecordEvaluation.
		arg.Scorer, arg.Detail = &ev.Scorer, ev.Detail
		arg.Passed, arg.Score = deref(ev.Passed), deref(ev.Score)
		if len(ev.Assertions) > 0 {
			arg.Assertions = mustJSON(ev.Assertions)
		}
	}
	return arg
}

// RecorderConfig sizes a Recorder. Zero values take the defaults.
type RecorderConfig struct {
	// Writers is how many batches may be in flight at once (default 2).
	Writers int
	// MaxBatch caps the executions in one batch (default 64).
	MaxBatch int
	// Linger is how long a writer holding fewer than MaxBatch executions
	// waits for more before it writes them (0: not at all; the worker's
	// SABE_RECORD_LINGER is 2ms). Without it batches form only once the
	// writers are all busy,
	// and at a few hundred units a second per worker most batches held one
	// or two executions, each paying a commit. A unit's provider call takes
	// far longer than this.
	Linger time.Duration
	// Timeout bounds the write of one batch (default 30s).
	Timeout time.Duration
	// OnBatch, when set, is told the size and write time of every batch
	// (for metrics); it runs on the writer and must be quick.
	OnBatch func(size int, took time.Duration)
}

// Recorder is the Store with RecordExecution batched: concurrent calls are
// gathered into batches written by a few writer goroutines (group commit),
// so that a busy worker pays one round trip and one commit for many units
// instead of one each. A free writer takes what is pending and waits at
// most Linger for more, so a lone call waits no longer than that, and
// batches grow with the load up to MaxBatch. Each caller still gets its own
// answer (inserted or not, or the error of its own row).
type Recorder struct {
	*Store
	opts  RecorderConfig
	queue chan *pendingRecord
	wg    sync.WaitGroup

	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
}

type pendingRecord struct {
	e        *run.Execution
	inserted bool
	err      error
	done     chan struct{}
}

// NewRecorder starts a Recorder over s; Close stops it.
func NewRecorder(s *Store, opts RecorderConfig) *Recorder {
	if opts.Writers <= 0 {
		opts.Writers = 2
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 64
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	r := &Recorder{Store: s, opts: opts, queue: make(chan *pendingRecord, opts.Writers*opts.MaxBatch)}
	for range opts.Writers {
		r.wg.Go(r.write)
	}
	return r
}

// RecordExecution stores e through the next batch and reports whether it
// was inserted. A caller whose ctx ends stops waiting, but its execution
// may still be written, which recording's idempotence makes harmless.
// After Close it writes directly.
func (r *Recorder) RecordExecution(ctx context.Context, e *run.Execution) (bool, error) {
	p := &pendingRecord{e: e, done: make(chan struct{})}
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return r.Store.RecordExecution(ctx, e)
	}
	select {
	case r.queue <- p:
		r.mu.RUnlock()
	case <-ctx.Done():
		r.mu.RUnlock()
		return false, fmt.Errorf("record execution: %w", ctx.Err())
	}
	select {
	case <-p.done:
		return p.inserted, p.err
	case <-ctx.Done():
		return false, fmt.Errorf("record execution: %w", ctx.Err())
	}
}

// Close writes what is queued and stops the writers.
func (r *Recorder) Close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// gather adds what is pending to batch, up to MaxBatch, waiting at most
// Linger for more once nothing is; linger is the writer's own timer.
func (r *Recorder) gather(batch []*pendingRecord, linger *time.Timer) []*pendingRecord {
	if r.opts.Linger > 0 {
		linger.Reset(r.opts.Linger)
		defer linger.Stop()
	}
	for len(batch) < r.opts.MaxBatch {
		select {
		case p, ok := <-r.queue:
			if !ok {
				return batch
			}
			batch = append(batch, p)
			continue
		default:
		}
		if r.opts.Linger <= 0 {
			return batch
		}
		select {
		case p, ok := <-r.queue:
			if !ok {
				return batch
			}
			batch = append(batch, p)
		case <-linger.C:
			return batch
		}
	}
	return batch
}

// write is one writer: it takes every pending call up to MaxBatch and
// writes them as one batch, until the queue is closed and drained.
func (r *Recorder) write() {
	batch := make([]*pendingRecord, 0, r.opts.MaxBatch)
	es := make([]*run.Execution, 0, r.opts.MaxBatch)
	inserted := make([]bool, r.opts.MaxBatch)
	linger := time.NewTimer(0)
	<-linger.C
	for p := range r.queue {
		batch = r.gather(append(batch[:0], p), linger)
		es = es[:0]
		for _, p := range batch {
			es = append(es, p.e)
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
		began := time.Now()
		err := r.Store.RecordExecutions(ctx, es, inserted[:len(es)])
		if r.opts.OnBatch != nil {
			r.opts.OnBatch(len(es), time.Since(began))
		}
		var pgErr *pgconn.PgError
		if len(batch) > 1 && errors.As(err, &pgErr) {
			// One bad row fails the whole batch; write them one by one
			// so that only its own caller sees its error. (A connection
			// that failed fails them all alike.)
			for _, p := range batch {
				p.inserted, p.err = r.Store.RecordExecution(ctx, p.e)
				close(p.done)
			}
			cancel()
			continue
		}
		cancel()
		for i, p := range batch {
			p.inserted, p.err = inserted[i], err
			close(p.done)
		}
	}
}

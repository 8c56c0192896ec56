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

// Recorder is the Store with RecordExecution and RecordEvaluation batched:
// concurrent calls are gathered into batches written by a few writer
// goroutines (group commit), so that a busy worker pays one round trip and
// one commit for many units instead of one each. A free writer takes what
// is pending and waits at most Linger for more, so a lone call waits no
// longer than that, and batches grow with the load up to MaxBatch. Each
// caller still gets its own answer (inserted or not, or the error of its
// own row). Executions and evaluations have writers of their own.
type Recorder struct {
	*Store
	execs *batcher[*run.Execution]
	evals *batcher[evaluationRecord]
}

// evaluationRecord is one RecordEvaluation call.
type evaluationRecord struct {
	r  *run.Run
	k  run.UnitKey
	ev *run.Evaluation
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
	return &Recorder{
		Store: s,
		execs: newBatcher("record execution", opts, s.RecordExecutions, s.RecordExecution),
		evals: newBatcher("record evaluation", opts, s.recordEvaluations, func(ctx context.Context, e evaluationRecord) (bool, error) {
			return s.RecordEvaluation(ctx, e.r, e.k, e.ev)
		}),
	}
}

// RecordExecution stores e through the next batch and reports whether it
// was inserted. A caller whose ctx ends stops waiting, but its execution
// may still be written, which recording's idempotence makes harmless.
// After Close it writes directly.
func (r *Recorder) RecordExecution(ctx context.Context, e *run.Execution) (bool, error) {
	return r.execs.do(ctx, e)
}

// RecordEvaluation stores ev as unit k's evaluation through the next batch
// of evaluations, with Store.RecordEvaluation's guarantees (once per key;
// the effective verdict in the same statement), and reports whether it was
// inserted. Like RecordExecution, a caller whose ctx ends stops waiting
// while its evaluation may still be written (harmless: it is idempotent).
func (r *Recorder) RecordEvaluation(ctx context.Context, rn *run.Run, k run.UnitKey, ev *run.Evaluation) (bool, error) {
	return r.evals.do(ctx, evaluationRecord{r: rn, k: k, ev: ev})
}

// Close writes what is queued and stops the writers.
func (r *Recorder) Close() {
	r.execs.close()
	r.evals.close()
}

// batcher gathers concurrent writes of T into batches written by
// opts.Writers goroutines with writeBatch; one writes a single T directly
// (after close, and row by row when a batch fails on one bad row).
type batcher[T any] struct {
	what       string // "record execution", for the errors of a caller whose ctx ended
	opts       RecorderConfig
	writeBatch func(ctx context.Context, items []T, inserted []bool) error
	writeOne   func(ctx context.Context, item T) (bool, error)
	queue      chan *pending[T]
	wg         sync.WaitGroup

	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
}

type pending[T any] struct {
	item     T
	inserted bool
	err      error
	done     chan struct{}
}

func newBatcher[T any](what string, opts RecorderConfig, writeBatch func(context.Context, []T, []bool) error, writeOne func(context.Context, T) (bool, error)) *batcher[T] {
	b := &batcher[T]{what: what, opts: opts, writeBatch: writeBatch, writeOne: writeOne, queue: make(chan *pending[T], opts.Writers*opts.MaxBatch)}
	for range opts.Writers {
		b.wg.Go(b.write)
	}
	return b
}

// do writes item through the next batch.
func (b *batcher[T]) do(ctx context.Context, item T) (bool, error) {
	p := &pending[T]{item: item, done: make(chan struct{})}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return b.writeOne(ctx, item)
	}
	select {
	case b.queue <- p:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return false, fmt.Errorf("%s: %w", b.what, ctx.Err())
	}
	select {
	case <-p.done:
		return p.inserted, p.err
	case <-ctx.Done():
		return false, fmt.Errorf("%s: %w", b.what, ctx.Err())
	}
}

func (b *batcher[T]) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// gather adds what is pending to batch, up to MaxBatch, waiting at most
// Linger for more once nothing is; linger is the writer's own timer.
func (b *batcher[T]) gather(batch []*pending[T], linger *time.Timer) []*pending[T] {
	if b.opts.Linger > 0 {
		linger.Reset(b.opts.Linger)
		defer linger.Stop()
	}
	for len(batch) < b.opts.MaxBatch {
		select {
		case p, ok := <-b.queue:
			if !ok {
				return batch
			}
			batch = append(batch, p)
			continue
		default:
		}
		if b.opts.Linger <= 0 {
			return batch
		}
		select {
		case p, ok := <-b.queue:
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
func (b *batcher[T]) write() {
	batch := make([]*pending[T], 0, b.opts.MaxBatch)
	items := make([]T, 0, b.opts.MaxBatch)
	inserted := make([]bool, b.opts.MaxBatch)
	linger := time.NewTimer(0)
	<-linger.C
	for p := range b.queue {
		batch = b.gather(append(batch[:0], p), linger)
		items = items[:0]
		for _, p := range batch {
			items = append(items, p.item)
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.Timeout)
		began := time.Now()
		err := b.writeBatch(ctx, items, inserted[:len(items)])
		if b.opts.OnBatch != nil {
			b.opts.OnBatch(len(items), time.Since(began))
		}
		var pgErr *pgconn.PgError
		if len(batch) > 1 && errors.As(err, &pgErr) {
			// One bad row fails the whole batch; write them one by one
			// so that only its own caller sees its error. (A connection
			// that failed fails them all alike.)
			for _, p := range batch {
				p.inserted, p.err = b.writeOne(ctx, p.item)
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
		clear(items) // drop references to what was written
	}
}

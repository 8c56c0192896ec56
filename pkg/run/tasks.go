package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/sabe-dev/sabe/internal/asynqbatch"
	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/metrics"
	"github.com/sabe-dev/sabe/internal/redisconn"
	"github.com/sabe-dev/sabe/internal/tracing"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/resilience"
)

// Queues. asynq picks the next task from a non-empty queue with a
// probability proportional to its weight, so work on a light queue is never
// starved by a long one.
//   - control: run lifecycle tasks, few and cheap; they must not wait behind
//     any run's units.
//   - interactive: units of small runs someone started by hand or through
//     the API, where a person is waiting.
//   - bulk: units of large runs started by hand or through the API.
//   - scheduled: units of scheduled runs, which nobody is waiting on.
//
// A 100,000-unit run, scheduled or not, thus shares the fleet with a small
// run started after it instead of finishing first.
const (
	QueueControl     = "control"
	QueueInteractive = "interactive"
	QueueBulk        = "bulk"
	QueueScheduled   = "scheduled"
)

// BulkRunUnits is the size from which a run's units go to the bulk queue.
const BulkRunUnits = 1000

// Queues returns the asynq queue weights the worker serves.
func Queues() map[string]int {
	return map[string]int{QueueControl: 10, QueueInteractive: 6, QueueBulk: 2, QueueScheduled: 2}
}

// UnitQueue is the queue for the units of r.
func UnitQueue(r *Run) string {
	switch {
	case r.Trigger == TriggerSchedule:
		return QueueScheduled
	case r.Total() >= BulkRunUnits:
		return QueueBulk
	default:
		return QueueInteractive
	}
}

// Enqueuer is the part of *asynq.Client the tasks use.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Enqueue enqueues task and treats "a task with this id exists" as success:
// every SABE task has a deterministic id, so that answer means the work is
// already there.
func Enqueue(ctx context.Context, q Enqueuer, task *asynq.Task) error {
	_, err := q.EnqueueContext(ctx, task)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) && !errors.Is(err, asynq.ErrDuplicateTask) {
		return fmt.Errorf("enqueue %s: %w", task.Type(), err)
	}
	return nil
}

// Config tunes the task handlers.
type Config struct {
	// CallTimeout bounds one provider call (a run's deadline may cut it
	// shorter).
	CallTimeout time.Duration
	// IdleTimeout is the longest gap allowed between two chunks of a
	// streamed answer; 0 leaves the client's default.
	IdleTimeout time.Duration
	// MaxRetry is how many times a unit is retried after a retryable
	// provider error before it is recorded as failed for good. Waits on a
	// circuit, a quota pause or a limit are not retries.
	MaxRetry int
	// RetryBaseDelay is the first retry's delay; it doubles per attempt, with
	// jitter, up to RetryMaxDelay. A provider's Retry-After wins when longer.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// QuotaPause is how long a provider's calls pause after a quota answer
	// that does not say when the quota resets, unless the provider's own
	// limits set it (default 1h).
	QuotaPause time.Duration
	// EnqueueParallelism is how many batches of tasks (asynqbatch.MaxBatch
	// each) run:start keeps in flight.
	EnqueueParallelism int
	// BreakerMaxWait is how long a unit may wait on its provider's open
	// circuit, counted from when the circuit first opened in the outage
	// (failed half-open probes do not restart it): a unit that meets a
	// circuit open longer than this fails with the provider's last error
	// instead of waiting again, so a run against a provider that is down
	// for good ends in about this long plus one open period (default 5m).
	BreakerMaxWait time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.CallTimeout <= 0 {
		c.CallTimeout = 120 * time.Second
	}
	if c.MaxRetry <= 0 {
		c.MaxRetry = 5
	}
	if c.RetryBaseDelay <= 0 {
		c.RetryBaseDelay = time.Second
	}
	if c.RetryMaxDelay <= 0 {
		c.RetryMaxDelay = 5 * time.Minute
	}
	if c.QuotaPause <= 0 {
		c.QuotaPause = time.Hour
	}
	if c.EnqueueParallelism <= 0 {
		c.EnqueueParallelism = 4
	}
	if c.BreakerMaxWait <= 0 {
		c.BreakerMaxWait = DefaultBreakerMaxWait
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// DefaultBreakerMaxWait is Config.BreakerMaxWait's default.
const DefaultBreakerMaxWait = 5 * time.Minute

// Deps are what the task handlers work with. All are required except
// Metrics.
type Deps struct {
	Store   Store
	Queue   Enqueuer
	Tracker *Tracker
	// Clients maps a provider kind to the client that speaks it.
	Clients map[catalog.ProviderKind]provider.Client
	// Guard guards provider calls together with the other workers.
	Guard *resilience.Guard
	// Redis carries ProviderChangedChannel (see Start).
	Redis redis.UniversalClient
	// Metrics records calls, waits, retries and skips; nil keeps them in a
	// registry no one reads.
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// Tracing traces the provider calls (a span per call, see
	// callSpan); nil is off.
	Tracing *tracing.Tracing
}

// ProviderChangedChannel is the Redis channel on which the api publishes a
// provider's id after every change to it (its key included) and after its
// deletion; workers drop what they cached about it at once.
const ProviderChangedChannel = "sabe:provider-changed"

// connTTL bounds how long a worker uses a cached provider connection when a
// change notice was lost.
const connTTL = 30 * time.Second

// Handlers executes SABE's tasks. One value serves all of a worker's
// goroutines.
type Handlers struct {
	store Store
	queue Enqueuer
	// batch enqueues the fan-out's tasks, many to a Redis round trip.
	batch   *asynqbatch.Enqueuer
	tracker *Tracker
	clients map[catalog.ProviderKind]provider.Client
	guard   *resilience.Guard
	rdb     redis.UniversalClient
	metrics *metrics.Metrics
	log     *slog.Logger
	tracer  trace.Tracer
	cfg     Config
	cache   *snapshotCache
	// versions holds the compiled rules of rescores (task_rescore.go).
	versions versionCache

	connMu sync.Mutex
	conns  map[uuid.UUID]cachedConn

	follower *redisconn.Follower
}

type cachedConn struct {
	conn    *ProviderConn
	expires time.Time
}

// NewHandlers wires the task handlers.
func NewHandlers(d Deps, cfg Config) *Handlers {
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	h := &Handlers{
		store: d.Store, queue: d.Queue, batch: asynqbatch.New(d.Redis), tracker: d.Tracker, clients: d.Clients, guard: d.Guard, rdb: d.Redis,
		metrics: d.Metrics, log: d.Log, tracer: d.Tracing.Tracer(), cfg: cfg.withDefaults(), cache: newSnapshotCache(d.Store, 64),
		conns: map[uuid.UUID]cachedConn{},
	}
	h.follower = redisconn.NewFollower(d.Redis, ProviderChangedChannel, h.onProviderChanged)
	return h
}

// Register adds the handlers to mux.
func (h *Handlers) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeStart, h.HandleStart)
	mux.HandleFunc(TypeExecute, h.HandleExecute)
	mux.HandleFunc(TypeFinalize, h.HandleFinalize)
	mux.HandleFunc(TypeJudge, h.HandleJudge)
	mux.HandleFunc(TypeRetryFailed, h.HandleRetryFailed)
	mux.HandleFunc(TypeRescore, h.HandleRescore)
}

// Start follows ProviderChangedChannel until ctx is done or Stop is
// called: a changed provider's cached connection (and key) is dropped and
// its local circuit breaker reset at once. The cache's 30 s expiry still
// bounds staleness when a notice is lost.
func (h *Handlers) Start(ctx context.Context) error { return h.follower.Start(ctx) }

// Stop ends what Start began; it is safe to call twice.
func (h *Handlers) Stop() { h.follower.Stop() }

func (h *Handlers) onProviderChanged(_ context.Context, payload string) {
	id, err := uuid.Parse(payload)
	if err != nil {
		h.log.Warn("ignoring provider change notice", "payload", payload)
		return
	}
	h.ProviderChanged(id)
}

// ProviderChanged forgets what this worker cached about a provider.
func (h *Handlers) ProviderChanged(id uuid.UUID) {
	h.connMu.Lock()
	delete(h.conns, id)
	h.connMu.Unlock()
	h.guard.Reset(id.String())
	h.log.Info("provider changed: cached connection dropped", "provider_id", id)
}

// IsFailure is the asynq server's IsFailure: a unit that waits for its
// provider (open circuit, quota pause, rate limit, concurrency cap) has not
// failed, so the wait does not use up one of its retries.
func IsFailure(err error) bool {
	var we *resilience.WaitError
	return !errors.As(err, &we)
}

// RetryDelay is the asynq server's RetryDelayFunc. A unit waiting for its
// provider comes back when the wait is over (spread by up to a tenth, at
// most a second, so the waiters do not all arrive at once); after a
// failure it is the provider's Retry-After when it gave one, else
// exponential backoff with full jitter.
func (h *Handlers) RetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	now := h.cfg.Now()
	var we *resilience.WaitError
	if errors.As(err, &we) {
		d := we.Wait(now)
		return toWholeSecond(now, d+rand.N(min(d/10, time.Second)+1))
	}
	var pe *provider.Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		return toWholeSecond(now, min(pe.RetryAfter, h.cfg.RetryMaxDelay))
	}
	d := h.cfg.RetryBaseDelay << min(n, 20)
	d = min(d, h.cfg.RetryMaxDelay)
	return d/2 + rand.N(d/2+1)
}

// toWholeSecond stretches a delay from now to end on a whole second. asynq
// stores a retry's time in whole seconds, rounded down, so an unstretched
// delay could bring the task back up to a second early: before the
// provider's Retry-After, or before the circuit half-opens. Backoff needs
// no such care: it is a guess anyway, and jittered.
func toWholeSecond(now time.Time, d time.Duration) time.Duration {
	at := now.Add(d)
	if t := at.Truncate(time.Second); !t.Equal(at) {
		at = t.Add(time.Second)
	}
	return at.Sub(now)
}

type runPayload struct {
	RunID uuid.UUID `json:"run_id"`
	// Trace is the trace context of the span that enqueued the task
	// (internal/tracing); absent when tracing is off.
	Trace tracing.Carrier `json:"trace,omitempty"`
}

// newRunTask builds a lifecycle task of a run on the control queue. Its id
// is idPrefix + run id, so enqueuing it again while it exists is a no-op.
// It carries the trace of ctx's span, so the task's span joins the run's
// trace.
func newRunTask(ctx context.Context, typ, idPrefix string, runID uuid.UUID, timeout time.Duration) *asynq.Task {
	payload, _ := json.Marshal(runPayload{RunID: runID, Trace: tracing.Inject(ctx)})
	return asynq.NewTask(typ, payload,
		asynq.TaskID(idPrefix+runID.String()),
		asynq.Queue(QueueControl),
		asynq.MaxRetry(25),
		asynq.Timeout(timeout))
}

func decode(t *asynq.Task, v any) error {
	if err := json.Unmarshal(t.Payload(), v); err != nil {
		return fmt.Errorf("%s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return nil
}

// skipIfGone turns "the run no longer exists" into a non-retryable error.
func skipIfGone(err error) error {
	if fault.KindOf(err) == fault.KindNotFound {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}

func itoa(i int) string { return strconv.Itoa(i) }

// enqueueAll enqueues on queue the task build makes of each of units, in
// batches of asynqbatch.MaxBatch (a Redis round trip each), with
// EnqueueParallelism batches in flight, and returns how many were new: a
// task whose id exists is already there. It holds a few batches at a
// time, not the whole run.
func (h *Handlers) enqueueAll(ctx context.Context, queue string, units iter.Seq[int], build func(i int) asynqbatch.Task) (int, error) {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(h.cfg.EnqueueParallelism)
	var added atomic.Int64
	batch := make([]asynqbatch.Task, 0, asynqbatch.MaxBatch)
	flush := func() {
		b := batch
		g.Go(func() error {
			n, err := h.batch.Enqueue(ctx, queue, b)
			added.Add(int64(n))
			return err
		})
		batch = make([]asynqbatch.Task, 0, asynqbatch.MaxBatch)
	}
	for i := range units {
		if ctx.Err() != nil {
			break
		}
		if batch = append(batch, build(i)); len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	err := g.Wait()
	return int(added.Load()), err
}

// Package taskserver assembles what a SABE worker runs its tasks with: the
// batching execution Recorder, the provider clients, the guard every
// provider call passes (resilience), the run handlers, the schedule
// tick handler, the notification handlers (dispatch, deliver) and the
// regression check (alerts:check) on one
// ServeMux, and the asynq servers that fetch the
// queues. The worker process, the run and maintenance tests and the bench
// all build a worker here, so what the tests run is what production runs.
//
// The maintenance reconciler is not part of it: it is a loop of its own,
// not a task handler, and services/worker starts it beside a Worker.
package taskserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/internal/logging"
	"github.com/sabe-dev/sabe/internal/metrics"
	"github.com/sabe-dev/sabe/internal/startstop"
	"github.com/sabe-dev/sabe/internal/tracing"
	"github.com/sabe-dev/sabe/pkg/alerting"
	"github.com/sabe-dev/sabe/pkg/analytics"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/provider"
	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/run"
	"github.com/sabe-dev/sabe/pkg/schedule"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
)

// Config is a worker's shape: its servers, recorder, guard, provider
// clients and handlers. Zero values take each part's defaults.
type Config struct {
	Servers ServerConfig
	// Recorder sizes the batches executions are recorded in.
	Recorder store.RecorderConfig
	// Guard tunes the breakers, pauses and limits around provider calls;
	// its Log and Observer are the worker's.
	Guard resilience.Config
	// Provider configures the provider clients; the HTTP client is built
	// from AllowPrivateProviders and ProviderAllow when it is nil.
	Provider              provider.ClientConfig
	AllowPrivateProviders bool
	ProviderAllow         []string
	// Run tunes the run handlers.
	Run run.Config
	// MinScheduleInterval is the shortest gap the schedule tick allows
	// between two occurrences of a schedule (store.RunLimits).
	MinScheduleInterval time.Duration
	// Notify tunes the webhook dispatch and deliveries.
	Notify notify.Config
}

// Deps are what a worker works with. Store, Redis, Queue and Log are
// required.
type Deps struct {
	Store *store.Store
	Redis redis.UniversalClient
	Queue run.Enqueuer
	// Metrics records the worker's calls, batches and guard changes; nil
	// keeps them in a registry no one reads.
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// Clients, when set, replaces the provider clients built from
	// Config.Provider (a test leaves a kind out).
	Clients map[catalog.ProviderKind]provider.Client
	// Keys opens the webhooks' signing secrets (the store's keyring).
	Keys *secrets.Keyring
	// Tracing traces every task and provider call; nil is off.
	Tracing *tracing.Tracing
}

// Worker is one worker's task processing, from Start until Stop; it runs
// once.
type Worker struct {
	// Handlers are the run handlers the servers call; tests call them
	// directly too.
	Handlers *run.Handlers
	// Guard guards the worker's provider calls together with the other
	// workers.
	Guard *resilience.Guard
	// Recorder writes the handlers' executions in batches.
	Recorder *store.Recorder
	// Notify dispatches events and delivers them to webhooks.
	Notify *notify.Deliverer

	mux     *asynq.ServeMux
	servers *Servers
	life    startstop.StartStop
	// ran is set by the first start: the Recorder closes at Stop, so a
	// worker runs once.
	ran bool
}

// New assembles a worker; nothing runs until Start.
func New(d Deps, c Config) *Worker {
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	c.Recorder.OnBatch = d.Metrics.RecordBatch
	c.Guard.Log, c.Guard.Observer = d.Log, d.Metrics
	// The fleet-wide circuit transitions this worker makes become
	// provider.circuit_* events.
	c.Guard.Fleet = &notify.CircuitEvents{Store: d.Store, Queue: d.Queue, Log: d.Log}
	guard := resilience.NewGuard(d.Redis, c.Guard)
	clients := d.Clients
	if clients == nil {
		if c.Provider.HTTPClient == nil {
			c.Provider.HTTPClient = provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: c.AllowPrivateProviders, Allow: c.ProviderAllow})
		}
		clients = provider.NewClients(c.Provider)
	}
	rec := store.NewRecorder(d.Store, c.Recorder)
	h := run.NewHandlers(run.Deps{
		Store: rec, Queue: d.Queue, Tracker: run.NewTracker(d.Redis), Clients: clients, Guard: guard,
		Redis: d.Redis, Metrics: d.Metrics, Log: d.Log, Tracing: d.Tracing,
	}, c.Run)
	mux := asynq.NewServeMux()
	if d.Tracing.Enabled() {
		mux.Use(tracing.TaskMiddleware(d.Tracing))
	}
	h.Register(mux)
	schedule.NewTicker(d.Store, d.Queue, run.NewStartTask, d.Log, c.MinScheduleInterval).Register(mux)
	deliverer := notify.NewDeliverer(notify.Deps{Store: d.Store, Keys: d.Keys, Queue: d.Queue, Log: d.Log}, c.Notify)
	deliverer.Register(mux)
	alerting.NewChecker(d.Store, analytics.NewService(d.Store), d.Queue, d.Log).Register(mux)
	log := d.Log
	servers := NewServers(d.Redis, c.Servers, asynq.Config{
		RetryDelayFunc: h.RetryDelay,
		// A unit waiting for its provider has not failed: its retries are
		// kept for real failures.
		IsFailure: run.IsFailure,
		Logger:    logging.Asynq(log),
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			var we *resilience.WaitError
			if errors.As(err, &we) {
				log.Debug("task waits for its provider", "type", t.Type(), "reason", we.Reason, "until", we.Until)
				return
			}
			log.WarnContext(tracing.TaskContext(ctx, t), "task failed", "type", t.Type(), "err", err)
		}),
	})
	return &Worker{Handlers: h, Guard: guard, Recorder: rec, Notify: deliverer, mux: mux, servers: servers}
}

// Start starts the guard and the handlers' subscriptions, then the
// servers; the worker runs until ctx ends or Stop is called. It fails when
// the worker is already started, or was stopped.
func (w *Worker) Start(ctx context.Context) error {
	return w.start(ctx, true)
}

// StartHandlers starts the guard and the handlers' subscriptions but no
// server: the queues are not served, and the handlers are called directly
// (tests do). Stop ends it as it ends Start.
func (w *Worker) StartHandlers(ctx context.Context) error {
	return w.start(ctx, false)
}

func (w *Worker) start(ctx context.Context, serve bool) error {
	err := w.life.StartWith(ctx, func(ctx context.Context) (func(), error) {
		if w.ran {
			return nil, errors.New("worker: stopped workers do not start again")
		}
		w.ran = true
		if err := w.Guard.Start(ctx); err != nil {
			return nil, err
		}
		if err := w.Handlers.Start(ctx); err != nil {
			w.Guard.Stop()
			return nil, err
		}
		if serve {
			if err := w.servers.Start(w.mux); err != nil {
				w.Handlers.Stop()
				w.Guard.Stop()
				return nil, err
			}
		}
		return func() {
			<-ctx.Done()
			if serve {
				w.servers.Shutdown()
			}
			// Only once no handler runs: the last executions are
			// written, and nothing else calls a provider.
			w.Handlers.Stop()
			w.Guard.Stop()
			w.Recorder.Close()
		}, nil
	})
	if errors.Is(err, startstop.ErrStarted) {
		return fmt.Errorf("worker: %w", err)
	}
	return err
}

// Stop stops the servers fetching, lets running tasks finish within the
// shutdown timeout (asynq puts back the rest), writes the executions
// still pending and stops the guard. It is safe to call twice, and before
// Start.
func (w *Worker) Stop() {
	w.life.Stop()
	// The Recorder's writers run from New: a worker that never started,
	// or whose start failed, has them too.
	w.Recorder.Close()
}

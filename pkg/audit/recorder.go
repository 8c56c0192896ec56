package audit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/internal/startstop"
)

// RecorderConfig tunes a Recorder; zero fields take the defaults.
type RecorderConfig struct {
	// QueueSize bounds the events waiting to be written (default 1024);
	// beyond it Failure drops events rather than wait.
	QueueSize int
	// PerSource is how many failures one source IP may record per Window
	// (default 20).
	PerSource int
	// Window is the rate limit's period (default 1 minute).
	Window time.Duration
	// MaxSources bounds the sources tracked in one window (default 10000),
	// so a spray of addresses cannot grow memory without limit.
	MaxSources int
	// WriteTimeout bounds one database write (default 5 s).
	WriteTimeout time.Duration
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
}

func (o RecorderConfig) withDefaults() RecorderConfig {
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.PerSource <= 0 {
		o.PerSource = 20
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.MaxSources <= 0 {
		o.MaxSources = 10000
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Recorder writes authentication and authorization failures to the audit
// log in the background. Each source IP may record PerSource failures per
// Window; the rest are dropped and counted, as are events that find the
// queue full, so a flood of bad tokens costs the database a bounded number
// of rows and the request no waiting.
type Recorder struct {
	w   Writer
	log *slog.Logger
	cfg RecorderConfig
	q   chan Event

	mu          sync.Mutex
	windowStart time.Time
	counts      map[string]int

	dropped atomic.Uint64
	written atomic.Uint64

	life startstop.StartStop
}

// NewRecorder returns a Recorder writing to w; call Start before Failure
// events can reach w (until then they wait in the queue).
func NewRecorder(w Writer, log *slog.Logger, cfg RecorderConfig) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &Recorder{
		w:      w,
		log:    log,
		cfg:    cfg,
		q:      make(chan Event, cfg.QueueSize),
		counts: make(map[string]int),
	}
}

// Failure queues a denied-access event. It never blocks: over the source's
// limit, or with the queue full, the event is dropped and counted. A zero
// e.Actor is taken from ctx; ID, Time, Action and Outcome get defaults.
func (r *Recorder) Failure(ctx context.Context, e Event) {
	if e.Actor == (Actor{}) {
		e.Actor = ActorFrom(ctx)
	}
	if !r.allow(e.Actor.SourceIP) {
		r.drop("rate limited")
		return
	}
	if e.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			r.drop("id")
			return
		}
		e.ID = id
	}
	if e.Time.IsZero() {
		e.Time = r.cfg.Now()
	}
	e.Time = e.Time.UTC()
	if e.Action == "" {
		e.Action = ActionAuthFailure
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeDenied
	}
	select {
	case r.q <- e:
	default:
		r.drop("queue full")
	}
}

// allow counts one failure for source in the current window and says
// whether it is within the limit.
func (r *Recorder) allow(source string) bool {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.windowStart) >= r.cfg.Window || now.Before(r.windowStart) {
		r.windowStart = now
		clear(r.counts)
	}
	n, ok := r.counts[source]
	if !ok && len(r.counts) >= r.cfg.MaxSources {
		return false
	}
	if n >= r.cfg.PerSource {
		return false
	}
	r.counts[source] = n + 1
	return true
}

func (r *Recorder) drop(why string) {
	// Log the first drop and then every 1000th, not each one: the drops
	// happen precisely when something is flooding us.
	if n := r.dropped.Add(1); n == 1 || n%1000 == 0 {
		r.log.Warn("audit failure events dropped", "reason", why, "dropped_total", n)
	}
}

// Dropped returns how many failure events were not recorded.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// Written returns how many failure events reached the Writer successfully.
func (r *Recorder) Written() uint64 { return r.written.Load() }

// Start writes queued events in the background until ctx ends or Stop is
// called. It returns an error when the Recorder was already started.
func (r *Recorder) Start(ctx context.Context) error {
	// Writes outlive the caller's cancellation long enough to drain.
	wctx := context.WithoutCancel(ctx)
	if err := r.life.Start(ctx, func(ctx context.Context) { r.loop(ctx, wctx) }); err != nil {
		return fmt.Errorf("audit recorder: %w", err)
	}
	return nil
}

func (r *Recorder) loop(ctx, wctx context.Context) {
	for {
		select {
		case e := <-r.q:
			r.write(wctx, e)
		case <-ctx.Done():
			r.drain(wctx)
			return
		}
	}
}

// drain writes what is already queued, so a clean shutdown loses nothing.
func (r *Recorder) drain(ctx context.Context) {
	for {
		select {
		case e := <-r.q:
			r.write(ctx, e)
		default:
			return
		}
	}
}

func (r *Recorder) write(ctx context.Context, e Event) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.WriteTimeout)
	defer cancel()
	if err := r.w.InsertAudit(ctx, e); err != nil {
		r.dropped.Add(1)
		r.log.Error("write audit failure event", "action", e.Action, "err", err)
		return
	}
	r.written.Add(1)
}

// Stop ends the background writer after draining the queue and waits for
// it. It is safe to call twice, and before Start.
func (r *Recorder) Stop() { r.life.Stop() }

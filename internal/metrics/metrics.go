// Package metrics holds a worker's Prometheus metrics: provider calls by
// outcome, their latency, each provider's circuit breaker state, waits on
// rate limits and the concurrency cap, retries and skipped units. Each
// process has its own registry (nothing is registered globally), served on
// its own internal listener, never on the public API.
package metrics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sabe-dev/sabe/pkg/resilience"
)

// Metrics is one process's set of metrics. Its methods are safe for
// concurrent use. Provider labels are provider ids, so their number is
// bounded by the providers registered.
type Metrics struct {
	reg         *prometheus.Registry
	calls       *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	breaker     *prometheus.GaugeVec
	limitWaits  *prometheus.CounterVec
	rescheduled *prometheus.CounterVec
	retries     *prometheus.CounterVec
	skipped     *prometheus.CounterVec
	batchSize   prometheus.Histogram
	batchTime   prometheus.Histogram
	scoring     *prometheus.HistogramVec
	prefixes    *prometheus.CounterVec
	judges      *prometheus.CounterVec
	judgeCost   *prometheus.CounterVec
	cost        *prometheus.CounterVec
}

var _ resilience.Observer = (*Metrics)(nil)

// New returns a fresh set of metrics in a registry of its own, with the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sabe_provider_calls_total",
			Help: "Provider calls made, by provider id and outcome (ok, rate_limited, server_error, client_error, quota, transport_error, error, deadline, cancelled).",
		}, []string{"provider", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sabe_provider_call_duration_seconds",
			Help:    "Duration of provider calls, from sending the request to the end of the answer or the error.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160},
		}, []string{"provider", "outcome"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sabe_provider_breaker_state",
			Help: "Circuit breaker state per provider as this worker sees it: 0 closed, 1 half-open, 2 open.",
		}, []string{"provider"}),
		limitWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sabe_provider_limit_waits_total",
			Help: "Calls that waited on a provider limit (rpm, tpm, concurrency); rescheduled=true when the wait was too long to spend in process and the task was put back.",
		}, []string{"provider", "limit", "rescheduled"}),
		rescheduled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sabe_provider_rescheduled_total",
			Help: "Unit tasks put back without using a retry, by provider id and reason (circuit open, quota exhausted, rate limit, concurrency cap).",
		}, []string{"provider", "reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sabe_provider_retries_total",
			Help: "Unit tasks retried after a retryable provider error.",
		}, []string{"provider"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sabe_units_skipped_total",
			Help: "Units recorded as skipped, never called, by reason (deadline, max_cost).",
		}, []string{"reason"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sabe_record_batch_size",
			Help:    "Executions written per batch by this worker's recorder (SABE_RECORD_MAX_BATCH caps it).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		batchTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sabe_record_batch_duration_seconds",
			Help:    "Time to write one batch of executions, one round trip and one commit.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1},
		}),
		scoring: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sabe_scoring_duration_seconds",
			Help:    "Time spent scoring one unit's response inline in the unit task, by scorer; bounded by the scorers' program and text limits.",
			Buckets: []float64{0.00001, 0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 1},
		}, []string{"scorer"}),
		prefixes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sabe_scoring_prefix_only_total",
			Help: "Responses longer than their scorer reads, graded on a prefix (the evaluation detail says so), by scorer.",
		}, []string{"scorer"}),
		judges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sabe_judge_results_total",
			Help: "Judge results on units, by judge provider id and outcome (verdict, judge_parse_failure, judge_error, judge_refused, judge_skipped_max_cost).",
		}, []string{"provider", "outcome"}),
		judgeCost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sabe_judge_cost_usd_total",
			Help: "What judge calls cost in USD, by judge provider id (kept apart from the tested models' calls).",
		}, []string{"provider"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sabe_provider_cost_usd_total",
			Help: "What the tested models' answered calls cost in USD, by provider id, at the models' prices; a call made twice for one unit (a crash, a retry) counts twice, as the provider bills it. Judge calls are in sabe_judge_cost_usd_total.",
		}, []string{"provider"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.calls, m.latency, m.breaker, m.limitWaits, m.rescheduled, m.retries, m.skipped,
		m.batchSize, m.batchTime, m.scoring, m.prefixes, m.judges, m.judgeCost, m.cost,
	)
	return m
}

// Registry returns the registry the metrics live in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// RecordBatch observes one batch of executions written to PostgreSQL.
func (m *Metrics) RecordBatch(size int, d time.Duration) {
	m.batchSize.Observe(float64(size))
	m.batchTime.Observe(d.Seconds())
}

// Judged counts one judge's result on a unit by outcome ("verdict" or the
// reason it gave none) and adds what its calls cost. The calls themselves
// are counted by Call, under the judge's provider.
func (m *Metrics) Judged(provider, outcome string, costUSD float64) {
	m.judges.WithLabelValues(provider, outcome).Inc()
	if costUSD > 0 {
		m.judgeCost.WithLabelValues(provider).Add(costUSD)
	}
}

// Spent adds what one answered call of a tested model cost, so spend per
// hour can be watched without reading PostgreSQL.
func (m *Metrics) Spent(provider string, costUSD float64) {
	if costUSD > 0 {
		m.cost.WithLabelValues(provider).Add(costUSD)
	}
}

// Call counts a provider call with its outcome and duration.
func (m *Metrics) Call(provider, outcome string, d time.Duration) {
	m.calls.WithLabelValues(provider, outcome).Inc()
	m.latency.WithLabelValues(provider, outcome).Observe(d.Seconds())
}

// Scored records the time one response took to score with scorer, and
// whether the scorer read only a prefix of it, so that an expensive
// question shows up per scorer rather than as slow units in general.
func (m *Metrics) Scored(scorer string, d time.Duration, prefixOnly bool) {
	m.scoring.WithLabelValues(scorer).Observe(d.Seconds())
	if prefixOnly {
		m.prefixes.WithLabelValues(scorer).Inc()
	}
}

// Retry counts a unit task handed back to the queue for a retry after a
// retryable provider error.
func (m *Metrics) Retry(provider string) { m.retries.WithLabelValues(provider).Inc() }

// Rescheduled counts a unit task put back to wait, without using a retry.
func (m *Metrics) Rescheduled(provider string, reason resilience.Reason) {
	m.rescheduled.WithLabelValues(provider, string(reason)).Inc()
}

// Skipped counts a unit recorded as skipped.
func (m *Metrics) Skipped(reason string) { m.skipped.WithLabelValues(reason).Inc() }

// BreakerStateChanged sets the provider's breaker state gauge.
func (m *Metrics) BreakerStateChanged(provider string, _, to resilience.State) {
	m.breaker.WithLabelValues(provider).Set(float64(to))
}

// LimitWaited counts a wait on a provider limit.
func (m *Metrics) LimitWaited(provider, limit string, rescheduled bool) {
	m.limitWaits.WithLabelValues(provider, limit, fmt.Sprint(rescheduled)).Inc()
}

// Server serves metrics on an internal listener.
type Server struct {
	srv  *http.Server
	addr string
	done chan error
	once sync.Once
}

// Listen opens addr ("host:port"; port 0 picks one) and serves h at
// /metrics until Stop.
func Listen(addr string, h http.Handler, opts ...Option) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	for _, o := range opts {
		o(mux)
	}
	s := &Server{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second},
		addr: ln.Addr().String(),
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.addr }

// Stop closes the listener and waits up to 5s for scrapes in progress; it
// is safe to call twice.
func (s *Server) Stop() {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		// Serve returns ErrServerClosed, or the error that ended it early;
		// either way the listener is gone and nothing is left to do.
		<-s.done
	})
}

// Serve starts the metrics listener a process was configured with and
// prints its address to stdout. When addr is the process's default (not set
// by the operator) and is taken, as when several processes share a host, it
// logs a warning and serves nothing; an address the operator set must bind.
// The returned stop is never nil.
func Serve(addr string, isDefault bool, h http.Handler, log *slog.Logger, stdout io.Writer, opts ...Option) (stop func(), err error) {
	ms, err := Listen(addr, h, opts...)
	switch {
	case err != nil && isDefault:
		log.Warn("metrics not served: the default address is taken; set SABE_METRICS_ADDR (port 0 picks one, off disables)",
			"addr", addr, "err", err)
		return func() {}, nil
	case err != nil:
		return nil, fmt.Errorf("listen on %s (SABE_METRICS_ADDR): %w", addr, err)
	}
	if _, err := fmt.Fprintf(stdout, "metrics listening on http://%s\n", ms.Addr()); err != nil {
		ms.Stop()
		return nil, fmt.Errorf("print metrics address: %w", err)
	}
	return ms.Stop, nil
}

// Option adds routes to a metrics listener.
type Option func(*http.ServeMux)

// Profiling serves Go's profiler under /debug/pprof/ beside /metrics when
// on. It is for the internal listener only, and only when the operator asks
// for it (SABE_PPROF): a profile shows the code's shape and costs CPU while
// taken.
func Profiling(on bool) Option {
	return func(mux *http.ServeMux) {
		if !on {
			return
		}
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
}

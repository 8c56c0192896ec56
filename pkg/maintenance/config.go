package maintenance

import (
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/pkg/run"
)

// Config tunes the reconciler; zero values take the defaults.
type Config struct {
	// Interval is how often each worker tries to take the lease and make a
	// pass (default 30s). The fleet as a whole makes about one pass per
	// interval: a pass started less than half an interval ago anywhere
	// makes the others skip.
	Interval time.Duration
	// Stall is how long a running run's progress may stand still before
	// its start is run again (default 2m).
	Stall time.Duration
	// QueuedGrace is how old a queued run with no start task must be before
	// it is started: the api enqueues right after its commit (default 5s).
	QueuedGrace time.Duration
	// DeadlineGrace is how long after a run's deadline its missing units
	// are recorded skipped: calls are cut at the deadline, and the units in
	// flight then need a moment to record (default 10s).
	DeadlineGrace time.Duration
	// Retention is the age after which the executions and evaluations of
	// finished runs are deleted; 0 keeps them forever.
	Retention time.Duration
	// RetentionBatch is how many rows one delete removes (default 5000).
	RetentionBatch int
	// RetentionInterval is how often retention runs (default 1h).
	RetentionInterval time.Duration
	// RetentionBatchesPerPass bounds one pass's deletes; the rest waits for
	// the next pass, so the lease never stays taken for long (default 200).
	RetentionBatchesPerPass int
	// AuditRetention is the age after which audit rows are deleted, in the
	// same passes and batches as the raw rows; 0 keeps them forever.
	AuditRetention time.Duration
	// LeaseTTL is how long a dead holder keeps the lease (default 15s).
	LeaseTTL time.Duration
	// RunsPerPass bounds the unfinished runs one pass looks at; the next
	// pass goes on from where this one stopped (default 1000).
	RunsPerPass int
	// ArchivedPerQueue bounds the archived tasks one pass reads per unit
	// queue, newest first (default 1000).
	ArchivedPerQueue int
}

func (o Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Interval, 30*time.Second)
	def(&o.Stall, 2*time.Minute)
	def(&o.QueuedGrace, 5*time.Second)
	def(&o.DeadlineGrace, 10*time.Second)
	def(&o.RetentionInterval, time.Hour)
	def(&o.LeaseTTL, 15*time.Second)
	if o.RetentionBatch <= 0 {
		o.RetentionBatch = 5000
	}
	if o.RetentionBatchesPerPass <= 0 {
		o.RetentionBatchesPerPass = 200
	}
	if o.RunsPerPass <= 0 {
		o.RunsPerPass = 1000
	}
	if o.ArchivedPerQueue <= 0 {
		o.ArchivedPerQueue = 1000
	}
	return o
}

// Deps are what the reconciler works with; all are required.
type Deps struct {
	Store Store
	// Redis is the connection asynq uses: the reconciler inspects the
	// queues through it and keeps its own keys there.
	Redis   redis.UniversalClient
	Queue   run.Enqueuer
	Tracker *run.Tracker
	Log     *slog.Logger
}

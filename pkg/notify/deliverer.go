package notify

import (
	"cmp"
	"log/slog"
	"net/http"
	"time"

	"github.com/hibiken/asynq"

	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/secrets"
)

// Config tunes the delivery; zero values take the defaults.
type Config struct {
	// Timeout bounds one attempt (SABE_WEBHOOK_TIMEOUT, default 10s).
	Timeout time.Duration
	// RetryFor is how long after its creation a delivery is still retried
	// (SABE_WEBHOOK_RETRY_FOR, default 24h).
	RetryFor time.Duration
	// Backoff is the ceiling of the first retry's delay; it doubles per
	// attempt up to MaxRetryDelay (SABE_WEBHOOK_BACKOFF, default 5s).
	Backoff time.Duration
	// DisableAfter consecutive failed attempts across a webhook's
	// deliveries disable it (SABE_WEBHOOK_DISABLE_AFTER, default 50).
	DisableAfter int
	// PublicURL is where events link to (SABE_PUBLIC_URL).
	PublicURL string
	// AllowPrivate lets deliveries reach loopback and private addresses
	// (SABE_ALLOW_PRIVATE_WEBHOOKS).
	AllowPrivate bool
	// DispatchBatch is how many events one dispatch transaction takes
	// (default 100).
	DispatchBatch int

	// Clock is the time deliveries are made and dispatched by (default
	// resilience.WallClock); Jitter the backoff's random source (default
	// math/rand); tests fix both.
	Clock  resilience.Clock
	Jitter func(n int64) int64
	// Render makes a delivery's body (default Render).
	Render func(format string, ev Event, links Links) ([]byte, string, error)
	// HTTPClient sends the deliveries (default NewHTTPClient of
	// AllowPrivate and Timeout).
	HTTPClient *http.Client
}

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultRetryFor     = 24 * time.Hour
	DefaultBackoff      = 5 * time.Second
	DefaultDisableAfter = 50
)

func (c Config) withDefaults() Config {
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.RetryFor = cmp.Or(c.RetryFor, DefaultRetryFor)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	c.DisableAfter = cmp.Or(c.DisableAfter, DefaultDisableAfter)
	c.DispatchBatch = cmp.Or(c.DispatchBatch, 100)
	if c.Clock == nil {
		c.Clock = resilience.WallClock
	}
	if c.Render == nil {
		c.Render = Render
	}
	if c.HTTPClient == nil {
		c.HTTPClient = NewHTTPClient(HTTPConfig{AllowPrivate: c.AllowPrivate, Timeout: c.Timeout})
	}
	return c
}

// Deps are what the delivery works with; all are required.
type Deps struct {
	Store Store
	// Keys opens the webhooks' signing secrets.
	Keys  *secrets.Keyring
	Queue Enqueuer
	Log   *slog.Logger
}

// Deliverer runs the notification tasks: the dispatch of the outbox's
// events and the deliveries it makes.
type Deliverer struct {
	store   Store
	keys    *secrets.Keyring
	queue   Enqueuer
	log     *slog.Logger
	cfg     Config
	backoff Backoff
}

// NewDeliverer returns the Deliverer of d and c.
func NewDeliverer(d Deps, c Config) *Deliverer {
	c = c.withDefaults()
	return &Deliverer{
		store: d.Store, keys: d.Keys, queue: d.Queue, log: d.Log, cfg: c,
		backoff: Backoff{Base: c.Backoff, Jitter: c.Jitter},
	}
}

// Register registers the dispatch and deliver handlers on mux.
func (d *Deliverer) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeDispatch, d.HandleDispatch)
	mux.HandleFunc(TypeDeliver, d.HandleDeliver)
}

package provider

import (
	"net/http"
	"time"

	"github.com/sabe-dev/sabe/pkg/catalog"
)

const (
	// DefaultTimeout bounds a whole call when ClientConfig.Timeout is 0.
	DefaultTimeout = 120 * time.Second
	// DefaultIdleTimeout bounds the silence between two pieces of a
	// streamed answer when neither the Request nor ClientConfig say.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxResponseBytes caps a response body when
	// ClientConfig.MaxResponseBytes is 0.
	DefaultMaxResponseBytes = 1 << 20
)

// ClientConfig configures the adapters (NewOpenAI, NewAnthropic,
// NewGoogle, NewClients). Zero values take the defaults.
type ClientConfig struct {
	// HTTPClient carries every call; nil means NewHTTPClient(HTTPConfig{}),
	// which refuses private addresses.
	HTTPClient *http.Client
	// Timeout bounds a whole call, from sending to the last byte of the
	// answer (default 120s).
	Timeout time.Duration
	// IdleTimeout is the default for Request.IdleTimeout (default 60s).
	IdleTimeout time.Duration
	// MaxResponseBytes caps the response body read per call (default 1 MiB).
	MaxResponseBytes int64
}

// NewClients returns one Client per provider kind (catalog.KindOpenAI,
// catalog.KindAnthropic, catalog.KindGoogle), all sharing one HTTP client.
func NewClients(cfg ClientConfig) map[catalog.ProviderKind]Client {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = NewHTTPClient(HTTPConfig{})
	}
	return map[catalog.ProviderKind]Client{
		catalog.KindOpenAI:    NewOpenAI(cfg),
		catalog.KindAnthropic: NewAnthropic(cfg),
		catalog.KindGoogle:    NewGoogle(cfg),
	}
}

// limits is what every adapter shares: the HTTP client and the bounds on a
// call.
type limits struct {
	httpClient *http.Client
	timeout    time.Duration
	idle       time.Duration
	maxBytes   int64
}

func newLimits(cfg ClientConfig) limits {
	l := limits{httpClient: cfg.HTTPClient, timeout: cfg.Timeout, idle: cfg.IdleTimeout, maxBytes: cfg.MaxResponseBytes}
	if l.httpClient == nil {
		l.httpClient = NewHTTPClient(HTTPConfig{})
	}
	if l.timeout <= 0 {
		l.timeout = DefaultTimeout
	}
	if l.idle <= 0 {
		l.idle = DefaultIdleTimeout
	}
	if l.maxBytes <= 0 {
		l.maxBytes = DefaultMaxResponseBytes
	}
	return l
}

package notify

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// HTTPConfig shapes the client deliveries are sent with.
type HTTPConfig struct {
	// AllowPrivate lets URLs reach loopback, private, link-local and
	// metadata addresses (SABE_ALLOW_PRIVATE_WEBHOOKS).
	AllowPrivate bool
	// Timeout bounds one attempt, from dialing to the end of the answer's
	// first bytes (SABE_WEBHOOK_TIMEOUT).
	Timeout time.Duration
}

// NewHTTPClient is the client deliveries are sent with: every address it
// dials passes the address guard (so a host name that resolves, or
// re-resolves, to a refused address is refused), it follows no redirect,
// and gives up after the timeout.
func NewHTTPClient(c HTTPConfig) *http.Client {
	return &http.Client{Timeout: c.Timeout}
}

// CheckURL says why raw cannot be a webhook's URL, with a message a user
// can act on (the API answers it as 422 on `url`): not absolute http(s),
// user info, or a host that is, or resolves to, a refused address unless
// allowPrivate.
func CheckURL(ctx context.Context, raw string, allowPrivate bool) error {
	return errors.New("notify: CheckURL is not built yet")
}

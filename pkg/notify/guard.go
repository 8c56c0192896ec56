package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/netguard"
)

// allowPrivateHint ends every refusal, so the fix is in the error itself.
const allowPrivateHint = "set SABE_ALLOW_PRIVATE_WEBHOOKS=true to allow"

// MaxURLLength bounds a webhook's URL.
const MaxURLLength = 2000

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
//
// The guard runs in the dialer's Control hook, on the address actually
// connected to after DNS; environment proxies are ignored, since through a
// proxy the guard would only see the proxy's address. A redirect is not
// followed: the 3xx is the receiver's answer (a failed attempt).
func NewHTTPClient(c HTTPConfig) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if c.Timeout > 0 && c.Timeout < dialer.Timeout {
		dialer.Timeout = c.Timeout
	}
	if !c.AllowPrivate {
		dialer.Control = guardControl
	}
	transport := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, address)
			if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
				// Never name the DNS server, an address inside the
				// operator's network, in an error an admin reads.
				dnsErr.Server = ""
			}
			return conn, err
		},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 4,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   c.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// AddressError is a connection the guard refused: the address dialed and
// why it is off limits.
type AddressError struct {
	Addr   netip.Addr
	Reason string
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("webhook address %s is %s; %s", e.Addr, e.Reason, allowPrivateHint)
}

// guardControl is the dialer's Control hook: address is an IP and port,
// after DNS.
func guardControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook address %q could not be checked", address)
	}
	if reason := netguard.Reason(ap.Addr()); reason != "" {
		return &AddressError{Addr: ap.Addr().WithZone(""), Reason: reason}
	}
	return nil
}

// CheckURL says why raw cannot be a webhook's URL, with a message a user
// can act on (the API answers it as 422 on `url`): not absolute http(s),
// user info, or a host that is, or resolves to, a refused address unless
// allowPrivate. The error is a fault.Invalid for field "url".
func CheckURL(ctx context.Context, raw string, allowPrivate bool) error {
	return checkURL(ctx, raw, allowPrivate, net.DefaultResolver)
}

// resolver looks up a host's addresses (a *net.Resolver; tests give their
// own).
type resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

func checkURL(ctx context.Context, raw string, allowPrivate bool, r resolver) error {
	const field = "url"
	u, err := netguard.ParseHTTPURL(field, raw, MaxURLLength)
	if err != nil {
		return err
	}
	if u.User != nil {
		return fault.Invalid(field, "must not contain user info")
	}
	if allowPrivate {
		return nil
	}
	host := netguard.NormalizeHost(u.Hostname())
	if netguard.IsLocalhost(host) {
		return fault.Invalid(field, "points to %s, which is loopback; %s", host, allowPrivateHint)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if reason := netguard.Reason(addr); reason != "" {
			return fault.Invalid(field, "points to %s, which is %s; %s", addr.WithZone(""), reason, allowPrivateHint)
		}
		return nil
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return fault.Invalid(field, "host %s could not be resolved", host)
	}
	for _, addr := range addrs {
		if reason := netguard.Reason(addr); reason != "" {
			return fault.Invalid(field, "host %s resolves to %s, which is %s; %s", host, addr.WithZone("").Unmap(), reason, allowPrivateHint)
		}
	}
	return nil
}

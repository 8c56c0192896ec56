package provider

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/internal/netguard"
)

// allowPrivateHint tells the operator how to let an address through the
// guard; it is part of every refusal so the fix is in the error itself.
const allowPrivateHint = "add it to SABE_PROVIDER_ALLOW or set SABE_ALLOW_PRIVATE_PROVIDERS=true to allow"

// HTTPConfig configures NewHTTPClient. Zero values take the defaults.
type HTTPConfig struct {
	// AllowPrivate lifts the address guard entirely, for development and
	// tests (SABE_ALLOW_PRIVATE_PROVIDERS).
	AllowPrivate bool
	// Allow lets these through the guard while every other private address
	// stays refused (SABE_PROVIDER_ALLOW, see ParseAllow): an IP address
	// ("10.0.0.5"), a CIDR ("10.1.0.0/16") or a host name
	// ("vllm.internal"). A host name lets through whatever it resolves to,
	// except cloud metadata addresses, which only an IP or CIDR entry can
	// allow.
	Allow []string
	// Resolver looks up provider host names; nil means the system's
	// (net.DefaultResolver). The guard checks the addresses it returns.
	Resolver *net.Resolver
	// DialTimeout bounds connecting (default 10s).
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake (default 10s).
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request is sent (default 120s; a provider that does not stream sends
	// headers only with the whole answer).
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes pooled connections idle this long (default 90s).
	IdleConnTimeout time.Duration
	// MaxIdleConnsPerHost sizes the keep-alive pool per provider host
	// (default 256), so a worker with many concurrent calls reuses
	// connections instead of paying a TLS handshake per call.
	MaxIdleConnsPerHost int
}

// NewHTTPClient returns the guarded *http.Client SABE calls providers with.
// Connections go only to public addresses, and to what cfg.Allow lets
// through, unless cfg.AllowPrivate: the check runs in the dialer on the
// resolved address, so DNS rebinding is refused as well. Redirects are not
// followed: a redirect is a non-retryable *Error naming where it pointed,
// since a provider has no business sending SABE (and its key) elsewhere.
// Environment proxies are ignored on purpose, since through a proxy the
// guard would only ever see the proxy's address.
func NewHTTPClient(cfg HTTPConfig) *http.Client {
	cfg = cfg.withDefaults()
	newDialer := func(control func(network, address string, c syscall.RawConn) error) *net.Dialer {
		return &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second, Resolver: cfg.Resolver, Control: control}
	}
	dial := newDialer(nil).DialContext
	if !cfg.AllowPrivate {
		g := newGuard(cfg.Allow)
		guarded, hostAllowed := newDialer(g.control), newDialer(g.hostControl)
		dial = func(ctx context.Context, network, address string) (net.Conn, error) {
			if host, _, err := net.SplitHostPort(address); err == nil && g.allow.Host(host) {
				return hostAllowed.DialContext(ctx, network, address)
			}
			return guarded.DialContext(ctx, network, address)
		}
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           hidingResolver(dial),
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   cfg.TLSHandshakeTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       cfg.IdleConnTimeout,
		MaxIdleConns:          4 * cfg.MaxIdleConnsPerHost,
		MaxIdleConnsPerHost:   cfg.MaxIdleConnsPerHost,
	}
	return &http.Client{Transport: transport, CheckRedirect: refuseRedirect}
}

// hidingResolver wraps a dial function so that its errors never name the
// DNS server that was asked: Go's "lookup x on 10.0.0.2:53: no such host"
// would show an address inside the operator's network to whoever reads a
// provider test or a unit's error.
func hidingResolver(dial func(ctx context.Context, network, address string) (net.Conn, error)) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		conn, err := dial(ctx, network, address)
		hideResolver(err)
		return conn, err
	}
}

// hideResolver clears the resolver address of a *net.DNSError in err's
// chain, in place, so every message built from err leaves it out. The name
// looked up and what went wrong stay: they are what a user acts on.
func hideResolver(err error) {
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		dnsErr.Server = ""
	}
}

// refuseRedirect is the client's CheckRedirect: it runs before the
// redirected request is sent, so nothing goes to the new location.
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	target := req.URL.Scheme + "://" + req.URL.Host + req.URL.EscapedPath()
	return newError(status, false, fmt.Sprintf("provider redirected to host %s (%s); redirects are not followed, use the final URL as base_url", req.URL.Host, target), nil)
}

func (o HTTPConfig) withDefaults() HTTPConfig {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.TLSHandshakeTimeout <= 0 {
		o.TLSHandshakeTimeout = 10 * time.Second
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = 120 * time.Second
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = 90 * time.Second
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 256
	}
	return o
}

// guard holds the allow list in the form the dialer checks it.
type guard struct{ allow *netguard.Allow }

// newGuard reads an allow list leniently (ParseAllow is the strict check).
func newGuard(allow []string) *guard { return &guard{allow: netguard.NewAllow(allow)} }

func (g *guard) allows(addr netip.Addr) bool { return g.allow.Addr(addr) }

// control checks a connection to a host not on the allow list.
func (g *guard) control(network, address string, c syscall.RawConn) error {
	if ap, err := netip.ParseAddrPort(address); err == nil && g.allows(ap.Addr()) {
		return nil
	}
	return guardDial(network, address, c)
}

// hostControl checks a connection to an allowed host name: any address but
// cloud metadata, unless an IP or CIDR entry allows that too.
func (g *guard) hostControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &Error{Message: "provider address could not be checked", stage: StageConnect}
	}
	if g.allows(ap.Addr()) {
		return nil
	}
	if reason := blockedReason(ap.Addr()); reason == netguard.MetadataReason {
		return refusal(ap.Addr(), reason)
	}
	return nil
}

// guardDial is the net.Dialer Control hook: it sees the address actually
// being connected to, after DNS.
func guardDial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &Error{Message: "provider address could not be checked", stage: StageConnect}
	}
	if reason := blockedReason(ap.Addr()); reason != "" {
		return refusal(ap.Addr(), reason)
	}
	return nil
}

func refusal(addr netip.Addr, reason string) *Error {
	return &Error{Message: fmt.Sprintf("provider address %s is %s; %s", addr.WithZone(""), reason, allowPrivateHint), stage: StageConnect}
}

// ParseAllow validates a comma-separated allow list (SABE_PROVIDER_ALLOW)
// of IP addresses, CIDRs and host names, and returns its entries in
// canonical form (CIDRs masked, host names lower-case). Empty entries are
// skipped; the error names the first bad entry.
func ParseAllow(s string) ([]string, error) {
	var out []string
	for _, raw := range strings.Split(s, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		if p, ok := netguard.ParseNet(entry); ok {
			if p.IsSingleIP() {
				out = append(out, p.Addr().String())
			} else {
				out = append(out, p.String())
			}
			continue
		}
		host := netguard.NormalizeHost(entry)
		if !netguard.IsHostName(host) {
			return nil, fmt.Errorf("allow entry %q is not an IP address, a CIDR (10.1.0.0/16) or a host name", entry)
		}
		out = append(out, host)
	}
	return out, nil
}

// blockedReason returns why addr is off limits ("private", "loopback", ...)
// or "" for a public address.
func blockedReason(addr netip.Addr) string { return netguard.Reason(addr) }

// maxBaseURLLength bounds a stored base URL.
const maxBaseURLLength = 2048

// ValidateBaseURL checks a provider base URL when it is created or changed:
// http or https, a host, no user info, query or fragment, and, unless
// allowPrivate, no literal private address or localhost. Hostnames are not
// resolved here (they can change); the dialer checks every connection. It
// returns a fault.Invalid error for field "base_url".
func ValidateBaseURL(raw string, allowPrivate bool) error {
	return validateBaseURL(raw, allowPrivate, nil)
}

// ValidateBaseURL is the package's ValidateBaseURL under this configuration: a
// literal address or host name that o.Allow lets through passes too.
func (o HTTPConfig) ValidateBaseURL(raw string) error {
	return validateBaseURL(raw, o.AllowPrivate, newGuard(o.Allow))
}

func validateBaseURL(raw string, allowPrivate bool, g *guard) error {
	const field = "base_url"
	u, err := netguard.ParseHTTPURL(field, raw, maxBaseURLLength)
	if err != nil {
		return err
	}
	if u.User != nil {
		return fault.Invalid(field, "must not contain user info; put credentials in api_key or headers")
	}
	if u.RawQuery != "" || u.ForceQuery {
		return fault.Invalid(field, "must not contain a query string")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fault.Invalid(field, "must not contain a fragment")
	}
	if allowPrivate {
		return nil
	}
	host := netguard.NormalizeHost(u.Hostname())
	if g != nil && g.allow.Host(host) {
		return nil
	}
	if netguard.IsLocalhost(host) {
		return fault.Invalid(field, "points to localhost, which is loopback; %s", allowPrivateHint)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if g != nil && g.allows(addr) {
			return nil
		}
		if reason := blockedReason(addr); reason != "" {
			return fault.Invalid(field, "points to %s, which is %s; %s", addr.WithZone(""), reason, allowPrivateHint)
		}
	}
	return nil
}

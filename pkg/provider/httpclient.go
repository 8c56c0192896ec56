package provider

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"

	"github.com/sabe-dev/sabe/internal/fault"
)

// allowPrivateHint tells the operator how to let an address through the
// guard; it is part of every refusal so the fix is in the error itself.
const allowPrivateHint = "add it to SABE_PROVIDER_ALLOW or set SABE_ALLOW_PRIVATE_PROVIDERS=true to allow"

// metadataReason is the class of cloud metadata endpoints, which an allowed
// host name never reaches; only an IP or CIDR entry can allow them.
const metadataReason = "link-local (cloud metadata)"

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
			if host, _, err := net.SplitHostPort(address); err == nil && g.hosts[normalizeHost(host)] {
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
type guard struct {
	prefixes []netip.Prefix
	hosts    map[string]bool
}

// newGuard reads an allow list leniently (ParseAllow is the strict check):
// whatever is not an address or a CIDR is taken as a host name, which at
// worst matches nothing.
func newGuard(allow []string) *guard {
	g := &guard{hosts: make(map[string]bool)}
	for _, entry := range allow {
		if p, ok := parseAllowNet(entry); ok {
			g.prefixes = append(g.prefixes, p)
		} else if h := normalizeHost(entry); h != "" {
			g.hosts[h] = true
		}
	}
	return g
}

func (g *guard) allows(addr netip.Addr) bool {
	addr = addr.WithZone("").Unmap()
	for _, p := range g.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

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
	if reason := blockedReason(ap.Addr()); reason == metadataReason {
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

// parseAllowNet reads an allow entry that is an IP address (bracketed or
// not) or a CIDR.
func parseAllowNet(entry string) (netip.Prefix, bool) {
	entry = strings.TrimSpace(entry)
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(entry, "["), "]"))
	if err != nil || addr.Zone() != "" {
		return netip.Prefix{}, false
	}
	addr = addr.Unmap()
	return netip.PrefixFrom(addr, addr.BitLen()), true
}

func normalizeHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
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
		if p, ok := parseAllowNet(entry); ok {
			if p.IsSingleIP() {
				out = append(out, p.Addr().String())
			} else {
				out = append(out, p.String())
			}
			continue
		}
		host := normalizeHost(entry)
		if !isHostName(host) {
			return nil, fmt.Errorf("allow entry %q is not an IP address, a CIDR (10.1.0.0/16) or a host name", entry)
		}
		out = append(out, host)
	}
	return out, nil
}

// isHostName reports whether h is a DNS name: labels of letters, digits,
// '-' and '_', 1 to 63 characters, not starting or ending with '-'.
func isHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

type addrClass struct {
	prefix netip.Prefix
	reason string
}

// blockedClasses are the address ranges a provider may not live in without
// AllowPrivate. Order matters only for the wording of the refusal.
var blockedClasses = func() []addrClass {
	table := []struct{ cidr, reason string }{
		{"169.254.169.254/32", metadataReason},
		{"fd00:ec2::254/128", metadataReason},
		{"100.100.100.200/32", metadataReason}, // Alibaba Cloud
		{"0.0.0.0/8", "unspecified"},
		{"10.0.0.0/8", "private"},
		{"100.64.0.0/10", "shared address space (CGNAT)"},
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link-local"},
		{"172.16.0.0/12", "private"},
		{"192.0.0.0/24", "reserved"},
		{"192.168.0.0/16", "private"},
		{"198.18.0.0/15", "reserved"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved"},
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"::/96", "reserved"}, // deprecated IPv4-compatible
		{"fc00::/7", "private"},
		{"fe80::/10", "link-local"},
		{"fec0::/10", "private"}, // deprecated site-local
		{"ff00::/8", "multicast"},
	}
	out := make([]addrClass, len(table))
	for i, c := range table {
		out[i] = addrClass{netip.MustParsePrefix(c.cidr), c.reason}
	}
	return out
}()

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// specialPurpose is code.dny.dev/ssrf's reading of the IANA special-purpose
// registries (documentation ranges, AS112, IPv6 outside global unicast,
// ...), the catch-all behind blockedClasses' named classes.
var specialPurpose = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAnyNetwork())

// blockedReason returns why addr is off limits ("private", "loopback", ...)
// or "" for a public address. IPv6 forms that embed an IPv4 address
// (mapped, NAT64, 6to4) are judged by the embedded address.
func blockedReason(addr netip.Addr) string {
	addr = addr.WithZone("").Unmap()
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64Prefix.Contains(addr):
			return blockedReason(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(addr):
			return blockedReason(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	for _, c := range blockedClasses {
		if c.prefix.Contains(addr) {
			return c.reason
		}
	}
	if specialPurpose.SafeAddr(addr) != nil {
		return "reserved"
	}
	return ""
}

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
	if strings.TrimSpace(raw) == "" {
		return fault.Invalid(field, "is required")
	}
	if len(raw) > maxBaseURLLength {
		return fault.Invalid(field, "must be at most %d characters", maxBaseURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fault.Invalid(field, "is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fault.Invalid(field, "must be an http:// or https:// URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return fault.Invalid(field, "must include a host")
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
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fault.Invalid(field, "has an invalid port")
		}
	}
	if allowPrivate {
		return nil
	}
	host := normalizeHost(u.Hostname())
	if g != nil && g.hosts[host] {
		return nil
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
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

// Package netguard decides which network addresses user-supplied URLs may
// reach: provider base URLs and webhook URLs are user input, and must not
// become a way into loopback, private networks or a cloud's metadata
// endpoint unless the operator allows it. The check belongs in a dialer's
// Control hook, which sees the address actually connected to after DNS,
// so a name that resolves (or re-resolves) to a refused address is
// refused too.
package netguard

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"code.dny.dev/ssrf"

	"github.com/sabe-dev/sabe/internal/fault"
)

// MetadataReason is the class of cloud metadata endpoints, which an
// allowed host name never reaches; only an IP or CIDR entry can allow them.
const MetadataReason = "link-local (cloud metadata)"

type addrClass struct {
	prefix netip.Prefix
	reason string
}

// blockedClasses are the address ranges refused by default. Order matters
// only for the wording of the refusal.
var blockedClasses = func() []addrClass {
	table := []struct{ cidr, reason string }{
		{"169.254.169.254/32", MetadataReason},
		{"fd00:ec2::254/128", MetadataReason},
		{"100.100.100.200/32", MetadataReason}, // Alibaba Cloud
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

// Reason returns why addr is off limits ("private", "loopback", ...) or ""
// for a public address. IPv6 forms that embed an IPv4 address (mapped,
// NAT64, 6to4) are judged by the embedded address.
func Reason(addr netip.Addr) string {
	addr = addr.WithZone("").Unmap()
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64Prefix.Contains(addr):
			return Reason(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(addr):
			return Reason(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
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

// IsLocalhost reports whether host (normalized) is localhost or a name
// under .localhost, which resolve to loopback by convention.
func IsLocalhost(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// NormalizeHost is a host name as the guard compares it: trimmed,
// lower-case, without a trailing dot.
func NormalizeHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
}

// IsHostName reports whether h is a DNS name: labels of letters, digits,
// '-' and '_', 1 to 63 characters, not starting or ending with '-'.
func IsHostName(h string) bool {
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

// ParseHTTPURL reads a user's absolute http(s) URL of at most maxLen
// characters, with a host and a valid port, or returns a fault.Invalid
// error for field saying what is wrong. What else a URL may not contain
// (user info, a query) is the caller's rule.
func ParseHTTPURL(field, raw string, maxLen int) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fault.Invalid(field, "is required")
	}
	if len(raw) > maxLen {
		return nil, fault.Invalid(field, "must be at most %d characters", maxLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fault.Invalid(field, "is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fault.Invalid(field, "must be an http:// or https:// URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fault.Invalid(field, "must include a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fault.Invalid(field, "has an invalid port")
		}
	}
	return u, nil
}

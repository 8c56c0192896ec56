package netguard

import (
	"net/netip"
	"strings"
)

// Allow is an operator's allow list in the form a dialer checks it: IP
// addresses and CIDRs let those addresses through, host names let through
// whatever they resolve to except cloud metadata.
type Allow struct {
	prefixes []netip.Prefix
	hosts    map[string]bool
}

// NewAllow reads an allow list leniently (a strict parse is the caller's
// job): whatever is not an address or a CIDR is taken as a host name,
// which at worst matches nothing.
func NewAllow(entries []string) *Allow {
	a := &Allow{hosts: make(map[string]bool)}
	for _, entry := range entries {
		if p, ok := ParseNet(entry); ok {
			a.prefixes = append(a.prefixes, p)
		} else if h := NormalizeHost(entry); h != "" {
			a.hosts[h] = true
		}
	}
	return a
}

// Addr reports whether an IP or CIDR entry lets addr through.
func (a *Allow) Addr(addr netip.Addr) bool {
	if a == nil {
		return false
	}
	addr = addr.WithZone("").Unmap()
	for _, p := range a.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Host reports whether a host name entry names host.
func (a *Allow) Host(host string) bool {
	return a != nil && a.hosts[NormalizeHost(host)]
}

// ParseNet reads an allow entry that is an IP address (bracketed or not)
// or a CIDR; IPv4-mapped forms become IPv4.
func ParseNet(entry string) (netip.Prefix, bool) {
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

package provider

import (
	"net/netip"
	"strings"
	"testing"
)

func TestBlockedReason(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"8.8.8.8":                "",
		"1.1.1.1":                "",
		"2606:4700:4700::1111":   "",
		"100.63.255.255":         "",
		"100.128.0.0":            "",
		"172.32.0.1":             "",
		"127.0.0.1":              "loopback",
		"127.255.0.9":            "loopback",
		"10.1.2.3":               "private",
		"172.31.255.255":         "private",
		"192.168.0.1":            "private",
		"169.254.169.254":        "link-local (cloud metadata)",
		"169.254.10.10":          "link-local",
		"100.64.0.1":             "shared address space (CGNAT)",
		"100.127.255.255":        "shared address space (CGNAT)",
		"0.0.0.0":                "unspecified",
		"224.0.0.251":            "multicast",
		"255.255.255.255":        "reserved",
		"::":                     "unspecified",
		"::1":                    "loopback",
		"fc00::1":                "private",
		"fdff::1":                "private",
		"fe80::1%eth0":           "link-local",
		"ff02::1":                "multicast",
		"::ffff:127.0.0.1":       "loopback",
		"::ffff:169.254.169.254": "link-local (cloud metadata)",
		"64:ff9b::a00:1":         "private",
		"2002:c0a8:101::1":       "private",
		"64:ff9b::808:808":       "",
		"fd00:ec2::254":          "link-local (cloud metadata)",
		"::127.0.0.1":            "reserved",
		"2001:4860:4860::8888":   "",
	}
	for in, want := range cases {
		if got := blockedReason(netip.MustParseAddr(in)); got != want {
			t.Errorf("blockedReason(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestGuardDial(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		if err := guardDial("tcp4", "93.184.216.34:443", nil); err != nil {
			t.Errorf("guardDial(public) = %v", err)
		}
	})

	t.Run("ErrPrivate", func(t *testing.T) {
		t.Parallel()
		err := guardDial("tcp4", "10.0.0.1:443", nil)
		e, ok := err.(*Error)
		if !ok || e.Retryable {
			t.Fatalf("guardDial = %#v, want a non-retryable *Error", err)
		}
		want := "provider address 10.0.0.1 is private; add it to SABE_PROVIDER_ALLOW or set SABE_ALLOW_PRIVATE_PROVIDERS=true to allow"
		if e.Message != want {
			t.Errorf("Message = %q, want %q", e.Message, want)
		}
	})

	t.Run("ErrIPv6", func(t *testing.T) {
		t.Parallel()
		err := guardDial("tcp6", "[fe80::1%eth0]:443", nil)
		if err == nil || !strings.Contains(err.Error(), "fe80::1 is link-local") {
			t.Errorf("guardDial = %v", err)
		}
	})
}

func TestJSONKeyPath(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"top_k":   "top_k",
		"a.b":     `a\.b`,
		"x*?":     `x\*\?`,
		":force":  `\:force`,
		`back\sl`: `back\\sl`,
	}
	for in, want := range cases {
		if got := jsonKeyPath(in); got != want {
			t.Errorf("jsonKeyPath(%q) = %q, want %q", in, got, want)
		}
	}
}

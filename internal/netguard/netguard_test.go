package netguard

import (
	"net/netip"
	"testing"
)

func TestReason(t *testing.T) {
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
		if got := Reason(netip.MustParseAddr(in)); got != want {
			t.Errorf("Reason(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestAllow(t *testing.T) {
	t.Parallel()
	a := NewAllow([]string{"10.1.0.0/16", "::ffff:192.168.1.5", "VLLM.internal."})
	cases := map[string]bool{"10.1.2.3": true, "10.2.0.1": false, "192.168.1.5": true, "::ffff:10.1.0.9": true, "127.0.0.1": false}
	for in, want := range cases {
		if got := a.Addr(netip.MustParseAddr(in)); got != want {
			t.Errorf("Addr(%s) = %v, want %v", in, got, want)
		}
	}
	if !a.Host("vllm.internal") || a.Host("other.internal") {
		t.Errorf("Host: the host name entry does not match as written")
	}
	var none *Allow
	if none.Addr(netip.MustParseAddr("10.1.2.3")) || none.Host("x") {
		t.Errorf("a nil Allow lets something through")
	}
}

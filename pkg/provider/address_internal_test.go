package provider

import (
	"strings"
	"testing"
)

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

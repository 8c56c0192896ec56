package provider_test

import (
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/provider"
)

func TestValidateBaseURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		raw          string
		allowPrivate bool
		want         string // substring of the message; "" means valid
	}{
		{"OK", "https://api.openai.com/v1", false, ""},
		{"OKTrailingSlash", "https://openrouter.ai/api/v1/", false, ""},
		{"OKPort", "http://models.example.com:8000/v1", false, ""},
		{"OKPublicIP", "http://8.8.8.8/v1", false, ""},
		{"OKPublicIPv6", "http://[2001:4860:4860::8888]/v1", false, ""},
		{"OKPrivateAllowed", "http://10.0.0.1:11434/v1", true, ""},
		{"OKLocalhostAllowed", "http://localhost:8080/v1", true, ""},
		{"ErrEmpty", "", false, "is required"},
		{"ErrTooLong", "https://example.com/" + strings.Repeat("a", 2048), false, "at most 2048"},
		{"ErrNotURL", "http://exa mple.com", false, "not a valid URL"},
		{"ErrScheme", "ftp://example.com", false, "http:// or https://"},
		{"ErrNoScheme", "example.com/v1", false, "http:// or https://"},
		{"ErrNoHost", "http:///v1", false, "must include a host"},
		{"ErrUserInfo", "https://user:pass@example.com/v1", false, "user info"},
		{"ErrQuery", "https://example.com/v1?key=abc", false, "query string"},
		{"ErrEmptyQuery", "https://example.com/v1?", false, "query string"},
		{"ErrFragment", "https://example.com/v1#x", false, "fragment"},
		{"ErrPort", "https://example.com:99999/v1", false, "port"},
		{"ErrLoopback", "http://127.0.0.1:8080/v1", false, "127.0.0.1, which is loopback"},
		{"ErrLocalhost", "http://localhost:8080/v1", false, "localhost"},
		{"ErrLocalhostSubdomain", "http://api.localhost/v1", false, "localhost"},
		{"ErrPrivate", "http://10.0.0.1/v1", false, "10.0.0.1, which is private"},
		{"ErrPrivate172", "http://172.16.5.4/v1", false, "private"},
		{"ErrPrivate192", "http://192.168.1.10/v1", false, "private"},
		{"ErrMetadata", "http://169.254.169.254/latest", false, "cloud metadata"},
		{"ErrLinkLocal", "http://169.254.1.1/", false, "link-local"},
		{"ErrCGNAT", "http://100.64.0.1/", false, "CGNAT"},
		{"ErrUnspecified", "http://0.0.0.0:8080/", false, "unspecified"},
		{"ErrIPv6Loopback", "http://[::1]:8080/v1", false, "loopback"},
		{"ErrIPv6ULA", "http://[fd12:3456::1]/v1", false, "private"},
		{"ErrIPv6LinkLocal", "http://[fe80::1%25eth0]/v1", false, "link-local"},
		{"ErrIPv4Mapped", "http://[::ffff:10.0.0.1]/v1", false, "private"},
		{"ErrMulticast", "http://224.0.0.1/", false, "multicast"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := provider.ValidateBaseURL(tc.raw, tc.allowPrivate)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ValidateBaseURL(%q) = %v, want nil", tc.raw, err)
				}
				return
			}
			fe := fault.As(err)
			if fe == nil || fe.Kind != fault.KindInvalid || fe.Field != "base_url" {
				t.Fatalf("ValidateBaseURL(%q) = %#v, want fault.Invalid on base_url", tc.raw, err)
			}
			if !strings.Contains(fe.Message, tc.want) {
				t.Errorf("message %q does not contain %q", fe.Message, tc.want)
			}
		})
	}
}

package notify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/internal/fault"
)

// fakeResolver answers host names from a table.
type fakeResolver map[string][]netip.Addr

var _ resolver = fakeResolver(nil)

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	dns := fakeResolver{
		"hooks.example.com":    {netip.MustParseAddr("93.184.216.34")},
		"loop.example.com":     {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1")},
		"metadata.example.com": {netip.MustParseAddr("169.254.169.254")},
		"mapped.example.com":   {netip.MustParseAddr("::ffff:10.0.0.7")},
		"v6loop.example.com":   {netip.MustParseAddr("::1")},
	}
	refused := map[string]string{ // URL → what the message must name
		"http://127.0.0.1/hook":                                          "127.0.0.1, which is loopback",
		"http://10.1.2.3:8080/hook":                                      "10.1.2.3, which is private",
		"http://169.254.169.254/latest/meta-data":                        "169.254.169.254, which is link-local (cloud metadata)",
		"http://[::1]/hook":                                              "::1, which is loopback",
		"http://[::ffff:127.0.0.1]/hook":                                 "::ffff:127.0.0.1, which is loopback",
		"http://localhost:9000/x":                                        "localhost, which is loopback",
		"https://loop.example.com/x":                                     "resolves to 127.0.0.1, which is loopback",
		"https://metadata.example.com/x":                                 "resolves to 169.254.169.254, which is link-local (cloud metadata)",
		"https://mapped.example.com/x":                                   "resolves to 10.0.0.7, which is private",
		"https://v6loop.example.com/x":                                   "resolves to ::1, which is loopback",
		"https://nowhere.example.com/x":                                  "could not be resolved",
		"ftp://hooks.example.com/x":                                      "http:// or https://",
		"/relative/hook":                                                 "http:// or https://",
		"https:///nohost":                                                "must include a host",
		"https://user:pw@hooks.example.com/x":                            "user info",
		"https://hooks.example.com:99999/x":                              "invalid port",
		"https://hooks.example.com/" + strings.Repeat("a", MaxURLLength): "at most 2000 characters",
	}
	for raw, want := range refused {
		err := checkURL(t.Context(), raw, false, dns)
		fe := fault.As(err)
		if fe == nil || fe.Kind != fault.KindInvalid || fe.Field != "url" {
			t.Errorf("checkURL(%.60s) = %v, want an invalid url", raw, err)
			continue
		}
		if !strings.Contains(fe.Message, want) {
			t.Errorf("checkURL(%.60s) = %q, want it to name %q", raw, fe.Message, want)
		}
		if strings.Contains(want, "which is") && !strings.Contains(fe.Message, "SABE_ALLOW_PRIVATE_WEBHOOKS") {
			t.Errorf("checkURL(%.60s) = %q, want the hint", raw, fe.Message)
		}
	}
	for _, raw := range []string{"https://hooks.example.com/x?token=1", "http://93.184.216.34:8080/"} {
		if err := checkURL(t.Context(), raw, false, dns); err != nil {
			t.Errorf("checkURL(%s) = %v, want nil", raw, err)
		}
	}
	t.Run("AllowPrivate", func(t *testing.T) {
		t.Parallel()
		for _, raw := range []string{"http://127.0.0.1:8080/hook", "http://[::1]/x", "http://localhost/x", "https://loop.example.com/x"} {
			if err := checkURL(t.Context(), raw, true, dns); err != nil {
				t.Errorf("checkURL(%s, allowPrivate) = %v, want nil", raw, err)
			}
		}
		if err := checkURL(t.Context(), "ftp://127.0.0.1/", true, dns); err == nil {
			t.Errorf("allowPrivate let a non-http URL through")
		}
	})
}

func TestGuardControl(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"93.184.216.34:443":        "",
		"127.0.0.1:80":             "loopback",
		"10.0.0.1:443":             "private",
		"169.254.169.254:80":       "link-local (cloud metadata)",
		"[::1]:443":                "loopback",
		"[::ffff:127.0.0.1]:443":   "loopback",
		"[::ffff:169.254.169.254]": "could not be checked",
	}
	for addr, want := range cases {
		err := guardControl("tcp", addr, nil)
		if want == "" {
			if err != nil {
				t.Errorf("guardControl(%s) = %v, want nil", addr, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("guardControl(%s) = %v, want %q", addr, err, want)
		}
	}
}

func TestNewHTTPClient(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(target.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/metadata", http.StatusFound)
	}))
	t.Cleanup(redirect.Close)

	t.Run("ErrLoopback", func(t *testing.T) {
		t.Parallel()
		c := NewHTTPClient(HTTPConfig{Timeout: 5 * time.Second})
		for _, u := range []string{target.URL, strings.Replace(target.URL, "127.0.0.1", "localhost", 1)} {
			resp, err := c.Post(u, "application/json", strings.NewReader("{}"))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("POST %s went through the guard", u)
			}
			var ae *AddressError
			if !errors.As(err, &ae) || ae.Reason != "loopback" {
				t.Errorf("POST %s = %v, want an *AddressError for loopback", u, err)
			}
		}
	})

	t.Run("RedirectNotFollowed", func(t *testing.T) {
		t.Parallel()
		// AllowPrivate, since the test's receiver is on loopback; the
		// redirect must come back as the answer even so.
		c := NewHTTPClient(HTTPConfig{AllowPrivate: true, Timeout: 5 * time.Second})
		resp, err := c.Post(redirect.URL, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Errorf("status = %d, want the 302 itself", resp.StatusCode)
		}
		if n := hits.Load(); n != 0 {
			t.Errorf("the redirect's target was called %d times", n)
		}
	})

	t.Run("AllowPrivate", func(t *testing.T) {
		t.Parallel()
		ok := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		t.Cleanup(ok.Close)
		c := NewHTTPClient(HTTPConfig{AllowPrivate: true, Timeout: 5 * time.Second})
		resp, err := c.Get(strings.Replace(ok.URL, "127.0.0.1", "localhost", 1))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status = %d", resp.StatusCode)
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(slow.Close)
		t.Cleanup(func() { close(release) })
		c := NewHTTPClient(HTTPConfig{AllowPrivate: true, Timeout: 100 * time.Millisecond})
		resp, err := c.Get(slow.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatal("a receiver that never answers did not time out")
		}
	})
}

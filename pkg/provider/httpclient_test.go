package provider_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/provider"
)

// target is a loopback server that counts the requests reaching it.
type target struct {
	srv  *httptest.Server
	port string
	hits atomic.Int32
}

func newTarget(t *testing.T) *target {
	t.Helper()
	tg := &target{}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tg.hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(tg.srv.Close)
	_, tg.port, _ = net.SplitHostPort(tg.srv.Listener.Addr().String())
	return tg
}

// get fetches url with hc and returns the error, closing any body.
func get(t *testing.T, hc *http.Client, url string) error {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := hc.Do(req)
	if err == nil {
		_ = res.Body.Close()
	}
	return err
}

// assertRefused checks that err is the guard's non-retryable refusal
// naming want.
func assertRefused(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("request went through, want a refusal naming %q", want)
	}
	perr := asError(t, err)
	if perr.Retryable || !strings.Contains(perr.Message, want) || !strings.Contains(perr.Message, "SABE_PROVIDER_ALLOW") {
		t.Errorf("err = %+v, want a non-retryable refusal naming %q", perr, want)
	}
}

func TestNewHTTPClient_SSRF(t *testing.T) {
	t.Parallel()
	names := map[string]string{
		"internal.corp.example": "10.0.0.7",
		"llm.corp.example":      "127.0.0.1",
		"meta.corp.example":     "169.254.169.254",
	}

	t.Run("ErrRefused", func(t *testing.T) {
		t.Parallel()
		tg := newTarget(t)
		hc := provider.NewHTTPClient(provider.HTTPConfig{Resolver: newResolver(t, names)})
		for host, want := range map[string]string{
			"127.0.0.1":             "127.0.0.1 is loopback",
			"10.0.0.1":              "10.0.0.1 is private",
			"169.254.169.254":       "169.254.169.254 is link-local (cloud metadata)",
			"[::1]":                 "::1 is loopback",
			"[::ffff:127.0.0.1]":    "127.0.0.1 is loopback",
			"localhost":             "127.0.0.1 is loopback",
			"internal.corp.example": "10.0.0.7 is private",
			"llm.corp.example":      "127.0.0.1 is loopback",
		} {
			t.Run(host, func(t *testing.T) {
				assertRefused(t, get(t, hc, "http://"+host+":"+tg.port+"/v1"), want)
			})
		}
		if n := tg.hits.Load(); n != 0 {
			t.Errorf("target hit %d times, want 0", n)
		}
	})

	t.Run("AllowedCIDR", func(t *testing.T) {
		t.Parallel()
		tg := newTarget(t)
		hc := provider.NewHTTPClient(provider.HTTPConfig{Allow: []string{"127.0.0.0/8", "10.0.0.5"}})
		if err := get(t, hc, "http://127.0.0.1:"+tg.port+"/"); err != nil {
			t.Fatalf("allowed CIDR refused: %v", err)
		}
		if n := tg.hits.Load(); n != 1 {
			t.Errorf("target hit %d times, want 1", n)
		}
		// Allowing the vLLM box opens nothing else.
		assertRefused(t, get(t, hc, "http://169.254.169.254/latest/meta-data"), "cloud metadata")
		assertRefused(t, get(t, hc, "http://10.0.0.6/v1"), "10.0.0.6 is private")
		assertRefused(t, get(t, hc, "http://[::1]:"+tg.port+"/"), "::1 is loopback")
	})

	t.Run("AllowedHost", func(t *testing.T) {
		t.Parallel()
		tg := newTarget(t)
		hc := provider.NewHTTPClient(provider.HTTPConfig{
			Allow:    []string{"LLM.corp.example.", "meta.corp.example"},
			Resolver: newResolver(t, names),
		})
		if err := get(t, hc, "http://llm.corp.example:"+tg.port+"/"); err != nil {
			t.Fatalf("allowed host refused: %v", err)
		}
		if n := tg.hits.Load(); n != 1 {
			t.Errorf("target hit %d times, want 1", n)
		}
		// The same address under another name is still refused, and an
		// allowed name never reaches cloud metadata.
		assertRefused(t, get(t, hc, "http://127.0.0.1:"+tg.port+"/"), "127.0.0.1 is loopback")
		assertRefused(t, get(t, hc, "http://meta.corp.example/latest"), "cloud metadata")
	})

	t.Run("AllowPrivate", func(t *testing.T) {
		t.Parallel()
		tg := newTarget(t)
		hc := provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true, Resolver: newResolver(t, names)})
		for _, host := range []string{"127.0.0.1", "localhost", "llm.corp.example"} {
			if err := get(t, hc, "http://"+host+":"+tg.port+"/"); err != nil {
				t.Errorf("%s refused with AllowPrivate: %v", host, err)
			}
		}
		if n := tg.hits.Load(); n != 3 {
			t.Errorf("target hit %d times, want 3", n)
		}
	})

	t.Run("ErrRedirect", func(t *testing.T) {
		t.Parallel()
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}))
		t.Cleanup(srv.Close)
		err := get(t, provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true}), srv.URL+"/v1")
		perr := asError(t, err)
		if perr.Retryable || perr.StatusCode != http.StatusFound || !strings.Contains(perr.Message, "redirected to host 127.0.0.1") {
			t.Errorf("err = %+v, want a non-retryable 302 naming the host", perr)
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("server hit %d times, want 1", n)
		}
	})
}

func TestParseAllow(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		got, err := provider.ParseAllow(" 10.0.0.5, 10.1.2.3/16,,VLLM.Internal., [fd00::1], ::ffff:10.0.0.9, 2001:db8::/32 ")
		if err != nil {
			t.Fatalf("ParseAllow: %v", err)
		}
		want := "[10.0.0.5 10.1.0.0/16 vllm.internal fd00::1 10.0.0.9 2001:db8::/32]"
		if s := strings.Join(got, " "); "["+s+"]" != want {
			t.Errorf("ParseAllow = %v, want %s", got, want)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		if got, err := provider.ParseAllow(" , "); err != nil || len(got) != 0 {
			t.Errorf("ParseAllow = %v, %v; want nothing", got, err)
		}
	})

	t.Run("ErrBadEntry", func(t *testing.T) {
		t.Parallel()
		for _, bad := range []string{"vllm.internal:8000", "10.0.0.0/33", "http://x", "-bad.example", "a..b", "fe80::1%eth0"} {
			_, err := provider.ParseAllow("10.0.0.5," + bad)
			if err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
				t.Errorf("ParseAllow(%q) = %v, want an error naming the entry", bad, err)
			}
		}
	})
}

func TestHTTPConfig_ValidateBaseURL(t *testing.T) {
	t.Parallel()
	opts := provider.HTTPConfig{Allow: []string{"10.0.0.5", "172.20.0.0/16", "localhost"}}
	for _, ok := range []string{"http://10.0.0.5:8000/v1", "http://172.20.3.4/v1", "http://localhost:11434/v1", "https://api.openai.com/v1"} {
		if err := opts.ValidateBaseURL(ok); err != nil {
			t.Errorf("ValidateBaseURL(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.6/v1", "http://169.254.169.254/", "http://127.0.0.1:8080/v1", "ftp://10.0.0.5/"} {
		if fe := fault.As(opts.ValidateBaseURL(bad)); fe == nil || fe.Field != "base_url" {
			t.Errorf("ValidateBaseURL(%q) = %v, want fault.Invalid on base_url", bad, fe)
		}
	}
	if err := (provider.HTTPConfig{AllowPrivate: true}).ValidateBaseURL("http://127.0.0.1/v1"); err != nil {
		t.Errorf("AllowPrivate: ValidateBaseURL = %v", err)
	}
}

func TestNewHTTPClient_Guard(t *testing.T) {
	t.Parallel()

	t.Run("ErrLoopbackRefused", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		client := provider.NewOpenAI(provider.ClientConfig{HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{})})
		_, err := client.Complete(t.Context(), request(f.baseURL()))
		perr := asError(t, err)
		if perr.Retryable {
			t.Error("refusal is retryable")
		}
		if !strings.Contains(perr.Message, "provider address 127.0.0.1 is loopback") ||
			!strings.Contains(perr.Message, "SABE_ALLOW_PRIVATE_PROVIDERS=true") {
			t.Errorf("Message = %q", perr.Message)
		}
		if n := f.hits.Load(); n != 0 {
			t.Errorf("server hit %d times, want 0", n)
		}
	})

	t.Run("ErrLocalhostRefused", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		hc := provider.NewHTTPClient(provider.HTTPConfig{})
		resp, err := hc.Get(strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1))
		if err == nil {
			_ = resp.Body.Close()
			t.Fatal("GET localhost succeeded, want refusal")
		}
		if perr := asError(t, err); perr.Retryable {
			t.Errorf("err = %+v", perr)
		}
		if n := f.hits.Load(); n != 0 {
			t.Errorf("server hit %d times, want 0", n)
		}
	})

	t.Run("AllowPrivate", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		client := provider.NewOpenAI(provider.ClientConfig{HTTPClient: provider.NewHTTPClient(provider.HTTPConfig{AllowPrivate: true})})
		if _, err := client.Complete(t.Context(), request(f.baseURL())); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if n := f.hits.Load(); n != 1 {
			t.Errorf("server hit %d times, want 1", n)
		}
	})

	t.Run("DefaultClientGuards", func(t *testing.T) {
		t.Parallel()
		f := newFakeProvider(t, streamOK(0))
		_, err := provider.NewOpenAI(provider.ClientConfig{}).Complete(t.Context(), request(f.baseURL()))
		if perr := asError(t, err); !strings.Contains(perr.Message, "loopback") {
			t.Errorf("err = %+v, want loopback refusal", perr)
		}
	})
}

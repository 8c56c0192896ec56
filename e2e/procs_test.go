package e2e

import (
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/sabe-dev/sabe/pkg/testenv"
)

// The chaos tests run SABE's real binaries as separate processes, because a
// process that must die (SIGKILL) or be stopped by a signal (SIGTERM) cannot
// be a goroutine of the test. They are built once per test process, from
// the working tree, into a directory removed when the package's tests end.
var (
	buildOnce sync.Once
	buildDir  string
	buildOut  []byte
	buildErr  error
)

// TestMain removes the built binaries after the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary returns the path of cmd/<name>, building every command the first
// time it is asked for. A failed build fails the test: a chaos test that
// skipped itself would prove nothing.
func binary(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "sabe-e2e-bin-")
		if buildErr != nil {
			return
		}
		// go test puts its own GOROOT/bin first in PATH, so "go" is the
		// toolchain running the tests; the build cache makes this quick.
		cmd := exec.Command("go", "build", "-o", buildDir+string(os.PathSeparator), "./cmd/...")
		cmd.Dir = ".." // the repository root: this package is e2e/
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build the binaries: %v\n%s", buildErr, buildOut)
	}
	p := filepath.Join(buildDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("binary %s: %v", name, err)
	}
	return p
}

// proc is one running SABE binary.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *testenv.Buffer
	done chan struct{} // closed once the process has exited and its output is drained
}

// startProc runs cmd/<bin> with env as its whole environment (nothing of the
// test's own, so no stray SABE_* variable changes what is tested). Its
// stdout and stderr are kept and printed if the test fails. Cleanup kills
// it if it is still running.
func startProc(t *testing.T, name, bin string, env map[string]string) *proc {
	t.Helper()
	return startProcArgs(t, name, bin, nil, env)
}

// startProcArgs is startProc with command-line arguments.
func startProcArgs(t *testing.T, name, bin string, args []string, env map[string]string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t, bin), args...)
	cmd.Env = envList(env)
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status is read from cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- output of %s (%s):\n%s", name, p.status(), tail(out.String(), 6000))
		}
	})
	return p
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return list
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) status() string {
	if !p.exited() {
		return "running"
	}
	return p.cmd.ProcessState.String()
}

// WaitFor waits until the process has printed substr, failing the test if
// it exits first or timeout passes.
func (p *proc) WaitFor(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.out.String(), substr) {
		if p.exited() {
			t.Fatalf("%s exited (%s) before printing %q:\n%s", p.name, p.status(), substr, tail(p.out.String(), 6000))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s printed no %q within %s:\n%s", p.name, substr, timeout, tail(p.out.String(), 6000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// AddrAfter returns what follows prefix up to the end of its line in the
// process's output, such as the address after "api listening on ".
func (p *proc) AddrAfter(t testing.TB, prefix string) string {
	t.Helper()
	s := p.out.String()
	i := strings.Index(s, prefix)
	if i < 0 {
		t.Fatalf("%s printed no %q", p.name, prefix)
	}
	line, _, _ := strings.Cut(s[i+len(prefix):], "\n")
	return strings.TrimSpace(line)
}

// Kill sends SIGKILL, the crash nothing can handle, and waits for the
// process to be gone.
func (p *proc) Kill(t testing.TB) {
	t.Helper()
	p.signal(t, syscall.SIGKILL)
	p.Wait(t, 10*time.Second)
}

// Terminate sends SIGTERM, the polite stop of an orchestrator.
func (p *proc) Terminate(t testing.TB) {
	t.Helper()
	p.signal(t, syscall.SIGTERM)
}

func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal %s to %s: %v", sig, p.name, err)
	}
}

// Wait waits for the process to exit and returns its exit code, failing the
// test if it is still running after timeout.
func (p *proc) Wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("%s still running %s after it was told to stop:\n%s", p.name, timeout, tail(p.out.String(), 6000))
		return -1
	}
}

// pgProxy is a TCP proxy in front of PostgreSQL: toxiproxy's own proxy,
// used as a library. Disable closes its listener and every connection
// through it, so clients see PostgreSQL go away (connection refused) until
// Enable opens the same address again.
type pgProxy struct {
	proxy *toxiproxy.Proxy
}

// newPGProxy starts a proxy on a free loopback port in front of the server
// of databaseURL and returns it with the same URL pointing through it.
func newPGProxy(t testing.TB, databaseURL string) (*pgProxy, string) {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("the PostgreSQL proxy needs a URL: %v", err)
	}
	if u.Host == "" {
		t.Fatalf("the PostgreSQL proxy needs a URL with host:port, got %q", u.Redacted())
	}
	upstream := u.Host
	if u.Port() == "" {
		upstream = net.JoinHostPort(u.Hostname(), "5432")
	}
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "postgres", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start the PostgreSQL proxy: %v", err)
	}
	t.Cleanup(p.Stop)
	// After Start, Listen holds the bound address; a restart reuses it.
	u.Host = p.Listen
	return &pgProxy{proxy: p}, u.String()
}

// Disable cuts every connection and refuses new ones.
func (x *pgProxy) Disable() { x.proxy.Stop() }

// Enable accepts connections again, on the same address.
func (x *pgProxy) Enable(t testing.TB) {
	t.Helper()
	if err := x.proxy.Start(); err != nil {
		t.Fatalf("restart the PostgreSQL proxy on %s: %v", x.proxy.Listen, err)
	}
}

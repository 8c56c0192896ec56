package e2e

import (
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/services/api"
	"github.com/sabe-dev/sabe/services/cli"
	"github.com/sabe-dev/sabe/services/scheduler"
	"github.com/sabe-dev/sabe/services/worker"
)

// TestBinaries_CommandLine runs every binary as a person would: --help
// prints the usage on stdout and exits 0; an unknown flag exits 2 with
// the error and the usage on stderr.
func TestBinaries_CommandLine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		bin  string
		args []string
		want string
	}{
		{"api", nil, "usage: api"},
		{"worker", nil, "usage: worker"},
		{"scheduler", nil, "usage: scheduler"},
		{"mockllm", nil, "usage: mockllm"},
		{"sabe", nil, "sabe [command]"},
		{"sabe", []string{"dev"}, "-mock-addr"},
		{"sabe", []string{"token", "create"}, "-scope"},
		{"sabe", []string{"keys", "rotate"}, "-batch"},
		{"sabe", []string{"seed-history"}, "-executions"},
	} {
		name := strings.Join(append([]string{c.bin}, c.args...), " ")
		help := startProcArgs(t, name+" --help", c.bin, append(c.args, "--help"), nil)
		if code := help.Wait(t, 30*time.Second); code != 0 || !strings.Contains(help.out.String(), c.want) {
			t.Errorf("%s --help: exit %d, output:\n%s", name, code, help.out.String())
		}
		bad := startProcArgs(t, name+" --bogus", c.bin, append(c.args, "--bogus"), nil)
		if code := bad.Wait(t, 30*time.Second); code != 2 || !strings.Contains(strings.ToLower(bad.out.String()), "usage:") ||
			!strings.Contains(bad.out.String(), "bogus") {
			t.Errorf("%s --bogus: exit %d, want 2 with the error and the usage:\n%s", name, code, bad.out.String())
		}
	}
}

// TestDev_Interrupt: Ctrl-C on sabe dev, here in the middle of its demo
// run, is a normal stop: exit 0, and no "context canceled".
func TestDev_Interrupt(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SABE_DATABASE_URL": testenv.DatabaseURL(t), "SABE_REDIS_URL": testenv.RedisURL(t),
		"SABE_SHUTDOWN_TIMEOUT": "2s", "SABE_METRICS_ADDR": "off",
	}
	// A mock this slow keeps the demo's run going until the interrupt.
	args := []string{"dev", "--state-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--mock-addr", "127.0.0.1:0", "--latency", "1h"}
	p := startProcArgs(t, "sabe dev", "sabe", args, env)
	p.WaitFor(t, " units", 2*time.Minute)
	p.signal(t, syscall.SIGINT)
	if code := p.Wait(t, time.Minute); code != 0 {
		t.Errorf("exit %d after SIGINT, want 0:\n%s", code, p.out.String())
	}
	if out := p.out.String(); strings.Contains(out, "context canceled") || !strings.Contains(out, "sabe dev stopped") {
		t.Errorf("output after SIGINT:\n%s", out)
	}
}

// TestDev_ErrHTTPAddrTaken: a second sabe dev on the api's port says so
// and names the flag (not the api's own variable, which sabe dev sets).
func TestDev_ErrHTTPAddrTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := map[string]string{"SABE_DATABASE_URL": testenv.DatabaseURL(t), "SABE_REDIS_URL": testenv.RedisURL(t), "SABE_METRICS_ADDR": "off"}
	args := []string{"dev", "--exit", "--state-dir", t.TempDir(), "--http-addr", ln.Addr().String(), "--mock-addr", "127.0.0.1:0"}
	svc := cli.Services{API: api.Run, Worker: worker.Run, Scheduler: scheduler.Run}
	err = cli.Run(context.Background(), args, func(k string) string { return env[k] }, &testenv.Buffer{}, svc)
	if err == nil || !strings.Contains(err.Error(), "taken") || !strings.Contains(err.Error(), "--http-addr") {
		t.Fatalf("err = %v, want one saying the address is taken and naming --http-addr", err)
	}
}

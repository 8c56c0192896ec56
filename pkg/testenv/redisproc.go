package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStartBound is the longest a Redis process on loopback may take to
// answer; it covers a loaded CI machine, not an expected time.
const redisStartBound = 30 * time.Second

// RedisProcess is one redis-server (or sentinel) the test started on
// loopback; the test's cleanup kills it.
type RedisProcess struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// Dir holds the process's configuration, data and log.
	Dir string

	cmd  *exec.Cmd
	done chan struct{}
}

// redisBinary finds a Redis binary on PATH: the test is skipped where it
// is missing, or fails under CI=true, which installs it (.ci/run).
func redisBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, fmt.Sprintf("%s is not on PATH: install Debian's %s (apt-get install %s)", name, pkg, pkg))
	}
	return p
}

// freeRedisPort returns a TCP port on 127.0.0.1 that was free a moment ago,
// with port+10000 (a cluster node's bus port) free as well.
func freeRedisPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if port+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		if err != nil {
			continue
		}
		_ = bus.Close()
		return port
	}
	t.Fatal("no free port pair on 127.0.0.1")
	return 0
}

// startRedisProcess writes conf (one directive a line) into a directory
// of its own and starts bin on it with args after the file, on a free
// port, and waits until it answers PING.
func startRedisProcess(t testing.TB, name, bin string, conf []string, args ...string) *RedisProcess {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	port := freeRedisPort(t)
	conf = append([]string{
		"port " + strconv.Itoa(port), "bind 127.0.0.1", "dir " + dir,
		"logfile " + filepath.Join(dir, "log"), "daemonize no", "save \"\"", "appendonly no",
		// A replica syncs at once, not after the default 5 s wait for others.
		"repl-diskless-sync-delay 0",
	}, conf...)
	path := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{path}, args...)...)
	// Its own process group, so that a stop signal reaches it alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &RedisProcess{Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Logf("--- log of %s:\n%s", name, tailString(string(b), 3000))
		}
	})
	c := p.Client()
	defer c.Close()
	WaitFor(t, name+" answering on "+p.Addr, redisStartBound, func() bool {
		select {
		case <-p.done:
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("%s exited at start: %s", name, tailString(string(b), 3000))
		default:
		}
		return c.Ping(context.Background()).Err() == nil
	})
	return p
}

// Client returns a plain client of this one process (close it).
func (p *RedisProcess) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: p.Addr, MaxRetries: -1, DialTimeout: time.Second})
}

// Kill ends the process with SIGKILL and waits for it; it is safe to call
// twice. A stopped process (Pause) is killed too.
func (p *RedisProcess) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Pause stops the process (SIGSTOP): it neither answers nor replicates
// until Resume.
func (p *RedisProcess) Pause(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
}

// Resume continues a paused process (SIGCONT).
func (p *RedisProcess) Resume(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process whose output goes to a log file and is watched
// for the lines that say it is ready.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	out     *procLog
	done    chan struct{}
	err     error // how it ended, once done is closed
	once    sync.Once
}

func startProc(ctx context.Context, name, path string, args []string, env map[string]string, logPath string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SABE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &procLog{f: f, changed: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	// Interrupted, a child is asked to stop as it would be in production,
	// and killed if it has not within the delay.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 40 * time.Second
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.close()
		close(p.done)
	}()
	return p, nil
}

// pid is the process id, for /proc.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// waitFor waits for a line that contains marker and returns what follows
// it on that line; it fails when the process ends first or after timeout.
func (p *proc) waitFor(ctx context.Context, marker string, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		rest, ok, changed := p.out.find(marker)
		if ok {
			return rest, nil
		}
		select {
		case <-changed:
		case <-p.done:
			if rest, ok, _ := p.out.find(marker); ok {
				return rest, nil
			}
			return "", fmt.Errorf("%s exited (%v) before printing %q:\n%s", p.name, p.err, marker, p.out.tail())
		case <-deadline:
			return "", fmt.Errorf("%s did not print %q within %s:\n%s", p.name, marker, timeout, p.out.tail())
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// line is waitFor without waiting.
func (p *proc) line(marker string) (string, bool) {
	rest, ok, _ := p.out.find(marker)
	return rest, ok
}

// stop asks the process to stop (SIGTERM) and kills it after 40 s; it is
// safe to call twice.
func (p *proc) stop() {
	p.once.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(40 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// exited says whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// procLog writes a child's output to its log file and keeps its first
// lines (where the startup messages are) and its tail (for errors).
type procLog struct {
	mu      sync.Mutex
	f       *os.File
	partial []byte
	lines   []string
	last    []byte
	changed chan struct{}
}

const keptLines = 500

func (l *procLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_, _ = l.f.Write(b)
	}
	l.last = append(l.last, b...)
	if n := len(l.last); n > 8<<10 {
		l.last = l.last[n-8<<10:]
	}
	if len(l.lines) >= keptLines {
		return len(b), nil
	}
	l.partial = append(l.partial, b...)
	grew := false
	for len(l.lines) < keptLines {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		grew = true
	}
	if len(l.lines) >= keptLines {
		l.partial = nil
	}
	if grew {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(b), nil
}

// find looks for marker in the kept lines; changed is closed when more
// lines arrive.
func (l *procLog) find(marker string) (rest string, ok bool, changed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.lines {
		if _, after, found := strings.Cut(ln, marker); found {
			return after, true, l.changed
		}
	}
	return "", false, l.changed
}

func (l *procLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.last)
}

func (l *procLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

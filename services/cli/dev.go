package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/pkg/apitoken"
	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/mockllm"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
)

const (
	devTokenName   = "sabe-dev"
	listeningLine  = "api listening on "
	devTokenFile   = "dev-token"
	devKeyFile     = "dev-key"
	devLogFile     = "dev.log"
	defaultDevAddr = "127.0.0.1:8080"
	// defaultMockAddr is the mockllm binary's default too (SABE_MOCK_ADDR):
	// a fixed port, so that providers pointed at the mock by hand still
	// reach it after a restart.
	defaultMockAddr = "127.0.0.1:8090"
)

const devUsage = `usage: sabe dev [flags]

Runs the api, a worker, the scheduler and a mock provider in one process
against PostgreSQL (SABE_DATABASE_URL) and Redis (SABE_REDIS_URL); where
those are unset and the local servers do not answer, it starts both in
Docker. It seeds a demo benchmark (and, once, weeks of synthetic history
for the dashboard), runs it, prints the leaderboard, and serves the API and
the dashboard until interrupted (Ctrl-C: exit 0).`

type devOptions struct {
	stateDir    string
	httpAddr    string
	mockAddr    string
	exit        bool
	history     bool
	latency     time.Duration
	concurrency int
}

// runDev runs the whole system in one process: it prepares the database
// and the development key, starts mockllm, the api, a worker and the
// scheduler, seeds the demo through the HTTP API, runs the benchmark while
// showing progress, prints the leaderboard and keeps serving until
// interrupted (or exits with --exit).
func runDev(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, svc Services) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	var o devOptions
	r := envconf.New(getenv)
	fs.StringVar(&o.stateDir, "state-dir", ".sabe", "where the development key, token and log are kept (git-ignored)")
	fs.StringVar(&o.httpAddr, "http-addr", r.String("SABE_HTTP_ADDR", defaultDevAddr), "api listen address (default from SABE_HTTP_ADDR)")
	fs.StringVar(&o.mockAddr, "mock-addr", r.String("SABE_MOCK_ADDR", defaultMockAddr), "mock provider listen address (default from SABE_MOCK_ADDR); port 0 picks a free one")
	fs.BoolVar(&o.exit, "exit", false, "exit after printing the leaderboard instead of serving")
	fs.BoolVar(&o.history, "history", true, "write weeks of synthetic history for the dashboard when the database has none")
	fs.DurationVar(&o.latency, "latency", 200*time.Millisecond, "mock provider latency per call")
	fs.IntVar(&o.concurrency, "concurrency", 20, "worker concurrency")
	if help, err := command.Parse(fs, devUsage, args, stdout); help || err != nil {
		return err
	}
	if svc.API == nil || svc.Worker == nil || svc.Scheduler == nil {
		return errors.New("dev: services not wired")
	}
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	err := dev(ctx, o, getenv, say, svc)
	if ctx.Err() != nil {
		// Ctrl-C or SIGTERM: the stop that was asked for, whatever it
		// interrupted, and not a failure to report.
		say("sabe dev stopped.")
		return nil
	}
	return err
}

// dev is sabe dev once its flags are read.
func dev(ctx context.Context, o devOptions, getenv func(string) string, say func(string, ...any), svc Services) error {
	if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		return fmt.Errorf("dev: state dir: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The mock first: a taken port is the likeliest clash with an earlier
	// sabe dev, and the cheapest thing to check.
	mock, err := mockllm.Listen(ctx, o.mockAddr, mockllm.Config{Latency: o.latency, Seed: 1})
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("dev: the mock provider's address %s is taken (by another sabe dev or mockllm?): stop that, or choose another with --mock-addr", o.mockAddr)
	}
	if err != nil {
		return fmt.Errorf("dev: start mock provider (--mock-addr): %w", err)
	}
	dbURL, redisURL, err := newDevServers(getenv, say).find(ctx)
	if err != nil {
		return err
	}
	if err := ensureDatabase(ctx, dbURL); err != nil {
		return err
	}
	key, err := devKey(getenv, o.stateDir)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(o.stateDir, devLogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("dev: log file: %w", err)
	}
	defer logf.Close()
	logs := &syncWriter{w: logf}

	env := map[string]string{
		"SABE_DATABASE_URL":            dbURL,
		"SABE_REDIS_URL":               redisURL,
		"SABE_ENCRYPTION_KEY":          key,
		"SABE_HTTP_ADDR":               o.httpAddr,
		"SABE_ALLOW_PRIVATE_PROVIDERS": "true", // the mock provider is on loopback
		"SABE_WORKER_CONCURRENCY":      fmt.Sprint(o.concurrency),
		"SABE_LOG_FORMAT":              "text",
	}
	devenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return getenv(k)
	}

	g, gctx := errgroup.WithContext(ctx)
	apiOut := newLineWatcher(logs, listeningLine)
	g.Go(func() error { return svc.API(gctx, nil, devenv, apiOut) })
	var apiURL string
	select {
	case apiURL = <-apiOut.found:
	case <-gctx.Done():
		cancel()
		err := g.Wait()
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("dev: the api's address %s is taken (by another sabe dev or api?): stop that, or choose another with --http-addr", o.httpAddr)
		}
		return fmt.Errorf("dev: api did not start (see %s): %w", filepath.Join(o.stateDir, devLogFile), err)
	case <-time.After(60 * time.Second):
		cancel()
		return errors.New("dev: api did not start within 60s")
	}
	apiURL = strings.TrimSpace(apiURL)
	token, err := devToken(gctx, dbURL, o.stateDir)
	if err != nil {
		cancel()
		_ = g.Wait()
		return err
	}
	c := client.New(apiURL, token)
	say("SABE dev: api %s, mock provider %s, logs in %s", apiURL, mock.URL, filepath.Join(o.stateDir, devLogFile))
	// Before the worker starts: see seedDevHistory.
	if o.history {
		if err := seedDevHistory(gctx, c, dbURL, say); err != nil {
			cancel()
			return errors.Join(err, ignoreCanceled(g.Wait()))
		}
	}
	g.Go(func() error { return svc.Worker(gctx, nil, devenv, logs) })
	g.Go(func() error { return svc.Scheduler(gctx, nil, devenv, logs) })
	demoErr := runDemo(gctx, c, mock.URL+"/v1", say)
	if demoErr == nil && o.exit {
		say("")
		say("Stopping (--exit): the demo's provider, models, suite and runs stay in the database for the next sabe dev.")
	}
	if demoErr == nil && !o.exit {
		say("")
		say("The dashboard, the API and the queue monitor stay up for you to explore:")
		say("  Dashboard:  %s/   (log in by pasting the token below; the leaderboard, runs, trends and compare pages)", apiURL)
		say("  API:        %s/v1   (OpenAPI document: %s/openapi.json)", apiURL, apiURL)
		say("  Monitoring: %s/monitoring/   (the same login; the token is an admin token)", apiURL)
		say("  Mock:       %s   (provider %q points at %s/v1)", mock.URL, demoProvider, mock.URL)
		say("  Token:      %s", token)
		say("  Try:        curl -H 'Authorization: Bearer %s' %s/v1/runs", token, apiURL)
	}
	if o.exit || demoErr != nil {
		cancel()
		werr := g.Wait()
		if demoErr != nil {
			return errors.Join(demoErr, ignoreCanceled(werr))
		}
		return ignoreCanceled(werr)
	}
	// The last line is the one a newcomer acts on.
	say("")
	say("Open the dashboard at %s/ (press Ctrl-C to stop).", apiURL)
	return ignoreCanceled(g.Wait())
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// ensureDatabase creates the database named in url when the server has no
// such database yet, so the demo works on a fresh machine.
func ensureDatabase(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err == nil {
		conn.Close(ctx)
		return nil
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "3D000" {
		return fmt.Errorf("dev: connect to PostgreSQL (SABE_DATABASE_URL): %w", err)
	}
	u, perr := url.Parse(dbURL)
	if perr != nil {
		return errors.New("dev: SABE_DATABASE_URL: invalid URL")
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("dev: database %q does not exist and the server's postgres database is unreachable: %w", name, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P04" { // created meanwhile
			return nil
		}
		return fmt.Errorf("dev: create database %q: %w", name, err)
	}
	return nil
}

// devKey returns SABE_ENCRYPTION_KEY when set, else the development key
// kept in the state dir, created on first use, so that providers seeded by
// an earlier `sabe dev` still decrypt.
func devKey(getenv func(string) string, dir string) (string, error) {
	if k := strings.TrimSpace(getenv(secrets.EnvVar)); k != "" {
		if _, err := secrets.ParseKeyring(k); err != nil {
			return "", fmt.Errorf("dev: %s: %w", secrets.EnvVar, err)
		}
		return k, nil
	}
	path := filepath.Join(dir, devKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		k := strings.TrimSpace(string(b))
		if _, err := secrets.ParseKeyring(k); err != nil {
			return "", fmt.Errorf("dev: %s is not a valid key file: %w", path, err)
		}
		return k, nil
	}
	entry, err := secrets.GenerateEntry("dev")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(entry+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("dev: save development key: %w", err)
	}
	return entry, nil
}

// devToken returns the development token kept in the state dir while it is
// still valid, else makes a new one.
func devToken(ctx context.Context, dbURL, dir string) (string, error) {
	pool, err := store.Open(ctx, dbURL, 2)
	if err != nil {
		return "", err
	}
	defer pool.Close()
	st := store.New(pool, nil)
	path := filepath.Join(dir, devTokenFile)
	if b, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(b))
		if apitoken.Check(tok) == nil {
			if t, err := st.TokenByHash(ctx, apitoken.Hash(tok)); err == nil && t.Usable(time.Now()) {
				return tok, nil
			}
		}
	}
	tok, _, err := st.CreateToken(ctx, devTokenName, []string{apitoken.ScopeAdmin}, nil)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("dev: save token: %w", err)
	}
	return tok, nil
}

// syncWriter serializes writes from the services sharing one log file.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// lineWatcher forwards output and reports the rest of the first line that
// starts with prefix (the api's listening address).
type lineWatcher struct {
	w      io.Writer
	prefix string
	found  chan string
	mu     sync.Mutex
	buf    []byte
	done   bool
}

func newLineWatcher(w io.Writer, prefix string) *lineWatcher {
	return &lineWatcher{w: w, prefix: prefix, found: make(chan string, 1)}
}

func (l *lineWatcher) Write(p []byte) (int, error) {
	l.mu.Lock()
	if !l.done {
		l.buf = append(l.buf, p...)
		for {
			i := bytes.IndexByte(l.buf, '\n')
			if i < 0 {
				break
			}
			line := string(l.buf[:i])
			l.buf = l.buf[i+1:]
			if rest, ok := strings.CutPrefix(line, l.prefix); ok {
				l.found <- rest
				l.done, l.buf = true, nil
				break
			}
		}
	}
	l.mu.Unlock()
	return l.w.Write(p)
}

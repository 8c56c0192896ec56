package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/sabe-dev/sabe/pkg/testenv"
)

// TestDev_ErrMockAddrTaken: a second sabe dev on the mock's port says so
// and names the flag, instead of a bare "address already in use".
func TestDev_ErrMockAddrTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	noop := func(context.Context, []string, func(string) string, io.Writer) error { return nil }
	svc := Services{API: noop, Worker: noop, Scheduler: noop}
	err = Run(context.Background(), []string{"dev", "--state-dir", t.TempDir(), "--mock-addr", ln.Addr().String()},
		func(string) string { return "" }, &bytes.Buffer{}, svc)
	if err == nil || !strings.Contains(err.Error(), "taken") || !strings.Contains(err.Error(), "--mock-addr") {
		t.Fatalf("err = %v, want one saying the address is taken and naming --mock-addr", err)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestDevServers_Find(t *testing.T) {
	t.Parallel()
	noDocker := func(context.Context) error { return errors.New("Cannot connect to the Docker daemon") }
	mustNotStart := func(t *testing.T) func(context.Context, string) (string, error) {
		return func(context.Context, string) (string, error) {
			t.Error("a container was started")
			return "", errors.New("unexpected")
		}
	}
	setup := func(t *testing.T, vars map[string]string, docker func(context.Context) error) (devServers, *bytes.Buffer) {
		var said bytes.Buffer
		return devServers{
			getenv:          func(k string) string { return vars[k] },
			defaultDB:       "postgres://postgres:secret@" + closedAddr(t) + "/sabe?sslmode=disable",
			defaultRedis:    "redis://" + closedAddr(t) + "/0",
			dockerAvailable: docker,
			startPostgres:   mustNotStart(t),
			startRedis:      mustNotStart(t),
			say:             func(f string, a ...any) { said.WriteString(f) },
		}, &said
	}

	t.Run("ErrNeitherServersNorDocker", func(t *testing.T) {
		d, _ := setup(t, nil, noDocker)
		_, _, err := d.find(context.Background())
		if err == nil {
			t.Fatal("no error")
		}
		msg := err.Error()
		for _, want := range []string{
			"PostgreSQL at postgres://postgres:xxxxx@", "Redis at redis://", "Docker: Cannot connect",
			"sudo apt-get install -y postgresql redis-server", "install Docker",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error does not say %q:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, "secret") {
			t.Errorf("error shows the password:\n%s", msg)
		}
	})
	t.Run("ErrOnlyRedisMissing", func(t *testing.T) {
		d, _ := setup(t, nil, noDocker)
		d.defaultDB = testenv.DatabaseURL(t)
		_, _, err := d.find(context.Background())
		if err == nil || !strings.Contains(err.Error(), "install -y redis-server (") || strings.Contains(err.Error(), "PostgreSQL at") {
			t.Fatalf("err = %v, want only Redis missing", err)
		}
	})
	t.Run("ErrSetVariableNotAnswering", func(t *testing.T) {
		// A server the operator named is not replaced by a container.
		d, _ := setup(t, map[string]string{"SABE_REDIS_URL": "redis://" + closedAddr(t) + "/3"},
			func(context.Context) error { return nil })
		d.defaultDB = testenv.DatabaseURL(t)
		_, _, err := d.find(context.Background())
		if err == nil || !strings.Contains(err.Error(), "(SABE_REDIS_URL) does not answer") {
			t.Fatalf("err = %v, want one naming SABE_REDIS_URL", err)
		}
	})
	t.Run("StartsContainersWithDocker", func(t *testing.T) {
		d, said := setup(t, nil, func(context.Context) error { return nil })
		// The "containers" are the test's servers.
		admin, redisURL := testenv.DatabaseURL(t), testenv.RedisURL(t)
		var names []string
		d.startPostgres = func(_ context.Context, name string) (string, error) {
			names = append(names, name)
			return admin, nil
		}
		d.startRedis = func(_ context.Context, name string) (string, error) {
			names = append(names, name)
			return redisURL, nil
		}
		db, rd, err := d.find(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := withDatabase(admin, devDatabase); db != want || rd != redisURL {
			t.Errorf("urls %s, %s; want %s, %s", db, rd, want, redisURL)
		}
		if strings.Join(names, ",") != devPostgresContainer+","+devRedisContainer {
			t.Errorf("started %v, want the named, reusable containers", names)
		}
		if strings.Count(said.String(), "starting it in Docker") != 2 {
			t.Errorf("said %q, want both starts announced", said.String())
		}
	})
	t.Run("LocalServers", func(t *testing.T) {
		d, _ := setup(t, nil, noDocker)
		db, err := withDatabase(testenv.DatabaseURL(t), "sabe_no_such_db") // ensureDatabase creates it later
		if err != nil {
			t.Fatal(err)
		}
		d.defaultDB, d.defaultRedis = db, testenv.RedisURL(t)
		db, rd, err := d.find(context.Background())
		if err != nil || db != d.defaultDB || rd != d.defaultRedis {
			t.Fatalf("find = %s, %s, %v", db, rd, err)
		}
	})
}

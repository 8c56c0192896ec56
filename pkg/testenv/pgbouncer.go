package testenv

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/store"
)

// PgBouncerPoolSize is the server connections the test pooler keeps per
// database and user: fewer than a worker's pool alone (SABE_DATABASE_MAX_CONNS
// defaults to 20), so the pooler really hands one server connection to one
// client after another, as it does in front of a fleet.
const PgBouncerPoolSize = 8

// PgBouncer starts Debian's pgbouncer for the test in transaction pooling
// mode, on a free loopback port in front of the server of direct (a URL
// from DatabaseURL), and returns direct's database through it; cleanup
// stops it. Every database on that server is reachable through it (a
// wildcard entry), with direct's user and password. Without the pgbouncer
// binary the test is skipped, or fails when CI=true.
//
// pgbouncer refuses to run as root: as root it is started with -u nobody,
// after it has read its configuration.
func PgBouncer(t testing.TB, direct string) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		// Debian installs it in /usr/sbin, which is not on every PATH.
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr != nil {
			missing(t, "pooler tests need pgbouncer: apt-get install pgbouncer")
		}
		bin = "/usr/sbin/pgbouncer"
	}
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatalf("pgbouncer: database url: %v", err)
	}
	// The port is free when chosen but may be taken before pgbouncer binds
	// it: then another port is tried.
	for attempt := 1; ; attempt++ {
		pooled, out, err := startPgBouncer(t, bin, u)
		if err == nil {
			return pooled
		}
		if attempt == 3 || !strings.Contains(out, "bind") {
			t.Fatalf("%v:\n%s", err, out)
		}
	}
}

// startPgBouncer runs pgbouncer on a free port in front of the server of
// u and returns u through it once it answers, or an error with its output;
// cleanup stops it.
func startPgBouncer(t testing.TB, bin string, u *url.URL) (string, string, error) {
	t.Helper()
	host, port := u.Hostname(), cmp.Or(u.Port(), "5432")
	user := cmp.Or(u.User.Username(), "postgres")
	password, _ := u.User.Password()
	listen := freePort(t)

	dir := t.TempDir()
	ini := filepath.Join(dir, "pgbouncer.ini")
	users := filepath.Join(dir, "userlist.txt")
	writeFile(t, users, fmt.Sprintf("%s %s\n", quoteUserlist(user), quoteUserlist(password)))
	writeFile(t, ini, fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 500
query_wait_timeout = 60
`, host, port, listen, users, PgBouncerPoolSize))

	args := []string{ini}
	if os.Geteuid() == 0 {
		args = []string{"-u", "nobody", ini}
	}
	out := &Buffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", "", fmt.Errorf("start pgbouncer: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	pooled := *u
	pooled.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(listen))
	deadline := time.Now().Add(15 * time.Second)
	for {
		// Exited first: a ping could reach whatever took the port.
		select {
		case werr := <-exited:
			exited <- werr // for the cleanup
			return "", out.String(), fmt.Errorf("pgbouncer exited (%v) before it answered", werr)
		default:
		}
		err := pingThrough(pooled.String())
		if err == nil {
			return pooled.String(), "", nil
		}
		if time.Now().After(deadline) {
			return "", out.String(), fmt.Errorf("pgbouncer did not answer within 15s: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pingThrough(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return c.Ping(ctx)
}

// freePort is a loopback TCP port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// quoteUserlist quotes s for pgbouncer's auth_file, where a double quote
// inside a field is doubled.
func quoteUserlist(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// PgBouncerPool returns a pool on a fresh, migrated database for the test,
// through PgBouncer in transaction pooling mode and set as SABE's processes
// set theirs with SABE_DATABASE_POOLER=transaction; closed in cleanup.
func PgBouncerPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	db := store.Database{URL: PgBouncer(t, DatabaseURL(t)), Pooler: store.PoolerTransaction}
	pool, err := db.Open(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Package testenv gives tests real PostgreSQL and Redis, isolated per test.
//
// PostgreSQL: TEST_DATABASE_URL (an admin connection, default the local
// server's postgres database). Each test gets its own database, cloned from a
// template that was migrated once per schema version, so a test starts in
// milliseconds and tests run in parallel without seeing each other.
//
// Redis: TEST_REDIS_URL (default the local server). asynq has no key prefix,
// so each test gets a Redis database number of its own from the pool 1–15,
// reserved across processes (go test runs packages in parallel) by a lock
// key in database 0, flushed before and after use.
//
// Where neither is reachable and Docker is, the servers are started with
// testcontainers-go; otherwise the test fails saying what is missing.
//
// PgBouncer: PgBouncer starts Debian's pgbouncer per test, in transaction
// pooling mode in front of the PostgreSQL server, for the tests of SABE
// behind a pooler.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sabe-dev/sabe/db"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store"
)

const (
	defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	defaultRedisURL    = "redis://127.0.0.1:6379/0"
	templateLock       = 0x5ABE7E57
)

var (
	serversOnce sync.Once
	adminURL    string
	redisURL    string
	serversErr  error
)

// servers finds the PostgreSQL and Redis servers once per test process.
func servers() (string, string, error) {
	serversOnce.Do(func() {
		adminURL = envOr("TEST_DATABASE_URL", defaultDatabaseURL)
		redisURL = envOr("TEST_REDIS_URL", defaultRedisURL)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pgErr := pingPostgres(ctx, adminURL)
		rErr := pingRedis(ctx, redisURL)
		if pgErr == nil && rErr == nil {
			return
		}
		pg, rd, err := startContainers(pgErr != nil, rErr != nil)
		if err != nil {
			serversErr = fmt.Errorf("tests need PostgreSQL and Redis: postgres at %s: %v; redis at %s: %v; "+
				"and Docker could not start them: %v. Start both locally (see README) or set TEST_DATABASE_URL / TEST_REDIS_URL",
				redact(adminURL), pgErr, redact(redisURL), rErr, err)
			return
		}
		if pg != "" {
			adminURL = pg
		}
		if rd != "" {
			redisURL = rd
		}
	})
	return adminURL, redisURL, serversErr
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(invalid url)"
	}
	return p.Redacted()
}

func pingPostgres(ctx context.Context, u string) error {
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return c.Ping(ctx)
}

func pingRedis(ctx context.Context, u string) error {
	o, err := redis.ParseURL(u)
	if err != nil {
		return err
	}
	c := redis.NewClient(o)
	defer c.Close()
	return c.Ping(ctx).Err()
}

// migrationsHash names the template after the migrations it holds, so a
// changed schema gets a new template instead of a stale one.
func migrationsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(db.Migrations, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(db.Migrations, p)
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func withDatabase(u, name string) string {
	p, _ := url.Parse(u)
	p.Path = "/" + name
	return p.String()
}

// ensureTemplate creates and migrates the template database of a storage
// kind ("" for the default) once, under an advisory lock so parallel test
// processes do not race. params are run-time parameters of the migrating
// session (sabe.timescaledb=off keeps plain tables on a TimescaleDB server).
func ensureTemplate(ctx context.Context, admin *pgx.Conn, base, kind string, params map[string]string) (string, error) {
	name := "sabe_test_tmpl_" + migrationsHash()
	if kind != "" {
		name += "_" + kind
	}
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return "", err
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", templateLock) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	cfg, err := pgxpool.ParseConfig(withDatabase(base, name))
	if err != nil {
		return "", err
	}
	for k, v := range params {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return "", err
	}
	_, err = store.Migrate(ctx, pool)
	if err == nil {
		// TimescaleDB's background workers connect to every database with
		// the extension, and CREATE DATABASE ... TEMPLATE refuses a
		// template anyone is connected to: keep them off the template.
		_, _ = pool.Exec(ctx, "SELECT timescaledb_pre_restore() WHERE EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')")
	}
	pool.Close()
	if err != nil {
		_, _ = admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize())
		return "", err
	}
	return name, nil
}

// DatabaseURL creates a fresh, migrated database for the test, drops it in
// cleanup, and returns its URL.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, true)
}

// EmptyDatabaseURL creates a fresh database with no schema (for migration
// tests), drops it in cleanup, and returns its URL.
func EmptyDatabaseURL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, false)
}

func newDatabase(t testing.TB, migrated bool) string {
	t.Helper()
	base, _, err := servers()
	if err != nil {
		t.Fatal(err)
	}
	if !migrated {
		return newDatabaseFrom(t, base, "-", nil)
	}
	return newDatabaseFrom(t, base, "", nil)
}

// newDatabaseFrom creates a database on the server at base from the
// template of a storage kind ("-": empty, from template0).
func newDatabaseFrom(t testing.TB, base, kind string, params map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer admin.Close(context.Background())
	tmpl := "template0"
	if kind != "-" {
		if tmpl, err = ensureTemplate(ctx, admin, base, kind, params); err != nil {
			t.Fatalf("prepare template database: %v", err)
		}
	}
	name := "sabe_test_" + randomHex(6)
	// CREATE DATABASE ... TEMPLATE fails while anything is connected to the
	// template; only ensureTemplate connects, under the lock, so retry briefly.
	for attempt := 0; ; attempt++ {
		_, err = admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pgx.Identifier{name}.Sanitize(), pgx.Identifier{tmpl}.Sanitize()))
		if err == nil || attempt == 20 || !strings.Contains(err.Error(), "being accessed") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(base, name)
}

// Pool returns a pool on a fresh database for the test.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return poolOn(t, DatabaseURL(t))
}

// poolOn opens a pool on the database at u, configured as SABE's processes
// configure theirs (store.Configure), closed in cleanup.
func poolOn(t testing.TB, u string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	store.Configure(cfg)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// KeyEnv returns a fresh SABE_ENCRYPTION_KEY value for the test.
func KeyEnv(t testing.TB) string {
	t.Helper()
	e, err := secrets.GenerateEntry("test")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Keyring returns a fresh keyring for the test.
func Keyring(t testing.TB) *secrets.Keyring {
	t.Helper()
	k, err := secrets.ParseKeyring(KeyEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

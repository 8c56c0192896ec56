package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The storage paths SABE supports: plain PostgreSQL tables with rollup
// tables refreshed by the maintenance task, and TimescaleDB hypertables
// with continuous aggregates.
const (
	StoragePostgreSQL  = "PostgreSQL"
	StorageTimescaleDB = "TimescaleDB"
)

var (
	timescaleOnce sync.Once
	timescaleURL  string
	timescaleErr  error
)

// timescaleServer finds a PostgreSQL server with TimescaleDB preloaded,
// once per test process: TEST_TIMESCALE_URL, else the test server itself
// when it has the extension preloaded, else a timescale/timescaledb
// container where Docker runs.
func timescaleServer() (string, error) {
	timescaleOnce.Do(func() {
		if u := os.Getenv("TEST_TIMESCALE_URL"); u != "" {
			timescaleURL = u
			return
		}
		base, _, err := servers()
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			ok, perr := preloaded(ctx, base)
			cancel()
			if perr == nil && ok {
				timescaleURL = base
				return
			}
		}
		u, err := startTimescale()
		if err != nil {
			timescaleErr = fmt.Errorf("no TimescaleDB to test against: TEST_TIMESCALE_URL is not set, the test server "+
				"does not preload timescaledb, and Docker could not start %s (%v); the PostgreSQL path ran", PostgresImage, err)
			return
		}
		timescaleURL = u
	})
	return timescaleURL, timescaleErr
}

func preloaded(ctx context.Context, u string) (bool, error) {
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		return false, err
	}
	defer c.Close(ctx)
	var libs string
	var available bool
	if err := c.QueryRow(ctx, `SELECT coalesce(current_setting('shared_preload_libraries', true), ''),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')`).Scan(&libs, &available); err != nil {
		return false, err
	}
	return available && strings.Contains(libs, "timescaledb"), nil
}

// OnEachStorage runs fn as a subtest on a fresh migrated database of each
// storage path: "PostgreSQL" always (migrated with sabe.timescaledb off,
// so even a TimescaleDB server keeps plain tables), and "TimescaleDB",
// which skips saying why when no TimescaleDB server can be had.
func OnEachStorage(t *testing.T, fn func(t *testing.T, pool *pgxpool.Pool)) {
	t.Helper()
	t.Run(StoragePostgreSQL, func(t *testing.T) {
		base, _, err := servers()
		if err != nil {
			t.Fatal(err)
		}
		fn(t, storagePool(t, base, "pg", map[string]string{"sabe.timescaledb": "off"}))
	})
	t.Run(StorageTimescaleDB, func(t *testing.T) {
		base, err := timescaleServer()
		if err != nil {
			t.Skip(err.Error())
		}
		fn(t, storagePool(t, base, "ts", nil))
	})
}

// DatabaseURLOn is DatabaseURL on one storage path (StoragePostgreSQL or
// StorageTimescaleDB), for tests that run whole processes against each:
// the TimescaleDB database skips the test, saying why, when no TimescaleDB
// server can be had.
func DatabaseURLOn(t testing.TB, storage string) string {
	t.Helper()
	switch storage {
	case StoragePostgreSQL:
		base, _, err := servers()
		if err != nil {
			t.Fatal(err)
		}
		return newDatabaseFrom(t, base, "pg", map[string]string{"sabe.timescaledb": "off"})
	case StorageTimescaleDB:
		base, err := timescaleServer()
		if err != nil {
			t.Skip(err.Error())
		}
		return newDatabaseFrom(t, base, "ts", nil)
	}
	t.Fatalf("unknown storage %q", storage)
	return ""
}

func storagePool(t *testing.T, base, kind string, params map[string]string) *pgxpool.Pool {
	t.Helper()
	return poolOn(t, newDatabaseFrom(t, base, kind, params))
}

// UsesTimescaleDB reports whether pool's database keeps its rollups as
// TimescaleDB continuous aggregates.
func UsesTimescaleDB(t testing.TB, pool *pgxpool.Pool) bool {
	t.Helper()
	var ts bool
	if err := pool.QueryRow(context.Background(), "SELECT sabe_timescaledb()").Scan(&ts); err != nil {
		t.Fatal(err)
	}
	return ts
}

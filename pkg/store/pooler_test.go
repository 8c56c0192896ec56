package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/pkg/store"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// eachConnection runs fn on a fresh database reached directly and through
// PgBouncer in transaction pooling mode: what the store guarantees under
// concurrency must not depend on a client keeping its server connection.
func eachConnection(t *testing.T, fn func(t *testing.T, pool *pgxpool.Pool)) {
	t.Helper()
	for _, c := range []struct {
		name string
		pool func(testing.TB) *pgxpool.Pool
	}{{"Direct", testenv.Pool}, {"PgBouncer", testenv.PgBouncerPool}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fn(t, c.pool(t))
		})
	}
}

// TestDatabase_TransactionPooler: through a transaction pooler, the pool
// leaves pgx's named prepared statements for cache_describe unless the URL
// chose another safe mode, refuses an unsafe one the URL chose, and
// migrations go over the direct URL or not at all.
func TestDatabase_TransactionPooler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct := testenv.EmptyDatabaseURL(t)
	pooled := testenv.PgBouncer(t, direct)

	t.Run("ErrMigrateWithoutDirectURL", func(t *testing.T) {
		db := store.Database{URL: pooled, Pooler: store.PoolerTransaction}
		if _, err := db.Migrate(ctx); !errors.Is(err, store.ErrMigrateThroughPooler) {
			t.Fatalf("migrate through the pooler with no direct URL: %v, want ErrMigrateThroughPooler", err)
		}
	})

	t.Run("OK", func(t *testing.T) {
		db := store.Database{URL: pooled, DirectURL: direct, Pooler: store.PoolerTransaction}
		applied, err := db.Migrate(ctx)
		if err != nil || len(applied) == 0 {
			t.Fatalf("migrate over the direct URL: applied %d, err %v", len(applied), err)
		}
		pool, err := db.Open(ctx, 4)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		if m := pool.Config().ConnConfig.DefaultQueryExecMode; m != pgx.QueryExecModeCacheDescribe {
			t.Errorf("query exec mode %v, want cache_describe", m)
		}
		if err := store.CheckSchema(ctx, pool); err != nil {
			t.Fatalf("schema check through the pooler: %v", err)
		}
	})

	t.Run("URLModeKept", func(t *testing.T) {
		db := store.Database{URL: pooled + "&default_query_exec_mode=exec", Pooler: store.PoolerTransaction}
		pool, err := db.Open(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		if m := pool.Config().ConnConfig.DefaultQueryExecMode; m != pgx.QueryExecModeExec {
			t.Errorf("query exec mode %v, want exec as the URL says", m)
		}
	})

	t.Run("ErrUnsafeURLMode", func(t *testing.T) {
		db := store.Database{URL: pooled + "&default_query_exec_mode=cache_statement", Pooler: store.PoolerTransaction}
		if pool, err := db.Open(ctx, 1); err == nil || !strings.Contains(err.Error(), "default_query_exec_mode") {
			if pool != nil {
				pool.Close()
			}
			t.Fatalf("cache_statement through a transaction pooler: err %v, want it refused", err)
		}
	})
}

package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/internal/envconf"
)

// What may sit between SABE and PostgreSQL (SABE_DATABASE_POOLER).
const (
	// PoolerNone is a direct connection, or a pooler in session mode: a
	// client keeps one server connection for as long as it is connected.
	PoolerNone = "none"
	// PoolerTransaction is a pooler in transaction mode (PgBouncer's
	// pool_mode=transaction): each transaction, or each statement outside
	// one, may run on a different server connection.
	PoolerTransaction = "transaction"
)

var (
	// DatabasePooler is SABE_DATABASE_POOLER: PoolerNone or
	// PoolerTransaction.
	DatabasePooler = envconf.String{Name: "SABE_DATABASE_POOLER", Default: PoolerNone}
	// DatabaseDirectURL is SABE_DATABASE_DIRECT_URL, a connection straight
	// to PostgreSQL for what needs a session of its own: migrations.
	DatabaseDirectURL = envconf.String{Name: "SABE_DATABASE_DIRECT_URL"}
)

// Database is how a process reaches PostgreSQL: SABE_DATABASE_URL for all
// its work and, when that URL goes through a transaction pooler, a direct
// URL for migrations.
type Database struct {
	// URL is SABE_DATABASE_URL.
	URL string
	// DirectURL is SABE_DATABASE_DIRECT_URL; "" means URL.
	DirectURL string
	// Pooler is SABE_DATABASE_POOLER.
	Pooler string
}

// ReadDatabase reads the database settings, recording a bad pooler mode
// on r.
func ReadDatabase(r *envconf.Reader) Database {
	d := Database{
		URL:       DatabaseURL.Read(r),
		DirectURL: DatabaseDirectURL.Read(r),
		Pooler:    strings.ToLower(DatabasePooler.Read(r)),
	}
	if d.Pooler != PoolerNone && d.Pooler != PoolerTransaction {
		r.Fail(DatabasePooler.Name, "must be %s or %s, got %q", PoolerNone, PoolerTransaction, d.Pooler)
	}
	return d
}

// Open connects a pool to URL, set for the pooler in between, and pings
// it. maxConns 0 keeps pgx's default.
func (d Database) Open(ctx context.Context, maxConns int32) (*pgxpool.Pool, error) {
	return open(ctx, d.URL, maxConns, d.Pooler == PoolerTransaction)
}

// ErrMigrateThroughPooler says migrations were asked of a transaction
// pooler with no direct URL to take their lock on.
var ErrMigrateThroughPooler = errors.New(DatabaseDirectURL.Name + ": required to migrate when " +
	DatabasePooler.Name + "=" + PoolerTransaction + ": the migration lock is a session advisory lock, " +
	"which a transaction pooler would leave held on a server connection other clients then borrow")

// MigrationURL is where migrations connect: DirectURL when set, else URL
// unless that goes through a transaction pooler.
func (d Database) MigrationURL() (string, error) {
	switch {
	case d.DirectURL != "":
		return d.DirectURL, nil
	case d.Pooler == PoolerTransaction:
		return "", ErrMigrateThroughPooler
	}
	return d.URL, nil
}

// Migrate applies every pending migration over a connection of its own to
// MigrationURL, closed when it returns.
func (d Database) Migrate(ctx context.Context) ([]string, error) {
	u, err := d.MigrationURL()
	if err != nil {
		return nil, err
	}
	pool, err := open(ctx, u, 2, false)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	return Migrate(ctx, pool)
}

// Open connects a pool to PostgreSQL directly and pings it. maxConns 0
// keeps pgx's default.
func Open(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	return open(ctx, url, maxConns, false)
}

func open(ctx context.Context, url string, maxConns int32, txPooler bool) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The URL may hold a password: say what is wrong, not what it was.
		return nil, fmt.Errorf("parse database url: invalid URL or DSN")
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	if txPooler {
		if err := forTransactionPooler(cfg.ConnConfig, url); err != nil {
			return nil, err
		}
	}
	Configure(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s@%s:%d/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// forTransactionPooler keeps pgx off named prepared statements, which live
// on one server connection while a transaction pooler hands the next
// statement to another (PgBouncer tracks them only from 1.21, with
// max_prepared_statements, and Debian 12 ships 1.18). pgx's default,
// cache_statement, prepares every query under a name; describe_exec
// describes and executes an unnamed statement in two round trips, which a
// pooler may send to two connections. cache_describe keeps the
// description of each query in the client and sends it unnamed, parsed,
// bound and executed in one round trip; batches go the same way, in one
// pipeline ending in one Sync, so one implicit transaction. exec and
// simple_protocol are safe too, and an explicit choice of one in the URL
// is kept.
func forTransactionPooler(cfg *pgx.ConnConfig, url string) error {
	switch cfg.DefaultQueryExecMode {
	case pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol:
		return nil
	}
	if strings.Contains(url, "default_query_exec_mode") {
		return fmt.Errorf("%s: default_query_exec_mode must be cache_describe, exec or simple_protocol through a transaction pooler (%s=%s)",
			DatabaseURL.Name, DatabasePooler.Name, PoolerTransaction)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	return nil
}

package store

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/sabe-dev/sabe/db"
)

// Migrate applies every pending migration. Two processes migrating at once
// are safe: goose takes a PostgreSQL advisory lock for the whole session, so
// the second waits and then finds nothing left to do. That lock needs a
// session of its own, so pool must not go through a transaction pooler
// (Database.Migrate connects where it should).
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	p, closeDB, err := migrator(pool, true)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	applied := make([]string, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Path)
	}
	return applied, nil
}

// MigrationVersion returns the schema version the database is at and the
// newest one this binary knows. It only reads, so it takes no lock: processes
// starting together do not queue behind each other or behind a migration.
func MigrationVersion(ctx context.Context, pool *pgxpool.Pool) (current, latest int64, err error) {
	p, closeDB, err := migrator(pool, false)
	if err != nil {
		return 0, 0, err
	}
	defer closeDB()
	if current, err = p.GetDBVersion(ctx); err != nil {
		return 0, 0, fmt.Errorf("migration version: %w", err)
	}
	sources := p.ListSources()
	if len(sources) > 0 {
		latest = sources[len(sources)-1].Version
	}
	return current, latest, nil
}

func migrator(pool *pgxpool.Pool, locked bool) (*goose.Provider, func(), error) {
	fsys, err := fs.Sub(db.Migrations, "migrations")
	if err != nil {
		return nil, nil, err
	}
	var opts []goose.ProviderOption
	if locked {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys, opts...)
	if err != nil {
		sqlDB.Close()
		return nil, nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, func() { _ = sqlDB.Close() }, nil
}

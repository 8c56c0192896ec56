package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// CheckSchema refuses to run a process against a database whose schema is
// older than the binary (run `sabe migrate up`) or newer (a newer binary
// migrated it; this one would misread it).
func CheckSchema(ctx context.Context, pool *pgxpool.Pool) error {
	cur, latest, err := MigrationVersion(ctx, pool)
	if err != nil {
		return err
	}
	switch {
	case cur < latest:
		return fmt.Errorf("database schema is at version %d, this binary needs %d: run `sabe migrate up`", cur, latest)
	case cur > latest:
		return fmt.Errorf("database schema is at version %d, newer than this binary knows (%d): upgrade the binary", cur, latest)
	}
	return nil
}

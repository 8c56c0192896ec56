package store_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/sabe-dev/sabe/db"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// TestMigrate_Judging takes 00013 down and up again on a database holding
// rows of both shapes, on each storage path (with TimescaleDB, with the
// evaluations' chunks compressed): old evaluations become version 1,
// scored; Down keeps the first version's verdicts.
func TestMigrate_Judging(t *testing.T) {
	t.Parallel()
	testenv.OnEachStorage(t, func(t *testing.T, pool *pgxpool.Pool) {
		ctx := context.Background()
		fsys, err := fs.Sub(db.Migrations, "migrations")
		if err != nil {
			t.Fatal(err)
		}
		sqlDB := stdlib.OpenDBFromPool(pool)
		defer sqlDB.Close()
		p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 12); err != nil {
			t.Fatalf("down: %v", err)
		}
		at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) // old enough to be compressed
		runID, model, q := uuid.New(), uuid.New(), uuid.New()
		exec(t, pool, `INSERT INTO executions (run_created_at, run_id, model_id, question_id, sample, benchmark_id,
			question_revision_id, category, status, finished_at, score, passed)
			VALUES ($1, $2, $3, $4, 0, $5, $6, '', 'succeeded', $1, 1, true)`, at, runID, model, q, uuid.New(), uuid.New())
		exec(t, pool, `INSERT INTO evaluations (run_created_at, run_id, model_id, question_id, sample, scorer, passed, score)
			VALUES ($1, $2, $3, $4, 0, 'exact_match', true, 1)`, at, runID, model, q)
		if testenv.UsesTimescaleDB(t, pool) {
			compressChunks(t, pool, "evaluations")
			compressChunks(t, pool, "executions")
		}

		if _, err := p.UpTo(ctx, 13); err != nil {
			t.Fatalf("up: %v", err)
		}
		var version int
		var status string
		if err := pool.QueryRow(ctx, `SELECT scorer_version, status FROM evaluations WHERE run_id = $1`, runID).Scan(&version, &status); err != nil {
			t.Fatal(err)
		}
		if version != 1 || status != "scored" {
			t.Fatalf("old evaluation = version %d %s, want 1 scored", version, status)
		}
		// The new key: a second version and an unscored verdict fit beside it.
		exec(t, pool, `INSERT INTO evaluations (run_created_at, run_id, model_id, question_id, sample, scorer, scorer_version, status, reason)
			VALUES ($1, $2, $3, $4, 0, 'exact_match', 2, 'unscored', 'judge_error')`, at, runID, model, q)
		exec(t, pool, `UPDATE executions SET score = NULL, passed = NULL, unscored_reason = 'judge_error' WHERE run_id = $1`, runID)
		if _, err := pool.Exec(ctx, `INSERT INTO evaluations (run_created_at, run_id, model_id, question_id, sample, scorer, scorer_version, status)
			VALUES ($1, $2, $3, $4, 0, 'llm_judge', 1, 'unscored')`, at, runID, model, q); err == nil {
			t.Fatal("an unscored evaluation without a reason was accepted")
		}

		if _, err := p.DownTo(ctx, 12); err != nil {
			t.Fatalf("down with new rows: %v", err)
		}
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM evaluations WHERE run_id = $1`, runID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d evaluations after down, want the first version's 1", n)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
	})
}

// compressChunks compresses every chunk of table. The table's compression
// policy runs in TimescaleDB's background workers and may compress a chunk
// between show_chunks and compress_chunk, which then fails with 42710
// even with if_not_compressed: a chunk so compressed is what was wanted.
func compressChunks(t *testing.T, pool *pgxpool.Pool, table string) {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT c::text FROM show_chunks($1::regclass) c`, table)
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		_, err := pool.Exec(ctx, `SELECT compress_chunk($1::regclass, if_not_compressed => true)`, c)
		var pgErr *pgconn.PgError
		if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42710") {
			t.Fatalf("compress %s: %v", c, err)
		}
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM timescaledb_information.chunks
		WHERE hypertable_name = $1 AND NOT is_compressed`, table).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d chunks of %s left uncompressed", left, table)
	}
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

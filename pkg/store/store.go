package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sabe-dev/sabe/internal/envconf"
	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/secrets"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// DefaultURL is PostgreSQL on this machine, database sabe.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/sabe?sslmode=disable"

// DatabaseURL is SABE_DATABASE_URL, the PostgreSQL connection of every
// process.
var DatabaseURL = envconf.String{Name: "SABE_DATABASE_URL", Default: DefaultURL}

// Page limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// MaxPageBytes bounds a page of items that carry model text (run results)
// by bytes as well as by count: 200 results of long answers made a 46 MB
// page, held in memory several times over while it was built. A page
// stops before the item that would pass the bound, and has a cursor; its
// first item is always included, so a page makes progress whatever the
// size of one answer (itself bounded by the provider response cap).
const MaxPageBytes = 4 << 20

// Store is SABE's persistence.
type Store struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
	keys *secrets.Keyring
	// limits are applied to every run created (see WithRunLimits).
	limits RunLimits
}

// New returns a Store over pool; keys encrypts and decrypts provider keys.
func New(pool *pgxpool.Pool, keys *secrets.Keyring) *Store {
	return &Store{pool: pool, q: dbsqlc.New(pool), keys: keys}
}

// Pool returns the underlying pool (for health checks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Page is one page of a list and the cursor of the next, "" at the end.
type Page[T any] struct {
	Items []T
	Next  string
}

// inTx runs fn in a transaction at the given isolation level and commits
// when it returns nil.
func (s *Store) inTx(ctx context.Context, iso pgx.TxIsoLevel, fn func(q *dbsqlc.Queries) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: iso}, func(tx pgx.Tx) error {
		return fn(s.q.WithTx(tx))
	})
}

// notFound maps pgx.ErrNoRows to the resource's NotFound error.
func notFound(err error, resource string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.NotFound(resource)
	}
	return err
}

// notFoundOrFrozen is notFound for a change that matched no row because it
// only changes objects that are not archived: when archivedAt (which reads
// the object again) says it is archived, the answer is Conflict, the same
// for every kind of object, since an archived object is there but frozen.
func notFoundOrFrozen(err error, resource string, archivedAt func() (*time.Time, error)) error {
	if errors.Is(err, pgx.ErrNoRows) {
		if at, gerr := archivedAt(); gerr == nil && at != nil {
			return fault.Conflict("%s is archived", resource)
		}
	}
	return notFound(err, resource)
}

// conflict maps a unique violation to a Conflict that says what clashed.
func conflict(err error, what string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fault.Conflict("%s already exists", what)
	}
	return err
}

// pageSize clamps a requested limit.
func pageSize(limit int) int32 {
	if limit <= 0 {
		return DefaultPageSize
	}
	return int32(min(limit, MaxPageSize))
}

// idCursor decodes a cursor that holds the last id of the previous page.
func idCursor(cursor string) (*uuid.UUID, error) {
	if cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) != 16 {
		return nil, fault.BadRequest("cursor", "invalid cursor")
	}
	id := uuid.UUID(b)
	return &id, nil
}

func encodeIDCursor(id uuid.UUID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// IDCursor returns the cursor of the page after the item with id, for a
// list paged by id (ListQuestions, ListRuns, ListBenchmarks) whose caller
// ends a page earlier than the store did.
func IDCursor(id uuid.UUID) string { return encodeIDCursor(id) }

// listPage runs a keyset-paginated list: it decodes the cursor (the last
// id of the previous page), fetches one row more than the page holds so it
// knows whether a next page exists, and converts the rows.
func listPage[R, T any](cursor string, limit int, fetch func(after *uuid.UUID, lim int32) ([]R, error), conv func(R) T, id func(R) uuid.UUID) (Page[T], error) {
	after, err := idCursor(cursor)
	if err != nil {
		return Page[T]{}, err
	}
	lim := pageSize(limit)
	rows, err := fetch(after, lim+1)
	if err != nil {
		return Page[T]{}, err
	}
	return paginate(rows, lim, conv, id), nil
}

// paginate trims the extra row fetched to know whether a next page exists.
func paginate[R, T any](rows []R, lim int32, conv func(R) T, id func(R) uuid.UUID) Page[T] {
	p := Page[T]{Items: make([]T, 0, min(len(rows), int(lim)))}
	for i, r := range rows {
		if i == int(lim) {
			p.Next = encodeIDCursor(id(rows[i-1]))
			break
		}
		p.Items = append(p.Items, conv(r))
	}
	return p
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: marshal %T: %v", v, err))
	}
	return b
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

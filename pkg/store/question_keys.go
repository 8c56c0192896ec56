package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sabe-dev/sabe/internal/fault"
	"github.com/sabe-dev/sabe/pkg/catalog"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// A question's key is unique among its suite's active questions. The
// partial unique index questions_suite_key_idx is the guarantee; checkKeys
// runs first so that the answer names the key and, in an import, every
// question at fault.

// keyTaken is the answer to a question key another active question of the
// suite has: 409 on key (an import reports it on the line).
func keyTaken(key string) error {
	return &fault.Error{Kind: fault.KindConflict, Field: "key", Message: fmt.Sprintf("another active question of the suite has the key %q", key)}
}

// keyConflict maps the unique index on active questions' keys, which a
// concurrent change can still hit after checkKeys, to keyTaken.
func keyConflict(err error) error {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok && pe.Code == "23505" && pe.ConstraintName == "questions_suite_key_idx" {
		return &fault.Error{Kind: fault.KindConflict, Field: "key", Message: "another active question of the suite has one of these keys"}
	}
	return err
}

// checkKeys refuses keys given twice among in, or that an active question
// of the suite other than except already has: QuestionErrors naming every
// question at fault (for a repeat, each after the first), so that an
// import can name all their lines.
func checkKeys(ctx context.Context, q *dbsqlc.Queries, suiteID uuid.UUID, except *uuid.UUID, in []catalog.QuestionInput) error {
	first := make(map[string]int, len(in))
	bad := make(map[int]error)
	var keys []string
	for i, qi := range in {
		if qi.Key == "" {
			continue
		}
		if j, dup := first[qi.Key]; dup {
			bad[i] = &fault.Error{Kind: fault.KindConflict, Field: "key",
				Message: fmt.Sprintf("the key %q is also the key of question %d of this request", qi.Key, j+1)}
			continue
		}
		first[qi.Key] = i
		keys = append(keys, qi.Key)
	}
	if len(keys) > 0 {
		taken, err := q.ActiveQuestionKeys(ctx, dbsqlc.ActiveQuestionKeysParams{SuiteID: suiteID, Keys: keys, ExceptID: except})
		if err != nil {
			return fmt.Errorf("question keys in use: %w", err)
		}
		for _, k := range taken {
			bad[first[k]] = keyTaken(k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	out := make(QuestionErrors, 0, len(bad))
	for _, i := range slices.Sorted(maps.Keys(bad)) {
		out = append(out, &QuestionError{Index: i, Err: bad[i]})
	}
	return out
}

package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/testenv"
)

// TestConfigure_UUIDRoundTrip: UUIDs, NULL UUIDs and UUID arrays cross the
// configured connection intact, in both directions.
func TestConfigure_UUIDRoundTrip(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	a, b := uuid.New(), uuid.New()
	var (
		gotA    uuid.UUID
		gotNil  *uuid.UUID
		gotB    *uuid.UUID
		gotList []uuid.UUID
		text    string
	)
	err := pool.QueryRow(context.Background(), `SELECT $1::uuid, $2::uuid, $3::uuid, $4::uuid[], $1::uuid::text`,
		a, (*uuid.UUID)(nil), &b, []uuid.UUID{a, b}).Scan(&gotA, &gotNil, &gotB, &gotList, &text)
	if err != nil {
		t.Fatal(err)
	}
	if gotA != a || gotNil != nil || gotB == nil || *gotB != b || !slices.Equal(gotList, []uuid.UUID{a, b}) || text != a.String() {
		t.Fatalf("round trip: %s %v %v %v %s; want %s nil %s [%s %s]", gotA, gotNil, gotB, gotList, text, a, b, a, b)
	}
}

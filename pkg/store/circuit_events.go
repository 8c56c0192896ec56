package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sabe-dev/sabe/pkg/notify"
	"github.com/sabe-dev/sabe/pkg/store/internal/dbsqlc"
)

// RecordCircuitEvent writes the provider.circuit_opened (c.State "open")
// or provider.circuit_closed event of a fleet-wide circuit transition,
// with the provider's current name filled in. The dedup key is the
// transition's (type, provider, outage start), so two workers reporting
// the same one write one event; it reports whether this call wrote it.
func (s *Store) RecordCircuitEvent(ctx context.Context, c notify.CircuitChanged) (bool, error) {
	typ, at := notify.CircuitOpened, c.Since
	switch c.State {
	case "open":
		c.ClosedAt = nil
	case "closed":
		if c.ClosedAt == nil {
			return false, fmt.Errorf("circuit event of provider %s: closed without closed_at", c.ProviderID)
		}
		closed := c.ClosedAt.UTC()
		typ, at, c.ClosedAt = notify.CircuitClosed, closed, &closed
	default:
		return false, fmt.Errorf("circuit event of provider %s: state %q", c.ProviderID, c.State)
	}
	name, err := s.q.EventProviderName(ctx, c.ProviderID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		name = "(deleted)"
	case err != nil:
		return false, fmt.Errorf("name of provider %s: %w", c.ProviderID, err)
	}
	c.ProviderName = name
	c.Since = c.Since.UTC()
	n, err := s.q.InsertEvent(ctx, dbsqlc.InsertEventParams{
		ID: newID(), Type: typ, OccurredAt: at.UTC(),
		DedupKey: fmt.Sprintf("%s:%s:%d", typ, c.ProviderID, c.Since.UnixMilli()),
		Payload:  mustJSON(c),
	})
	if err != nil {
		return false, fmt.Errorf("circuit event of provider %s: %w", c.ProviderID, err)
	}
	return n > 0, nil
}

package notify

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// CircuitStore writes provider.circuit_* events (the store's
// RecordCircuitEvent): it fills in the provider's name and reports
// whether the event was new (false when another worker wrote it first).
type CircuitStore interface {
	RecordCircuitEvent(ctx context.Context, c CircuitChanged) (bool, error)
}

// CircuitEvents turns the fleet-wide circuit transitions a worker's
// resilience.Guard reports (it is a resilience.FleetObserver) into
// provider.circuit_opened and provider.circuit_closed events, and kicks
// their dispatch. The Guard calls it on a goroutine of its own, so the
// database write never holds up a provider call; a failure is logged and
// the transition goes unannounced.
type CircuitEvents struct {
	Store CircuitStore
	Queue Enqueuer
	Log   *slog.Logger
}

// circuitWriteTimeout bounds writing one transition's event and its kick.
const circuitWriteTimeout = 10 * time.Second

// CircuitOpened records that the fleet's circuit of provider opened for
// an outage that began at since.
func (c *CircuitEvents) CircuitOpened(provider string, since time.Time, lastError string) {
	c.record(provider, CircuitChanged{State: "open", Since: since, LastError: lastError})
}

// CircuitClosed records that the fleet's circuit of provider, open since
// since, closed at closedAt.
func (c *CircuitEvents) CircuitClosed(provider string, since, closedAt time.Time, lastError string) {
	c.record(provider, CircuitChanged{State: "closed", Since: since, ClosedAt: &closedAt, LastError: lastError})
}

func (c *CircuitEvents) record(provider string, ev CircuitChanged) {
	id, err := uuid.Parse(provider)
	if err != nil {
		c.Log.Warn("circuit transition of a provider that is not an id; no event", "provider_id", provider)
		return
	}
	ev.ProviderID = id
	ctx, cancel := context.WithTimeout(context.Background(), circuitWriteTimeout)
	defer cancel()
	written, err := c.Store.RecordCircuitEvent(ctx, ev)
	if err != nil {
		c.Log.Warn("record the circuit event", "provider_id", provider, "state", ev.State, "err", err)
		return
	}
	if !written {
		return
	}
	if err := Kick(ctx, c.Queue); err != nil {
		c.Log.Warn("kick the dispatch of the circuit event", "provider_id", provider, "err", err)
	}
}

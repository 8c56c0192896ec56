package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/resilience"
	"github.com/sabe-dev/sabe/pkg/testenv"
)

// TestServer_ProviderCircuit: a provider's circuit is closed until the
// fleet's shared state holds it back; then GET and the list show the open
// circuit (since, until, last error) or the quota pause, as the workers
// set them.
func TestServer_ProviderCircuit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	tripped, paused, fine := b.provider(t, nil), b.provider(t, nil), b.provider(t, nil)
	for _, p := range []oapi.Provider{tripped, paused, fine} {
		if p.Circuit.State != oapi.ProviderCircuitStateClosed || p.Circuit.Until != nil {
			t.Fatalf("new provider's circuit = %+v, want closed", p.Circuit)
		}
	}

	// A worker's breaker trips on one provider; another says its quota is used up.
	fleet := b.tripBreaker(t, tripped.Id.String(), "provider: connection refused")
	pauseEnd := time.Now().Add(30 * time.Minute)
	if err := fleet.Pause(ctx, paused.Id.String(), pauseEnd); err != nil {
		t.Fatal(err)
	}

	got := call[oapi.Provider](t, b, "GET", "/v1/providers/"+tripped.Id.String(), "", http.StatusOK).Circuit
	if got.State != oapi.ProviderCircuitStateOpen || got.Since == nil || got.Until == nil || !got.Until.After(*got.Since) ||
		got.LastError == nil || *got.LastError != "provider: connection refused" {
		t.Errorf("tripped provider's circuit = %+v, want open since/until with its last error", got)
	}
	list := call[oapi.ProviderList](t, b, "GET", "/v1/providers", "", http.StatusOK)
	states := map[string]oapi.ProviderCircuit{}
	for _, p := range list.Items {
		states[p.Id.String()] = p.Circuit
	}
	if c := states[tripped.Id.String()]; c.State != oapi.ProviderCircuitStateOpen {
		t.Errorf("list: tripped provider's circuit = %+v, want open", c)
	}
	if c := states[paused.Id.String()]; c.State != oapi.ProviderCircuitStateQuotaPaused || c.Until == nil ||
		c.Until.Sub(pauseEnd).Abs() > time.Second || c.Since != nil {
		t.Errorf("list: paused provider's circuit = %+v, want quota_paused until %s", c, pauseEnd)
	}
	if c := states[fine.Id.String()]; c.State != oapi.ProviderCircuitStateClosed || c.Until != nil {
		t.Errorf("list: untouched provider's circuit = %+v, want closed", c)
	}
	upd := call[oapi.Provider](t, b, "PATCH", "/v1/providers/"+paused.Id.String(), `{"name":"renamed"}`, http.StatusOK)
	if upd.Circuit.State != oapi.ProviderCircuitStateQuotaPaused {
		t.Errorf("patched provider's circuit = %+v, want quota_paused", upd.Circuit)
	}
}

// tripBreaker opens provider's circuit in the fleet's shared state as a
// worker's breaker would after a failure (cause), and returns that guard.
func (b *bundle) tripBreaker(t *testing.T, provider, cause string) *resilience.Guard {
	t.Helper()
	ctx := context.Background()
	fleet := resilience.NewGuard(b.rdb, resilience.Config{Failures: 1, OpenTimeout: time.Hour})
	permit, err := fleet.Acquire(ctx, resilience.Call{Provider: provider})
	if err != nil {
		t.Fatal(err)
	}
	permit.Report(resilience.Failed, cause)
	testenv.WaitFor(t, "the circuit to be shared", 5*time.Second, func() bool {
		return b.rdb.Exists(ctx, resilience.BreakerKey(provider)).Val() == 1
	})
	return fleet
}

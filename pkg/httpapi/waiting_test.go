package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/resilience"
)

// TestServer_RunWaitingOn: while a running run's provider has an open
// circuit in the fleet's shared state, GET /v1/runs/{id} says so with the
// provider, since when, until when and its last error; with nothing held
// back the field is absent.
func TestServer_RunWaitingOn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	w := b.world(t, 1, 2, 1)
	r := call[oapi.Run](t, b, "POST", "/v1/benchmarks/"+w.benchmark.Id.String()+"/runs", "", http.StatusAccepted)
	if _, err := b.store.MarkRunning(ctx, r.Id); err != nil {
		t.Fatal(err)
	}
	path := "/v1/runs/" + r.Id.String()
	if got := call[oapi.Run](t, b, "GET", path, "", http.StatusOK); got.WaitingOn != nil {
		t.Fatalf("waiting_on = %+v before anything is held back", *got.WaitingOn)
	}

	// A worker's breaker trips on the run's provider, as a worker's would.
	b.tripBreaker(t, w.provider.Id.String(), "provider: connection refused")

	got := call[oapi.Run](t, b, "GET", path, "", http.StatusOK)
	if got.WaitingOn == nil || len(*got.WaitingOn) != 1 {
		t.Fatalf("waiting_on = %v, want the provider's open circuit", got.WaitingOn)
	}
	h := (*got.WaitingOn)[0]
	if h.ProviderId != w.provider.Id || h.ProviderName != w.provider.Name || h.State != oapi.ProviderWaitState(resilience.HoldOpen) ||
		h.Since == nil || !h.Until.After(*h.Since) || h.LastError == nil || *h.LastError != "provider: connection refused" {
		t.Errorf("waiting_on[0] = %+v", h)
	}
}

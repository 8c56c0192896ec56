package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/sabe-dev/sabe/pkg/httpapi"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// TestServer_CreateRunSamples checks that a run's samples replace the
// benchmark's for that run only: in its config, its unit total and the
// snapshot the workers fan out from, and that the fan-out cap counts the
// units they make.
func TestServer_CreateRunSamples(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 2, 3, 1)
		path := "/v1/benchmarks/" + w.benchmark.Id.String() + "/runs"
		r := call[oapi.Run](t, b, "POST", path, `{"samples":4}`, http.StatusAccepted)
		if r.Config.Samples != 4 || r.Progress.Total != 2*3*4 {
			t.Fatalf("run samples %d, total %d; want 4 and %d", r.Config.Samples, r.Progress.Total, 2*3*4)
		}
		snap, err := b.store.LoadSnapshot(context.Background(), r.Id)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Run.Samples != 4 || snap.Run.Total() != 24 {
			t.Errorf("snapshot samples %d, total %d; want 4 and 24", snap.Run.Samples, snap.Run.Total())
		}
		// The benchmark keeps its own, and a run without samples uses it.
		if got := call[oapi.Benchmark](t, b, "GET", "/v1/benchmarks/"+w.benchmark.Id.String(), "", http.StatusOK); got.Config.Samples != 1 {
			t.Errorf("benchmark samples = %d after a run with 4, want 1", got.Config.Samples)
		}
		r2 := call[oapi.Run](t, b, "POST", path, `{}`, http.StatusAccepted)
		if r2.Config.Samples != 1 || r2.Progress.Total != 6 {
			t.Errorf("run without samples: samples %d, total %d; want 1 and 6", r2.Config.Samples, r2.Progress.Total)
		}
	})

	t.Run("ErrOutOfRange", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		w := b.world(t, 1, 1, 1)
		path := "/v1/benchmarks/" + w.benchmark.Id.String() + "/runs"
		for _, body := range []string{`{"samples":0}`, `{"samples":-1}`, `{"samples":101}`} {
			wantError(t, b.do(t, "POST", path, body), http.StatusUnprocessableEntity, "samples")
		}
		if page := call[oapi.RunList](t, b, "GET", "/v1/runs?benchmark_id="+w.benchmark.Id.String(), "", http.StatusOK); len(page.Items) != 0 {
			t.Errorf("refused run requests made %d runs", len(page.Items))
		}
	})

	t.Run("ErrFanOutOverCap", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(d *httpapi.Deps) { d.Config.Limits.MaxUnits = 5 })
		w := b.world(t, 1, 2, 1)
		path := "/v1/benchmarks/" + w.benchmark.Id.String() + "/runs"
		wantError(t, b.do(t, "POST", path, `{"samples":3}`), http.StatusConflict, "")
		if page := call[oapi.RunList](t, b, "GET", "/v1/runs?benchmark_id="+w.benchmark.Id.String(), "", http.StatusOK); len(page.Items) != 0 {
			t.Errorf("a run over the fan-out cap was made: %+v", page.Items)
		}
		call[oapi.Run](t, b, "POST", path, `{"samples":2}`, http.StatusAccepted)
	})
}

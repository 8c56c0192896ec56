package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/services/cli"
)

// ExportReport is the export section: one run of --export-units units
// (seed-history), exported whole through the api process by the CLI's
// own code path (`sabe runs export`, in this process) into a counting
// writer, once as CSV and once as JSON Lines, with the memory of the api
// and of the client sampled meanwhile: the promise is that an
// export takes constant memory, whatever the run's size.
type ExportReport struct {
	Phase       string     `json:"phase"`
	GeneratedAt time.Time  `json:"generated_at"`
	LoadAverage [2]float64 `json:"load_average_before_after"`
	Setup       string     `json:"setup"`
	Shape       Shape      `json:"shape"`
	Seed        SeedStats  `json:"seed"`
	// APIIdleRSSMB is the api's resident memory before the first export,
	// after it has served the harness's setup calls.
	APIIdleRSSMB   float64     `json:"api_idle_rss_mb"`
	SampleInterval string      `json:"sample_interval"`
	Exports        []ExportRun `json:"exports"`
	Targets        []Target    `json:"targets"`
}

// ExportRun is one export of the run.
type ExportRun struct {
	Format     string  `json:"format"`
	Rows       int64   `json:"rows"`
	MB         float64 `json:"mb"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
	// The api's resident memory (VmRSS of /proc) sampled during the
	// export: before it, its peak, and one sample a second.
	APIRSSBeforeMB float64   `json:"api_rss_before_mb"`
	APIRSSPeakMB   float64   `json:"api_rss_peak_mb"`
	APIRSSSeries   []float64 `json:"api_rss_series_mb"`
	// The client's (this process's) Go heap in use (runtime.MemStats
	// HeapInuse) before the export and its peak during it.
	ClientHeapBeforeMB float64 `json:"client_heap_before_mb"`
	ClientHeapPeakMB   float64 `json:"client_heap_peak_mb"`
}

// exportMemoryTarget is the api's peak resident memory during an export
// that the bench holds it to: what the api takes at rest plus a margin of
// a few batches, far below the export's own size (over 1 GB as CSV).
const exportMemoryTarget = 150

func (h *harness) runExport(ctx context.Context) (*ExportReport, error) {
	const interval = 100 * time.Millisecond
	units := max(1, int(float64(h.o.exportUnits)*h.o.scale))
	const models = 4
	questions := min(10_000, max(1, units/models))
	samples := max(1, units/(models*questions))
	rep := &ExportReport{Phase: "export", Shape: Shape{Models: models, Questions: questions, Samples: samples, Units: models * questions * samples},
		SampleInterval: interval.String(), Targets: []Target{},
		Setup: "one finished run written by sabe seed-history (no worker), the api as a process; `sabe runs export RUN` " +
			"(services/cli in this process, so through pkg/client) into a writer that counts and discards, once per format; " +
			"the api's VmRSS and this process's HeapInuse sampled every 100 ms"}
	s, err := h.newStack(ctx, "export", true)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := s.startAPI(ctx); err != nil {
		return nil, err
	}
	env := s.baseEnv()
	getenv := func(k string) string { return env[k] }
	seedArgs := []string{"seed-history", "--executions", strconv.Itoa(rep.Shape.Units), "--weeks", "1",
		"--models", strconv.Itoa(models), "--questions", strconv.Itoa(questions), "--samples", strconv.Itoa(samples), "--benchmark", "export"}
	if rep.Seed, _, err = seedWith(ctx, seedArgs, getenv, s.pool, h.stdout); err != nil {
		return nil, err
	}
	runs, err := s.api.ListRuns(ctx, client.RunFilter{}, 1, "")
	if err != nil {
		return nil, err
	}
	if len(runs.Items) != 1 {
		return nil, fmt.Errorf("seed-history wrote %d runs, want 1", len(runs.Items))
	}
	runID := runs.Items[0].Id
	if rss, _, err := memStatus(s.apiProc.pid()); err == nil {
		rep.APIIdleRSSMB = mb(rss)
	}
	rep.LoadAverage[0] = loadAverage()
	cliEnv := map[string]string{"SABE_URL": s.api.BaseURL(), "SABE_TOKEN": s.apiToken, "HOME": h.tmpDir}
	for _, format := range []string{client.ExportCSV, client.ExportJSONL} {
		x, err := exportOnce(ctx, s.apiProc.pid(), runID, format, func(k string) string { return cliEnv[k] }, interval)
		if err != nil {
			return rep, fmt.Errorf("export %s: %w", format, err)
		}
		if x.Rows != int64(rep.Shape.Units) {
			return rep, fmt.Errorf("export %s: %d rows, want %d", format, x.Rows, rep.Shape.Units)
		}
		rep.Exports = append(rep.Exports, x)
		h.say("export: %-5s %d rows, %.0f MB in %.1f s (%.0f rows/s); api RSS %.1f MB before, peak %.1f MB; client heap %.1f MB before, peak %.1f MB",
			format, x.Rows, x.MB, x.Seconds, x.RowsPerSec, x.APIRSSBeforeMB, x.APIRSSPeakMB, x.ClientHeapBeforeMB, x.ClientHeapPeakMB)
		rep.Targets = append(rep.Targets, newTarget("export", "api peak RSS during a "+format+" export of "+strconv.Itoa(rep.Shape.Units)+" units",
			x.APIRSSPeakMB, "MB", "<", exportMemoryTarget))
	}
	rep.LoadAverage[1] = loadAverage()
	rep.GeneratedAt = time.Now().UTC().Truncate(time.Second)
	printExport(h.stdout, rep)
	return rep, nil
}

// exportOnce runs `sabe runs export` of one run in one format into a
// counting writer, sampling the api's RSS and this process's heap.
func exportOnce(ctx context.Context, apiPID int, runID uuid.UUID, format string, getenv func(string) string, interval time.Duration) (ExportRun, error) {
	x := ExportRun{Format: format}
	rss, _, err := memStatus(apiPID)
	if err != nil {
		return x, err
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	x.APIRSSBeforeMB, x.ClientHeapBeforeMB = mb(rss), mb(int64(ms.HeapInuse))

	stop := make(chan struct{})
	var sampler sync.WaitGroup
	peakRSS, peakHeap := rss, int64(ms.HeapInuse)
	sampler.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if rss, _, err := memStatus(apiPID); err == nil {
				peakRSS = max(peakRSS, rss)
				if i%int(time.Second/interval) == 0 {
					x.APIRSSSeries = append(x.APIRSSSeries, mb(rss))
				}
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, int64(ms.HeapInuse))
		}
	})
	var out countingWriter
	var errOut strings.Builder
	start := time.Now()
	err = cli.RunIO(ctx, []string{"runs", "export", runID.String(), "--format", format}, getenv,
		cli.IO{In: strings.NewReader(""), Out: &out, Err: &errOut}, cli.Services{})
	secs := time.Since(start).Seconds()
	close(stop)
	sampler.Wait()
	if err != nil {
		return x, errors.Join(err, errors.New(errOut.String()))
	}
	if _, err := fmt.Sscanf(errOut.String(), "exported %d rows", &x.Rows); err != nil {
		return x, fmt.Errorf("read the row count from %q: %w", errOut.String(), err)
	}
	x.MB, x.Seconds = mb(out.n.Load()), round(secs, 2)
	x.RowsPerSec = round(float64(x.Rows)/secs, 0)
	x.APIRSSPeakMB, x.ClientHeapPeakMB = mb(peakRSS), mb(peakHeap)
	return x, nil
}

// countingWriter discards what it is given and counts it.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)

func printExport(w io.Writer, rep *ExportReport) {
	fmt.Fprintf(w, "\nexport bench: one run of %d units (seeded in %.1f s); api idle RSS %.1f MB; load average %.2f before, %.2f after\n",
		rep.Shape.Units, rep.Seed.Seconds, rep.APIIdleRSSMB, rep.LoadAverage[0], rep.LoadAverage[1])
	fmt.Fprintf(w, "%-6s %9s %8s %8s %10s %14s %14s %16s %16s\n", "format", "rows", "MB", "s", "rows/s", "api RSS before", "api RSS peak", "client heap bef.", "client heap peak")
	for _, x := range rep.Exports {
		fmt.Fprintf(w, "%-6s %9d %8.0f %8.1f %10.0f %14.1f %14.1f %16.1f %16.1f\n", x.Format, x.Rows, x.MB, x.Seconds, x.RowsPerSec,
			x.APIRSSBeforeMB, x.APIRSSPeakMB, x.ClientHeapBeforeMB, x.ClientHeapPeakMB)
	}
}

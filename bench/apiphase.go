package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// APIReport is the api section: latency of starting a run and of reading
// one, at fixed request rates, from the api process.
type APIReport struct {
	Phase       string     `json:"phase"`
	GeneratedAt time.Time  `json:"generated_at"`
	LoadAverage [2]float64 `json:"load_average_before_after"`
	// Setup says what the routes read and write.
	Setup string `json:"setup"`
	// ReadRun is the finished run the GET routes read; PostShape the
	// benchmark every POST starts a run of.
	ReadRun   Shape   `json:"read_run"`
	PostShape Shape   `json:"post_benchmark"`
	Load      Load    `json:"load"`
	Routes    []Route `json:"routes"`
	// Profiles are the files saved in --profile's directory.
	Profiles []string `json:"profiles,omitempty"`
	Targets  []Target `json:"targets"`
}

func (h *harness) runAPI(ctx context.Context) (*APIReport, error) {
	o := h.o
	rep := &APIReport{Phase: "api", ReadRun: shape(4, 250, 2, o.scale), PostShape: shape(4, 5, 1, 1), Targets: []Target{},
		Setup: "the GET routes read a finished run (rankings overall and per category); each POST creates a run of a small " +
			"benchmark and enqueues its run:start. No worker runs while the routes are driven, so the api has the machine " +
			"(with PostgreSQL, Redis and the load generator); the per-token rate limit and daily unit cap are off.",
		Load: Load{
			Tool: "vegeta v12 (constant rate, one route at a time)", RatePerSecond: o.apiRate,
			Seconds: o.duration.Seconds(), WarmupSeconds: o.warmup.Seconds(),
			Percentiles: "exact, linear interpolation over every measured request",
		},
	}
	s, err := h.newStack(ctx, "api", true)
	if err != nil {
		return nil, err
	}
	defer s.close()
	readBench, err := h.prepare(ctx, s, 0, rep.ReadRun)
	if err != nil {
		return nil, err
	}
	postBench, err := s.fixture(ctx, "api post", rep.PostShape.Models, rep.PostShape.Questions, rep.PostShape.Samples)
	if err != nil {
		return nil, err
	}
	w, _, err := s.startWorker(ctx, "worker1", o.concurrency)
	if err != nil {
		return nil, err
	}
	read, err := s.runAndWait(ctx, readBench, nil)
	if err != nil {
		return nil, err
	}
	w.stop()
	h.say("api: run %s of %d units finished; driving the routes", read.RunID, read.Units)

	apiHTTP := &http.Client{Timeout: 60 * time.Second}
	hdr := http.Header{"Authorization": {"Bearer " + s.apiToken}}
	routes := []struct {
		name, method, path string
		rate               int
		target             bool
	}{
		{"POST /v1/benchmarks/{id}/runs", http.MethodPost, "/v1/benchmarks/" + postBench.String() + "/runs", o.postRate, false},
		{"GET /v1/runs/{id}", http.MethodGet, "/v1/runs/" + read.RunID, o.apiRate, true},
		{"GET /v1/runs/{id}/rankings", http.MethodGet, "/v1/runs/" + read.RunID + "/rankings", o.apiRate, true},
	}
	rep.LoadAverage[0] = loadAverage()
	for _, rt := range routes {
		if rt.method == http.MethodGet {
			status, body, err := get(ctx, apiHTTP, s.api.BaseURL()+rt.path, hdr)
			if err != nil {
				return nil, err
			}
			if status != http.StatusOK {
				return nil, fmt.Errorf("%s: status %d: %s", rt.name, status, body)
			}
		}
		var prof sync.WaitGroup
		if o.profileDir != "" {
			file := filepath.Join(o.profileDir, "api-"+slug(rt.name)+".cpu.pprof")
			secs := int((o.warmup + o.duration).Seconds())
			prof.Go(func() {
				if err := fetchProfile(ctx, s.apiMetrics, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), file); err != nil {
					h.say("api: no profile: %v", err)
					return
				}
				rep.Profiles = append(rep.Profiles, filepath.Base(file))
			})
		}
		tr := vegeta.NewStaticTargeter(vegeta.Target{Method: rt.method, URL: s.api.BaseURL() + rt.path, Header: hdr})
		cpu0, t0 := takeCPU(), time.Now()
		r, err := drive(rt.name, s.api.BaseURL()+rt.path, tr, rt.rate, o.warmup, o.duration)
		cpu := cpuUse(cpu0, takeCPU(), time.Since(t0).Seconds(), map[int]string{s.apiProc.pid(): "api", os.Getpid(): "load generator (bench)"})
		r.CPU = &cpu
		prof.Wait()
		if err != nil {
			return nil, err
		}
		r.Name = rt.name
		rep.Routes = append(rep.Routes, r)
		if rt.target {
			rep.Targets = append(rep.Targets, newTarget("api", rt.name+" p99", r.P99Ms, "ms", "<", targetAPIP99Ms))
		}
		h.say("api: %-30s %4d/s  p50 %6.2f ms  p95 %6.2f ms  p99 %6.2f ms  max %6.2f ms  success %.1f%%",
			rt.name, rt.rate, r.P50Ms, r.P95Ms, r.P99Ms, r.MaxMs, 100*r.Success)
	}
	rep.LoadAverage[1] = loadAverage()
	rep.GeneratedAt = time.Now().UTC().Truncate(time.Second)
	for _, r := range rep.Routes {
		if r.Success < 1 {
			return rep, fmt.Errorf("%s: %.1f%% of requests succeeded: %v", r.Name, 100*r.Success, r.Errors)
		}
	}
	return rep, nil
}

// slug makes a route name a file name: "GET /v1/runs/{id}" → "get-v1-runs-id".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

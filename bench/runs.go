package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sabe-dev/sabe/pkg/mockllm"
)

// The issues' targets (issue 19 raised throughput from 0.35, efficiency
// from 1.10 on 10,000 units, and set memory at 100 MB).
const (
	targetThroughputRatio = 0.5   // scored executions/s ÷ ceiling tasks/s, at least
	targetEfficiency      = 1.03  // wall time ÷ N·L/C, at most
	targetAPIP99Ms        = 25.0  // p99 of the GET routes at 500 req/s, under
	targetWorkerRSSMB     = 100.0 // peak RSS of one worker at concurrency 500, at most (MB = 10^6 bytes)
)

// Shape is a benchmark's size: models × questions × samples units.
type Shape struct {
	Models    int `json:"models"`
	Questions int `json:"questions"`
	Samples   int `json:"samples"`
	Units     int `json:"units"`
}

func shape(models, questions, samples int, scale float64) Shape {
	q := scaled(questions, scale)
	return Shape{Models: models, Questions: q, Samples: samples, Units: models * q * samples}
}

// Fleet is the worker processes a phase ran.
type Fleet struct {
	Workers     int `json:"worker_processes"`
	Concurrency int `json:"concurrency_per_worker"`
	// MockLatencyMs is the mock provider's response time.
	MockLatencyMs float64 `json:"mock_latency_ms"`
	// Env is what --worker-env set on the workers, over the defaults.
	Env map[string]string `json:"worker_env,omitempty"`
}

// ThroughputReport is the throughput section: scored executions persisted
// per second with a provider that answers at once, next to the ceiling
// measured in the same invocation.
type ThroughputReport struct {
	Phase       string     `json:"phase"`
	GeneratedAt time.Time  `json:"generated_at"`
	LoadAverage [2]float64 `json:"load_average_before_after"`
	Shape       Shape      `json:"shape"`
	Fleet       Fleet      `json:"fleet"`
	Run         RunTiming  `json:"run"`
	// ScoredPerSecond is scored executions ÷ the run's wall time (trigger
	// to final status).
	ScoredPerSecond float64 `json:"scored_executions_per_second"`
	// UnitsPerSecond is scored executions ÷ the time from the first unit's
	// start to the last one's end: the steady rate, without fan-out start
	// and finalization.
	UnitsPerSecond        float64 `json:"units_phase_per_second"`
	CeilingTasksPerSecond float64 `json:"ceiling_tasks_per_second"`
	RatioToCeiling        float64 `json:"ratio_to_ceiling"`
	PerUnit               PerUnit `json:"per_unit"`
	// Recorder is how the workers batched their executions.
	Recorder RecorderFigures `json:"recorder"`
	// Profiles are the files saved in --profile's directory.
	Profiles      []string `json:"profiles,omitempty"`
	ProfileErrors []string `json:"profile_errors,omitempty"`
	Targets       []Target `json:"targets"`
}

// PerUnit is the round trips a unit costs, on average over the run.
type PerUnit struct {
	// PGTransactions is the transactions of the run's database (the api's
	// polling of the run included) ÷ units.
	PGTransactions float64 `json:"postgresql_transactions"`
	// RedisCommands is the Redis server's commands ÷ units, by command
	// (those above 0.05 a unit), counted on the whole server: anything
	// else using it on the machine adds to them.
	RedisCommands      float64            `json:"redis_commands"`
	RedisCommandsByCmd map[string]float64 `json:"redis_commands_by_command"`
}

func (h *harness) runThroughput(ctx context.Context) (*ThroughputReport, error) {
	if h.ceiling == nil {
		// The ratio holds only against a ceiling measured now, on the
		// machine as loaded as it is now.
		if err := h.run(ctx, "ceiling"); err != nil {
			return nil, fmt.Errorf("ceiling: %w", err)
		}
	}
	o := h.o
	rep := &ThroughputReport{Phase: "throughput", Shape: shape(4, 2500, 2, o.scale),
		Fleet: Fleet{Workers: o.workers, Concurrency: o.concurrency, Env: o.workerEnv}, Targets: []Target{}}
	s, err := h.newStack(ctx, "throughput", true)
	if err != nil {
		return nil, err
	}
	defer s.close()
	benchID, err := h.prepare(ctx, s, 0, rep.Shape)
	if err != nil {
		return nil, err
	}
	metricsAddrs, err := h.startWorkers(ctx, s, o.workers, o.concurrency)
	if err != nil {
		return nil, err
	}
	h.say("throughput: %d units (%d models × %d questions × %d samples), %d workers × %d, zero-latency mock",
		rep.Shape.Units, rep.Shape.Models, rep.Shape.Questions, rep.Shape.Samples, o.workers, o.concurrency)
	pg0, err := s.pgTransactions(ctx)
	if err != nil {
		return nil, err
	}
	rc0, err := redisCommands(ctx, s.rdb)
	if err != nil {
		return nil, err
	}
	rep.LoadAverage[0] = loadAverage()
	var profiles sync.WaitGroup
	var profMu sync.Mutex
	during := func(string) {
		if o.profileDir == "" {
			return
		}
		fetch := func(worker int, addr, path, file string, after time.Duration) {
			profiles.Go(func() {
				select {
				case <-ctx.Done():
					return
				case <-time.After(after):
				}
				err := fetchProfile(ctx, addr, path, file)
				profMu.Lock()
				defer profMu.Unlock()
				if err != nil {
					rep.ProfileErrors = append(rep.ProfileErrors, fmt.Sprintf("worker%d: %v", worker, err))
					return
				}
				rep.Profiles = append(rep.Profiles, filepath.Base(file))
			})
		}
		for i, addr := range metricsAddrs {
			fetch(i+1, addr, fmt.Sprintf("/debug/pprof/profile?seconds=%d", o.profileSeconds),
				filepath.Join(o.profileDir, fmt.Sprintf("throughput-worker%d.cpu.pprof", i+1)), 0)
			// Where the handlers wait, which a CPU profile does not show:
			// every goroutine's stack, grouped, halfway through the CPU
			// profile.
			fetch(i+1, addr, "/debug/pprof/goroutine?debug=1",
				filepath.Join(o.profileDir, fmt.Sprintf("throughput-worker%d.goroutines.txt", i+1)), time.Duration(o.profileSeconds)*time.Second/2)
		}
	}
	rep.Run, err = s.runAndWait(ctx, benchID, during)
	profiles.Wait()
	if err != nil {
		return nil, err
	}
	rep.LoadAverage[1] = loadAverage()
	rep.GeneratedAt = time.Now().UTC().Truncate(time.Second)
	rc1, err := redisCommands(ctx, s.rdb)
	if err != nil {
		return nil, err
	}
	if rep.Recorder, err = recorderFigures(ctx, metricsAddrs); err != nil {
		return nil, fmt.Errorf("read the workers' metrics: %w", err)
	}
	s.stopProcs()
	pg1, err := s.pgTransactions(ctx)
	if err != nil {
		return nil, err
	}
	rep.PerUnit = perUnit(pg1-pg0, rc0, rc1, rep.Shape.Units)
	rep.ScoredPerSecond = round(float64(rep.Run.Scored)/rep.Run.WallSeconds, 0)
	if rep.Run.UnitsSeconds > 0 {
		rep.UnitsPerSecond = round(float64(rep.Run.Scored)/rep.Run.UnitsSeconds, 0)
	}
	rep.CeilingTasksPerSecond = h.ceiling.TasksPerSecond
	rep.RatioToCeiling = round(rep.ScoredPerSecond/rep.CeilingTasksPerSecond, 3)
	rep.Targets = append(rep.Targets, newTarget("throughput", "scored executions/s ÷ ceiling", rep.RatioToCeiling, "", ">=", targetThroughputRatio))
	h.say("throughput: %d scored executions in %.2fs (first unit after %.2fs, units %.2fs, finalize %.2fs): %.0f/s; ceiling %.0f/s; ratio %.3f (target >= %.2f)",
		rep.Run.Scored, rep.Run.WallSeconds, rep.Run.ToFirstUnitSeconds, rep.Run.UnitsSeconds, rep.Run.FinalizeSeconds,
		rep.ScoredPerSecond, rep.CeilingTasksPerSecond, rep.RatioToCeiling, targetThroughputRatio)
	h.say("throughput: per unit %.2f PostgreSQL transactions, %.1f Redis commands %v",
		rep.PerUnit.PGTransactions, rep.PerUnit.RedisCommands, rep.PerUnit.RedisCommandsByCmd)
	h.say("throughput: recorder %d batches, %.2f executions and %.2f ms each on average",
		rep.Recorder.Batches, rep.Recorder.MeanBatch, rep.Recorder.MeanWriteMs)
	for _, e := range rep.ProfileErrors {
		h.say("throughput: no profile: %s", e)
	}
	return rep, nil
}

// perUnit divides the round trips between two readings by the units.
func perUnit(pgTx int64, rc0, rc1 map[string]int64, units int) PerUnit {
	p := PerUnit{PGTransactions: round(float64(pgTx)/float64(units), 2), RedisCommandsByCmd: map[string]float64{}}
	var total int64
	for cmd, n := range rc1 {
		d := n - rc0[cmd]
		if cmd == "info" || d <= 0 {
			continue // the bench's own readings
		}
		total += d
		if v := round(float64(d)/float64(units), 2); v >= 0.05 {
			p.RedisCommandsByCmd[cmd] = v
		}
	}
	p.RedisCommands = round(float64(total)/float64(units), 2)
	return p
}

// EfficiencyReport is the efficiency section: a latency-bound run's wall
// time next to the ideal N·L/C, so what separates them is the system's
// own overhead (fan-out, scheduling, finalization). The mock's own service
// time, from its request log, tells how much of that is the mock taking
// longer than L.
type EfficiencyReport struct {
	Phase       string     `json:"phase"`
	GeneratedAt time.Time  `json:"generated_at"`
	LoadAverage [2]float64 `json:"load_average_before_after"`
	Shape       Shape      `json:"shape"`
	Fleet       Fleet      `json:"fleet"`
	// FleetConcurrency is C: worker processes × concurrency each.
	FleetConcurrency int       `json:"fleet_concurrency"`
	IdealSeconds     float64   `json:"ideal_seconds"`
	Run              RunTiming `json:"run"`
	// Ratio is the run's wall time ÷ the ideal.
	Ratio float64 `json:"ratio_to_ideal"`
	// Mock is the mock's service time per completion call.
	Mock MockService `json:"mock_service"`
	// MeasuredIdealSeconds is N·L/C with L the mock's measured mean, and
	// RatioToMeasured the wall time ÷ it: SABE's overhead alone.
	MeasuredIdealSeconds float64 `json:"measured_ideal_seconds"`
	RatioToMeasured      float64 `json:"ratio_to_measured_ideal"`
	// SlotOverheadMs is what a handler slot spent per unit beyond L while
	// the units ran, (units_seconds − waves·L)/waves with waves = N/C.
	// Split: the mock's mean beyond L; ClientMs, the call as the worker
	// timed it (run.mean_call_ms) beyond the mock's mean (the HTTP client
	// and transport); BetweenCallsMs, the slot's time per unit beyond the
	// call (the handler's work before and after it, the task's ack and the
	// next fetch).
	SlotOverheadMs float64 `json:"slot_overhead_ms"`
	ClientMs       float64 `json:"client_beyond_mock_ms"`
	BetweenCallsMs float64 `json:"between_calls_ms"`
	// FirstWaveMs is the time from the first call's arrival at the mock
	// to the C-th one's: how long the fan-out took to fill every slot. With
	// N a multiple of C every slot runs N/C units one after another, so a
	// slot that started late ends late by as much.
	FirstWaveMs float64  `json:"first_wave_spread_ms"`
	Targets     []Target `json:"targets"`
}

// MockService is the mock provider's service time per completion call,
// from the arrival of its request to its answer written (the request log's
// Time and Finished).
type MockService struct {
	Calls  int     `json:"calls"`
	MeanMs float64 `json:"mean_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// firstWave is the time from the first completion call's arrival to the
// c-th one's; zero with fewer than c calls.
func firstWave(log []mockllm.LogEntry, c int) time.Duration {
	var at []time.Time
	for _, e := range log {
		if e.Path == "/v1/chat/completions" {
			at = append(at, e.Time)
		}
	}
	if c < 1 || len(at) < c {
		return 0
	}
	slices.SortFunc(at, time.Time.Compare)
	return at[c-1].Sub(at[0])
}

// mockService measures the completion calls of the mock's request log.
func mockService(log []mockllm.LogEntry) MockService {
	var took []float64
	var sum float64
	for _, e := range log {
		if e.Path != "/v1/chat/completions" {
			continue
		}
		d := float64(e.Finished.Sub(e.Time)) / float64(time.Millisecond)
		took = append(took, d)
		sum += d
	}
	if len(took) == 0 {
		return MockService{}
	}
	slices.Sort(took)
	return MockService{Calls: len(took), MeanMs: round(sum/float64(len(took)), 2),
		P99Ms: round(quantile(took, 0.99), 2), MaxMs: round(took[len(took)-1], 2)}
}

func (h *harness) runEfficiency(ctx context.Context) (*EfficiencyReport, error) {
	o := h.o
	rep := &EfficiencyReport{Phase: "efficiency", Shape: shape(4, 500, 2, o.scale),
		Fleet: Fleet{Workers: o.workers, Concurrency: o.concurrency, MockLatencyMs: ms(o.latency), Env: o.workerEnv}, Targets: []Target{}}
	rep.FleetConcurrency = o.workers * o.concurrency
	rep.IdealSeconds = round(float64(rep.Shape.Units)*o.latency.Seconds()/float64(rep.FleetConcurrency), 3)
	s, err := h.newStack(ctx, "efficiency", true)
	if err != nil {
		return nil, err
	}
	defer s.close()
	benchID, err := h.prepare(ctx, s, o.latency, rep.Shape)
	if err != nil {
		return nil, err
	}
	metricsAddrs, err := h.startWorkers(ctx, s, o.workers, o.concurrency)
	if err != nil {
		return nil, err
	}
	h.say("efficiency: %d units, mock latency %s, %d workers × %d: ideal %.1fs", rep.Shape.Units, o.latency, o.workers, o.concurrency, rep.IdealSeconds)
	rep.LoadAverage[0] = loadAverage()
	var dumps sync.WaitGroup
	during := func(string) {
		if o.profileDir == "" {
			return
		}
		// Where the slots that are not in a call wait, halfway through.
		for i, addr := range metricsAddrs {
			dumps.Go(func() {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Duration(rep.IdealSeconds/2*1e9) * time.Nanosecond):
				}
				file := filepath.Join(o.profileDir, fmt.Sprintf("efficiency-worker%d.goroutines.txt", i+1))
				if err := fetchProfile(ctx, addr, "/debug/pprof/goroutine?debug=1", file); err != nil {
					h.say("efficiency: no goroutine dump: %v", err)
				}
			})
		}
	}
	rep.Run, err = s.runAndWait(ctx, benchID, during)
	dumps.Wait()
	if err != nil {
		return nil, err
	}
	rep.LoadAverage[1] = loadAverage()
	rep.GeneratedAt = time.Now().UTC().Truncate(time.Second)
	log, err := mockLog(ctx, s.mockURL)
	if err != nil {
		return nil, err
	}
	rep.Mock = mockService(log)
	rep.FirstWaveMs = ms(firstWave(log, rep.FleetConcurrency))
	rep.Ratio = round(rep.Run.WallSeconds/rep.IdealSeconds, 3)
	units, c := float64(rep.Shape.Units), float64(rep.FleetConcurrency)
	waves := units / c
	slotMs := rep.Run.UnitsSeconds * 1000 / waves
	rep.SlotOverheadMs = round(slotMs-ms(o.latency), 1)
	rep.BetweenCallsMs = round(slotMs-rep.Run.MeanCallMs, 1)
	if rep.Mock.MeanMs > 0 {
		rep.MeasuredIdealSeconds = round(units*rep.Mock.MeanMs/1000/c, 3)
		rep.RatioToMeasured = round(rep.Run.WallSeconds/rep.MeasuredIdealSeconds, 3)
		rep.ClientMs = round(rep.Run.MeanCallMs-rep.Mock.MeanMs, 1)
	}
	rep.Targets = append(rep.Targets, newTarget("efficiency", "wall time ÷ N·L/C", rep.Ratio, "", "<=", targetEfficiency))
	h.say("efficiency: %.2fs for an ideal %.1fs (first unit after %.2fs, units %.2fs, finalize %.2fs): ratio %.3f (target <= %.2f)",
		rep.Run.WallSeconds, rep.IdealSeconds, rep.Run.ToFirstUnitSeconds, rep.Run.UnitsSeconds, rep.Run.FinalizeSeconds, rep.Ratio, targetEfficiency)
	h.say("efficiency: the mock answered %d calls in %.1f ms on average (p99 %.1f, max %.1f): wall ÷ N·L_measured/C (%.2fs) %.3f",
		rep.Mock.Calls, rep.Mock.MeanMs, rep.Mock.P99Ms, rep.Mock.MaxMs, rep.MeasuredIdealSeconds, rep.RatioToMeasured)
	h.say("efficiency: a slot's unit took %.1f ms beyond L: the mock %.1f, the worker's HTTP client %.1f (a call %.1f ms as it timed it), between calls %.1f; the first %d calls arrived within %.0f ms",
		rep.SlotOverheadMs, rep.Mock.MeanMs-ms(o.latency), rep.ClientMs, rep.Run.MeanCallMs, rep.BetweenCallsMs, rep.FleetConcurrency, rep.FirstWaveMs)
	return rep, nil
}

// MemoryReport is the memory section: one worker's resident memory while
// it keeps many slow provider calls in flight.
type MemoryReport struct {
	Phase        string     `json:"phase"`
	GeneratedAt  time.Time  `json:"generated_at"`
	LoadAverage  [2]float64 `json:"load_average_before_after"`
	Shape        Shape      `json:"shape"`
	Fleet        Fleet      `json:"fleet"`
	IdealSeconds float64    `json:"ideal_seconds"`
	Run          RunTiming  `json:"run"`
	// IdleRSSMB is the worker's resident set once started, before the run.
	IdleRSSMB float64 `json:"idle_rss_mb"`
	// RSSFigures is the worker's resident set sampled from the trigger to
	// the run's end, and its peak read once the run is over.
	RSSFigures
	HeapProfile string   `json:"heap_profile,omitempty"`
	Targets     []Target `json:"targets"`
}

func (h *harness) runMemory(ctx context.Context) (*MemoryReport, error) {
	o := h.o
	const interval = 100 * time.Millisecond
	rep := &MemoryReport{Phase: "memory", Shape: shape(4, 625, 2, o.scale), Fleet: h.oneWorkerFleet(), Targets: []Target{}}
	rep.IdealSeconds = round(float64(rep.Shape.Units)*o.latency.Seconds()/float64(o.memoryConcurrency), 3)
	s, benchID, w, addr, err := h.oneWorkerStack(ctx, "memory", rep.Shape)
	if err != nil {
		return nil, err
	}
	defer s.close()
	idle, _, err := memStatus(w.pid())
	if err != nil {
		return nil, err
	}
	rep.IdleRSSMB = mb(idle)
	h.say("memory: one worker at concurrency %d, %d units, mock latency %s (idle RSS %.1f MB)", o.memoryConcurrency, rep.Shape.Units, o.latency, rep.IdleRSSMB)
	rep.LoadAverage[0] = loadAverage()

	sampler := sampleRSS(w.pid(), interval)
	var heap sync.WaitGroup
	during := func(string) {
		if o.profileDir == "" {
			return
		}
		// Half the ideal time in, every goroutine has a call in flight.
		heap.Go(func() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(rep.IdealSeconds/2*1e9) * time.Nanosecond):
			}
			file := filepath.Join(o.profileDir, "memory-worker.heap.pprof")
			if err := fetchProfile(ctx, addr, "/debug/pprof/heap", file); err != nil {
				h.say("memory: no heap profile: %v", err)
				return
			}
			rep.HeapProfile = filepath.Base(file)
		})
	}
	rep.Run, err = s.runAndWait(ctx, benchID, during)
	heap.Wait()
	figures, ferr := sampler.finish()
	if err != nil {
		return nil, err
	}
	if ferr != nil {
		return nil, ferr
	}
	rep.RSSFigures = figures
	rep.LoadAverage[1] = loadAverage()
	rep.GeneratedAt = time.Now().UTC().Truncate(time.Second)
	rep.Targets = append(rep.Targets, newTarget("memory", "worker peak RSS", rep.PeakRSSMB, "MB", "<=", targetWorkerRSSMB))
	h.say("memory: peak RSS %.1f MB (max sampled %.1f MB: %.1f MB its own, %.1f MB mapped files; idle %.1f MB; target <= %.0f MB); run %.2fs for an ideal %.1fs",
		rep.PeakRSSMB, rep.MaxSampledMB, rep.AnonMB, rep.FileMB, rep.IdleRSSMB, targetWorkerRSSMB, rep.Run.WallSeconds, rep.IdealSeconds)
	return rep, nil
}

// prepare starts the mock provider with latency and the api, and creates
// the benchmark of the given shape.
func (h *harness) prepare(ctx context.Context, s *stack, latency time.Duration, sh Shape) (uuid.UUID, error) {
	if err := s.startMock(ctx, latency); err != nil {
		return uuid.Nil, err
	}
	if err := s.startAPI(ctx); err != nil {
		return uuid.Nil, err
	}
	start := time.Now()
	id, err := s.fixture(ctx, s.phase, sh.Models, sh.Questions, sh.Samples)
	if err != nil {
		return uuid.Nil, fmt.Errorf("create the benchmark: %w", err)
	}
	h.say("%s: benchmark of %d questions created in %.1fs", s.phase, sh.Questions, time.Since(start).Seconds())
	return id, nil
}

// oneWorkerFleet is the fleet of the memory and bigrun phases: one worker
// at --memory-concurrency against the mock at --latency.
func (h *harness) oneWorkerFleet() Fleet {
	return Fleet{Workers: 1, Concurrency: h.o.memoryConcurrency, MockLatencyMs: ms(h.o.latency), Env: h.o.workerEnv}
}

// oneWorkerStack starts the stack of oneWorkerFleet for a phase: the mock,
// the api, a benchmark of shape sh and the worker (worker1), with its
// metrics listener. On error it has closed the stack.
func (h *harness) oneWorkerStack(ctx context.Context, phase string, sh Shape) (*stack, uuid.UUID, *proc, string, error) {
	s, err := h.newStack(ctx, phase, true)
	if err != nil {
		return nil, uuid.Nil, nil, "", err
	}
	benchID, err := h.prepare(ctx, s, h.o.latency, sh)
	if err != nil {
		s.close()
		return nil, uuid.Nil, nil, "", err
	}
	w, metricsAddr, err := s.startWorker(ctx, "worker1", h.o.memoryConcurrency)
	if err != nil {
		s.close()
		return nil, uuid.Nil, nil, "", err
	}
	return s, benchID, w, metricsAddr, nil
}

// startWorkers starts n worker processes and returns their metrics
// listeners.
func (h *harness) startWorkers(ctx context.Context, s *stack, n, concurrency int) ([]string, error) {
	addrs := make([]string, n)
	for i := range n {
		_, addr, err := s.startWorker(ctx, fmt.Sprintf("worker%d", i+1), concurrency)
		if err != nil {
			return nil, err
		}
		addrs[i] = addr
	}
	return addrs, nil
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func mb(bytes int64) float64 { return round(float64(bytes)/1e6, 1) }

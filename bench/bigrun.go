package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/sabe-dev/sabe/pkg/client"
	runs "github.com/sabe-dev/sabe/pkg/run"
)

// The big run's targets (issue 19, target 4).
const (
	targetBigRunFanOutSeconds = 60.0 // POST to every unit enqueued, under
	targetProgressP99Ms       = 10.0 // p99 of GET /v1/runs/{id} during the run, under
	// bigRunFanOutLimit is how long the phase waits for the fan-out
	// before it reports what was enqueued by then and goes on: ten times
	// the target.
	bigRunFanOutLimit = 10 * time.Minute
	// fanOutLogMarker is what the worker logs once a run's units are all
	// enqueued, with the attributes units and seconds.
	fanOutLogMarker = `msg="run fanned out"`
)

// BigRunReport is the bigrun section: a run of 1,000,000 units (4 models ×
// 10,000 questions × 25 samples) fanned out by one worker at concurrency
// 500 against the 1 s mock, its progress read at a fixed rate meanwhile,
// and every process's memory sampled; the run is cancelled once it has
// fanned out and gone on for a while, since the promises are about
// starting and following a big run, not about finishing one.
type BigRunReport struct {
	Phase       string     `json:"phase"`
	GeneratedAt time.Time  `json:"generated_at"`
	LoadAverage [2]float64 `json:"load_average_before_after"`
	Setup       string     `json:"setup"`
	Shape       Shape      `json:"shape"`
	Fleet       Fleet      `json:"fleet"`
	RunID       string     `json:"run_id"`
	// UnitQueue is the asynq queue the run's units go to (run.UnitQueue).
	UnitQueue string `json:"unit_queue"`
	FanOut    FanOut `json:"fan_out"`
	// AfterSeconds is how long the run went on once fanned out, with its
	// progress still read, before it was cancelled.
	AfterSeconds float64 `json:"after_fan_out_seconds"`
	// Progress is GET /v1/runs/{id} from right after the POST to the end
	// of AfterSeconds.
	Progress Route         `json:"progress"`
	Worker   ProcessMemory `json:"worker_memory"`
	API      ProcessMemory `json:"api_memory"`
	Redis    BigRunRedis   `json:"redis_memory"`
	Cancel   BigRunCancel  `json:"cancel"`
	// CPU is where CPU time went from the POST to the cancel.
	CPU     CPUUse   `json:"cpu"`
	Targets []Target `json:"targets"`
}

// FanOut is the time from just before the run's POST until every unit's
// task was enqueued, as asynq's Inspector saw the unit queue.
type FanOut struct {
	// PostSeconds is the POST's own answer time.
	PostSeconds float64 `json:"post_seconds"`
	// Enqueued is the units enqueued when the fan-out was timed: all of
	// them, unless it had not finished within bigRunFanOutLimit
	// (Complete false), and Seconds is then that limit.
	Enqueued       int     `json:"units_enqueued"`
	Complete       bool    `json:"complete"`
	Seconds        float64 `json:"seconds"`
	UnitsPerSecond float64 `json:"units_per_second"`
	// Polls is how many times the queue was read, every 100 ms.
	Polls int `json:"polls"`
	// EnqueuedSeries is the units enqueued so far, once a second.
	EnqueuedSeries []int `json:"enqueued_per_second"`
	// WorkerLog is what the worker said of the fan-out ("run fanned
	// out"), when it says it.
	WorkerLog *FanOutLog `json:"worker_log,omitempty"`
}

// FanOutLog is the worker's own "run fanned out" line.
type FanOutLog struct {
	Units   int     `json:"units"`
	Seconds float64 `json:"seconds"`
}

// ProcessMemory is a process's resident set before the run and sampled
// from the POST to the cancel.
type ProcessMemory struct {
	IdleRSSMB float64 `json:"idle_rss_mb"`
	RSSFigures
}

// BigRunRedis is the Redis server's memory before the run, once it had
// fanned out and at the end; the server is shared with other databases
// (the tests', other benches'), so the deltas are what to read.
type BigRunRedis struct {
	Before    RedisMemory `json:"before"`
	FannedOut RedisMemory `json:"fanned_out"`
	End       RedisMemory `json:"end"`
	// FannedOutDeltaMB and EndDeltaMB are used_memory less its value
	// before; PeakDeltaMB is used_memory_peak at the end less before (0
	// when the server had been higher before the run).
	FannedOutDeltaMB float64 `json:"fanned_out_delta_mb"`
	EndDeltaMB       float64 `json:"end_delta_mb"`
	PeakDeltaMB      float64 `json:"peak_delta_mb"`
}

// BigRunCancel is the run as its cancel found it.
type BigRunCancel struct {
	// Seconds is from the POST to the cancel.
	Seconds float64 `json:"seconds_after_post"`
	// Executed is the units succeeded or failed when the cancel was
	// answered.
	Executed int `json:"units_executed"`
	// Status is the run's status in the cancel's answer (its own when it
	// had finished before and was not cancelled).
	Status string `json:"status"`
}

func (h *harness) runBigRun(ctx context.Context) (*BigRunReport, error) {
	o := h.o
	const interval = 100 * time.Millisecond
	rep := &BigRunReport{Phase: "bigrun", Shape: shape(4, 10_000, 25, o.scale),
		Fleet: h.oneWorkerFleet(), AfterSeconds: o.bigRunAfter.Seconds(), Targets: []Target{},
		Setup: "one worker process at --memory-concurrency against the mock at --latency, the api; the run started with " +
			"POST /v1/benchmarks/{id}/runs; its unit queue read with asynq's Inspector every 100 ms (pending + active + " +
			"scheduled + retry + archived + completed + processed) until every unit is enqueued; GET /v1/runs/{id} driven by " +
			"vegeta at a constant rate meanwhile and for --bigrun-after; VmRSS of the worker and the api every 100 ms, " +
			"VmHWM at the end; then the run is cancelled, not waited for"}
	s, benchID, w, _, err := h.oneWorkerStack(ctx, "bigrun", rep.Shape)
	if err != nil {
		return nil, err
	}
	defer s.close()
	for _, p := range []struct {
		pid int
		m   *ProcessMemory
	}{{w.pid(), &rep.Worker}, {s.apiProc.pid(), &rep.API}} {
		rss, _, err := memStatus(p.pid)
		if err != nil {
			return nil, err
		}
		p.m.IdleRSSMB = mb(rss)
	}
	if rep.Redis.Before, err = redisMemory(ctx, s.rdb); err != nil {
		return nil, err
	}
	h.say("bigrun: %d units (%d models × %d questions × %d samples), one worker at concurrency %d, mock latency %s (idle RSS: worker %.1f MB, api %.1f MB)",
		rep.Shape.Units, rep.Shape.Models, rep.Shape.Questions, rep.Shape.Samples, o.memoryConcurrency, o.latency, rep.Worker.IdleRSSMB, rep.API.IdleRSSMB)
	rep.LoadAverage[0] = loadAverage()

	workerRSS, apiRSS := sampleRSS(w.pid(), interval), sampleRSS(s.apiProc.pid(), interval)
	cpu0 := takeCPU()
	t0 := time.Now()
	r, err := s.api.StartRun(ctx, benchID)
	if err != nil {
		return nil, err
	}
	rep.FanOut.PostSeconds = round(time.Since(t0).Seconds(), 3)
	rep.RunID = r.Id.String()
	rep.UnitQueue = runs.UnitQueue(&runs.Run{Trigger: runs.Trigger(r.Trigger),
		ModelCount: rep.Shape.Models, QuestionCount: rep.Shape.Questions, Samples: rep.Shape.Samples})

	const progressName = "GET /v1/runs/{id}"
	progressURL := s.api.BaseURL() + "/v1/runs/" + rep.RunID
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: progressURL,
		Header: http.Header{"Authorization": {"Bearer " + s.apiToken}}})
	attacker := vegeta.NewAttacker(vegeta.Client(loadClient()))
	defer attacker.Stop()
	var progressErr error
	var measuring sync.WaitGroup
	measuring.Go(func() {
		// Duration 0: until Stop.
		results := attacker.Attack(tr, vegeta.Rate{Freq: o.bigRunProgressRate, Per: time.Second}, 0, progressName)
		rep.Progress, progressErr = measure(progressName, progressURL, o.bigRunProgressRate, results)
	})

	fanned, err := s.waitEnqueued(ctx, asynq.NewInspectorFromRedisClient(s.rdb), rep.UnitQueue, rep.Shape.Units, interval, &rep.FanOut)
	if err != nil {
		return nil, err
	}
	rep.FanOut.Complete = rep.FanOut.Enqueued >= rep.Shape.Units
	rep.FanOut.Seconds = round(fanned.Sub(t0).Seconds(), 3)
	rep.FanOut.UnitsPerSecond = round(float64(rep.FanOut.Enqueued)/fanned.Sub(t0).Seconds(), 0)
	h.say("bigrun: %d of %d units enqueued on %q after %.1f s (%.0f units/s); following the run for %s more",
		rep.FanOut.Enqueued, rep.Shape.Units, rep.UnitQueue, rep.FanOut.Seconds, rep.FanOut.UnitsPerSecond, o.bigRunAfter)
	if rep.Redis.FannedOut, err = redisMemory(ctx, s.rdb); err != nil {
		return nil, err
	}
	if err := s.keepAlive(ctx, o.bigRunAfter); err != nil {
		return nil, err
	}
	if rep.Redis.End, err = redisMemory(ctx, s.rdb); err != nil {
		return nil, err
	}
	attacker.Stop()
	measuring.Wait()
	if progressErr != nil {
		return nil, progressErr
	}
	if rep.Worker.RSSFigures, err = workerRSS.finish(); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if rep.API.RSSFigures, err = apiRSS.finish(); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if rep.Cancel, err = s.cancelRun(ctx, r.Id); err != nil {
		return nil, err
	}
	rep.Cancel.Seconds = round(time.Since(t0).Seconds(), 3)
	rep.CPU = cpuUse(cpu0, takeCPU(), time.Since(t0).Seconds(), s.pids())
	rep.LoadAverage[1] = loadAverage()
	rep.GeneratedAt = time.Now().UTC().Truncate(time.Second)
	if line := s.firstLogLine(fanOutLogMarker); line != "" {
		if l, ok := parseFanOutLog(line); ok {
			rep.FanOut.WorkerLog = &l
		}
	}
	rep.Redis.FannedOutDeltaMB = round(rep.Redis.FannedOut.UsedMB-rep.Redis.Before.UsedMB, 1)
	rep.Redis.EndDeltaMB = round(rep.Redis.End.UsedMB-rep.Redis.Before.UsedMB, 1)
	rep.Redis.PeakDeltaMB = round(rep.Redis.End.PeakMB-rep.Redis.Before.PeakMB, 1)

	rep.Targets = append(rep.Targets,
		newTarget("bigrun", "fan-out of "+strconv.Itoa(rep.Shape.Units)+" units", rep.FanOut.Seconds, "s", "<", targetBigRunFanOutSeconds),
		newTarget("bigrun", progressName+" p99 during the run", rep.Progress.P99Ms, "ms", "<", targetProgressP99Ms),
		newTarget("bigrun", "worker peak RSS", rep.Worker.PeakRSSMB, "MB", "<=", targetWorkerRSSMB))
	h.printBigRun(rep)
	if rep.Progress.Success < 1 {
		return rep, fmt.Errorf("%s: %.1f%% of requests succeeded: %v", progressName, 100*rep.Progress.Success, rep.Progress.Errors)
	}
	return rep, nil
}

// printBigRun prints a line per figure of the bigrun section.
func (h *harness) printBigRun(rep *BigRunReport) {
	f := rep.FanOut
	unfinished := ""
	if !f.Complete {
		unfinished = fmt.Sprintf(" (UNFINISHED: %d of %d units by the %s limit)", f.Enqueued, rep.Shape.Units, bigRunFanOutLimit)
	}
	h.say("bigrun: fan-out %d units in %.2f s%s (POST answered in %.3f s): %.0f units/s (target < %.0f s)",
		rep.Shape.Units, f.Seconds, unfinished, f.PostSeconds, f.UnitsPerSecond, targetBigRunFanOutSeconds)
	if f.WorkerLog != nil {
		h.say("bigrun: the worker logged the run fanned out: %d units in %.2f s", f.WorkerLog.Units, f.WorkerLog.Seconds)
	} else {
		h.say("bigrun: the worker logged no %s line", fanOutLogMarker)
	}
	p := rep.Progress
	h.say("bigrun: progress %s %d/s, %d requests: p50 %.2f ms  p95 %.2f ms  p99 %.2f ms  max %.2f ms  success %.1f%% (target p99 < %.0f ms)",
		p.Name, p.RatePerSecond, p.Requests, p.P50Ms, p.P95Ms, p.P99Ms, p.MaxMs, 100*p.Success, targetProgressP99Ms)
	for _, m := range []struct {
		name string
		m    ProcessMemory
	}{{"worker", rep.Worker}, {"api", rep.API}} {
		h.say("bigrun: %s RSS idle %.1f MB, peak %.1f MB (max sampled %.1f MB over %d samples); per second %s",
			m.name, m.m.IdleRSSMB, m.m.PeakRSSMB, m.m.MaxSampledMB, m.m.Samples, seriesSummary(m.m.Series))
	}
	h.say("bigrun: worker peak RSS %.1f MB (%.1f MB its own, %.1f MB mapped files; target <= %.0f MB)",
		rep.Worker.PeakRSSMB, rep.Worker.AnonMB, rep.Worker.FileMB, targetWorkerRSSMB)
	rd := rep.Redis
	h.say("bigrun: redis used_memory %.1f MB before, %.1f MB fanned out (%+.1f), %.1f MB at the end (%+.1f); used_memory_peak %.1f → %.1f MB",
		rd.Before.UsedMB, rd.FannedOut.UsedMB, rd.FannedOutDeltaMB, rd.End.UsedMB, rd.EndDeltaMB, rd.Before.PeakMB, rd.End.PeakMB)
	h.say("bigrun: cancelled %.1f s after the POST with %d units executed (status %s)", rep.Cancel.Seconds, rep.Cancel.Executed, rep.Cancel.Status)
}

// seriesSummary is a per-second series' first, largest and last values.
func seriesSummary(xs []float64) string {
	if len(xs) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d values, first %.1f, max %.1f, last %.1f", len(xs), xs[0], slices.Max(xs), xs[len(xs)-1])
}

// waitEnqueued reads queue every interval until want units were enqueued
// on it, or bigRunFanOutLimit has passed, and returns when it last read
// it; it fills f's count, polls and series.
func (s *stack) waitEnqueued(ctx context.Context, ins *asynq.Inspector, queue string, want int, interval time.Duration, f *FanOut) (time.Time, error) {
	start := time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	perSecond := max(1, int(time.Second/interval))
	for {
		n, err := queueEnqueued(ins, queue)
		if err != nil {
			return time.Time{}, fmt.Errorf("read queue %s: %w", queue, err)
		}
		at := time.Now()
		f.Enqueued = n
		if f.Polls%perSecond == 0 {
			f.EnqueuedSeries = append(f.EnqueuedSeries, n)
		}
		f.Polls++
		if n >= want || at.Sub(start) > bigRunFanOutLimit {
			return at, nil
		}
		if err := s.procsAlive(); err != nil {
			return time.Time{}, err
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-t.C:
		}
	}
}

// queueEnqueued is how many tasks have been enqueued on queue so far; 0
// before the first (asynq knows a queue once a task went on it).
func queueEnqueued(ins *asynq.Inspector, queue string) (int, error) {
	qi, err := ins.GetQueueInfo(queue)
	if err == nil {
		return enqueued(qi), nil
	}
	// GetQueueInfo's not-found error is asynq-internal: ask for the list.
	qs, lerr := ins.Queues()
	if lerr == nil && !slices.Contains(qs, queue) {
		return 0, nil
	}
	return 0, errors.Join(err, lerr)
}

// enqueued counts the tasks ever enqueued on a queue: those still in it,
// in any state, and those processed, which have left it. ProcessedTotal
// is asynq's cumulative counter (Processed resets at midnight UTC); a
// task is counted once, since asynq removes it from active and counts it
// processed in one script.
func enqueued(qi *asynq.QueueInfo) int {
	return qi.Pending + qi.Active + qi.Scheduled + qi.Retry + qi.Archived + qi.Completed + qi.ProcessedTotal
}

// keepAlive waits d, failing when a process of the stack dies meanwhile.
func (s *stack) keepAlive(ctx context.Context, d time.Duration) error {
	end := time.After(d)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end:
			return s.procsAlive()
		case <-t.C:
			if err := s.procsAlive(); err != nil {
				return err
			}
		}
	}
}

// cancelRun cancels a run through the API unless it has finished.
func (s *stack) cancelRun(ctx context.Context, id uuid.UUID) (BigRunCancel, error) {
	r, err := s.api.GetRun(ctx, id)
	if err != nil {
		return BigRunCancel{}, err
	}
	if !client.Final(r) {
		if r, err = s.api.CancelRun(ctx, id); err != nil {
			return BigRunCancel{}, fmt.Errorf("cancel run %s: %w", id, err)
		}
	}
	return BigRunCancel{Executed: int(r.Progress.Succeeded + r.Progress.Failed), Status: string(r.Status)}, nil
}

// parseFanOutLog reads the attributes units and seconds of the worker's
// "run fanned out" line (slog's text format: key=value, a value quoted
// when it has spaces); seconds may be a number or a duration ("41.2s").
func parseFanOutLog(line string) (FanOutLog, bool) {
	if !strings.Contains(line, fanOutLogMarker) {
		return FanOutLog{}, false
	}
	var l FanOutLog
	var haveUnits, haveSeconds bool
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "units":
			n, err := strconv.Atoi(v)
			l.Units, haveUnits = n, err == nil
		case "seconds":
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				l.Seconds, haveSeconds = x, true
			} else if d, err := time.ParseDuration(v); err == nil {
				l.Seconds, haveSeconds = d.Seconds(), true
			}
		}
	}
	l.Seconds = round(l.Seconds, 3)
	return l, haveUnits && haveSeconds
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
	"github.com/sabe-dev/sabe/pkg/mockllm"
)

// The rate-limited run's provider and its targets (issue 19, target 3).
const (
	rateLimitRPM         = 600
	rateLimitConcurrency = 8
	rateLimitLatency     = 50 * time.Millisecond
	// targetRateLimitRatio is the run's wall time ÷ the time the limit
	// allows, at most.
	targetRateLimitRatio = 1.05
	// rateLimitWindow is the window the provider counts its limit in.
	rateLimitWindow = time.Minute
)

// RateLimitReport is the ratelimit section: a run against a provider
// limited to 600 requests a minute and 8 calls in flight, with a mock fast
// enough (50 ms) that the rate limit alone sets the pace. What the limit
// allows and what the provider saw are measured at the mock, from its
// request log.
type RateLimitReport struct {
	Phase       string     `json:"phase"`
	GeneratedAt time.Time  `json:"generated_at"`
	LoadAverage [2]float64 `json:"load_average_before_after"`
	Shape       Shape      `json:"shape"`
	Fleet       Fleet      `json:"fleet"`
	// RequestsPerMinute and MaxConcurrency are the provider's limits.
	RequestsPerMinute int `json:"requests_per_minute"`
	MaxConcurrency    int `json:"max_concurrency"`
	// IdealSeconds is the time the limit allows: N calls at the limit's
	// rate, N·60/rpm s (200 s for 2,000 calls at 600 a minute). SABE
	// paces its calls (pkg/resilience: GCRA with a burst of one second's
	// worth), so a minute's calls at once, which a provider counting any
	// 60 s would take, is not what it is measured against; its burst
	// saves it at most one second.
	IdealSeconds float64   `json:"ideal_seconds"`
	Run          RunTiming `json:"run"`
	// Ratio is the run's wall time (trigger to final status) ÷ the ideal.
	Ratio float64 `json:"ratio_to_ideal"`
	// MockRequests is the completion requests the mock answered, and
	// MockStatuses them by HTTP status.
	MockRequests int            `json:"mock_requests"`
	MockStatuses map[string]int `json:"mock_statuses"`
	// MaxPerWindow is the most requests that arrived at the mock within
	// any 60-second window (sliding, over every arrival).
	MaxPerWindow int `json:"max_requests_in_any_60s_window"`
	// MaxInFlight is the most requests the mock was answering at once.
	MaxInFlight int `json:"max_in_flight_at_mock"`
	// MockSpanSeconds runs from the first request's arrival at the mock
	// to the last one's end.
	MockSpanSeconds float64 `json:"mock_first_arrival_to_last_end_seconds"`
	// BreakerOpened tells whether any worker logged its circuit opening;
	// BreakerLog is the first such line.
	BreakerOpened bool   `json:"breaker_opened"`
	BreakerLog    string `json:"breaker_log,omitempty"`
	// LimitWaits is the workers' sabe_provider_limit_waits_total and
	// Rescheduled their sabe_provider_rescheduled_total, by label.
	LimitWaits  map[string]float64 `json:"limit_waits"`
	Rescheduled map[string]float64 `json:"rescheduled"`
	Targets     []Target           `json:"targets"`
}

// rateLimitIdeal is the time n calls take at rpm a minute.
func rateLimitIdeal(n, rpm int) time.Duration {
	return time.Duration(n) * time.Minute / time.Duration(rpm)
}

func (h *harness) runRateLimit(ctx context.Context) (*RateLimitReport, error) {
	o := h.o
	rep := &RateLimitReport{Phase: "ratelimit", Shape: shape(4, 250, 2, o.scale),
		Fleet:             Fleet{Workers: o.workers, Concurrency: o.concurrency, MockLatencyMs: ms(rateLimitLatency), Env: o.workerEnv},
		RequestsPerMinute: rateLimitRPM, MaxConcurrency: rateLimitConcurrency, Targets: []Target{}}
	rep.IdealSeconds = round(rateLimitIdeal(rep.Shape.Units, rateLimitRPM).Seconds(), 3)
	s, err := h.newStack(ctx, "ratelimit", true)
	if err != nil {
		return nil, err
	}
	defer s.close()
	benchID, err := h.prepare(ctx, s, rateLimitLatency, rep.Shape)
	if err != nil {
		return nil, err
	}
	if err := s.limitProvider(ctx, rateLimitRPM, rateLimitConcurrency); err != nil {
		return nil, err
	}
	metricsAddrs, err := h.startWorkers(ctx, s, o.workers, o.concurrency)
	if err != nil {
		return nil, err
	}
	h.say("ratelimit: %d units, mock latency %s, provider limited to %d/min and %d in flight, %d workers × %d: ideal %.1fs",
		rep.Shape.Units, rateLimitLatency, rateLimitRPM, rateLimitConcurrency, o.workers, o.concurrency, rep.IdealSeconds)
	rep.LoadAverage[0] = loadAverage()
	if rep.Run, err = s.runAndWait(ctx, benchID, nil); err != nil {
		return nil, err
	}
	rep.LoadAverage[1] = loadAverage()
	rep.GeneratedAt = time.Now().UTC().Truncate(time.Second)
	log, err := mockLog(ctx, s.mockURL)
	if err != nil {
		return nil, err
	}
	rep.MockStatuses = map[string]int{}
	var calls []mockllm.LogEntry
	for _, e := range log {
		if e.Path == "/v1/chat/completions" {
			calls = append(calls, e)
			rep.MockStatuses[strconv.Itoa(e.Status)]++
		}
	}
	rep.MockRequests = len(calls)
	rep.MaxPerWindow = maxInWindow(calls, rateLimitWindow)
	rep.MaxInFlight = maxInFlight(calls)
	if len(calls) > 0 {
		first, last := calls[0].Time, calls[0].Finished
		for _, c := range calls {
			first, last = minTime(first, c.Time), maxTime(last, c.Finished)
		}
		rep.MockSpanSeconds = round(last.Sub(first).Seconds(), 3)
	}
	if line := s.firstLogLine("circuit breaker opened"); line != "" {
		rep.BreakerOpened, rep.BreakerLog = true, line
	} else if line := s.firstLogLine("to=open"); line != "" {
		rep.BreakerOpened, rep.BreakerLog = true, line
	}
	if rep.LimitWaits, err = metricSums(ctx, metricsAddrs, "sabe_provider_limit_waits_total"); err != nil {
		return nil, fmt.Errorf("read the workers' metrics: %w", err)
	}
	if rep.Rescheduled, err = metricSums(ctx, metricsAddrs, "sabe_provider_rescheduled_total"); err != nil {
		return nil, fmt.Errorf("read the workers' metrics: %w", err)
	}
	rep.Ratio = round(rep.Run.WallSeconds/rep.IdealSeconds, 3)
	opened := 0.0
	if rep.BreakerOpened {
		opened = 1
	}
	rep.Targets = append(rep.Targets,
		newTarget("ratelimit", "wall time ÷ time the limit allows", rep.Ratio, "", "<=", targetRateLimitRatio),
		newTarget("ratelimit", "max requests in a 60 s window", float64(rep.MaxPerWindow), "", "<=", rateLimitRPM),
		newTarget("ratelimit", "max in flight at the mock", float64(rep.MaxInFlight), "", "<=", rateLimitConcurrency),
		newTarget("ratelimit", "breaker opened (1 = yes)", opened, "", "<=", 0))
	h.say("ratelimit: %.2fs for an ideal %.2fs (first unit after %.2fs, units %.2fs, finalize %.2fs): ratio %.3f (target <= %.2f)",
		rep.Run.WallSeconds, rep.IdealSeconds, rep.Run.ToFirstUnitSeconds, rep.Run.UnitsSeconds, rep.Run.FinalizeSeconds, rep.Ratio, targetRateLimitRatio)
	h.say("ratelimit: the mock saw %d requests %v, at most %d in a 60 s window (limit %d) and %d at once (limit %d); breaker opened: %v",
		rep.MockRequests, rep.MockStatuses, rep.MaxPerWindow, rateLimitRPM, rep.MaxInFlight, rateLimitConcurrency, rep.BreakerOpened)
	h.say("ratelimit: limit waits %v, rescheduled %v", rep.LimitWaits, rep.Rescheduled)
	return rep, nil
}

// limitProvider sets the limits of the stack's one provider.
func (s *stack) limitProvider(ctx context.Context, rpm, concurrency int) error {
	list, err := s.api.ListProviders(ctx, 10, "")
	if err != nil {
		return err
	}
	if len(list.Items) != 1 {
		return fmt.Errorf("want one provider, found %d", len(list.Items))
	}
	_, err = s.api.UpdateProvider(ctx, list.Items[0].Id, oapi.UpdateProviderRequest{
		Limits: &oapi.ProviderLimits{RequestsPerMinute: &rpm, MaxConcurrency: &concurrency},
	})
	return err
}

// mockLog reads the mock provider's request log.
func mockLog(ctx context.Context, mockURL string) ([]mockllm.LogEntry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mockURL+"/_mock/log", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /_mock/log: %s", resp.Status)
	}
	var log []mockllm.LogEntry
	if err := json.NewDecoder(resp.Body).Decode(&log); err != nil {
		return nil, fmt.Errorf("GET /_mock/log: %w", err)
	}
	return log, nil
}

// maxInWindow is the most calls that arrived within any window of length
// w, [t, t+w): every such window with the most arrivals in it can be slid
// to start at an arrival.
func maxInWindow(calls []mockllm.LogEntry, w time.Duration) int {
	ts := make([]time.Time, len(calls))
	for i, c := range calls {
		ts[i] = c.Time
	}
	slices.SortFunc(ts, time.Time.Compare)
	best, j := 0, 0
	for i := range ts {
		for j < len(ts) && ts[j].Sub(ts[i]) < w {
			j++
		}
		best = max(best, j-i)
	}
	return best
}

// maxInFlight is the most calls that were between their arrival and their
// end at once; a call ending at the instant another arrives does not
// overlap it.
func maxInFlight(calls []mockllm.LogEntry) int {
	type event struct {
		at    time.Time
		delta int
	}
	ev := make([]event, 0, 2*len(calls))
	for _, c := range calls {
		ev = append(ev, event{c.Time, 1}, event{c.Finished, -1})
	}
	slices.SortFunc(ev, func(a, b event) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta // ends first
	})
	best, n := 0, 0
	for _, e := range ev {
		n += e.delta
		best = max(best, n)
	}
	return best
}

// metricSums adds up a counter over the workers' metrics, by its labels
// (without the provider's id).
func metricSums(ctx context.Context, addrs []string, name string) (map[string]float64, error) {
	sums := map[string]float64{}
	for _, addr := range addrs {
		b, err := fetchInternal(ctx, addr, "/metrics")
		if err != nil {
			return nil, err
		}
		for line := range strings.Lines(string(b)) {
			addMetric(sums, name, line)
		}
	}
	return sums, nil
}

// addMetric adds a line of the Prometheus text format to sums when it is
// a series of the counter name, keyed by its labels less the provider's
// id.
func addMetric(sums map[string]float64, name, line string) {
	// Label values may hold spaces (reason="rate limit"): the value is
	// after the last one.
	line = strings.TrimSpace(line)
	i := strings.LastIndexByte(line, ' ')
	if i < 0 || !strings.HasPrefix(line, name+"{") {
		return
	}
	v, err := strconv.ParseFloat(line[i+1:], 64)
	if err != nil {
		return
	}
	var labels []string
	for l := range strings.SplitSeq(strings.TrimSuffix(strings.TrimPrefix(line[:i], name+"{"), "}"), ",") {
		if !strings.HasPrefix(l, "provider=") {
			labels = append(labels, strings.ReplaceAll(l, `"`, ""))
		}
	}
	sums[strings.Join(labels, ",")] += v
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Report is bench/results/latest.json: a section per phase, in the order
// `all` runs them, each with the time it was measured. A single phase
// merges its section into the report already there.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Command is the invocation that wrote the report last.
	Command string `json:"command"`
	Machine *Host  `json:"machine,omitempty"`
	// Targets gathers the targets of every section present, recomputed on
	// every write.
	Targets    []Target        `json:"targets"`
	Ceiling    json.RawMessage `json:"ceiling,omitempty"`
	Throughput json.RawMessage `json:"throughput,omitempty"`
	Efficiency json.RawMessage `json:"efficiency,omitempty"`
	RateLimit  json.RawMessage `json:"ratelimit,omitempty"`
	API        json.RawMessage `json:"api,omitempty"`
	Memory     json.RawMessage `json:"memory,omitempty"`
	BigRun     json.RawMessage `json:"bigrun,omitempty"`
	Judging    json.RawMessage `json:"judging,omitempty"`
	// Analytics keeps the format the analytics phase has always written.
	Analytics json.RawMessage `json:"analytics,omitempty"`
	Dashboard json.RawMessage `json:"dashboard,omitempty"`
	Export    json.RawMessage `json:"export,omitempty"`
}

// phaseNames are the phases in the order `all` runs them: the ceiling
// right before the throughput it is the reference of, analytics (the
// longest) last.
var phaseNames = []string{"ceiling", "throughput", "efficiency", "ratelimit", "judging", "api", "memory", "bigrun", "export", "analytics", "dashboard"}

func (r *Report) section(phase string) *json.RawMessage {
	switch phase {
	case "ceiling":
		return &r.Ceiling
	case "throughput":
		return &r.Throughput
	case "judging":
		return &r.Judging
	case "efficiency":
		return &r.Efficiency
	case "ratelimit":
		return &r.RateLimit
	case "api":
		return &r.API
	case "memory":
		return &r.Memory
	case "bigrun":
		return &r.BigRun
	case "analytics":
		return &r.Analytics
	case "dashboard":
		return &r.Dashboard
	case "export":
		return &r.Export
	}
	return nil
}

// Host is the machine the report was written on.
type Host struct {
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	MemoryGiB   int    `json:"memory_gib"`
	OS          string `json:"os"`
	Go          string `json:"go"`
	PostgreSQL  string `json:"postgresql"`
	TimescaleDB string `json:"timescaledb"`
}

// Target is one figure an issue promises, next to its target.
type Target struct {
	Phase  string  `json:"phase"`
	Figure string  `json:"figure"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	// Op and Limit are the target: Value Op Limit ("<=", ">=", "<").
	Op    string  `json:"op"`
	Limit float64 `json:"limit"`
	Meets bool    `json:"meets"`
}

// newTarget compares value with limit.
func newTarget(phase, figure string, value float64, unit, op string, limit float64) Target {
	t := Target{Phase: phase, Figure: figure, Value: value, Unit: unit, Op: op, Limit: limit}
	switch op {
	case "<":
		t.Meets = value < limit
	case "<=":
		t.Meets = value <= limit
	case ">=":
		t.Meets = value >= limit
	default:
		panic("bench: unknown target op " + op)
	}
	return t
}

// phaseResult is a phase's section, as it goes into the report.
type phaseResult struct {
	phase   string
	section any
}

// mergeReport puts the sections into the report in existing (none when
// existing is empty) and returns the new report. A report in the format
// written before phases had sections (the analytics report alone) becomes
// the analytics section.
func mergeReport(existing []byte, results []phaseResult, now time.Time, command string, m *Host) (Report, error) {
	var rep Report
	if len(bytes.TrimSpace(existing)) > 0 {
		var probe struct {
			Phase string `json:"phase"`
		}
		if err := json.Unmarshal(existing, &probe); err != nil {
			return Report{}, fmt.Errorf("read the existing report: %w", err)
		}
		if probe.Phase == "analytics" {
			rep.Analytics = json.RawMessage(bytes.TrimSpace(existing))
		} else if err := json.Unmarshal(existing, &rep); err != nil {
			return Report{}, fmt.Errorf("read the existing report: %w", err)
		}
	}
	for _, res := range results {
		sec := rep.section(res.phase)
		if sec == nil {
			return Report{}, fmt.Errorf("no section for phase %q", res.phase)
		}
		b, err := marshal(res.section, false)
		if err != nil {
			return Report{}, err
		}
		*sec = b
	}
	rep.GeneratedAt, rep.Command = now.UTC().Truncate(time.Second), command
	if m != nil {
		rep.Machine = m
	}
	rep.Targets = nil
	for _, phase := range phaseNames {
		sec := *rep.section(phase)
		if len(sec) == 0 {
			continue
		}
		ts, err := sectionTargets(phase, sec)
		if err != nil {
			return Report{}, fmt.Errorf("%s section: %w", phase, err)
		}
		rep.Targets = append(rep.Targets, ts...)
	}
	if rep.Targets == nil {
		rep.Targets = []Target{}
	}
	return rep, nil
}

// sectionTargets reads a section's targets. The analytics section predates
// them: its targets are the p95 of each route as served (not the ones
// computed anew, which are measured for information).
func sectionTargets(phase string, sec json.RawMessage) ([]Target, error) {
	if phase == "analytics" {
		var a AnalyticsReport
		if err := json.Unmarshal(sec, &a); err != nil {
			return nil, err
		}
		var ts []Target
		for _, r := range a.Routes {
			if strings.HasSuffix(r.Name, "(uncached)") {
				continue
			}
			ts = append(ts, newTarget(phase, r.Name+" p95", r.P95Ms, "ms", "<=", a.TargetP95Ms))
		}
		return ts, nil
	}
	var s struct {
		Targets []Target `json:"targets"`
	}
	if err := json.Unmarshal(sec, &s); err != nil {
		return nil, err
	}
	return s.Targets, nil
}

// marshal encodes v as JSON without escaping <, > and & (the targets
// say "<"), indented when asked.
func marshal(v any, indent bool) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeReport writes rep to path, through a temporary file so that an
// interrupted write leaves the previous report.
func writeReport(path string, rep Report) error {
	b, err := marshal(rep, true)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// printTargets prints the targets of a report as a table.
func printTargets(w io.Writer, ts []Target) {
	if len(ts) == 0 {
		return
	}
	withUnit := func(v float64, unit string) string {
		return strings.TrimSpace(strconv.FormatFloat(v, 'g', 4, 64) + " " + unit)
	}
	fmt.Fprintf(w, "\n%-11s %-34s %12s %12s  %s\n", "phase", "figure", "value", "target", "")
	for _, t := range ts {
		verdict := "ok"
		if !t.Meets {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "%-11s %-34s %12s %12s  %s\n", t.Phase, t.Figure, withUnit(t.Value, t.Unit), t.Op+" "+withUnit(t.Limit, t.Unit), verdict)
	}
}

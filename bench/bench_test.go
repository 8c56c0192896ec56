package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sabe-dev/sabe/internal/command"
	"github.com/sabe-dev/sabe/pkg/testenv"
	"github.com/sabe-dev/sabe/services/cli"
)

func TestQuantile(t *testing.T) {
	t.Parallel()
	// Type 7: h = p·(n-1); {1, 2, 3, 4, 10}: p50 is the 3rd value, p95 sits
	// at h = 3.8 between 4 and 10: 4 + 0.8·6 = 8.8, p100 is the max.
	xs := []float64{1, 2, 3, 4, 10}
	for _, c := range []struct{ p, want float64 }{{0.5, 3}, {0.95, 8.8}, {1, 10}, {0, 1}} {
		if got := quantile(xs, c.p); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := quantile([]float64{7}, 0.99); got != 7 {
		t.Errorf("quantile of one value = %v, want 7", got)
	}
}

// TestParseSeedOutput reads what seed-history really prints, so that the
// harness notices when the command's output changes.
func TestParseSeedOutput(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	var out bytes.Buffer
	args := []string{"seed-history", "--executions", "400", "--weeks", "2", "--models", "2", "--questions", "50", "--samples", "2"}
	getenv := func(k string) string {
		if k == "SABE_DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	if err := cli.Run(context.Background(), args, getenv, &out, cli.Services{}); err != nil {
		t.Fatalf("seed-history: %v\n%s", err, out.String())
	}
	id, runs, execs, err := parseSeedOutput(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 36 || runs != 2 || execs != 400 {
		t.Errorf("parsed benchmark %q, %d runs, %d executions; want an id, 2 and 400 from:\n%s", id, runs, execs, out.String())
	}
}

func TestMergeReport(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	ceiling := &CeilingReport{Phase: "ceiling", TasksPerSecond: 9000, Targets: []Target{}}
	tp := &ThroughputReport{Phase: "throughput", RatioToCeiling: 0.4,
		Targets: []Target{newTarget("throughput", "ratio", 0.4, "", ">=", 0.35)}}

	t.Run("New", func(t *testing.T) {
		t.Parallel()
		rep, err := mergeReport(nil, []phaseResult{{"ceiling", ceiling}, {"throughput", tp}}, now, "go run ./bench all", &Host{Cores: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Ceiling) == 0 || len(rep.Throughput) == 0 || len(rep.Analytics) != 0 {
			t.Fatalf("sections: ceiling %q, throughput %q, analytics %q", rep.Ceiling, rep.Throughput, rep.Analytics)
		}
		if len(rep.Targets) != 1 || !rep.Targets[0].Meets || rep.Targets[0].Phase != "throughput" {
			t.Errorf("targets = %+v, want the throughput one, met", rep.Targets)
		}
		if rep.Machine == nil || rep.Machine.Cores != 2 || !rep.GeneratedAt.Equal(now) {
			t.Errorf("machine %+v, generated at %v", rep.Machine, rep.GeneratedAt)
		}
	})

	t.Run("MergesIntoExisting", func(t *testing.T) {
		t.Parallel()
		first, err := mergeReport(nil, []phaseResult{{"ceiling", ceiling}, {"throughput", tp}}, now, "all", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := marshal(first, true)
		if err != nil {
			t.Fatal(err)
		}
		slow := &ThroughputReport{Phase: "throughput", RatioToCeiling: 0.2,
			Targets: []Target{newTarget("throughput", "ratio", 0.2, "", ">=", 0.35)}}
		mem := &MemoryReport{Phase: "memory", Targets: []Target{newTarget("memory", "rss", 90, "MB", "<", 150)}}
		rep, err := mergeReport(b, []phaseResult{{"throughput", slow}, {"memory", mem}}, now.Add(time.Hour), "throughput memory", nil)
		if err != nil {
			t.Fatal(err)
		}
		var c CeilingReport
		if err := json.Unmarshal(rep.Ceiling, &c); err != nil || c.TasksPerSecond != 9000 {
			t.Errorf("ceiling section not kept: %v %+v", err, c)
		}
		var got ThroughputReport
		if err := json.Unmarshal(rep.Throughput, &got); err != nil || got.RatioToCeiling != 0.2 {
			t.Errorf("throughput section not replaced: %v %+v", err, got)
		}
		// Targets follow the phase order, from the sections now present.
		if len(rep.Targets) != 2 || rep.Targets[0].Meets || rep.Targets[0].Value != 0.2 || rep.Targets[1].Phase != "memory" {
			t.Errorf("targets = %+v", rep.Targets)
		}
		if rep.Command != "throughput memory" {
			t.Errorf("command = %q", rep.Command)
		}
	})

	t.Run("OldAnalyticsReport", func(t *testing.T) {
		t.Parallel()
		old, err := marshal(AnalyticsReport{Phase: "analytics", TargetP95Ms: 50, MeetsTarget: true, Routes: []Route{
			{Name: "timeseries", P95Ms: 2.3}, {Name: "compare", P95Ms: 60}, {Name: "compare (uncached)", P95Ms: 90},
		}}, true)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := mergeReport(old, []phaseResult{{"ceiling", ceiling}}, now, "ceiling", nil)
		if err != nil {
			t.Fatal(err)
		}
		var a AnalyticsReport
		if err := json.Unmarshal(rep.Analytics, &a); err != nil || len(a.Routes) != 3 {
			t.Fatalf("the old report did not become the analytics section: %v %s", err, rep.Analytics)
		}
		// The routes as served have the p95 target; computed anew, none.
		if len(rep.Targets) != 2 || !rep.Targets[0].Meets || rep.Targets[1].Meets || rep.Targets[1].Figure != "compare p95" {
			t.Errorf("targets = %+v", rep.Targets)
		}
	})

	t.Run("ErrUnknownPhase", func(t *testing.T) {
		t.Parallel()
		if _, err := mergeReport(nil, []phaseResult{{"nope", ceiling}}, now, "", nil); err == nil {
			t.Error("merged a section for an unknown phase")
		}
	})
}

func TestNewTarget(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		value float64
		op    string
		limit float64
		meets bool
	}{
		{24.9, "<", 25, true}, {25, "<", 25, false},
		{1.10, "<=", 1.10, true}, {1.11, "<=", 1.10, false},
		{0.35, ">=", 0.35, true}, {0.34, ">=", 0.35, false},
	} {
		if got := newTarget("p", "f", c.value, "", c.op, c.limit).Meets; got != c.meets {
			t.Errorf("%v %s %v: meets = %v, want %v", c.value, c.op, c.limit, got, c.meets)
		}
	}
}

func TestParseMemStatus(t *testing.T) {
	t.Parallel()
	status := "Name:\tworker\nVmPeak:\t 1300000 kB\nVmHWM:\t  120500 kB\nVmRSS:\t   98304 kB\nThreads:\t12\n"
	rss, hwm, err := parseMemStatus(status)
	if err != nil || rss != 98304<<10 || hwm != 120500<<10 {
		t.Errorf("parseMemStatus = %d, %d, %v; want %d, %d", rss, hwm, err, 98304<<10, 120500<<10)
	}
	if _, _, err := parseMemStatus("Name:\tworker\n"); err == nil {
		t.Error("no error without VmRSS and VmHWM")
	}
	// This process's own status has both, and its resident set's parts.
	if rss, hwm, err := memStatus(os.Getpid()); err != nil || rss <= 0 || hwm < rss {
		t.Errorf("memStatus(self) = %d, %d, %v", rss, hwm, err)
	}
	if v, err := readStatus(os.Getpid(), "VmRSS", "RssAnon", "RssFile"); err != nil || v[1] <= 0 || v[2] <= 0 || v[1]+v[2] > v[0]+(1<<20) {
		t.Errorf("readStatus(self, VmRSS, RssAnon, RssFile) = %v, %v", v, err)
	}
}

func TestParseCPU(t *testing.T) {
	t.Parallel()
	// user nice system idle iowait irq softirq steal guest guest_nice
	busy, total := parseProcStat("cpu  100 0 50 800 50 0 0 0 30 0\ncpu0 50 0 25 400 25 0 0 0 15 0\n")
	if busy != 1.5 || total != 10 {
		t.Errorf("parseProcStat = %v busy, %v total; want 1.5, 10", busy, total)
	}
	comm, secs, ok := parsePidStat("4242 (postgres: bench) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 0 0")
	if !ok || comm != "postgres: bench" || secs != 3 {
		t.Errorf("parsePidStat = %q, %v, %v; want \"postgres: bench\", 3, true", comm, secs, ok)
	}
	a := cpuSnapshot{busy: 10, total: 100, byPid: map[int]procCPU{1: {"worker", 1}, 2: {"postgres", 5}}}
	b := cpuSnapshot{busy: 20, total: 120, byPid: map[int]procCPU{1: {"worker", 3}, 2: {"postgres", 6}, 3: {"postgres", 1}, 4: {"redis-server", 0.5}}}
	u := cpuUse(a, b, 2, map[int]string{1: "worker1"})
	if u.MachineBusy != 0.5 || u.Cores["worker1"] != 1 || u.Cores["postgresql (all)"] != 1 || u.Cores["redis (all)"] != 0.25 {
		t.Errorf("cpuUse = %+v", u)
	}
}

func TestProcLog(t *testing.T) {
	t.Parallel()
	l := &procLog{changed: make(chan struct{})}
	_, _, changed := l.find("api listening on ")
	fmt.Fprint(l, "level=INFO msg=migrated\napi listen")
	select {
	case <-changed:
	default:
		t.Fatal("a new line did not signal a change")
	}
	if _, ok, _ := l.find("api listening on "); ok {
		t.Fatal("found a marker in a line not yet ended")
	}
	fmt.Fprint(l, "ing on http://127.0.0.1:4321\n")
	if rest, ok, _ := l.find("api listening on "); !ok || rest != "http://127.0.0.1:4321" {
		t.Errorf("find = %q, %v", rest, ok)
	}
}

func TestSlugAndScaled(t *testing.T) {
	t.Parallel()
	if got := slug("GET /v1/runs/{id}/rankings"); got != "get-v1-runs-id-rankings" {
		t.Errorf("slug = %q", got)
	}
	if scaled(2500, 0.1) != 250 || scaled(5, 0.01) != 1 || scaled(20000, 1) != 20000 {
		t.Errorf("scaled: %d %d %d", scaled(2500, 0.1), scaled(5, 0.01), scaled(20000, 1))
	}
	if s := shape(4, 2500, 2, 1); s.Units != 20000 {
		t.Errorf("shape units = %d, want 20000", s.Units)
	}
}

func TestPerUnit(t *testing.T) {
	t.Parallel()
	info := "# Commandstats\r\ncmdstat_evalsha:calls=1500,usec=900,usec_per_call=0.6\r\ncmdstat_info:calls=7,usec=1\r\ncmdstat_get:calls=20,usec=5\r\n"
	rc1 := parseCommandStats(info)
	if rc1["evalsha"] != 1500 || rc1["get"] != 20 || rc1["info"] != 7 {
		t.Fatalf("parseCommandStats = %v", rc1)
	}
	p := perUnit(250, map[string]int64{"evalsha": 500, "info": 2}, rc1, 100)
	// evalsha 10 a unit, get 0.2; info is the bench's own.
	if p.PGTransactions != 2.5 || p.RedisCommands != 10.2 || p.RedisCommandsByCmd["evalsha"] != 10 || p.RedisCommandsByCmd["get"] != 0.2 {
		t.Errorf("perUnit = %+v", p)
	}
	if _, ok := p.RedisCommandsByCmd["info"]; ok {
		t.Error("counted the bench's own INFO")
	}
}

func TestRun_CommandLine(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &out); err != nil || !strings.Contains(out.String(), "-profile") {
		t.Errorf("--help: err = %v, output %q", err, out.String())
	}
	for _, args := range [][]string{nil, {"--bogus"}, {"no-such-phase"}} {
		var ue *command.UsageError
		if err := run(context.Background(), args, &bytes.Buffer{}); !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// fakeClock is a clock that moves only when the test moves it; its
// ticks come when the test sends them.
type fakeClock struct {
	now   time.Time
	ticks chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), ticks: make(chan time.Time)}
}

func (c *fakeClock) Now() time.Time                                { return c.now }
func (c *fakeClock) Tick(time.Duration) (<-chan time.Time, func()) { return c.ticks, func() {} }
func (c *fakeClock) advance(d time.Duration)                       { c.now = c.now.Add(d) }

var _ clock = (*fakeClock)(nil)

var progressRunID = uuid.MustParse("0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f")

// runAt is the run of the progress tests in status st with done of 100
// units answered, failed of them failed, having cost spent.
func runAt(st oapi.RunStatus, done, failed int64, spent float64) oapi.Run {
	return oapi.Run{
		Id: progressRunID, Status: st, CostUsd: spent,
		Progress: oapi.RunProgress{Total: 100, Answered: done, Succeeded: done - failed, Failed: failed},
	}
}

func TestProgress_Lines(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	var out bytes.Buffer
	e := &env{io: IO{Err: &out}, clock: clk}
	p := e.newProgress(100)

	p.observe(runAt(oapi.RunStatusQueued, 0, 0, 0))
	p.observe(runAt(oapi.RunStatusQueued, 0, 0, 0)) // no news: no line
	clk.advance(10 * time.Second)
	p.observe(runAt(oapi.RunStatusRunning, 20, 1, 0.05)) // a new status: a line
	p.observe(runAt(oapi.RunStatusRunning, 30, 1, 0.07)) // same status: none
	clk.advance(10 * time.Second)
	p.tick() // the interval: the last news, at 30 units in 20s
	clk.advance(30 * time.Second)
	p.end(runAt(oapi.RunStatusCompleted, 100, 3, 0.42))

	want := strings.Join([]string{
		"run 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f queued 0/100 (0%) failed 0 spent $0.0000",
		"run 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f running 20/100 (20%) 2.0 units/s eta 40s failed 1 spent $0.0500",
		"run 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f running 30/100 (30%) 1.5 units/s eta 47s failed 1 spent $0.0700",
		"run 0190b3a4-7c1e-7d2a-9f00-3c5e2a1b4d6f completed 100/100 (100%) failed 3 spent $0.4200",
	}, "\n") + "\n"
	if got := out.String(); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
}

func TestProgress_Bar(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	var out bytes.Buffer
	e := &env{io: IO{Err: &out, Terminal: true, Width: 140}, clock: clk}
	p := e.newProgress(100)

	p.observe(runAt(oapi.RunStatusRunning, 10, 0, 0.01))
	clk.advance(barRedraw / 2)
	p.observe(runAt(oapi.RunStatusRunning, 20, 0, 0.02)) // too soon: not drawn
	clk.advance(barRedraw)
	p.observe(runAt(oapi.RunStatusRunning, 30, 2, 0.03))
	clk.advance(time.Second)
	p.end(runAt(oapi.RunStatusPartial, 100, 4, 0.42))

	got := out.String()
	for _, want := range []string{"(10/100)", "(30/100)", "failed 2", "(100/100)", "partial", "failed 4 spent $0.4200"} {
		if !strings.Contains(got, want) {
			t.Errorf("bar output lacks %q:\n%q", want, got)
		}
	}
	if strings.Contains(got, "(20/100)") {
		t.Errorf("bar redrawn sooner than %s after the last time:\n%q", barRedraw, got)
	}
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("the bar's last render does not end its line: %q", got)
	}
	// Speed and time left are sabe's, on its clock: 20 units in 150ms.
	if !strings.Contains(got, "133.3 units/s eta 1s") {
		t.Errorf("bar output lacks the speed on sabe's clock:\n%q", got)
	}
}

func TestProgress_Quiet(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	e := &env{io: IO{Err: &out, Terminal: true}, clock: newFakeClock()}
	e.global.quiet = true
	p := e.newProgress(100)
	p.observe(runAt(oapi.RunStatusRunning, 10, 0, 0))
	p.end(runAt(oapi.RunStatusCompleted, 100, 0, 0))
	if out.Len() != 0 {
		t.Errorf("--quiet progress printed %q", out.String())
	}
}

func TestGates_Parse(t *testing.T) {
	t.Parallel()
	cmd := &cobra.Command{Use: "x"}
	for _, tc := range []struct {
		name    string
		in      []string
		wantErr string
	}{
		{"OKAll", []string{"0.8"}, ""},
		{"OKPerModel", []string{"0.7", "gpt-4o=0.85", "org/model=v2=1"}, ""},
		{"ErrRange", []string{"1.5"}, "a score is a number from 0 to 1"},
		{"ErrNotNumber", []string{"gpt-4o=high"}, "a score is a number"},
		{"ErrNoModel", []string{"=0.5"}, "give SCORE or MODEL=SCORE"},
		{"ErrTwoOverall", []string{"0.5", "0.6"}, "one threshold for every model"},
		{"ErrModelTwice", []string{"a=0.5", "a=0.6"}, `model "a" is given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := gates{failUnder: tc.in}
			err := g.parse(cmd)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("parse(%q) = %v", tc.in, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("parse(%q) = %v, want an error with %q", tc.in, err, tc.wantErr)
			}
		})
	}
	g := gates{failUnder: []string{"0.7", "org/model=v2=1"}}
	if err := g.parse(cmd); err != nil || *g.all != 0.7 || len(g.perModel) != 1 || g.perModel[0] != (modelThreshold{"org/model=v2", 1}) {
		t.Errorf("parsed %+v, %v", g, err)
	}
}

func TestGates_ScoreChecks(t *testing.T) {
	t.Parallel()
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	r := oapi.Run{Config: oapi.RunConfig{ModelIds: []uuid.UUID{a, b, c}}}
	rk := oapi.Rankings{Overall: []oapi.RankingEntry{
		{ModelId: a, ModelName: "strong", Score: 0.9},
		{ModelId: b, ModelName: "weak", Score: 0.6},
	}}
	all := 0.7
	g := gates{all: &all, perModel: []modelThreshold{{"strong", 0.95}}}
	got := g.scoreChecks(r, rk)
	if len(got) != 3 {
		t.Fatalf("checks = %+v, want 3", got)
	}
	for i, want := range []struct {
		model  string
		min    float64
		passed bool
	}{{"strong", 0.95, false}, {"weak", 0.7, false}, {c.String(), 0.7, false}} {
		if got[i].Model != want.model || got[i].Min != want.min || got[i].Passed != want.passed {
			t.Errorf("check %d = %+v, want %+v", i, got[i], want)
		}
	}
	if got[2].Score != nil {
		t.Errorf("an unranked model has a score: %v", *got[2].Score)
	}
	all = 0.5
	g = gates{all: &all}
	for _, s := range g.scoreChecks(oapi.Run{Config: oapi.RunConfig{ModelIds: []uuid.UUID{a, b}}}, rk) {
		if !s.Passed {
			t.Errorf("%s at %.2f fails --fail-under 0.5", s.Model, *s.Score)
		}
	}
}

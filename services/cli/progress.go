package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sabe-dev/sabe/pkg/client"
	"github.com/sabe-dev/sabe/pkg/httpapi/oapi"
)

// clock is where progress reports read the time: the wall clock, or a
// test's, which moves only when the test says so.
type clock interface {
	Now() time.Time
	// Tick returns a channel that receives every d, and stops it.
	Tick(d time.Duration) (<-chan time.Time, func())
}

// wallClock is time itself.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) Tick(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// clk is the env's clock, the wall clock unless a test set one.
func (e *env) clk() clock {
	if e.clock != nil {
		return e.clock
	}
	return wallClock{}
}

// progress shows a run's progress while sabe waits for it. The waiting
// loop calls observe with every news of the run, tick every interval, and
// end once with the run as it ended; clear takes the progress off the
// screen before a question is asked there.
type progress interface {
	observe(r oapi.Run)
	tick()
	end(r oapi.Run)
	clear()
}

// newProgress is the progress for e's stderr: a live bar on a terminal,
// plain lines in a log, nothing with --quiet. --json leaves it on: the
// JSON goes to stdout, so `--json > run.json` in CI keeps both.
func (e *env) newProgress(total int64) progress {
	switch {
	case e.global.quiet:
		return quietProgress{}
	case e.io.Terminal:
		return newBarProgress(e.io.Err, e.clk(), total, e.io.Width)
	}
	return &lineProgress{w: e.io.Err, m: meter{clock: e.clk()}}
}

// meter works out a run's speed and what is left from what it observes:
// units answered per second since sabe began to watch, and the time the
// rest takes at that speed.
type meter struct {
	clock clock
	// since and from are when the first unit was seen answered, and how
	// many were answered then.
	since time.Time
	from  int64
	begun bool
}

// runStats is what a progress report says about a run.
type runStats struct {
	status               oapi.RunStatus
	done, total, failed  int64
	spent                float64
	perSecond            float64 // 0: not known yet
	eta                  time.Duration
	finished, speedKnown bool
}

// stats reads r at the meter's now.
func (m *meter) stats(r oapi.Run) runStats {
	p := r.Progress
	s := runStats{
		status: r.Status, done: p.Answered, total: p.Total, failed: p.Failed,
		spent: r.CostUsd + r.JudgeCostUsd, finished: client.Final(r),
	}
	if p.SpentUsd != nil {
		s.spent = *p.SpentUsd // live, judges included, while the run goes
	}
	now := m.clock.Now()
	if !m.begun {
		m.since, m.from, m.begun = now, s.done, true
		return s
	}
	if el := now.Sub(m.since); el > 0 && s.done > m.from {
		s.perSecond = float64(s.done-m.from) / el.Seconds()
		s.speedKnown = true
		if left := s.total - s.done; left > 0 {
			s.eta = time.Duration(float64(left) / s.perSecond * float64(time.Second)).Round(time.Second)
		}
	}
	return s
}

// pct is done as a whole percentage of total.
func (s runStats) pct() int64 {
	if s.total <= 0 {
		return 0
	}
	return 100 * s.done / s.total
}

// detail is the part of a report after the count: speed, time left,
// failures and spend, as in "35.2 units/s eta 51s failed 3 spent $0.42".
func (s runStats) detail() string {
	var b strings.Builder
	if s.speedKnown && !s.finished {
		fmt.Fprintf(&b, "%.1f units/s eta %s ", s.perSecond, s.eta)
	}
	fmt.Fprintf(&b, "failed %d spent %s", s.failed, usd(s.spent))
	return b.String()
}

// progressLine is one plain report, as CI logs show it:
// "run 0190b3a4-…-3c5e2a1b4d6f running 1200/3000 (40%) 35.2 units/s eta 51s failed 3 spent $0.4200".
// The id is whole: run ids are UUIDv7, whose first characters are the
// time, the same for runs started close together.
func progressLine(r oapi.Run, s runStats) string {
	return fmt.Sprintf("run %s %s %d/%d (%d%%) %s\n", r.Id, s.status, s.done, s.total, s.pct(), s.detail())
}

// lineProgress writes a line at the first news, whenever the status
// changes, at every tick and at the end: a log shows the run alive
// without a line per unit.
type lineProgress struct {
	w       io.Writer
	m       meter
	last    oapi.Run
	started bool
}

func (p *lineProgress) observe(r oapi.Run) {
	changed := !p.started || r.Status != p.last.Status
	p.last, p.started = r, true
	if changed {
		p.write(r)
	}
}

func (p *lineProgress) tick() {
	if p.started {
		p.write(p.last)
	}
}

func (p *lineProgress) end(r oapi.Run) {
	p.last, p.started = r, true
	p.write(r)
}

func (p *lineProgress) clear() {}

func (p *lineProgress) write(r oapi.Run) {
	fmt.Fprint(p.w, progressLine(r, p.m.stats(r)))
}

// barRedraw is the least time between two redraws of the bar: about ten a
// second, fast enough to look live, slow enough not to flood a slow
// terminal (an SSH session) when events arrive in bursts.
const barRedraw = 100 * time.Millisecond

// barProgress is a live bar on a terminal:
// " 40% |██████      | (1200/3000) running 35.2 units/s eta 51s failed 3 spent $0.4200".
// The bar itself is schollz/progressbar's; speed and time left come from
// the meter, on sabe's clock, so that they mean what the plain lines mean.
type barProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	m     meter
	clock clock
	drawn time.Time
	last  oapi.Run
	total int64
	seen  bool
}

func newBarProgress(w io.Writer, c clock, total int64, width int) *barProgress {
	barWidth := 30
	if width > 0 && width < 120 {
		barWidth = max(10, width-90)
	}
	total = max(total, 1)
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(barWidth),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionShowDescriptionAtLineEnd(),
		// sabe throttles the redraws itself, on its own clock.
		progressbar.OptionThrottle(0),
		progressbar.OptionEnableColorCodes(false),
	)
	return &barProgress{w: w, bar: bar, m: meter{clock: c}, clock: c, total: total}
}

func (p *barProgress) observe(r oapi.Run) {
	due := p.clock.Now().Sub(p.drawn) >= barRedraw
	if !p.seen || r.Status != p.last.Status || due {
		p.draw(r)
	}
	p.last, p.seen = r, true
}

// tick redraws the last news, so that the time left moves on while no
// unit finishes.
func (p *barProgress) tick() {
	if p.seen {
		p.draw(p.last)
	}
}

func (p *barProgress) end(r oapi.Run) {
	p.draw(r)
	fmt.Fprintln(p.w)
	p.last, p.seen = r, true
}

func (p *barProgress) clear() {
	if p.seen {
		_ = p.bar.Clear()
	}
}

func (p *barProgress) draw(r oapi.Run) {
	s := p.m.stats(r)
	if t := max(s.total, 1); t != p.total {
		p.total = t
		p.bar.ChangeMax64(t)
	}
	p.bar.Describe(fmt.Sprintf("%s %s", s.status, s.detail()))
	_ = p.bar.Set64(min(s.done, p.total))
	p.drawn = p.clock.Now()
}

// quietProgress shows nothing.
type quietProgress struct{}

func (quietProgress) observe(oapi.Run) {}
func (quietProgress) tick()            {}
func (quietProgress) end(oapi.Run)     {}
func (quietProgress) clear()           {}

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memStatus reads a process's resident set (VmRSS) and its peak (VmHWM)
// from /proc, in bytes.
func memStatus(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	return parseMemStatus(string(b))
}

// parseMemStatus reads VmRSS and VmHWM ("VmHWM:   123456 kB") from the
// text of /proc/<pid>/status.
func parseMemStatus(status string) (rss, hwm int64, err error) {
	var found int
	for _, ln := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(ln, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("unexpected %s line %q", k, ln)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("unexpected %s line %q", k, ln)
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
		found++
	}
	if found != 2 {
		return 0, 0, errors.New("no VmRSS and VmHWM lines")
	}
	return rss, hwm, nil
}

// RSSFigures is what sampling a process's resident set found: its peak and
// how it went over time. MB are 10^6 bytes.
type RSSFigures struct {
	// PeakRSSMB is VmHWM, the kernel's own peak of the resident set, read
	// when the sampling ends (no sample can miss it), or the largest sample
	// when that is higher.
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	PeakRSSBytes   int64   `json:"peak_rss_bytes"`
	MaxSampledMB   float64 `json:"max_sampled_rss_mb"`
	Samples        int     `json:"samples"`
	SampleInterval string  `json:"sample_interval"`
	// Series is the sampled resident set in MB, one value per second.
	Series []float64 `json:"rss_mb_per_second"`
}

// rssSampler reads a process's VmRSS at an interval until finish; it stops
// early when the process is gone.
type rssSampler struct {
	pid  int
	stop chan struct{}
	wg   sync.WaitGroup
	max  int64
	f    RSSFigures
}

// sampleRSS starts sampling pid's resident set every interval.
func sampleRSS(pid int, interval time.Duration) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{}), f: RSSFigures{SampleInterval: interval.String()}}
	perSecond := max(1, int(time.Second/interval))
	s.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			rss, _, err := memStatus(pid)
			if err != nil {
				return
			}
			s.max = max(s.max, rss)
			s.f.Samples++
			if i%perSecond == 0 {
				s.f.Series = append(s.f.Series, round(mb(rss), 1))
			}
		}
	})
	return s
}

// finish stops the sampling and reads the process's VmHWM, which must
// still be running.
func (s *rssSampler) finish() (RSSFigures, error) {
	close(s.stop)
	s.wg.Wait()
	_, hwm, err := memStatus(s.pid)
	if err != nil {
		return s.f, err
	}
	// The kernel keeps VmRSS from per-thread counters that lag a little,
	// so a sample may top VmHWM by a few pages: the peak is the larger.
	s.f.PeakRSSBytes = max(hwm, s.max)
	s.f.PeakRSSMB, s.f.MaxSampledMB = mb(s.f.PeakRSSBytes), mb(s.max)
	return s.f, nil
}

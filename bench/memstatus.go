package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memStatus reads a process's resident set (VmRSS) and its peak (VmHWM)
// from /proc, in bytes.
func memStatus(pid int) (rss, hwm int64, err error) {
	v, err := readStatus(pid, "VmRSS", "VmHWM")
	if err != nil {
		return 0, 0, err
	}
	return v[0], v[1], nil
}

func readStatus(pid int, keys ...string) ([]int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil, err
	}
	return parseStatus(string(b), keys...)
}

// parseMemStatus reads VmRSS and VmHWM from the text of /proc/<pid>/status.
func parseMemStatus(status string) (rss, hwm int64, err error) {
	v, err := parseStatus(status, "VmRSS", "VmHWM")
	if err != nil {
		return 0, 0, err
	}
	return v[0], v[1], nil
}

// parseStatus reads the sizes of keys ("VmHWM:   123456 kB") from the
// text of /proc/<pid>/status, in bytes, in the order of keys.
func parseStatus(status string, keys ...string) ([]int64, error) {
	v := make([]int64, len(keys))
	found := 0
	for _, ln := range strings.Split(status, "\n") {
		k, rest, ok := strings.Cut(ln, ":")
		i := slices.Index(keys, k)
		if !ok || i < 0 {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return nil, fmt.Errorf("unexpected %s line %q", k, ln)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("unexpected %s line %q", k, ln)
		}
		v[i] = n << 10
		found++
	}
	if found != len(keys) {
		return nil, fmt.Errorf("no %s lines", strings.Join(keys, " and "))
	}
	return v, nil
}

// RSSFigures is what sampling a process's resident set found: its peak and
// how it went over time. MB are 10^6 bytes.
type RSSFigures struct {
	// PeakRSSMB is VmHWM, the kernel's own peak of the resident set, read
	// when the sampling ends (no sample can miss it), or the largest sample
	// when that is higher.
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	MaxSampledMB float64 `json:"max_sampled_rss_mb"`
	// AnonMB and FileMB split the largest sample: the process's own memory
	// (heap, stacks) and mapped files (the binary's pages).
	AnonMB         float64 `json:"max_sample_anon_mb"`
	FileMB         float64 `json:"max_sample_file_mb"`
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
			// One read of the status gives the resident set and its
			// parts: the process's own memory (RssAnon: heap, stacks)
			// and mapped files (RssFile: mostly the binary's own pages,
			// which the kernel may map 2 MB at a time).
			v, err := readStatus(pid, "VmRSS", "RssAnon", "RssFile")
			if err != nil {
				return
			}
			rss := v[0]
			if rss > s.max {
				s.max = rss
				s.f.AnonMB, s.f.FileMB = round(mb(v[1]), 1), round(mb(v[2]), 1)
			}
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

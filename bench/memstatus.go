package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
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

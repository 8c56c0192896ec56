package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
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

// rssParts reads how much of a process's resident set is its own memory
// (RssAnon: heap, stacks) and how much is mapped files (RssFile: mostly
// the binary's own pages, which the kernel may map 2 MB at a time), in
// bytes.
func rssParts(pid int) (anon, file int64, err error) {
	v, err := readStatus(pid, "RssAnon", "RssFile")
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

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every
// Linux architecture Go runs on.
const clockTicks = 100

// cpuSnapshot is what /proc says about CPU time at one instant: the
// machine's busy and total time, and each process's by name.
type cpuSnapshot struct {
	busy, total float64
	// byPid maps a pid to its command name and CPU seconds (user + system).
	byPid map[int]procCPU
}

type procCPU struct {
	comm string
	secs float64
}

// takeCPU reads /proc/stat and every /proc/<pid>/stat.
func takeCPU() cpuSnapshot {
	s := cpuSnapshot{byPid: map[int]procCPU{}}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		s.busy, s.total = parseProcStat(string(b))
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		if comm, secs, ok := parsePidStat(string(b)); ok {
			s.byPid[pid] = procCPU{comm, secs}
		}
	}
	return s
}

// parseProcStat reads the "cpu" line of /proc/stat: busy and total
// seconds over all cores (iowait counts as idle).
func parseProcStat(stat string) (busy, total float64) {
	for _, ln := range strings.Split(stat, "\n") {
		f := strings.Fields(ln)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		for i, v := range f[1:] {
			n, _ := strconv.ParseFloat(v, 64)
			// guest and guest_nice (fields 9, 10) are in user already.
			if i >= 8 {
				break
			}
			total += n
			if i != 3 && i != 4 { // idle, iowait
				busy += n
			}
		}
		break
	}
	return busy / clockTicks, total / clockTicks
}

// parsePidStat reads the command name and user + system CPU seconds from
// a /proc/<pid>/stat line; the name is in parentheses and may contain
// spaces.
func parsePidStat(stat string) (comm string, secs float64, ok bool) {
	open, closing := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || closing < open {
		return "", 0, false
	}
	comm = stat[open+1 : closing]
	f := strings.Fields(stat[closing+1:])
	// After the name: state(0) ppid(1) ... utime(11) stime(12).
	if len(f) < 13 {
		return "", 0, false
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	s, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return "", 0, false
	}
	return comm, (u + s) / clockTicks, true
}

// CPUUse says where CPU time went during a measurement: the machine as a
// whole, the phase's own processes, and PostgreSQL and Redis (every
// process of those names on the machine, whoever it serves; backends that
// started and ended in between are missed).
type CPUUse struct {
	Seconds float64 `json:"wall_seconds"`
	// MachineBusy is the fraction of all cores' time that was not idle.
	MachineBusy float64 `json:"machine_busy_fraction"`
	// Cores is CPU seconds ÷ wall seconds per process or group: 1.0 is one
	// core busy the whole time.
	Cores map[string]float64 `json:"cores_used"`
}

// cpuUse compares two snapshots; procs names the phase's processes.
func cpuUse(a, b cpuSnapshot, wall float64, procs map[int]string) CPUUse {
	u := CPUUse{Seconds: round(wall, 2), Cores: map[string]float64{}}
	if dt := b.total - a.total; dt > 0 {
		u.MachineBusy = round((b.busy-a.busy)/dt, 3)
	}
	if wall <= 0 {
		return u
	}
	add := func(name string, secs float64) { u.Cores[name] = round(u.Cores[name]+secs/wall, 3) }
	pids := make([]int, 0, len(b.byPid))
	for pid := range b.byPid {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	for _, pid := range pids {
		now := b.byPid[pid]
		before, seen := a.byPid[pid]
		d := now.secs
		if seen && before.comm == now.comm {
			d -= before.secs
		}
		if name, ok := procs[pid]; ok {
			add(name, d)
			continue
		}
		switch {
		case now.comm == "postgres" || strings.HasPrefix(now.comm, "postgres:"):
			add("postgresql (all)", d)
		case now.comm == "redis-server":
			add("redis (all)", d)
		}
	}
	return u
}

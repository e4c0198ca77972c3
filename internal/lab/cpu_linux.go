package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// idleCPU measures, over d, the CPU time of every process in namespace
// master and in namespace backup, in percent of one CPU.
func idleCPU(ctx context.Context, master, backup string, d time.Duration) (*IdleCPU, error) {
	m0, err := nsTicks(master)
	if err != nil {
		return nil, err
	}
	b0, err := nsTicks(backup)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := sleep(ctx, d); err != nil {
		return nil, err
	}
	m1, err := nsTicks(master)
	if err != nil {
		return nil, err
	}
	b1, err := nsTicks(backup)
	if err != nil {
		return nil, err
	}
	secs := time.Since(start).Seconds()
	pct := func(a, b map[int]uint64) float64 {
		var used uint64
		for pid, t := range b {
			used += t - min(t, a[pid]) // a process started since counts whole
		}
		return float64(used) / clockTicks / secs * 100
	}
	return &IdleCPU{Seconds: secs, Master: pct(m0, m1), Backup: pct(b0, b1)}, nil
}

// nsTicks returns the CPU time (user and system, in clock ticks) of each
// process in the named network namespace.
func nsTicks(ns string) (map[int]uint64, error) {
	pids, err := nsPids(ns)
	if err != nil {
		return nil, err
	}
	out := make(map[int]uint64, len(pids))
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue // gone
		}
		t, err := statTicks(string(b))
		if err != nil {
			return nil, fmt.Errorf("lab: /proc/%d/stat: %w", pid, err)
		}
		out[pid] = t
	}
	return out, nil
}

// statTicks parses utime + stime from a /proc/PID/stat line. The command
// (field 2) is in parentheses and may hold spaces: fields count from the
// last ')'.
func statTicks(s string) (uint64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("no ')' in stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command, want at least 13", len(f))
	}
	u, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return u + st, nil
}

// nsPids lists the processes whose network namespace is the named one
// (not the calling process).
func nsPids(ns string) ([]int, error) {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join("/run/netns", ns), &st); err != nil {
		return nil, fmt.Errorf("lab: namespace %s: %w", ns, err)
	}
	want := "net:[" + strconv.FormatUint(st.Ino, 10) + "]"
	self := os.Getpid()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("lab: read /proc: %w", err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if link, err := os.Readlink("/proc/" + e.Name() + "/ns/net"); err == nil && link == want {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

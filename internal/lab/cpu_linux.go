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
// master and in namespace backup, in percent of one CPU. The time comes
// from each thread's schedstat, in nanoseconds: /proc/PID/stat counts in
// ticks of 10 ms, sampled, which at rest (a fraction of a percent over
// 30 s is a handful of ticks) is too coarse to compare two daemons.
func idleCPU(ctx context.Context, master, backup string, d time.Duration) (*IdleCPU, error) {
	m0, err := nsCPU(master)
	if err != nil {
		return nil, err
	}
	b0, err := nsCPU(backup)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := sleep(ctx, d); err != nil {
		return nil, err
	}
	m1, err := nsCPU(master)
	if err != nil {
		return nil, err
	}
	b1, err := nsCPU(backup)
	if err != nil {
		return nil, err
	}
	secs := time.Since(start).Seconds()
	pct := func(a, b map[int]time.Duration) float64 {
		var used time.Duration
		for pid, t := range b {
			used += t - min(t, a[pid]) // a process started since counts whole
		}
		return used.Seconds() / secs * 100
	}
	return &IdleCPU{Seconds: secs, Master: pct(m0, m1), Backup: pct(b0, b1)}, nil
}

// nsCPU returns the CPU time of each process in the named network
// namespace: the sum of its threads' schedstat, or, where the kernel has
// none, its user and system time from /proc/PID/stat.
func nsCPU(ns string) (map[int]time.Duration, error) {
	pids, err := nsPids(ns)
	if err != nil {
		return nil, err
	}
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		if t, ok := schedRuntime(pid); ok {
			out[pid] = t
			continue
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue // gone
		}
		t, err := statTicks(string(b))
		if err != nil {
			return nil, fmt.Errorf("lab: /proc/%d/stat: %w", pid, err)
		}
		out[pid] = time.Duration(t) * time.Second / clockTicks
	}
	return out, nil
}

// schedRuntime sums the time on a CPU of pid's threads
// (/proc/PID/task/TID/schedstat, first field, in ns).
func schedRuntime(pid int) (time.Duration, bool) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, false
	}
	var sum time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return 0, false
		}
		ns, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, false
		}
		sum += time.Duration(ns)
	}
	return sum, true
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

package lab

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vipd/vipd/internal/labnet"
)

// What the lab learns of the machine it runs on: the namespaces earlier
// runs left, the load, the CPU, the kernel and keepalived.

// netnsDir is where ip-netns(8) keeps its named namespaces.
const netnsDir = "/run/netns"

func listNamespaces() []string {
	ents, err := os.ReadDir(netnsDir)
	if err != nil {
		return nil
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names
}

// leftNamespaces returns those of names that still exist.
func leftNamespaces(names []string) []string {
	var left []string
	for _, n := range names {
		if _, err := os.Lstat(filepath.Join(netnsDir, n)); err == nil {
			left = append(left, n)
		}
	}
	return left
}

// cleanupStale runs labnet.CleanupStale and counts the lab namespaces
// ("vl-<pid>-...", pid dead) it removed.
func cleanupStale() (int, error) {
	var stale []string
	for _, n := range listNamespaces() {
		if pid, ok := labPID(n); ok && unix.Kill(pid, 0) == unix.ESRCH {
			stale = append(stale, n)
		}
	}
	err := labnet.CleanupStale()
	return len(stale) - len(leftNamespaces(stale)), err
}

// loadAvg is the 1-minute load average (0 if unknown).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// hostInfo describes this machine.
func hostInfo(version string) HostInfo {
	h := HostInfo{CPUs: runtime.NumCPU(), Vipd: version}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if _, err := exec.LookPath("keepalived"); err == nil {
		out, _ := exec.Command("keepalived", "--version").CombinedOutput()
		first, _, _ := strings.Cut(string(out), "\n")
		h.Keepalived = strings.TrimSpace(first)
		if h.Keepalived == "" {
			h.Keepalived = "keepalived"
		}
	}
	return h
}

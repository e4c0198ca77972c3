package labnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// netnsDir is where ip-netns(8) keeps its named namespaces.
const netnsDir = "/run/netns"

// killTimeout bounds how long Close waits for killed processes to go.
const killTimeout = 5 * time.Second

// ipBatch runs ip(8) once over many commands. The namespaces themselves are
// made and removed by ip(8) rather than by bind mounts of our own, so that
// /run/netns stays set up the way every other ip-netns user expects.
func ipBatch(ctx context.Context, force bool, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	args := []string{"-batch", "-"}
	if force {
		args = append([]string{"-force"}, args...)
	}
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("labnet: ip -batch (%s ...): %w: %s", lines[0], err, strings.TrimSpace(out.String()))
	}
	return nil
}

func addNamespaces(ctx context.Context, names []string) error {
	lines := make([]string, len(names))
	for i, n := range names {
		lines[i] = "netns add " + n
	}
	return ipBatch(ctx, false, lines)
}

// deleteNamespaces kills every process inside the named namespaces and
// removes them. Names that do not exist are skipped.
func deleteNamespaces(ctx context.Context, names []string) error {
	var errs []error
	inodes := map[uint64]bool{}
	var present []string
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(netnsDir, n), &st); err != nil {
			if !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("labnet: stat namespace %s: %w", n, err))
			}
			continue
		}
		present = append(present, n)
		inodes[st.Ino] = true
	}
	if len(present) == 0 {
		return errors.Join(errs...)
	}
	if err := killInNamespaces(inodes, killTimeout); err != nil {
		errs = append(errs, err)
	}
	lines := make([]string, len(present))
	for i, n := range present {
		lines[i] = "netns del " + n
	}
	if err := ipBatch(ctx, true, lines); err != nil {
		errs = append(errs, err)
	}
	for _, n := range present {
		if _, err := os.Lstat(filepath.Join(netnsDir, n)); err == nil {
			errs = append(errs, fmt.Errorf("labnet: namespace %s still present after delete", n))
		}
	}
	return errors.Join(errs...)
}

// listNamespaces returns the names under /run/netns.
func listNamespaces() ([]string, error) {
	ents, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("labnet: list namespaces: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

// pidsInNamespaces lists the processes whose network namespace is one of
// inodes, like ip netns pids. The calling process is never listed.
func pidsInNamespaces(inodes map[uint64]bool) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("labnet: read /proc: %w", err)
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		link, err := os.Readlink("/proc/" + e.Name() + "/ns/net")
		if err != nil {
			continue // gone, a zombie or a kernel thread
		}
		ino, ok := parseNSLink(link)
		if ok && inodes[ino] {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// parseNSLink parses "net:[4026532283]".
func parseNSLink(s string) (uint64, bool) {
	s, ok := strings.CutPrefix(s, "net:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// killInNamespaces SIGKILLs every process in the namespaces and waits until
// none is left (zombies do not count: they have left their namespace).
func killInNamespaces(inodes map[uint64]bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids, err := pidsInNamespaces(inodes)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("labnet: processes %v still alive in the lab's namespaces", pids)
		}
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL) // ESRCH: already gone
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Cleanup deletes every namespace named prefix + "-" + anything, killing the
// processes inside first. It is the way to take over a caller-chosen prefix
// left behind by an earlier run.
func Cleanup(prefix string) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	names, err := listNamespaces()
	if err != nil {
		return err
	}
	var mine []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix+"-") {
			mine = append(mine, n)
		}
	}
	return deleteNamespaces(context.Background(), mine)
}

// CleanupStale deletes the namespaces of automatically named labs whose
// owning process (the pid in the name) is gone. New calls it; a lab of a live
// process is never touched. A pid reused by an unrelated process keeps its
// stale namespaces until that process ends too.
func CleanupStale() error {
	names, err := listNamespaces()
	if err != nil {
		return err
	}
	var stale []string
	for _, n := range names {
		pid, ok := ownerPID(n)
		if ok && !processAlive(pid) {
			stale = append(stale, n)
		}
	}
	return deleteNamespaces(context.Background(), stale)
}

func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

package labnet

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func nsExists(t *testing.T, name string) bool {
	t.Helper()
	names, err := listNamespaces()
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(names, name)
}

// TestIntegrationCleanupStale leaves namespaces behind under the name of a
// process that has ended, with a process still running inside one, and under
// this live process's pid: CleanupStale removes the first (killing the
// process) and keeps the second.
func TestIntegrationCleanupStale(t *testing.T) {
	skipUnlessRoot(t)
	ctx := context.Background()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := dead.Process.Pid
	stale := []string{nsName(autoPrefix(deadPID, 7), "router"), nsName(autoPrefix(deadPID, 7), "a")}
	live := nsName(autoPrefix(os.Getpid(), 1<<40), "router")
	t.Cleanup(func() { _ = deleteNamespaces(ctx, append(slices.Clone(stale), live)) })
	if err := addNamespaces(ctx, append(slices.Clone(stale), live)); err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("ip", "netns", "exec", stale[1], "sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sleeper.Wait() }()
	var st unix.Stat_t
	if err := unix.Stat(netnsDir+"/"+stale[1], &st); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "sleep runs in the stale namespace", func() (bool, error) {
		pids, err := pidsInNamespaces(map[uint64]bool{st.Ino: true})
		return slices.Contains(pids, sleeper.Process.Pid), err
	})
	if processAlive(deadPID) {
		t.Skipf("pid %d already reused", deadPID)
	}

	if err := CleanupStale(); err != nil {
		t.Fatal(err)
	}
	for _, n := range stale {
		if nsExists(t, n) {
			t.Errorf("stale namespace %s survived CleanupStale", n)
		}
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Error("process in a stale namespace survived CleanupStale")
		_ = sleeper.Process.Kill()
	}
	if !nsExists(t, live) {
		t.Fatalf("CleanupStale removed %s of the live process", live)
	}
	if err := Cleanup(autoPrefix(os.Getpid(), 1<<40)); err != nil {
		t.Fatal(err)
	}
	if nsExists(t, live) {
		t.Errorf("Cleanup left %s", live)
	}
}

// TestIntegrationCloseKillsProcesses starts long-running commands in the
// lab and checks that Close ends them and removes every namespace.
func TestIntegrationCloseKillsProcesses(t *testing.T) {
	skipUnlessRoot(t)
	l, err := New(context.Background(), Options{Extra: []string{"injector"}})
	if err != nil {
		t.Fatal(err)
	}
	var waits []chan error
	for _, h := range []*Host{l.Client, l.Nodes[0], l.Host("injector")} {
		cmd := h.Command(context.Background(), "sleep", "300")
		if err := cmd.Start(); err != nil {
			_ = l.Close()
			t.Fatal(err)
		}
		c := make(chan error, 1)
		go func() { c <- cmd.Wait() }()
		waits = append(waits, c)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for i, c := range waits {
		select {
		case err := <-c:
			if err == nil {
				t.Errorf("command %d exited cleanly, want killed", i)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("command %d still running after Close", i)
		}
	}
	for _, n := range l.Namespaces() {
		if nsExists(t, n) {
			t.Errorf("namespace %s left after Close", n)
		}
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestIntegrationCallerPrefix checks that a caller-chosen prefix in use is
// refused until Cleanup, and that PortDown/PortUp toggle a node's carrier.
func TestIntegrationCallerPrefix(t *testing.T) {
	skipUnlessRoot(t)
	prefix := "vlt-" + autoPrefix(os.Getpid(), 0)[3:]
	l := newLab(t, Options{Prefix: prefix, Nodes: 1})
	if _, err := New(context.Background(), Options{Prefix: prefix}); err == nil {
		t.Fatal("New reused a prefix in use")
	}
	a := l.Nodes[0]
	ping(t, l.Client, a.Addr4.Addr().String())
	if err := l.PortDown(a); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "a loses carrier", func() (bool, error) {
		link, err := a.nl.LinkByName(a.Iface)
		return err == nil && link.Attrs().OperState != netlink.OperUp, err
	})
	if err := l.PortUp(a); err != nil {
		t.Fatal(err)
	}
	ping(t, l.Client, a.Addr4.Addr().String())
}

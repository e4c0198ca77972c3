package vipaddr

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// requireRoot skips tests that create namespaces.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and changes their addresses")
	}
}

// sh runs a command and fails the test if it fails.
func sh(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNS creates a network namespace with a unique name, brings its loopback
// up and deletes it when the test ends. IPv6 duplicate address detection
// stays on, so the tests see that VIPs skip it.
func newNS(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "vt-vipaddr-" + hex.EncodeToString(b)
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// inNS runs fn on an OS thread that has entered namespace ns. Sockets fn
// opens stay in ns and may then be used from any goroutine. The thread is
// never unlocked, so it exits with the goroutine instead of going back to
// the scheduler in the wrong namespace.
func inNS(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		h, err := netns.GetFromName(ns)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", ns, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// newDummy creates a namespace with an interface vip0 (up, with
// 192.0.2.1/24 and 2001:db8::1/64) and a Netlink opened inside it. vip0 is
// one end of a veth pair whose other end, vip0p, is in the same namespace:
// this kernel has no dummy driver, and anything the kernel sends on vip0
// stays in the namespace.
func newDummy(t testing.TB) (ns string, ifindex int, nl *Netlink) {
	t.Helper()
	ns = newNS(t)
	sh(t, "ip", "-n", ns, "link", "add", "vip0", "type", "veth", "peer", "name", "vip0p")
	sh(t, "ip", "-n", ns, "link", "set", "vip0p", "up")
	sh(t, "ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "vip0")
	sh(t, "ip", "-n", ns, "addr", "add", "2001:db8::1/64", "dev", "vip0")
	sh(t, "ip", "-n", ns, "link", "set", "vip0", "up")
	err := inNS(ns, func() error {
		ifi, err := net.InterfaceByName("vip0")
		if err != nil {
			return err
		}
		ifindex = ifi.Index
		nl, err = NewNetlink()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nl.Close() })
	return ns, ifindex, nl
}

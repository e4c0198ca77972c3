package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// Run runs name with args and fails t if it fails. It returns the
// command's combined output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// NewNS creates a network namespace named "vt-<tag>-<8 random hex digits>",
// brings its loopback up and deletes it when the test ends; a failed delete
// fails the test. It skips t when iproute2's ip is missing. Call
// RequireRoot first.
func NewNS(t testing.TB, tag string) string {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "vt-" + tag + "-" + hex.EncodeToString(b)
	Run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	Run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// Veth is one end of a veth pair: its namespace, its name and, if not
// nil, its MAC address.
type Veth struct {
	NS, Name string
	MAC      net.HardwareAddr
}

// AddVeth creates the veth pair a — b, both ends down. The pair goes when
// its namespace does.
func AddVeth(t testing.TB, a, b Veth) {
	t.Helper()
	args := []string{"-n", a.NS, "link", "add", a.Name}
	if a.MAC != nil {
		args = append(args, "address", a.MAC.String())
	}
	args = append(args, "type", "veth", "peer", "name", b.Name)
	if b.MAC != nil {
		args = append(args, "address", b.MAC.String())
	}
	if b.NS != a.NS {
		args = append(args, "netns", b.NS)
	}
	Run(t, "ip", args...)
}

// InNS runs fn on an OS thread that has entered namespace ns and returns
// fn's error, or why it could not enter ns. Sockets fn opens stay in ns and
// may then be used from any goroutine; interface names are looked up on
// the calling thread, so look them up inside fn. The thread is never
// unlocked, so it exits with its goroutine instead of going back to the
// scheduler in the wrong namespace.
func InNS(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		h, err := netns.GetFromName(ns)
		if err != nil {
			errc <- fmt.Errorf("testutil: open netns %s: %w", ns, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("testutil: enter netns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

package health

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/testutil"
	"github.com/vishvananda/netns"
)

func TestProbeInterfaceHost(t *testing.T) {
	// Read-only: asks the kernel about the host's loopback.
	if err := ProbeInterface(context.Background(), config.Check{Target: "lo"}); err != nil {
		t.Errorf("lo: %v", err)
	}
	err := ProbeInterface(context.Background(), config.Check{Target: "vt-nosuch0"})
	if err == nil || !strings.HasPrefix(err.Error(), "interface vt-nosuch0: ") {
		t.Errorf("missing interface: %v", err)
	}
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// inNS runs fn on an OS thread that has entered namespace ns. The thread
// is never unlocked, so it exits with the goroutine instead of going back
// to the scheduler in the wrong namespace.
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

// TestIntegrationInterface checks the interface prober against a veth
// pair in a namespace of its own, through the link states an operator
// meets: administratively down, up without carrier (peer down), up.
func TestIntegrationInterface(t *testing.T) {
	testutil.RequireRoot(t)
	b := make([]byte, 4)
	rand.Read(b)
	ns := "vt-health-" + hex.EncodeToString(b)
	sh(t, "ip", "netns", "add", ns)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	})
	sh(t, "ip", "-n", ns, "link", "add", "hc0", "type", "veth", "peer", "name", "hc0p")

	probe := func() error {
		var perr error
		if err := inNS(ns, func() error {
			perr = ProbeInterface(context.Background(), config.Check{Target: "hc0"})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return perr
	}
	// eventually polls the prober until check accepts its answer: the
	// kernel sets the operational state asynchronously (linkwatch).
	eventually := func(what string, check func(error) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := probe()
			if check(err) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: prober still says %v", what, err)
			}
			time.Sleep(20 * time.Millisecond) // polling the kernel, with a deadline
		}
	}

	if err := probe(); !errors.Is(err, ErrLinkDown) || !strings.Contains(err.Error(), "administratively down") {
		t.Errorf("new veth: %v, want administratively down", err)
	}
	sh(t, "ip", "-n", ns, "link", "set", "hc0", "up")
	eventually("up, peer down", func(err error) bool {
		return errors.Is(err, ErrLinkDown) && !strings.Contains(err.Error(), "administratively")
	})
	sh(t, "ip", "-n", ns, "link", "set", "hc0p", "up")
	eventually("both up", func(err error) bool { return err == nil })
	sh(t, "ip", "-n", ns, "link", "set", "hc0p", "down")
	eventually("peer down again", func(err error) bool { return errors.Is(err, ErrLinkDown) })
	t.Logf("peer down: %v", probe())
	sh(t, "ip", "-n", ns, "link", "del", "hc0")
	if err := probe(); err == nil || !strings.HasPrefix(err.Error(), "interface hc0: ") {
		t.Errorf("deleted: %v", err)
	}
}

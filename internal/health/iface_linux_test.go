package health

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/testutil"
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

// TestIntegrationInterface checks the interface prober against a veth
// pair in a namespace of its own, through the link states an operator
// meets: administratively down, up without carrier (peer down), up.
func TestIntegrationInterface(t *testing.T) {
	testutil.RequireRoot(t)
	ns := testutil.NewNS(t, "health")
	testutil.AddVeth(t, testutil.Veth{NS: ns, Name: "hc0"}, testutil.Veth{NS: ns, Name: "hc0p"})

	probe := func() error {
		var perr error
		if err := testutil.InNS(ns, func() error {
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
	testutil.Run(t, "ip", "-n", ns, "link", "set", "hc0", "up")
	eventually("up, peer down", func(err error) bool {
		return errors.Is(err, ErrLinkDown) && !strings.Contains(err.Error(), "administratively")
	})
	testutil.Run(t, "ip", "-n", ns, "link", "set", "hc0p", "up")
	eventually("both up", func(err error) bool { return err == nil })
	testutil.Run(t, "ip", "-n", ns, "link", "set", "hc0p", "down")
	eventually("peer down again", func(err error) bool { return errors.Is(err, ErrLinkDown) })
	t.Logf("peer down: %v", probe())
	testutil.Run(t, "ip", "-n", ns, "link", "del", "hc0")
	if err := probe(); err == nil || !strings.HasPrefix(err.Error(), "interface hc0: ") {
		t.Errorf("deleted: %v", err)
	}
}

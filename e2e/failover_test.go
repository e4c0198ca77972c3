package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// TestIntegrationFailoverAndPreempt is the core scenario: 20 IPv4 VIPs and a
// few IPv6 VIPs on node A; A is powered off (switch port down, vipd killed);
// B holds every VIP and the client reaches each through the router; A comes
// back and preempts.
func TestIntegrationFailoverAndPreempt(t *testing.T) {
	lab := newLab(t, labnet.Options{})
	v4, err := lab.VIPs4(20)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := lab.VIPs6(4)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]netip.Addr{}, v4...), v6...)
	a, b := lab.Nodes[0], lab.Nodes[1]
	na := newVipdNode(t, a, vipConfig("a", 200, "100ms", v4, v6, lab.LAN4, lab.LAN6))
	nb := newVipdNode(t, b, vipConfig("b", 100, "100ms", v4, v6, lab.LAN4, lab.LAN6))
	na.start()
	nb.start()
	for _, in := range []string{"v4", "v6"} {
		na.waitState(in, "MASTER", 10*time.Second)
		nb.waitState(in, "BACKUP", 10*time.Second)
	}
	waitFor(t, "A holds every VIP", 5*time.Second, func() bool { return hasAll(t, a, all) })
	if !holdsNone(t, b, all) {
		t.Fatal("B holds VIPs while backup")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := lab.NewProber(all, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	waitFor(t, "client reaches every VIP on A", 10*time.Second, p.AllReachable)

	// Power off A.
	fault := time.Now()
	if err := lab.PortDown(a); err != nil {
		t.Fatal(err)
	}
	na.kill()
	for _, in := range []string{"v4", "v6"} {
		nb.waitState(in, "MASTER", 5*time.Second)
	}
	waitFor(t, "B holds every VIP", 5*time.Second, func() bool { return hasAll(t, b, all) })
	waitFor(t, "client reaches every VIP on B", 10*time.Second, p.AllReachable)
	time.Sleep(500 * time.Millisecond) // a recovery counts once the replies continue
	var worst time.Duration
	for _, r := range p.Results(fault) {
		if !r.Recovered {
			t.Errorf("%s not recovered", r.VIP)
		}
		worst = max(worst, r.Outage)
	}
	t.Logf("failover: worst outage %v for %d VIPs", worst, len(all))

	// A returns: vipd restarts, its higher priority preempts.
	if err := lab.PortUp(a); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	na.start()
	for _, in := range []string{"v4", "v6"} {
		na.waitState(in, "MASTER", 10*time.Second)
		nb.waitState(in, "BACKUP", 10*time.Second)
	}
	waitFor(t, "A holds every VIP again", 5*time.Second, func() bool { return hasAll(t, a, all) })
	waitFor(t, "B released every VIP", 5*time.Second, func() bool { return holdsNone(t, b, all) })
	waitFor(t, "client reaches every VIP on A again", 10*time.Second, p.AllReachable)
	time.Sleep(500 * time.Millisecond)
	worst = 0
	for _, r := range p.Results(back) {
		worst = max(worst, r.Outage)
	}
	t.Logf("failback: worst outage %v", worst)

	// Graceful stop of A: priority 0, B takes over, A removes its VIPs.
	na.stop()
	if !holdsNone(t, a, all) {
		t.Error("A kept VIPs after a graceful stop")
	}
	for _, in := range []string{"v4", "v6"} {
		nb.waitState(in, "MASTER", 5*time.Second)
	}
}

package e2e

import (
	"context"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// stickyLab builds the story's network: a router whose neighbour entries
// stay valid for hours and which ignores gratuitous ARP / unsolicited NA
// for every second VIP.
func stickyLab(t *testing.T, v6 bool) (*labnet.Lab, []netip.Addr) {
	lab := newLab(t, labnet.Options{})
	var vips []netip.Addr
	var err error
	if v6 {
		vips, err = lab.VIPs6(20)
	} else {
		vips, err = lab.VIPs4(20)
	}
	if err != nil {
		t.Fatal(err)
	}
	var sticky []netip.Addr
	for i, v := range vips {
		if i%2 == 1 {
			sticky = append(sticky, v)
		}
	}
	if err := lab.SetRouterBehaviour(labnet.Sticky, sticky, 0); err != nil {
		t.Fatal(err)
	}
	return lab, vips
}

// failoverOutages powers off node A while the client probes every VIP and
// returns the per-VIP results after the fault.
func failoverOutages(t *testing.T, lab *labnet.Lab, vips []netip.Addr, kill func(), watch time.Duration) []labnet.VIPResult {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := lab.NewProber(vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	waitFor(t, "client reaches every VIP on A", 10*time.Second, p.AllReachable)
	fault := time.Now()
	if err := lab.PortDown(lab.Nodes[0]); err != nil {
		t.Fatal(err)
	}
	kill()
	// Reachable means "answered in the last ~100 ms": give the fault time to
	// show before asking.
	time.Sleep(1500 * time.Millisecond)
	deadline := fault.Add(watch)
	for time.Now().Before(deadline) && !p.AllReachable() {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // replies must continue
	p.Stop()
	return p.Results(fault)
}

func summarize(rs []labnet.VIPResult) (recovered int, worst time.Duration, lost []string) {
	for _, r := range rs {
		if r.Recovered {
			recovered++
			worst = max(worst, r.Outage)
		} else {
			lost = append(lost, r.VIP.String())
		}
	}
	sort.Strings(lost)
	return
}

// TestIntegrationStickyUpstream is the story: behind a sticky router,
// keepalived loses the VIPs whose gratuitous ARP is ignored; vipd proves
// each VIP, finds them stale and repairs them, the worst within 1 s of the
// takeover.
func TestIntegrationStickyUpstream(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "ipv4"
		if v6 {
			name = "ipv6"
		}
		t.Run(name+"/keepalived", func(t *testing.T) {
			lab, vips := stickyLab(t, v6)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ka, err := lab.Nodes[0].StartKeepalived(ctx, t.TempDir(), labnet.KeepalivedConfig{VRID: 42, Priority: 200, AdvertInt: 100 * time.Millisecond, VIPs: vips})
			if err != nil {
				t.Fatal(err)
			}
			defer ka.Stop()
			kb, err := lab.Nodes[1].StartKeepalived(ctx, t.TempDir(), labnet.KeepalivedConfig{VRID: 42, Priority: 100, AdvertInt: 100 * time.Millisecond, VIPs: vips})
			if err != nil {
				t.Fatal(err)
			}
			defer kb.Stop()
			waitFor(t, "keepalived A master", 10*time.Second, keepalivedState(ka, "MASTER"))
			waitFor(t, "keepalived B backup", 10*time.Second, keepalivedState(kb, "BACKUP"))
			rs := failoverOutages(t, lab, vips, func() { ka.Stop() }, 5*time.Second)
			rec, _, lost := summarize(rs)
			t.Logf("keepalived: recovered %d/%d; lost %v", rec, len(vips), lost)
			if rec > len(vips)-len(vips)/2 {
				t.Fatalf("keepalived recovered %d/%d: the sticky scenario is not real", rec, len(vips))
			}
		})
		t.Run(name+"/vipd", func(t *testing.T) {
			lab, vips := stickyLab(t, v6)
			var v4s, v6s []netip.Addr
			if v6 {
				v6s = vips
			} else {
				v4s = vips
			}
			cfg := func(node string, prio int) string {
				c := vipConfig(node, prio, "100ms", v4s, nil, lab.LAN4, lab.LAN6)
				if v6 {
					c = vipConfig(node, prio, "100ms", v6s, nil, lab.LAN6, lab.LAN6)
				}
				return c
			}
			na, nb := startPair(t, lab, cfg)
			rs := failoverOutages(t, lab, vips, na.kill, 5*time.Second)
			rec, worst, lost := summarize(rs)
			t.Logf("vipd: recovered %d/%d, worst outage %v; lost %v", rec, len(vips), worst, lost)
			if rec != len(vips) {
				t.Fatalf("vipd recovered %d/%d", rec, len(vips))
			}
			// The outage includes failure detection (Master_Down_Interval
			// ~0.34 s); the repair itself must land within 1 s of the takeover.
			if limit := 1400 * time.Millisecond; worst > limit {
				t.Errorf("worst outage %v, want under %v (Master_Down_Interval + 1 s)", worst, limit)
			}
			st, err := nb.status()
			if err != nil {
				t.Fatal(err)
			}
			fixed := 0
			for _, v := range st.Instances[0].VIPs {
				if v.Verification != "verified" {
					t.Errorf("%s: verification %q", v.Address, v.Verification)
				}
				for _, tg := range v.Targets {
					if tg.FixedBy != "" {
						fixed++
					}
				}
			}
			// The sticky half ignores gratuitous ARP / unsolicited NA (the
			// keepalived subtest shows it stays dark): it learns the new
			// owner from the ordinary request of the takeover's first
			// round, or, if that was lost, from the remediation ladder.
			t.Logf("vipd: %d VIPs repaired by the remediation ladder, the rest followed the first round", fixed)
		})
	}
}

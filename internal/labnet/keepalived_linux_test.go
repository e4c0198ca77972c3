package labnet

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"
)

// startKeepalived starts keepalived on h and stops it at the end of the
// test, logging its output if the test failed.
func startKeepalived(t *testing.T, h *Host, c KeepalivedConfig) *Keepalived {
	t.Helper()
	k, err := h.StartKeepalived(context.Background(), t.TempDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := k.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("keepalived on %s:\n%s", h.Name, k.Output())
		}
	})
	return k
}

// TestIntegrationKeepalivedFailover runs keepalived against keepalived with
// 20 VIPs and powers the master off. Behind a plain router all 20 VIPs come
// back on the backup; behind a sticky router that ignores gratuitous ARP for
// 10 of them, those 10 stay lost: the failure vipd exists to detect.
func TestIntegrationKeepalivedFailover(t *testing.T) {
	skipUnlessRoot(t)
	tests := []struct {
		name      string
		b         Behaviour
		dualStack bool // 10 IPv4 and 10 IPv6 VIPs, half of each sticky
	}{
		{"plain", Plain, false},
		{"sticky", Sticky, false},
		{"plain-dual-stack", Plain, true},
		{"sticky-dual-stack", Sticky, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, Options{})
			a, b := l.Nodes[0], l.Nodes[1]
			vips, err := l.VIPs4(20)
			if err != nil {
				t.Fatal(err)
			}
			sticky := vips[:10]
			if tt.dualStack {
				v6, err := l.VIPs6(10)
				if err != nil {
					t.Fatal(err)
				}
				// Sticky first: v4[0:5], v6[0:5]; then the others.
				vips = append(append(append(append([]netip.Addr{}, vips[:5]...), v6[:5]...), vips[5:10]...), v6[5:]...)
				sticky = vips[:10]
			}
			if err := l.SetRouterBehaviour(tt.b, sticky, 0); err != nil {
				t.Fatal(err)
			}
			// The second burst of gratuitous ARP comes 1 s after the
			// takeover instead of 5 s.
			extra := []string{"garp_master_delay 1", "garp_master_repeat 3"}
			c := KeepalivedConfig{VRID: 51, AdvertInt: 100 * time.Millisecond, VIPs: vips, InstanceExtra: extra}
			c.Priority = 150
			startKeepalived(t, a, c)
			c.Priority = 100
			startKeepalived(t, b, c)
			waitFor(t, 10*time.Second, "a is master with all VIPs", func() (bool, error) { return a.HasAddrs(vips...) })

			p, err := l.NewProber(vips, 10*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			p.Start(context.Background())
			defer p.Stop()
			waitFor(t, 5*time.Second, "all VIPs reachable on a", func() (bool, error) { return p.AllReachable(), nil })

			fault := time.Now()
			if err := l.PortDown(a); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "b takes the VIPs", func() (bool, error) { return b.HasAddrs(vips...) })
			takeover := time.Now()
			t.Logf("b holds the VIPs %v after the fault", takeover.Sub(fault))
			// Watch until well past keepalived's second gratuitous ARP burst,
			// and until the VIPs that can recover have.
			waitFor(t, 10*time.Second, "the VIPs outside the sticky set recover", func() (bool, error) {
				if time.Since(takeover) < 1500*time.Millisecond {
					return false, nil
				}
				for _, r := range p.Results(fault)[len(sticky):] {
					if !r.Recovered || r.LastReply.Sub(r.Recovery) < 200*time.Millisecond {
						return false, nil
					}
				}
				return true, nil
			})
			p.Stop()

			neigh, err := l.RouterNeigh()
			if err != nil {
				t.Fatal(err)
			}
			isSticky := map[netip.Addr]bool{}
			if tt.b == Sticky {
				for _, v := range sticky {
					isSticky[v] = true
				}
			}
			var lost int
			var worst time.Duration
			for _, r := range p.Results(fault) {
				if !r.Recovered {
					lost++
				} else {
					worst = max(worst, r.Outage)
				}
				if r.Recovered == isSticky[r.VIP] {
					t.Errorf("%v: recovered=%v, want %v (outage %v, max gap %v)", r.VIP, r.Recovered, !isSticky[r.VIP], r.Outage, r.MaxGap)
				}
				want := b.MAC
				if isSticky[r.VIP] {
					want = a.MAC
				}
				if !bytes.Equal(neigh[r.VIP], want) {
					t.Errorf("%v: router neighbour %v, want %v", r.VIP, neigh[r.VIP], want)
				}
			}
			t.Logf("%s: %d of %d VIPs lost; worst outage of the others %v; prober %+v", tt.name, lost, len(vips), worst, p.Stats())
		})
	}
}

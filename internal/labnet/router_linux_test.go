package labnet

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/arp"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// routerMAC returns the router's neighbour entry for a.
func routerMAC(t *testing.T, l *Lab, a netip.Addr) net.HardwareAddr {
	t.Helper()
	m, err := l.RouterNeigh()
	if err != nil {
		t.Fatal(err)
	}
	return m[a]
}

// moveVIPs moves addresses from one host to another by hand, after the
// router has learnt them at from (pinged from the client).
func moveVIPs(t *testing.T, l *Lab, from, to *Host, vips []netip.Addr) {
	t.Helper()
	var ps []netip.Prefix
	for _, v := range vips {
		ps = append(ps, HostPrefix(v))
	}
	if err := from.AddAddrs(ps...); err != nil {
		t.Fatal(err)
	}
	for _, v := range vips {
		ping(t, l.Client, v.String())
		if got := routerMAC(t, l, v); !bytes.Equal(got, from.MAC) {
			t.Fatalf("router has %v for %v after ping, want %s's %v", got, v, from.Name, from.MAC)
		}
	}
	if err := from.DelAddrs(ps...); err != nil {
		t.Fatal(err)
	}
	if err := to.AddAddrs(ps...); err != nil {
		t.Fatal(err)
	}
}

var arpingIsIputils = sync.OnceValue(func() bool {
	out, _ := exec.Command("arping", "-V").CombinedOutput()
	return strings.Contains(string(out), "iputils")
})

// arpingU sends one request-form gratuitous ARP (sender IP = target IP =
// vip) with Debian's arping, whichever of the two packages provides it:
// iputils-arping ("arping -U -I IF -s VIP VIP"; its -A reply form carries
// the sender's MAC as target MAC, which Linux takes as gratuitous) or
// arping, Thomas Habets' ("arping -U -i IF -S VIP VIP"; its reply form
// -U -P carries a broadcast target MAC, which Linux does not take as
// gratuitous within locktime). iputils-arping needs vip on the interface
// and takes about two seconds.
func arpingU(ctx context.Context, h *Host, vip netip.Addr) error {
	if _, err := exec.LookPath("arping"); err != nil {
		return err
	}
	args := []string{"-q", "-U", "-c", "1", "-w", "0.05", "-i", h.Iface, "-S", vip.String(), vip.String()}
	if arpingIsIputils() {
		args = []string{"-q", "-U", "-c", "1", "-w", "1", "-I", h.Iface, "-s", vip.String(), vip.String()}
	}
	_, err := h.Run(ctx, "arping", args...)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return nil // "no replies", which is what gratuitous ARP gets
	}
	return err
}

// arpRouter sends n broadcast ARP requests for the router's LAN address
// from h, 2 ms apart, and returns how many the router answered within
// 500 ms of the last.
func arpRouter(t *testing.T, l *Lab, h *Host, n int) int {
	t.Helper()
	var c *arp.Client
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.Iface)
		if err != nil {
			return err
		}
		c, err = arp.Dial(ifi)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	router := l.Router.Addr4.Addr()
	replies := make(chan int, 1)
	go func() {
		got := 0
		for {
			p, _, err := c.Read()
			if err != nil {
				replies <- got // the deadline
				return
			}
			if p.Operation == arp.OperationReply && p.SenderIP == router {
				got++
			}
		}
	}()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for range n {
		if err := c.Request(router); err != nil {
			t.Fatal(err)
		}
		<-tick.C
	}
	if err := c.SetReadDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	return <-replies
}

func TestIntegrationRouterBehaviour(t *testing.T) {
	skipUnlessRoot(t)
	type garp struct {
		vip    int  // index into the test's four IPv4 or IPv6 VIPs
		reply  bool // reply form of gratuitous ARP
		arping bool // sent with arping -U rather than GratuitousARP
		ignore bool // the router must keep node a's MAC
	}
	tests := []struct {
		name    string
		b       Behaviour
		set     []int // VIP indexes passed to SetRouterBehaviour
		param   int
		garps   []garp // IPv4, sent in order; every ignored one before the last accepted one
		nas     []garp // IPv6 unsolicited NAs (reply unused)
		minARP  int    // of 100 ARP requests to the router, replies at least
		maxARP  int    // and at most
		reachMS string // the LAN's base_reachable_time_ms
	}{
		{name: "plain", b: Plain,
			garps: []garp{{vip: 0}, {vip: 1, reply: true}, {vip: 2, arping: true}}, nas: []garp{{vip: 0}},
			minARP: 95, maxARP: 100, reachMS: "30000"},
		{name: "sticky", b: Sticky, set: []int{0, 1},
			garps: []garp{{vip: 0, ignore: true}, {vip: 1, reply: true, ignore: true, arping: true},
				{vip: 2, arping: true}, {vip: 3, reply: true}},
			nas:    []garp{{vip: 0, ignore: true}, {vip: 2}},
			minARP: 95, maxARP: 100, reachMS: "14400000"},
		{name: "reply-only", b: ReplyOnly, set: []int{0, 1, 2, 3},
			garps:  []garp{{vip: 0, ignore: true}, {vip: 2, ignore: true, arping: true}, {vip: 1, reply: true}},
			nas:    []garp{{vip: 0}},
			minARP: 95, maxARP: 100, reachMS: "30000"},
		// 100 requests in 0.2 s at 10/s with a burst of 5: a handful answered.
		{name: "policer", b: Policer, param: 10, minARP: 3, maxARP: 20, reachMS: "1200000"},
		// 50 % loss: 100 requests, binomial sd 5; the bounds are 7 sd out.
		{name: "lossy-50", b: Lossy, param: 50, minARP: 15, maxARP: 85, reachMS: "30000"},
		{name: "lossy-100", b: Lossy, param: 100, minARP: 0, maxARP: 0, reachMS: "30000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, Options{})
			a, b := l.Nodes[0], l.Nodes[1]
			v4, err := l.VIPs4(4)
			if err != nil {
				t.Fatal(err)
			}
			v6, err := l.VIPs6(4)
			if err != nil {
				t.Fatal(err)
			}
			var set []netip.Addr
			for _, i := range tt.set {
				set = append(set, v4[i], v6[i])
			}
			if err := l.SetRouterBehaviour(tt.b, set, tt.param); err != nil {
				t.Fatal(err)
			}
			if got, err := l.Router.readSysctl("net/ipv4/neigh/lan0/base_reachable_time_ms"); err != nil || got != tt.reachMS {
				t.Errorf("base_reachable_time_ms = %q, %v; want %s", got, err, tt.reachMS)
			}

			if got := arpRouter(t, l, b, 100); got < tt.minARP || got > tt.maxARP {
				t.Errorf("router answered %d of 100 ARP requests, want %d..%d", got, tt.minARP, tt.maxARP)
			}
			if tt.b == Policer || tt.b == Lossy {
				return
			}

			check := func(family string, vips []netip.Addr, gs []garp, send func(g garp) error) {
				t.Helper()
				var moved []netip.Addr
				for _, g := range gs {
					moved = append(moved, vips[g.vip])
				}
				moveVIPs(t, l, a, b, moved)
				for _, g := range gs {
					if err := send(g); err != nil {
						t.Fatal(err)
					}
				}
				// Wait for the last accepted announcement to land; the ones
				// before it were handled by then.
				for i := len(gs) - 1; i >= 0; i-- {
					if gs[i].ignore {
						continue
					}
					v := vips[gs[i].vip]
					waitFor(t, 5*time.Second, family+" router takes b's MAC for "+v.String(), func() (bool, error) {
						return bytes.Equal(routerMAC(t, l, v), b.MAC), nil
					})
					break
				}
				for _, g := range gs {
					v := vips[g.vip]
					want, who := b.MAC, "b"
					if g.ignore {
						want, who = a.MAC, "a"
					}
					if got := routerMAC(t, l, v); !bytes.Equal(got, want) {
						t.Errorf("%s %v (reply form %v): router has %v, want %s's %v", family, v, g.reply, got, who, want)
					}
				}
			}
			ctx := context.Background()
			check("IPv4", v4, tt.garps, func(g garp) error {
				if g.arping {
					return arpingU(ctx, b, v4[g.vip])
				}
				return b.GratuitousARP(g.reply, 1, v4[g.vip])
			})
			check("IPv6", v6, tt.nas, func(g garp) error { return b.UnsolicitedNA(true, 1, v6[g.vip]) })
			if t.Failed() {
				rs, _ := l.RouterRuleset(ctx)
				t.Logf("router ruleset:\n%s", rs)
			}
		})
	}
}

// TestIntegrationPinned: once pinned, the router's entries for the VIPs
// keep the MAC it had learnt, whatever node b sends (gratuitous ARP, both
// forms; an unsolicited NA), and PinRouterNeigh names a VIP it has no
// entry for.
func TestIntegrationPinned(t *testing.T) {
	l := newLab(t, Options{Prefix: "vmx-pin-" + strconv.Itoa(os.Getpid())})
	v4, err := l.VIPs4(2)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := l.VIPs6(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetRouterBehaviour(Pinned, nil, 0); err != nil {
		t.Fatal(err)
	}
	a, b := l.Nodes[0], l.Nodes[1]
	if _, err := l.PinRouterNeigh(v4[:1]); err == nil || !strings.Contains(err.Error(), v4[0].String()) {
		t.Fatalf("pin before the router learnt %s: %v", v4[0], err)
	}
	vips := append(append([]netip.Addr(nil), v4...), v6...)
	moveVIPs(t, l, a, b, vips)
	pinned, err := l.PinRouterNeigh(vips)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vips {
		if !bytes.Equal(pinned[v], a.MAC) {
			t.Fatalf("pinned %s at %v, want a's %v", v, pinned[v], a.MAC)
		}
	}
	if err := b.GratuitousARP(false, 2, v4[0]); err != nil {
		t.Fatal(err)
	}
	if err := b.GratuitousARP(true, 2, v4[1]); err != nil {
		t.Fatal(err)
	}
	if err := b.UnsolicitedNA(true, 2, v6[0]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	for _, v := range vips {
		if got := routerMAC(t, l, v); !bytes.Equal(got, a.MAC) {
			t.Errorf("router moved pinned %s to %v", v, got)
		}
	}
}

// Behind the policer, the router resolves every VIP when warmed at half
// its rate, and the warm-up keeps to its pace.
func TestIntegrationWarmRouterNeigh(t *testing.T) {
	l := newLab(t, Options{Prefix: "vmx-warm-" + strconv.Itoa(os.Getpid())})
	v4, err := l.VIPs4(30)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := l.VIPs6(30)
	if err != nil {
		t.Fatal(err)
	}
	vips := append(append([]netip.Addr(nil), v4...), v6...)
	if err := l.SetRouterBehaviour(Policer, nil, 40); err != nil {
		t.Fatal(err)
	}
	a := l.Nodes[0]
	var ps []netip.Prefix
	for _, v := range vips {
		ps = append(ps, netip.PrefixFrom(v, v.BitLen()))
	}
	if err := a.AddAddrs(ps...); err != nil {
		t.Fatal(err)
	}
	if err := l.WarmRouterNeigh(context.Background(), vips, 0); err == nil {
		t.Error("warm at 0 per second: no error")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := l.WarmRouterNeigh(ctx, vips, 20); err != nil {
		t.Fatal(err)
	}
	// 60 VIPs at 20 a second: at least 59 intervals of 50 ms.
	if d := time.Since(start); d < 59*50*time.Millisecond {
		t.Errorf("warmed 60 VIPs in %v: faster than 20 a second", d)
	}
	have, err := l.RouterNeigh()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vips {
		if !bytes.Equal(have[v], a.MAC) {
			t.Errorf("router has %s at %v, want a's %v", v, have[v], a.MAC)
		}
	}
}

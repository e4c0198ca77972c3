//go:build linux

package announce_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/testutil"
)

// fakeMAC is where the router believes the VIP lives before we announce.
var fakeMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}

var (
	routerIP4 = netip.MustParseAddr("192.0.2.1")
	routerIP6 = netip.MustParseAddr("2001:db8::1")
)

// topo is two namespaces, "node" and "router", joined by the veth pair
// vn (node) — vr (router). The router has 192.0.2.1/24 and 2001:db8::1/64.
type topo struct {
	t                  *testing.T
	node, router       string
	nodeMAC, routerMAC net.HardwareAddr
	sender             announce.SenderCloser
	marker             byte // last octet of the next barrier address
}

func newTopo(t *testing.T, routerSysctls ...string) *topo {
	t.Helper()
	tp := &topo{t: t, node: testutil.NewNS(t, "announce-n"), router: testutil.NewNS(t, "announce-r"), marker: 200}
	testutil.AddVeth(t, testutil.Veth{NS: tp.node, Name: "vn"}, testutil.Veth{NS: tp.router, Name: "vr"})
	for _, c := range [][]string{
		{"-n", tp.router, "addr", "add", "192.0.2.1/24", "dev", "vr"},
		{"-n", tp.router, "addr", "add", "2001:db8::1/64", "dev", "vr", "nodad"},
	} {
		testutil.Run(t, "ip", c...)
	}
	// The router routes; RFC 9131 entry creation from NAs (below) only
	// happens on an interface that forwards.
	routerSysctls = append([]string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"}, routerSysctls...)
	for _, kv := range routerSysctls {
		testutil.Run(t, "ip", "netns", "exec", tp.router, "sysctl", "-qw", kv)
	}
	for _, c := range [][]string{
		{"-n", tp.node, "link", "set", "vn", "up"},
		{"-n", tp.router, "link", "set", "vr", "up"},
	} {
		testutil.Run(t, "ip", c...)
	}
	tp.routerMAC = linkMAC(t, tp.router, "vr")
	tp.sender, tp.nodeMAC = openSenderIn(t, tp.node, "vn")
	t.Cleanup(func() { tp.sender.Close() })
	if !bytes.Equal(tp.nodeMAC, linkMAC(t, tp.node, "vn")) {
		t.Fatalf("interface MAC %s differs from ip link's", tp.nodeMAC)
	}
	return tp
}

func linkMAC(t *testing.T, ns, dev string) net.HardwareAddr {
	t.Helper()
	var links []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal([]byte(testutil.Run(t, "ip", "-n", ns, "-j", "link", "show", "dev", dev)), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip link show %s: %v %v", dev, links, err)
	}
	mac, err := net.ParseMAC(links[0].Address)
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

// openSenderIn opens the packet socket inside namespace ns: a socket
// belongs to the namespace of the thread that creates it.
func openSenderIn(t *testing.T, ns, dev string) (announce.SenderCloser, net.HardwareAddr) {
	t.Helper()
	var (
		s   announce.SenderCloser
		mac net.HardwareAddr
	)
	err := testutil.InNS(ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr
		s, err = announce.OpenSender(ifi)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, mac
}

// neigh returns the router's entry for a on vr: its MAC ("" if none) and
// state.
func (tp *topo) neigh(a netip.Addr) (mac, state string) {
	tp.t.Helper()
	var es []struct {
		LLAddr string   `json:"lladdr"`
		State  []string `json:"state"`
	}
	out := testutil.Run(tp.t, "ip", "-n", tp.router, "-j", "neigh", "show", "to", a.String(), "dev", "vr")
	if err := json.Unmarshal([]byte(out), &es); err != nil {
		tp.t.Fatalf("ip neigh: %v: %q", err, out)
	}
	if len(es) == 0 {
		return "", ""
	}
	return es[0].LLAddr, strings.Join(es[0].State, ",")
}

func (tp *topo) setNeigh(a netip.Addr, mac net.HardwareAddr) {
	tp.t.Helper()
	testutil.Run(tp.t, "ip", "-n", tp.router, "neigh", "replace", a.String(), "dev", "vr", "lladdr", mac.String(), "nud", "stale")
}

// waitNeigh waits until the router maps a to mac.
func (tp *topo) waitNeigh(ctx context.Context, a netip.Addr, mac net.HardwareAddr) error {
	for {
		got, state := tp.neigh(a)
		if got == mac.String() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("router maps %s to %q (%s), want %s: %w", a, got, state, mac, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (tp *topo) send(pkts ...announce.Packet) {
	tp.t.Helper()
	for _, p := range pkts {
		if err := tp.sender.Send(p.Frame); err != nil {
			tp.t.Fatal(err)
		}
	}
}

// barrier returns once the router has processed everything sent before:
// it sends a directed ARP request for the router's own address from a
// fresh marker address, which every Linux setting below accepts, and waits
// for the marker's entry.
func (tp *topo) barrier(ctx context.Context) {
	tp.t.Helper()
	marker := netip.AddrFrom4([4]byte{192, 0, 2, tp.marker})
	tp.marker++
	p, err := announce.DirectedARPRequest(tp.nodeMAC, marker, tp.routerMAC, routerIP4)
	if err != nil {
		tp.t.Fatal(err)
	}
	tp.send(p)
	if err := tp.waitNeigh(ctx, marker, tp.nodeMAC); err != nil {
		tp.t.Fatalf("barrier: %v", err)
	}
}

// What a Linux router does with each form, with an existing stale entry
// pointing elsewhere or with none. The findings are summarised in doc.go.
func TestIntegrationLinuxRouterAccepts(t *testing.T) {
	testutil.RequireRoot(t)
	vip4 := netip.MustParseAddr("192.0.2.100")
	vip6 := netip.MustParseAddr("2001:db8::100")
	// A locktime of an hour makes "applied only after locktime" testable
	// without waiting: within it, only gratuitous forms override.
	const longLock = "net.ipv4.neigh.vr.locktime=360000"

	type want int
	const (
		moved  want = iota // the entry now has the node's MAC
		kept               // the entry still has fakeMAC
		absent             // there is no entry
	)
	tests := []struct {
		name    string
		sysctls []string
		vip     netip.Addr
		noEntry bool
		build   func(tp *topo) []announce.Packet
		want    want
		state   string // the entry's NUD state after it, if not empty
	}{
		{
			name: "ARP request and reply", sysctls: []string{longLock}, vip: vip4,
			build: func(tp *topo) []announce.Packet { return garp(tp, vip4, true, true) },
			want:  moved,
		},
		{
			name: "ARP request only", sysctls: []string{longLock}, vip: vip4,
			build: func(tp *topo) []announce.Packet { return garp(tp, vip4, true, false) },
			want:  moved,
		},
		{
			name: "ARP reply only, target MAC ours", sysctls: []string{longLock}, vip: vip4,
			build: func(tp *topo) []announce.Packet { return garp(tp, vip4, false, true) },
			want:  moved,
		},
		{
			name: "ARP reply only, target MAC broadcast, within locktime", sysctls: []string{longLock}, vip: vip4,
			build: func(tp *topo) []announce.Packet {
				rep := garp(tp, vip4, false, true)[0]
				copy(rep.Frame[14+18:14+24], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
				return []announce.Packet{rep}
			},
			want: kept,
		},
		{
			name: "unicast ARP reply to the router, within locktime", sysctls: []string{longLock}, vip: vip4,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{must(announce.UnicastARPReply(tp.nodeMAC, vip4, tp.routerMAC, routerIP4))}
			},
			want: kept,
		},
		{
			name: "no entry, arp_accept 0 (default)", vip: vip4, noEntry: true,
			build: func(tp *topo) []announce.Packet { return garp(tp, vip4, true, true) },
			want:  absent,
		},
		{
			name: "no entry, arp_accept 1", sysctls: []string{"net.ipv4.conf.vr.arp_accept=1"}, vip: vip4, noEntry: true,
			build: func(tp *topo) []announce.Packet { return garp(tp, vip4, true, true) },
			want:  moved,
		},
		{
			name: "drop_gratuitous_arp 1", sysctls: []string{"net.ipv4.conf.vr.drop_gratuitous_arp=1"}, vip: vip4,
			build: func(tp *topo) []announce.Packet { return garp(tp, vip4, true, true) },
			want:  kept,
		},
		{
			name:    "drop_gratuitous_arp 1, directed request to the router",
			sysctls: []string{"net.ipv4.conf.vr.drop_gratuitous_arp=1", longLock}, vip: vip4,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{must(announce.DirectedARPRequest(tp.nodeMAC, vip4, tp.routerMAC, routerIP4))}
			},
			want: moved,
		},
		{
			name: "no entry, directed request to the router", vip: vip4, noEntry: true,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{must(announce.DirectedARPRequest(tp.nodeMAC, vip4, tp.routerMAC, routerIP4))}
			},
			want: moved,
		},
		{
			name: "unsolicited NA", vip: vip6,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{must(announce.UnsolicitedNA(tp.nodeMAC, vip6))}
			},
			want: moved,
		},
		{
			name: "unsolicited NA without Override", vip: vip6,
			build: func(tp *topo) []announce.Packet {
				m := &ndp.NeighborAdvertisement{TargetAddress: vip6, Options: []ndp.Option{
					&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: tp.nodeMAC}}}
				f := wantND(tp.t, m, tp.nodeMAC, allNodesE, vip6, allNodes)
				return []announce.Packet{{Kind: announce.KindUnsolicitedNA, VIP: vip6, Frame: f}}
			},
			want: kept,
		},
		{
			name: "no entry, accept_untracked_na 0 (default)", vip: vip6, noEntry: true,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{must(announce.UnsolicitedNA(tp.nodeMAC, vip6))}
			},
			want: absent,
		},
		{
			name: "no entry, accept_untracked_na 1", sysctls: []string{"net.ipv6.conf.vr.accept_untracked_na=1"},
			vip: vip6, noEntry: true,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{must(announce.UnsolicitedNA(tp.nodeMAC, vip6))}
			},
			want: moved,
		},
		{
			name: "drop_unsolicited_na 1", sysctls: []string{"net.ipv6.conf.vr.drop_unsolicited_na=1"}, vip: vip6,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{
					must(announce.UnsolicitedNA(tp.nodeMAC, vip6)),
					must(announce.UnicastNA(tp.nodeMAC, vip6, tp.routerMAC, routerIP6)),
				}
			},
			want: kept,
		},
		{
			name: "drop_unsolicited_na 1, unicast NS to the router", sysctls: []string{"net.ipv6.conf.vr.drop_unsolicited_na=1"}, vip: vip6,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{must(announce.NeighborSolicitation(tp.nodeMAC, vip6, tp.routerMAC, routerIP6))}
			},
			want: moved,
		},
		{
			name: "no entry, multicast NS for the router", vip: vip6, noEntry: true,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{must(announce.NeighborSolicitation(tp.nodeMAC, vip6, nil, routerIP6))}
			},
			want: moved,
		},
		{
			// Solicited clear: the entry moves but stays STALE, so the
			// router probes it again (through a policer, if it has one).
			name: "unicast NA to the router", vip: vip6,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{must(announce.UnicastNA(tp.nodeMAC, vip6, tp.routerMAC, routerIP6))}
			},
			want: moved, state: "STALE",
		},
		{
			// Solicited set, as the answer to the router's own probe:
			// the entry moves and is REACHABLE, like IPv4's unicast reply.
			name: "repair NA to the router", vip: vip6,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{must(announce.From(tp.nodeMAC).RepairNA(vip6, tp.routerMAC, routerIP6))}
			},
			want: moved, state: "REACHABLE",
		},
		{
			name: "repair NA to the router, drop_unsolicited_na 1", sysctls: []string{"net.ipv6.conf.vr.drop_unsolicited_na=1"},
			vip: vip6,
			build: func(tp *topo) []announce.Packet {
				return []announce.Packet{must(announce.From(tp.nodeMAC).RepairNA(vip6, tp.routerMAC, routerIP6))}
			},
			want: moved, state: "REACHABLE",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tp := newTopo(t, tt.sysctls...)
			if !tt.noEntry {
				tp.setNeigh(tt.vip, fakeMAC)
			}
			tp.send(tt.build(tp)...)
			tp.barrier(ctx)
			mac, state := tp.neigh(tt.vip)
			switch tt.want {
			case moved:
				if mac != tp.nodeMAC.String() {
					t.Errorf("router maps %s to %q (%s), want the node's %s", tt.vip, mac, state, tp.nodeMAC)
				}
			case kept:
				if mac != fakeMAC.String() {
					t.Errorf("router maps %s to %q (%s), want it unchanged at %s", tt.vip, mac, state, fakeMAC)
				}
			case absent:
				if mac != "" || state != "" {
					t.Errorf("router has an entry %s %q (%s), want none", tt.vip, mac, state)
				}
			}
			if tt.state != "" && state != tt.state {
				t.Errorf("router's entry for %s is %s, want %s", tt.vip, state, tt.state)
			}
		})
	}
}

// A non-gratuitous update (here the reply with a broadcast target MAC) is
// applied once locktime has passed since the entry last changed. With
// locktime 0 that is the next jiffy, so we resend until it takes, within a
// deadline.
func TestIntegrationNonGratuitousAfterLocktime(t *testing.T) {
	testutil.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	vip := netip.MustParseAddr("192.0.2.100")
	tp := newTopo(t, "net.ipv4.neigh.vr.locktime=0")
	tp.setNeigh(vip, fakeMAC)
	rep := garp(tp, vip, false, true)[0]
	copy(rep.Frame[14+18:14+24], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	for {
		tp.send(rep)
		tp.barrier(ctx)
		if mac, _ := tp.neigh(vip); mac == tp.nodeMAC.String() {
			return
		}
		if ctx.Err() != nil {
			t.Fatal("the broadcast-target reply never updated the entry, even with locktime 0")
		}
	}
}

// The pacer, on the real clock, through a real packet socket: the router
// follows both VIPs, and both rounds go out.
func TestIntegrationPacer(t *testing.T) {
	testutil.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tp := newTopo(t)
	vip4 := netip.MustParseAddr("192.0.2.100")
	vip6 := netip.MustParseAddr("2001:db8::100")
	tp.setNeigh(vip4, fakeMAC)
	tp.setNeigh(vip6, fakeMAC)

	p := announce.NewPacer(announce.DefaultRate, announce.DefaultBurst, nil, discard())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(runCtx)
	}()
	defer func() {
		stop()
		<-done
	}()
	start := time.Now()
	p.Announce("vi1", tp.sender, tp.nodeMAC, []netip.Addr{vip4, vip6}, announce.DefaultSchedule())
	for _, vip := range []netip.Addr{vip4, vip6} {
		if err := tp.waitNeigh(ctx, vip, tp.nodeMAC); err != nil {
			t.Fatal(err)
		}
	}
	// Wait for round 2 to be written.
	for {
		st := p.Stats()
		if st.Sent[announce.KindGratuitousRequest] == 2 && st.Sent[announce.KindGratuitousReply] == 2 &&
			st.Sent[announce.KindUnsolicitedNA] == 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stats %v after %v, want 2 rounds", st.Sent, time.Since(start))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if d := time.Since(start); d < announce.DefaultInterval {
		t.Errorf("two rounds within %v, want them %v apart", d, announce.DefaultInterval)
	}
	p.Cancel("vi1")
}

func garp(tp *topo, vip netip.Addr, request, reply bool) []announce.Packet {
	req, rep, err := announce.GratuitousARP(tp.nodeMAC, vip)
	if err != nil {
		tp.t.Fatal(err)
	}
	var out []announce.Packet
	if request {
		out = append(out, req)
	}
	if reply {
		out = append(out, rep)
	}
	return out
}

func must(p announce.Packet, err error) announce.Packet {
	if err != nil {
		panic(err)
	}
	return p
}

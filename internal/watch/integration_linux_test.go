//go:build linux

package watch_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/labnet"
	"github.com/vipd/vipd/internal/testutil"
	"github.com/vipd/vipd/internal/watch"
)

// testLog sends slog output to t.Log.
type testLog struct {
	mu sync.Mutex // guards t against use after the test
	t  *testing.T
}

func (w *testLog) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.t != nil {
		w.t.Log(strings.TrimSpace(string(b)))
	}
	return len(b), nil
}

func newLogger(t *testing.T) *slog.Logger {
	w := &testLog{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.t = nil; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newLab(t *testing.T) *labnet.Lab {
	t.Helper()
	testutil.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := labnet.New(ctx, labnet.Options{})
	if err != nil {
		t.Fatalf("labnet: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("lab close: %v", err)
		}
	})
	return l
}

// node is a watcher running on a lab host, with a pacer of its own.
type node struct {
	w       *watch.Watcher
	pacer   *announce.Pacer
	reports chan watch.Report
}

func startWatcher(t *testing.T, h *labnet.Host, cfg watch.Config) *node {
	return startWatcherDeps(t, h, watch.Deps{Config: cfg})
}

func startWatcherDeps(t *testing.T, h *labnet.Host, deps watch.Deps) *node {
	t.Helper()
	log := newLogger(t).With("node", h.Name)
	n := &node{pacer: announce.NewPacer(0, 0, nil, log), reports: make(chan watch.Report, 100)}
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.Iface)
		if err != nil {
			return err
		}
		deps.Pacer, deps.Logger = n.pacer, log
		deps.OnReport = func(r watch.Report) { n.reports <- r }
		n.w, err = watch.Open(ifi, deps)
		return err
	})
	if err != nil {
		t.Fatalf("open watcher on %s: %v", h.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); n.pacer.Run(ctx) }()
	go func() { defer wg.Done(); n.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if err := n.w.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return n
}

// next returns the next report of kind k, skipping others, or fails.
func (n *node) next(t *testing.T, k watch.ReportKind, within time.Duration) watch.Report {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case r := <-n.reports:
			if r.Kind == k {
				return r
			}
			t.Logf("report %v (waiting for %v)", r.Kind, k)
		case <-deadline:
			t.Fatalf("no %v report within %v", k, within)
		}
	}
}

// eventually polls cond every 50 ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (%s)", what, within, state)
		}
		<-tick.C
	}
}

func routerMAC(t *testing.T, l *labnet.Lab, vip netip.Addr) net.HardwareAddr {
	t.Helper()
	m, err := l.RouterNeigh()
	if err != nil {
		t.Fatal(err)
	}
	return m[vip]
}

func hostPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

func pingOnce(l *labnet.Lab, vip netip.Addr) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := l.Client.Run(ctx, "ping", "-n", "-c", "1", "-W", "1", vip.String())
	return err
}

// TestIntegrationMisdirectedRepair replays the story: the VIP moved from
// node a to node b, but the router keeps a's MAC for it (a sticky
// neighbour table that drops b's gratuitous ARP / unsolicited NA). Node
// a's watcher sees the client's traffic arrive, reports the router and the
// client, and repairs the router's entry with b's MAC, addressed to the
// router's own address from a's neighbour table (a talked to its default
// router when it answered pings); then the pings reach b and stop
// arriving at a.
func TestIntegrationMisdirectedRepair(t *testing.T) {
	noNeighbors := func(net.HardwareAddr) []netip.Addr { return nil }
	tests := []struct {
		name      string
		v6        bool
		behaviour labnet.Behaviour
		// neighbors replaces the netlink lookup of a's neighbour table;
		// without it the repair's target is a fallback.
		neighbors func(net.HardwareAddr) []netip.Addr
	}{
		{name: "IPv4 sticky router", behaviour: labnet.Sticky},
		{name: "IPv6 sticky router", v6: true, behaviour: labnet.Sticky},
		// Unknown upstream address: the ARP reply names the client, which
		// Linux does not look at.
		{name: "IPv4 sticky router, target unknown", behaviour: labnet.Sticky, neighbors: noNeighbors},
		// Unknown upstream address: the NA goes to all nodes, unsolicited,
		// which only a router that takes unsolicited NAs accepts.
		{name: "IPv6 plain router, target unknown", v6: true, behaviour: labnet.Plain, neighbors: noNeighbors},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			a, b := l.Nodes[0], l.Nodes[1]
			vips, err := l.VIPs4(1)
			if tt.v6 {
				vips, err = l.VIPs6(1)
			}
			if err != nil {
				t.Fatal(err)
			}
			vip := vips[0]
			client := labnet.ClientAddr4.Addr()
			if tt.v6 {
				client = labnet.ClientAddr6.Addr()
			}
			if err := l.SetRouterBehaviour(tt.behaviour, vips, 0); err != nil {
				t.Fatal(err)
			}

			// a owns the VIP and the router learns a's MAC for it.
			if err := a.AddAddrs(hostPrefix(vip)); err != nil {
				t.Fatal(err)
			}
			if err := pingOnce(l, vip); err != nil {
				t.Fatalf("ping while a holds the VIP: %v", err)
			}
			if got := routerMAC(t, l, vip); !bytes.Equal(got, a.MAC) {
				t.Fatalf("router has %v for %v, want a's %v", got, vip, a.MAC)
			}
			// The failover: the VIP moves to b, whose announcements the
			// sticky router drops (b does not announce to a plain one).
			if err := a.DelAddrs(hostPrefix(vip)); err != nil {
				t.Fatal(err)
			}
			if err := b.AddAddrs(hostPrefix(vip)); err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.behaviour != labnet.Sticky:
			case vip.Is4():
				if err := b.GratuitousARP(false, 2, vip); err != nil {
					t.Fatal(err)
				}
				if err := b.GratuitousARP(true, 2, vip); err != nil {
					t.Fatal(err)
				}
			default:
				if err := b.UnsolicitedNA(true, 2, vip); err != nil {
					t.Fatal(err)
				}
			}
			if got := routerMAC(t, l, vip); !bytes.Equal(got, a.MAC) {
				t.Fatalf("after the failover the router has %v, want a's stale %v", got, a.MAC)
			}
			if err := pingOnce(l, vip); err == nil {
				t.Fatal("ping reaches the VIP although the router's entry is stale")
			}

			// a watches the VIP it no longer holds; it knows b owns it.
			na := startWatcherDeps(t, a, watch.Deps{Config: watch.Config{EpisodeGap: 2 * time.Second}, Neighbors: tt.neighbors})
			na.w.SetWatched(map[netip.Addr]watch.Owner{vip: {Node: "b", MAC: b.MAC}})
			start := time.Now()

			prober, err := l.NewProber(vips, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			prober.Start(ctx)
			defer prober.Stop()

			rep := na.next(t, watch.ReportMisdirected, 10*time.Second)
			m := rep.Misdirected
			t.Logf("reported after %v: %+v", time.Since(start), m)
			if m.VIP != vip || !bytes.Equal(m.SrcMAC, l.Router.MAC) || m.SrcIP != client ||
				!bytes.Equal(m.Owner.MAC, b.MAC) || m.Packets < 3 {
				t.Fatalf("report %+v; want VIP %v from router %v, client %v", m, vip, l.Router.MAC, client)
			}
			eventually(t, 10*time.Second, "router's entry moves to b", func() (bool, string) {
				got := routerMAC(t, l, vip)
				return bytes.Equal(got, b.MAC), fmt.Sprintf("router has %v", got)
			})
			repaired := time.Since(start)
			eventually(t, 10*time.Second, "pings reach b", func() (bool, string) {
				return prober.Reachable(vip), fmt.Sprintf("%+v", prober.Stats())
			})
			// The traffic no longer reaches a: the episode ends.
			end := na.next(t, watch.ReportMisdirectedEnded, 10*time.Second)
			if end.Misdirected.Repairs < 1 {
				t.Errorf("episode ended with %d repairs", end.Misdirected.Repairs)
			}
			kind := announce.KindUnicastReply
			if vip.Is6() {
				kind = announce.KindUnicastNA
			}
			if sent := na.pacer.Stats().Sent[kind]; sent < 1 {
				t.Errorf("pacer sent %d %v", sent, kind)
			}
			t.Logf("router repaired %v after the watcher started; %d repairs; watcher stats %+v",
				repaired, end.Misdirected.Repairs, na.w.Stats())
		})
	}
}

// TestIntegrationConflict: a and b both have the VIPs configured (a hung
// ex-master that kept them). b's probes find a.
func TestIntegrationConflict(t *testing.T) {
	l := newLab(t)
	a, b := l.Nodes[0], l.Nodes[1]
	v4, err := l.VIPs4(2)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := l.VIPs6(1)
	if err != nil {
		t.Fatal(err)
	}
	dup := []netip.Addr{v4[0], v6[0]}
	only := v4[1] // b's alone: no conflict
	for _, v := range dup {
		if err := a.AddAddrs(hostPrefix(v)); err != nil {
			t.Fatal(err)
		}
		if err := b.AddAddrs(hostPrefix(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.AddAddrs(hostPrefix(only)); err != nil {
		t.Fatal(err)
	}
	nb := startWatcher(t, b, watch.Config{})
	held := append([]netip.Addr{only}, dup...)
	nb.w.SetHeld(held)
	start := time.Now()
	nb.w.Probe(held)

	found := map[netip.Addr]watch.Conflict{}
	for len(found) < len(dup) {
		r := nb.next(t, watch.ReportConflict, 10*time.Second)
		found[r.Conflict.VIP] = r.Conflict
		t.Logf("conflict after %v: %+v", time.Since(start), r.Conflict)
	}
	for _, v := range dup {
		c, ok := found[v]
		if !ok || !bytes.Equal(c.MAC, a.MAC) || c.Count < 2 {
			t.Errorf("conflict for %v: %+v, want a's MAC %v", v, c, a.MAC)
		}
	}
	if _, ok := found[only]; ok {
		t.Errorf("conflict reported for %v, which only b holds", only)
	}
	// After all probes (3 rounds: 2 ARP probes and 1 DAD NS each, through
	// the pacer), still only the two.
	eventually(t, 10*time.Second, "probes sent", func() (bool, string) {
		sent := nb.pacer.Stats().Sent
		return sent[announce.KindDirectedRequest] == 6 && sent[announce.KindNeighborSolicit] == 3, fmt.Sprint(sent)
	})
	if cs := nb.w.Conflicts(); len(cs) != 2 {
		t.Errorf("Conflicts() = %+v, want 2", cs)
	}
	if st := nb.w.Stats(); st.Probes != 9 {
		t.Errorf("watcher counted %d probes, want 9", st.Probes)
	}
}

// TestIntegrationFilterKeepsOwnTraffic: the kernel filter passes none of
// the node's own traffic (pings to its own addresses, and its replies,
// which are outgoing) to the watcher, only what it watches.
func TestIntegrationFilterKeepsOwnTraffic(t *testing.T) {
	l := newLab(t)
	a := l.Nodes[0]
	v4, err := l.VIPs4(1)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := l.VIPs6(1)
	if err != nil {
		t.Fatal(err)
	}
	na := startWatcher(t, a, watch.Config{})
	na.w.SetWatched(map[netip.Addr]watch.Owner{v4[0]: {Node: "b"}, v6[0]: {Node: "b"}})
	const n = 500
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, dst := range []netip.Addr{a.Addr4.Addr(), a.Addr6.Addr()} {
		if out, err := l.Client.Run(ctx, "ping", "-n", "-q", "-i", "0.002", "-c", fmt.Sprint(n), dst.String()); err != nil {
			t.Fatalf("ping %v: %v\n%s", dst, err, out)
		}
	}
	st := na.w.Stats()
	t.Logf("after %d pings each way to a's IPv4 and IPv6 addresses: %+v", 2*n, st)
	if st.Dropped[watch.DropNotWatched] != 0 || st.Dropped[watch.DropOwnFrame] != 0 || st.Dropped[watch.DropNotForUs] != 0 {
		t.Errorf("own traffic reached the watcher: %+v", st.Dropped)
	}
	if st.Frames > 50 {
		t.Errorf("%d frames reached the watcher; want only a little ARP/NDP", st.Frames)
	}
	// The watched VIP's traffic does pass: point the router's entry for
	// it at a, as a stale one would.
	if _, err := l.Router.Run(ctx, "ip", "neigh", "replace", v4[0].String(), "lladdr", a.MAC.String(), "dev", "lan0", "nud", "reachable"); err != nil {
		t.Fatal(err)
	}
	_ = pingOnce(l, v4[0]) // unanswered: a does not hold it
	eventually(t, 5*time.Second, "misdirected packet counted", func() (bool, string) {
		st := na.w.Stats()
		return st.Misdirected >= 1, fmt.Sprintf("%+v", st)
	})
}

//go:build linux

package verify_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/labnet"
	"github.com/vipd/vipd/internal/testutil"
	"github.com/vipd/vipd/internal/verify"
)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestIntegrationStickyRouter is the story's failover: ten VIPs per family
// learnt by a sticky router at node a, moved to node b by hand, announced
// by b with plain gratuitous ARP / unsolicited NA, which the router drops
// for every second VIP. Check must find those stale and the others
// verified; Nudge must repair them, fast; Check must then find all
// verified, and the client must reach every VIP.
// stickyLab is a lab whose sticky router has learnt n VIPs per family at
// node a, and drops gratuitous ARP and unsolicited NAs for every second
// one. Node b knows the router already (from its own address): otherwise
// b's first echo from a VIP would make b's kernel ask "who-has router, tell
// VIP", a directed request that repairs that VIP by itself.
type stickyLab struct {
	lab          *labnet.Lab
	a, b         *labnet.Host
	vips4, vips6 []netip.Addr
	all          []netip.Addr
	prefixes     []netip.Prefix
	isSticky     map[netip.Addr]bool
}

func newStickyLab(t *testing.T, ctx context.Context, n int) *stickyLab {
	t.Helper()
	testutil.RequireRoot(t)
	lab, err := labnet.New(ctx, labnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("close lab: %v", err)
		}
	})
	l := &stickyLab{lab: lab, a: lab.Nodes[0], b: lab.Nodes[1], isSticky: map[netip.Addr]bool{}}
	if l.vips4, err = lab.VIPs4(n); err != nil {
		t.Fatal(err)
	}
	if l.vips6, err = lab.VIPs6(n); err != nil {
		t.Fatal(err)
	}
	var sticky []netip.Addr
	for _, vs := range [][]netip.Addr{l.vips4, l.vips6} {
		for i, v := range vs {
			if i%2 == 1 {
				sticky = append(sticky, v)
				l.isSticky[v] = true
			}
		}
	}
	if err := lab.SetRouterBehaviour(labnet.Sticky, sticky, 0); err != nil {
		t.Fatal(err)
	}
	// The VIPs carry the LAN prefix, so that the default route's gateway
	// (the router) is their target without configuration.
	for _, v := range l.vips4 {
		l.prefixes = append(l.prefixes, netip.PrefixFrom(v, lab.LAN4.Bits()))
	}
	for _, v := range l.vips6 {
		l.prefixes = append(l.prefixes, netip.PrefixFrom(v, lab.LAN6.Bits()))
	}
	l.all = append(append([]netip.Addr(nil), l.vips4...), l.vips6...)

	if err := l.a.AddAddrs(l.prefixes...); err != nil {
		t.Fatal(err)
	}
	for _, v := range l.all {
		if out, err := lab.Client.Run(ctx, "ping", "-c", "1", "-W", "2", v.String()); err != nil {
			t.Fatalf("client ping %v at a: %v\n%s", v, err, out)
		}
	}
	neigh, err := lab.RouterNeigh()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range l.all {
		if !bytes.Equal(neigh[v], l.a.MAC) {
			t.Fatalf("router: %v at %v, want a's %v", v, neigh[v], l.a.MAC)
		}
	}
	for _, gw := range []netip.Addr{lab.Router.Addr4.Addr(), lab.Router.Addr6.Addr()} {
		if out, err := l.b.Run(ctx, "ping", "-c", "1", "-W", "2", gw.String()); err != nil {
			t.Fatalf("b ping router %v: %v\n%s", gw, err, out)
		}
	}
	return l
}

// move takes the VIPs from a to b by hand.
func (l *stickyLab) move(t *testing.T) {
	t.Helper()
	if err := l.a.DelAddrs(l.prefixes...); err != nil {
		t.Fatal(err)
	}
	if err := l.b.AddAddrs(l.prefixes...); err != nil {
		t.Fatal(err)
	}
}

// inB runs f on a thread in b's namespace with b's LAN interface.
func (l *stickyLab) inB(t *testing.T, f func(ifi *net.Interface) error) {
	t.Helper()
	err := l.b.Do(func() error {
		ifi, err := net.InterfaceByName(l.b.Iface)
		if err != nil {
			return err
		}
		return f(ifi)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestIntegrationStickyRouter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l := newStickyLab(t, ctx, 10)
	lab, a, b, isSticky := l.lab, l.a, l.b, l.isSticky
	vips4, vips6 := l.vips4, l.vips6

	// The move by hand, with the plain announcements a failover sends.
	l.move(t)
	// b announces what a new master announces: one gratuitous ARP request
	// and reply per IPv4 VIP, one unsolicited NA per IPv6 VIP. (Sent with
	// package announce from a packet socket: no IPv6 zone names involved,
	// which Go caches process-wide, across namespaces.)
	l.inB(t, func(ifi *net.Interface) error {
		s, err := announce.OpenSender(ifi)
		if err != nil {
			return err
		}
		defer s.Close()
		pkts, err := announce.Announcements(ifi.HardwareAddr, l.all)
		if err != nil {
			return err
		}
		for _, p := range pkts {
			if err := s.Send(p.Frame); err != nil {
				return err
			}
		}
		return nil
	})

	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	inB := func(f func(ifi *net.Interface) error) { t.Helper(); l.inB(t, f) }

	for _, fam := range []struct {
		name   string
		vips   []netip.Addr
		target netip.Addr
		fix    string
	}{
		{"IPv4", vips4, lab.Router.Addr4.Addr(), "directed_request"},
		{"IPv6", vips6, lab.Router.Addr6.Addr(), "neighbor_solicit"},
	} {
		t.Run(fam.name, func(t *testing.T) {
			var before, fixed, after []verify.VIPStatus
			var checkTook, nudgeTook time.Duration
			inB(func(ifi *net.Interface) error {
				start := time.Now()
				st, err := verify.Check(ctx, ifi, fam.vips, nil)
				checkTook = time.Since(start)
				before = st
				return err
			})
			t.Logf("check took %v", checkTook)
			if len(before) != len(fam.vips) {
				t.Fatalf("check: %d statuses for %d VIPs: %+v", len(before), len(fam.vips), before)
			}
			for _, st := range before {
				want := verify.Verified
				if isSticky[st.VIP] {
					want = verify.Stale
				}
				if st.State != want || st.Target != fam.target || !bytes.Equal(st.TargetMAC, lab.Router.MAC) {
					t.Errorf("check before: %v → %v is %v (target MAC %v), want %v", st.VIP, st.Target, st.State, st.TargetMAC, want)
				}
			}
			neigh, err := lab.RouterNeigh()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range fam.vips {
				if want := map[bool]net.HardwareAddr{true: a.MAC, false: b.MAC}[isSticky[v]]; !bytes.Equal(neigh[v], want) {
					t.Errorf("router before nudge: %v at %v, want %v", v, neigh[v], want)
				}
			}

			inB(func(ifi *net.Interface) error {
				start := time.Now()
				st, err := verify.Nudge(ctx, ifi, fam.vips, nil, log)
				nudgeTook = time.Since(start)
				fixed = st
				return err
			})
			t.Logf("nudge took %v", nudgeTook)
			for _, st := range fixed {
				want := ""
				if isSticky[st.VIP] {
					want = fam.fix
				}
				if st.State != verify.Verified || st.FixedBy != want {
					t.Errorf("nudge: %v is %v, fixed by %q after %d attempts, want verified by %q",
						st.VIP, st.State, st.FixedBy, st.Attempts, want)
				}
			}
			if nudgeTook > time.Second {
				t.Errorf("nudge took %v, want < 1s", nudgeTook)
			}

			inB(func(ifi *net.Interface) error {
				st, err := verify.Check(ctx, ifi, fam.vips, nil)
				after = st
				return err
			})
			for _, st := range after {
				if st.State != verify.Verified {
					t.Errorf("check after: %v is %v", st.VIP, st.State)
				}
			}
			neigh, err = lab.RouterNeigh()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range fam.vips {
				if !bytes.Equal(neigh[v], b.MAC) {
					t.Errorf("router after nudge: %v at %v, want b's %v", v, neigh[v], b.MAC)
				}
				if out, err := lab.Client.Run(ctx, "ping", "-c", "1", "-W", "2", v.String()); err != nil {
					t.Errorf("client ping %v after nudge: %v\n%s", v, err, out)
				}
			}
		})
	}

	// A configured link-local target (how IPv6 routers usually appear as
	// gateways): probed with its zone, verified for both VIPs.
	t.Run("IPv6 link-local target", func(t *testing.T) {
		out, err := lab.Router.Run(ctx, "ip", "-6", "-o", "addr", "show", "dev", "lan0", "scope", "link")
		if err != nil {
			t.Fatal(err)
		}
		var ll netip.Addr
		for _, f := range strings.Fields(string(out)) {
			if p, err := netip.ParsePrefix(f); err == nil && p.Addr().IsLinkLocalUnicast() {
				ll = p.Addr()
			}
		}
		if !ll.IsValid() {
			t.Fatalf("no link-local address on the router: %s", out)
		}
		var st []verify.VIPStatus
		inB(func(ifi *net.Interface) error {
			st, err = verify.Check(ctx, ifi, vips6[:2], []netip.Addr{ll})
			return err
		})
		if len(st) != 4 {
			t.Fatalf("%d statuses, want 2 VIPs × 2 targets: %+v", len(st), st)
		}
		for _, s := range st {
			if s.State != verify.Verified {
				t.Errorf("%v → %v: %v", s.VIP, s.Target, s.State)
			}
		}
		if st[1].Target != ll {
			t.Errorf("second target %v, want %v", st[1].Target, ll)
		}
	})

	// A configured target off the link is refused.
	inB(func(ifi *net.Interface) error {
		if err := verify.CheckTargets(ifi.Index, []netip.Addr{netip.MustParseAddr("203.0.113.1")}); !errors.Is(err, verify.ErrTargetNotOnLink) {
			t.Errorf("CheckTargets(off-link) = %v, want ErrTargetNotOnLink", err)
		}
		return verify.CheckTargets(ifi.Index, []netip.Addr{lab.Router.Addr4.Addr(), lab.Router.Addr6.Addr()})
	})
}

// TestIntegrationTakeover is the daemon's flow: on becoming master the
// daemon starts its announcement schedule on the shared pacer and the
// Verifier of the instance, both at once. Twenty VIPs per family, half of
// them ignored by the router's gratuitous handling; every one must be
// verified within a second of the takeover. Then the old owner steals a
// VIP back: the periodic probe notices and the ladder repairs it.
func TestIntegrationTakeover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l := newStickyLab(t, ctx, 20)

	var (
		ifi     *net.Interface
		prober  *verify.ICMP
		neigh   *verify.NetlinkNeighbors
		sender  announce.SenderCloser
		targets []netip.Addr
	)
	l.inB(t, func(i *net.Interface) error {
		var err error
		ifi = i
		if prober, err = verify.ListenICMP(0, nil); err != nil {
			return err
		}
		if neigh, err = verify.OpenNeighbors(); err != nil {
			return err
		}
		if sender, err = announce.OpenSender(ifi); err != nil {
			return err
		}
		targets, err = verify.Targets(ifi.Index, l.prefixes, nil)
		return err
	})
	defer prober.Close()
	defer neigh.Close()
	defer sender.Close()
	if want := []netip.Addr{l.lab.Router.Addr4.Addr(), l.lab.Router.Addr6.Addr()}; !slices.Equal(targets, want) {
		t.Fatalf("targets %v, want %v", targets, want)
	}

	pacer := announce.NewPacer(0, 0, nil, nil)
	pctx, pstop := context.WithCancel(ctx)
	pacerDone := make(chan struct{})
	go func() { defer close(pacerDone); pacer.Run(pctx) }()
	defer func() { pstop(); <-pacerDone }()

	type change struct {
		st verify.VIPStatus
		at time.Time
	}
	changes := make(chan change, 4096)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	v := verify.New(verify.Config{
		Instance: "vi_1", Interface: ifi.Name, IfIndex: ifi.Index, MAC: ifi.HardwareAddr,
		Primary4: l.b.Addr4.Addr(), Primary6: l.b.Addr6.Addr(),
		VIPs: l.all, Targets: targets,
		Timing: verify.Timing{Period: 500 * time.Millisecond},
	}, verify.Deps{
		Prober: prober, Pacer: pacer, Sender: sender, Neighbors: neigh, Logger: log,
		OnEvent: func(e verify.Event) {
			sc, ok := e.(verify.StateChanged)
			if !ok {
				return
			}
			select {
			case changes <- change{sc.Status, time.Now()}:
			default:
				t.Error("change channel full")
			}
		},
	})
	// waitAll waits until every VIP is verified and returns when the last
	// one was.
	waitAll := func(what string) time.Time {
		t.Helper()
		state := map[netip.Addr]verify.State{}
		var last time.Time
		deadline := time.After(10 * time.Second)
		for {
			n := 0
			for _, s := range state {
				if s == verify.Verified {
					n++
				}
			}
			if n == len(l.all) {
				return last
			}
			select {
			case c := <-changes:
				if c.st.State == verify.Verified && state[c.st.VIP] != verify.Verified {
					last = c.at
				}
				state[c.st.VIP] = c.st.State
			case <-deadline:
				t.Fatalf("%s: %d of %d VIPs verified after 10s: %+v", what, n, len(l.all), v.Status())
			}
		}
	}

	l.move(t)
	takeover := time.Now()
	pacer.Announce("vi_1", sender, ifi.HardwareAddr, l.all, announce.DefaultSchedule())
	v.Start(ctx)
	last := waitAll("takeover")
	t.Logf("all %d VIPs verified %v after the takeover", len(l.all), last.Sub(takeover))
	if d := last.Sub(takeover); d > time.Second {
		t.Errorf("last VIP verified %v after the takeover, want < 1s", d)
	}
	for _, st := range v.Status() {
		switch {
		case l.isSticky[st.VIP] && st.VIP.Is4() && st.FixedBy != "directed_request",
			l.isSticky[st.VIP] && st.VIP.Is6() && st.FixedBy != "neighbor_solicit",
			!l.isSticky[st.VIP] && st.FixedBy != "" && st.FixedBy != "gratuitous_arp" && st.FixedBy != "unsolicited_na":
			t.Errorf("%v fixed by %q (sticky %v)", st.VIP, st.FixedBy, l.isSticky[st.VIP])
		}
	}
	stats := v.Stats()
	t.Logf("stats after the takeover: %v", stats)
	if stats["directed_request"] < 10 || stats["neighbor_solicit"] < 10 || stats["send_failed"] != 0 {
		t.Errorf("stats %v: want at least one directed request / NS per sticky VIP, no failures", stats)
	}

	// The old owner announces a non-sticky VIP: the router believes it.
	stolen := l.vips4[0]
	if err := l.a.GratuitousARP(false, 1, stolen); err != nil {
		t.Fatal(err)
	}
	stole := time.Now()
	deadline := time.After(10 * time.Second)
	var sawStale bool
	for done := false; !done; {
		select {
		case c := <-changes:
			if c.st.VIP != stolen {
				continue
			}
			if c.st.State == verify.Stale {
				sawStale = true
			}
			if sawStale && c.st.State == verify.Verified {
				t.Logf("stolen VIP repaired %v after the theft, fixed by %s", c.at.Sub(stole), c.st.FixedBy)
				if c.st.FixedBy != "gratuitous_arp" {
					t.Errorf("stolen VIP fixed by %q", c.st.FixedBy)
				}
				done = true
			}
		case <-deadline:
			t.Fatalf("stolen VIP not repaired: %+v", v.Status())
		}
	}

	v.Stop()
	for _, st := range v.Status() {
		if st.State != verify.Unknown {
			t.Errorf("after Stop: %v is %v", st.VIP, st.State)
		}
	}
	for _, vip := range l.all {
		if out, err := l.lab.Client.Run(ctx, "ping", "-c", "1", "-W", "2", vip.String()); err != nil {
			t.Errorf("client ping %v: %v\n%s", vip, err, out)
		}
	}
}

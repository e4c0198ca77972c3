//go:build linux

package verify_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/labnet"
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
func TestIntegrationStickyRouter(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and raw sockets")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lab, err := labnet.New(ctx, labnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("close lab: %v", err)
		}
	})
	a, b := lab.Nodes[0], lab.Nodes[1]
	vips4, err := lab.VIPs4(10)
	if err != nil {
		t.Fatal(err)
	}
	vips6, err := lab.VIPs6(10)
	if err != nil {
		t.Fatal(err)
	}
	var sticky []netip.Addr
	isSticky := map[netip.Addr]bool{}
	for _, vs := range [][]netip.Addr{vips4, vips6} {
		for i, v := range vs {
			if i%2 == 1 {
				sticky = append(sticky, v)
				isSticky[v] = true
			}
		}
	}
	if err := lab.SetRouterBehaviour(labnet.Sticky, sticky, 0); err != nil {
		t.Fatal(err)
	}
	// The VIPs carry the LAN prefix, so that the default route's gateway
	// (the router) is their target without configuration.
	var prefixes []netip.Prefix
	for _, v := range vips4 {
		prefixes = append(prefixes, netip.PrefixFrom(v, lab.LAN4.Bits()))
	}
	for _, v := range vips6 {
		prefixes = append(prefixes, netip.PrefixFrom(v, lab.LAN6.Bits()))
	}
	all := append(append([]netip.Addr(nil), vips4...), vips6...)

	// The router learns every VIP at node a.
	if err := a.AddAddrs(prefixes...); err != nil {
		t.Fatal(err)
	}
	for _, v := range all {
		if out, err := lab.Client.Run(ctx, "ping", "-c", "1", "-W", "2", v.String()); err != nil {
			t.Fatalf("client ping %v at a: %v\n%s", v, err, out)
		}
	}
	neigh, err := lab.RouterNeigh()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range all {
		if !bytes.Equal(neigh[v], a.MAC) {
			t.Fatalf("router: %v at %v, want a's %v", v, neigh[v], a.MAC)
		}
	}

	// b knows the router already (from its own address): otherwise b's
	// first echo from a VIP would make b's kernel ask "who-has router, tell
	// VIP", a directed request that would repair that VIP by itself.
	for _, gw := range []netip.Addr{lab.Router.Addr4.Addr(), lab.Router.Addr6.Addr()} {
		if out, err := b.Run(ctx, "ping", "-c", "1", "-W", "2", gw.String()); err != nil {
			t.Fatalf("b ping router %v: %v\n%s", gw, err, out)
		}
	}

	// The move by hand, with the plain announcements a failover sends.
	if err := a.DelAddrs(prefixes...); err != nil {
		t.Fatal(err)
	}
	if err := b.AddAddrs(prefixes...); err != nil {
		t.Fatal(err)
	}
	if err := b.GratuitousARP(false, 1, vips4...); err != nil {
		t.Fatal(err)
	}
	if err := b.UnsolicitedNA(true, 1, vips6...); err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	inB := func(f func(ifi *net.Interface) error) {
		t.Helper()
		err := b.Do(func() error {
			ifi, err := net.InterfaceByName(b.Iface)
			if err != nil {
				return err
			}
			return f(ifi)
		})
		if err != nil {
			t.Fatal(err)
		}
	}

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

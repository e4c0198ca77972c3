package labnet

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// TestRouteWatch follows the router's routes to two host prefixes as
// they are added, moved to another gateway and deleted.
func TestRouteWatch(t *testing.T) {
	l := newLab(t, Options{})
	r, a, b := l.Router, l.Nodes[0], l.Nodes[1]
	p4, p6 := netip.MustParsePrefix("198.19.0.1/32"), netip.MustParsePrefix("2001:db8:ff::1/128")
	ip := func(args ...string) {
		t.Helper()
		if out, err := r.Run(context.Background(), "ip", args...); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	// One of them exists before the watch starts: it is read first.
	ip("-4", "route", "add", p4.String(), "via", a.Addr4.Addr().String())
	w, err := r.WatchRoutes([]netip.Prefix{p4, p6})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	a4, a6, b4, b6 := a.Addr4.Addr(), a.Addr6.Addr(), b.Addr4.Addr(), b.Addr6.Addr()
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				gw4, _ := w.Via(p4)
				gw6, _ := w.Via(p6)
				t.Fatalf("%s: routes via %v and %v", what, gw4, gw6)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait("the existing route", func() bool { gw, _ := w.Via(p4); return gw == a4 })
	if _, ok := w.AllVia(a4, a6); ok {
		t.Error("AllVia with the IPv6 route missing")
	}
	ip("-6", "route", "add", p6.String(), "via", a6.String())
	wait("both via A", func() bool { _, ok := w.AllVia(a4, a6); return ok })
	before := time.Now()
	ip("-4", "route", "replace", p4.String(), "via", b4.String())
	ip("-6", "route", "replace", p6.String(), "via", b6.String())
	wait("both via B", func() bool { return w.Count(b4, b6) == 2 })
	if since, ok := w.AllVia(b4, b6); !ok || since.Before(before) {
		t.Errorf("AllVia(B) = %v, %v; want a time after %v", since, ok, before)
	}
	ip("-6", "route", "del", p6.String())
	wait("the IPv6 route gone", func() bool { gw, _ := w.Via(p6); return !gw.IsValid() })
	if n := w.Changes(before); n != 3 {
		t.Errorf("%d changes since the move to B, want 3 (two moves, one delete)", n)
	}
	if n := w.Count(b4, b6); n != 1 {
		t.Errorf("%d routes via B, want 1", n)
	}
	if err := w.Err(); err != nil {
		t.Error(err)
	}
}

package present

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/bgp"
	"github.com/vipd/vipd/internal/clock/clocktest"
	"github.com/vipd/vipd/internal/vipaddr/vipaddrtest"
	"github.com/vipd/vipd/internal/watch"
)

// routesFake is a BGP speaker that records what it is told, in order,
// interleaved with the address operations ("add", "remove") by the same
// log.
type routesFake struct {
	mu    sync.Mutex
	log   *[]string
	ann   map[netip.Prefix]bgp.Preference
	up    map[netip.Addr]bool
	logMu *sync.Mutex
}

func (r *routesFake) note(s string) {
	r.logMu.Lock()
	*r.log = append(*r.log, s)
	r.logMu.Unlock()
}

func (r *routesFake) Announce(_ context.Context, rt bgp.Route) error {
	r.mu.Lock()
	r.ann[rt.Prefix] = rt.Preference
	r.mu.Unlock()
	r.note(fmt.Sprintf("announce %s %d", rt.Prefix, rt.Prepend))
	return nil
}

func (r *routesFake) Withdraw(_ context.Context, p netip.Prefix) error {
	r.mu.Lock()
	delete(r.ann, p)
	r.mu.Unlock()
	r.note("withdraw " + p.String())
	return nil
}

func (r *routesFake) Established(peer netip.Addr) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.up[peer]
}

func (r *routesFake) announced() map[netip.Prefix]bgp.Preference {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[netip.Prefix]bgp.Preference{}
	for k, v := range r.ann {
		out[k] = v
	}
	return out
}

// proberFake answers the echoes of the VIPs in here (the router's best
// path points at this node for them).
type proberFake struct {
	mu   sync.Mutex
	here map[netip.Addr]bool
	sent int
}

func (p *proberFake) Echo(_ int, src, _ netip.Addr, reply func()) error {
	p.mu.Lock()
	p.sent++
	ok := p.here[src]
	p.mu.Unlock()
	if ok {
		go reply()
	}
	return nil
}

type routedFixture struct {
	p      *Routed
	k      *kernel
	routes *routesFake
	prober *proberFake
	clock  *clocktest.Clock
	log    []string
	logMu  sync.Mutex
}

var (
	routedVIPs = pfx("198.18.1.1/32", "2001:db8:ff::1/128")
	peer4      = netip.MustParseAddr("192.0.2.1")
	peer6      = netip.MustParseAddr("2001:db8:1::1")
)

const loIndex = 1

func newRoutedFixture(t *testing.T) *routedFixture {
	f := &routedFixture{k: &kernel{addrs: vipaddrtest.New()}, clock: clocktest.NewClock(t0),
		prober: &proberFake{here: map[netip.Addr]bool{}}}
	f.routes = &routesFake{log: &f.log, logMu: &f.logMu, ann: map[netip.Prefix]bgp.Preference{},
		up: map[netip.Addr]bool{peer4: true, peer6: true}}
	f.p = NewRouted(RoutedConfig{
		Instance: "web", Bind: net.Interface{Index: loIndex, Name: "lo"}, Uplink: net.Interface{Index: 2, Name: "eth0"},
		Peers: []netip.Addr{peer4, peer6}, Priority: 150,
		Settings: Settings{VIPs: routedVIPs, Verify: VerifyConfig{Enabled: true, Period: 30 * time.Second}},
	}, RoutedDeps{Kernel: f.k, Addresses: f.k.addrs, Routes: f.routes, Prober: f.prober, Clock: f.clock})
	f.k.addrs.OnCall(func(c vipaddrtest.Call) {
		f.logMu.Lock()
		f.log = append(f.log, fmt.Sprintf("%s %v", c.Op, c.VIPs))
		f.logMu.Unlock()
		f.p.Reconcile(c.VIPs...)
	})
	f.p.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		go func() {
			// Close waits for the unbind delay on the fake clock.
			for ctx.Err() == nil {
				f.clock.Advance(100 * time.Millisecond)
				time.Sleep(time.Millisecond)
			}
		}()
		f.p.Close(ctx)
		cancel()
	})
	return f
}

func (f *routedFixture) ops() []string {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *routedFixture) route(vip netip.Prefix) string {
	for _, v := range f.p.Status().VIPs {
		if v.Prefix == vip && v.Route != nil {
			return v.Route.State
		}
	}
	return ""
}

// advanceUntil moves the fake clock in steps until cond holds.
func (f *routedFixture) advanceUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i > 2000 {
			t.Fatalf("timed out waiting for %s; ops %v", what, f.ops())
		}
		f.clock.Advance(50 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
}

// A takeover binds every VIP before it announces any; a release withdraws
// every route before it unbinds any, and keeps them bound unbindDelay.
func TestRoutedBindAnnounceWithdrawUnbind(t *testing.T) {
	f := newRoutedFixture(t)
	f.p.TakeOver(time.Time{})
	waitFor(t, "both routes announced", func() bool { return len(f.routes.announced()) == 2 })
	ops := f.ops()
	if len(ops) != 3 || ops[0] != "add [198.18.1.1/32 2001:db8:ff::1/128]" {
		t.Fatalf("ops %v, want the add first, then two announcements", ops)
	}
	if want := bgp.PreferenceFor(150); f.routes.announced()[routedVIPs[0]] != want {
		t.Errorf("preference %+v, want %+v", f.routes.announced()[routedVIPs[0]], want)
	}

	f.p.Release(watch.Owner{})
	waitFor(t, "both routes withdrawn", func() bool { return len(f.routes.announced()) == 0 })
	time.Sleep(20 * time.Millisecond)
	if n := len(f.k.addrs.Addresses(loIndex)); n != 2 {
		t.Fatalf("VIPs unbound before unbindDelay: %d bound", n)
	}
	f.clock.Advance(unbindDelay)
	waitFor(t, "VIPs unbound", func() bool { return len(f.k.addrs.Addresses(loIndex)) == 0 })
	ops = f.ops()
	if last := ops[len(ops)-1]; last != "remove [198.18.1.1/32 2001:db8:ff::1/128]" && last != "remove [2001:db8:ff::1/128 198.18.1.1/32]" {
		t.Errorf("last op %q, want the remove after the withdrawals (ops %v)", last, ops)
	}
	for i, op := range ops {
		if op[:6] == "remove" && i < 5 {
			t.Errorf("remove before both withdrawals: %v", ops)
		}
	}
}

// A health weight's new priority is announced again with its preference.
func TestRoutedSetPriority(t *testing.T) {
	f := newRoutedFixture(t)
	f.p.TakeOver(time.Time{})
	waitFor(t, "routes announced", func() bool { return len(f.routes.announced()) == 2 })
	f.p.SetPriority(90)
	want := bgp.PreferenceFor(90)
	waitFor(t, "new preference", func() bool {
		a := f.routes.announced()
		return a[routedVIPs[0]] == want && a[routedVIPs[1]] == want
	})
}

// The echo tells where the router's best path is.
func TestRoutedVerification(t *testing.T) {
	f := newRoutedFixture(t)
	for _, v := range routedVIPs {
		if got := f.route(v); got != "" && got != RouteNotAnnounced {
			t.Errorf("%s before the takeover: %q", v, got)
		}
	}
	f.prober.mu.Lock()
	f.prober.here[routedVIPs[0].Addr()] = true
	f.prober.mu.Unlock()
	f.p.TakeOver(time.Time{})
	f.advanceUntil(t, "v4 best here", func() bool { return f.route(routedVIPs[0]) == RouteBestHere })
	f.advanceUntil(t, "v6 best elsewhere", func() bool { return f.route(routedVIPs[1]) == RouteBestElsewhere })

	// The standby's path becomes the best one (the other node died): seen
	// within standbyStep, however long the period.
	f.prober.mu.Lock()
	f.prober.here[routedVIPs[1].Addr()] = true
	f.prober.mu.Unlock()
	start := f.clock.Now()
	f.advanceUntil(t, "v6 best here", func() bool { return f.route(routedVIPs[1]) == RouteBestHere })
	if d := f.clock.Now().Sub(start); d > standbyStep+roundWait+time.Second {
		t.Errorf("standby noticed after %v", d)
	}

	// The IPv6 session goes down: that VIP is not announced anywhere.
	f.routes.mu.Lock()
	f.routes.up[peer6] = false
	f.routes.mu.Unlock()
	f.p.Reconcile()
	f.advanceUntil(t, "v6 not announced", func() bool { return f.route(routedVIPs[1]) == RouteNotAnnounced })
	if got := f.route(routedVIPs[0]); got != RouteBestHere {
		t.Errorf("v4 with its session up: %q", got)
	}
}

// A VIP deleted behind vipd's back is bound again, and stays announced.
func TestRoutedRestore(t *testing.T) {
	f := newRoutedFixture(t)
	f.p.TakeOver(time.Time{})
	waitFor(t, "routes announced", func() bool { return len(f.routes.announced()) == 2 })
	waitFor(t, "bound", func() bool { return len(f.k.addrs.Addresses(loIndex)) == 2 })
	f.k.addrs.Delete(loIndex, routedVIPs[0])
	f.p.Reconcile()
	waitFor(t, "restored", func() bool { return f.p.Status().Restored == 1 })
	waitFor(t, "bound again", func() bool { return len(f.k.addrs.Addresses(loIndex)) == 2 })
}

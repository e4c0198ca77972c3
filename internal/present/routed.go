package present

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/bgp"
	"github.com/vipd/vipd/internal/clock"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/vipaddr"
	"github.com/vipd/vipd/internal/watch"
)

// Routes is the BGP speaker as a routed Presenter uses it (*bgp.Speaker).
type Routes interface {
	Announce(ctx context.Context, r bgp.Route) error
	Withdraw(ctx context.Context, p netip.Prefix) error
	// Established reports whether the session with peer is up.
	Established(peer netip.Addr) bool
}

// RoutedConfig is what a Routed Presenter presents.
type RoutedConfig struct {
	// Instance names the instance (logs, ledger).
	Instance string
	// Bind is the interface the VIPs are bound to (the loopback): the
	// node accepts their traffic without answering ARP or ND for them on
	// the LAN.
	Bind net.Interface
	// Uplink is the interface the peers are reached on (echoes leave
	// there).
	Uplink net.Interface
	// Peers are the BGP peers: the routers whose best path is verified.
	Peers []netip.Addr
	// Priority orders the nodes at the router (bgp.PreferenceFor).
	Priority uint8
	Settings
	// Leftovers are VIPs on Bind that an earlier run recorded as added.
	Leftovers []netip.Prefix
}

// RoutedDeps are what a Routed Presenter works with.
type RoutedDeps struct {
	Kernel    Kernel
	Addresses vipaddr.Addresses
	Routes    Routes
	// Prober sends the verification echoes; nil: no verification.
	Prober verify.Prober
	// Ledger records added addresses; nil: none.
	Ledger Ledger
	Clock  clock.Clock
	Logger *slog.Logger
	// Report receives what the instance must know; it must not block.
	Report func(Report)
}

// unbindDelay is how long withdrawn VIPs stay bound: a router applies a
// withdraw within milliseconds, and packets already on their way still
// arrive here meanwhile.
const unbindDelay = time.Second

// Routed presents VIPs by routing: bound to the loopback and announced by
// BGP with a preference derived from the priority. Held means "announced";
// the router decides which node's path is best. Like L2 it is
// level-triggered: its goroutine compares what should be true with the
// kernel's addresses and the speaker's routes, and acts on the difference:
//
//	desired    per VIP                     action
//	held       not bound                   bind (record, add), then announce
//	held       bound, bound before         bind again, report Restored
//	held       bound, preference changed   announce again
//	absent     announced                   withdraw — before anything else
//	absent     bound, ours                 unbind, unbindDelay after the withdraw
//	absent     bound, not ours             report Unexpected once
type Routed struct {
	cfg  RoutedConfig
	deps RoutedDeps
	log  *slog.Logger
	loop *loop
	pv   *routeVerifier

	mu    sync.Mutex // guards the fields below
	want  routedWant
	stats Status // Restored, Unexpected

	// Owned by the loop's goroutine (reconcile).
	ours       map[netip.Prefix]bool           // bound by vipd (or left by an earlier run)
	adding     map[netip.Prefix]bool           // added, not reported by the kernel yet
	bound      map[netip.Prefix]bool           // seen bound while held: gone again means removed behind our back
	announced  map[netip.Prefix]bgp.Preference // what the speaker announces
	unexpected map[netip.Prefix]bool           // reported
	withdrawAt time.Time                       // last withdraw, for unbindDelay
	addFailed  uint64                          // the takeover generation whose bind failed
}

type routedWant struct {
	held     bool
	takeover uint64
	priority uint8
	set      Settings
	closing  bool
}

var _ Presenter = (*Routed)(nil)

// NewRouted returns a Presenter with its VIPs absent; nothing happens
// until Start. Close stops it.
func NewRouted(cfg RoutedConfig, deps RoutedDeps) *Routed {
	fillDeps(&deps.Clock, &deps.Logger, &deps.Report)
	p := &Routed{
		cfg: cfg, deps: deps, log: deps.Logger,
		loop:       newLoop(deps.Clock),
		want:       routedWant{priority: cfg.Priority, set: cfg.Settings},
		ours:       map[netip.Prefix]bool{},
		adding:     map[netip.Prefix]bool{},
		bound:      map[netip.Prefix]bool{},
		announced:  map[netip.Prefix]bgp.Preference{},
		unexpected: map[netip.Prefix]bool{},
	}
	for _, pfx := range cfg.Leftovers {
		p.ours[pfx] = true
	}
	p.pv = newRouteVerifier(cfg, deps, p.Reconcile)
	return p
}

// Start implements Presenter.
func (p *Routed) Start() { p.loop.start(p.reconcile, p.pv.stop) }

func (p *Routed) change(f func(w *routedWant)) {
	p.mu.Lock()
	f(&p.want)
	p.mu.Unlock()
	p.Reconcile()
}

// TakeOver implements Presenter: bind and announce.
func (p *Routed) TakeOver(time.Time) { p.change(func(w *routedWant) { w.held = true; w.takeover++ }) }

// Release implements Presenter: withdraw, then unbind.
func (p *Routed) Release(watch.Owner) { p.change(func(w *routedWant) { w.held = false }) }

// SetOwner implements Presenter; routed VIPs have no owner to watch.
func (p *Routed) SetOwner(watch.Owner) {}

// Reassert implements Presenter: the announcements stand, nothing to do.
func (p *Routed) Reassert() {}

// ExpectHandover implements Presenter; nothing answers ARP for routed VIPs.
func (p *Routed) ExpectHandover(net.HardwareAddr) {}

// SetVIPs implements Presenter.
func (p *Routed) SetVIPs(s Settings) {
	s.VIPs = slices.Clone(s.VIPs)
	p.change(func(w *routedWant) { w.set = s })
}

// SetPriority changes the priority the announcements carry (a health
// check's weight): the routes are announced again with the new preference.
func (p *Routed) SetPriority(prio uint8) { p.change(func(w *routedWant) { w.priority = prio }) }

// Reconcile implements Presenter.
func (p *Routed) Reconcile(added ...netip.Prefix) { p.loop.notify(added...) }

// Close implements Presenter: the routes are withdrawn and the VIPs
// unbound (after unbindDelay) before it returns, or ctx ends.
func (p *Routed) Close(ctx context.Context) {
	p.change(func(w *routedWant) { w.closing = true })
	p.loop.wait(ctx)
}

// Status implements Presenter.
func (p *Routed) Status() Status {
	p.mu.Lock()
	vips := p.want.set.VIPs
	st := Status{Restored: p.stats.Restored, Unexpected: p.stats.Unexpected}
	p.mu.Unlock()
	have := map[netip.Prefix]bool{}
	for _, a := range p.deps.Kernel.Addrs(p.cfg.Bind.Index) {
		have[a] = true
	}
	routes := p.pv.status()
	for _, pfx := range vips {
		rs := routes[pfx]
		st.VIPs = append(st.VIPs, VIPStatus{Prefix: pfx, Held: have[pfx], Route: &rs})
	}
	return st
}

// reconcile makes one pass and returns when it must run again (zero: on
// the next change), or stop.
func (p *Routed) reconcile(now time.Time) (wake time.Time, stop bool) {
	p.mu.Lock()
	w := p.want
	p.mu.Unlock()
	seen := p.loop.takeSeen()
	for _, pfx := range seen {
		// The kernel reported our add: bound, even if it is gone again
		// (then it was removed behind our back: bind restores it).
		if p.adding[pfx] {
			delete(p.adding, pfx)
			p.bound[pfx] = true
		}
	}
	held := w.held && !w.closing
	want := map[netip.Prefix]bool{}
	for _, v := range w.set.VIPs {
		want[v] = true
	}
	// Withdraw first: whatever else happens, the router must stop
	// sending here what this node no longer serves.
	for pfx := range p.announced {
		if !held || !want[pfx] || p.addFailed == w.takeover {
			p.withdraw(pfx, now)
		}
	}
	actual := map[netip.Prefix]bool{}
	for _, a := range p.deps.Kernel.Addrs(p.cfg.Bind.Index) {
		actual[a] = true
	}
	if held && p.addFailed != w.takeover {
		p.bind(w, actual)
		pref := bgp.PreferenceFor(w.priority)
		for _, pfx := range w.set.VIPs {
			if !actual[pfx] && !p.bound[pfx] && !p.adding[pfx] {
				continue // not bound: never announced
			}
			if old, ok := p.announced[pfx]; ok && old == pref {
				continue
			}
			if err := p.deps.Routes.Announce(context.Background(), bgp.Route{Prefix: pfx, Preference: pref}); err != nil {
				p.log.Error("cannot announce VIP", "vip", pfx.String(), "err", err)
				continue
			}
			p.announced[pfx] = pref
			p.log.Debug("VIP announced", "vip", pfx.String(), "prepend", pref.Prepend, "med", pref.MED)
		}
	}
	// Unbind what is not wanted any more, unbindDelay after its withdraw.
	var unbind []netip.Prefix
	for pfx := range p.ours {
		if _, ann := p.announced[pfx]; !ann && (!held || !want[pfx]) {
			unbind = append(unbind, pfx)
		}
	}
	if len(unbind) > 0 {
		if until := p.withdrawAt.Add(unbindDelay); now.Before(until) {
			wake = until
		} else {
			p.unbind(unbind, actual)
		}
	}
	if !held {
		p.reportUnexpected(w, actual)
	}
	vwake := p.pv.update(now, p.verifyPlan(w, held))
	wake = earliest(wake, vwake)
	if w.closing && len(p.announced) == 0 && len(p.ours) == 0 {
		return time.Time{}, true
	}
	if w.closing && wake.IsZero() && len(p.ours) > 0 {
		wake = now.Add(time.Second) // an unbind failed: retry
	}
	return wake, false
}

func (p *Routed) withdraw(pfx netip.Prefix, now time.Time) {
	if err := p.deps.Routes.Withdraw(context.Background(), pfx); err != nil {
		p.log.Error("cannot withdraw VIP", "vip", pfx.String(), "err", err)
		return
	}
	delete(p.announced, pfx)
	p.withdrawAt = now
	p.log.Debug("VIP withdrawn", "vip", pfx.String())
}

// bind binds the wanted VIPs that are not bound, all or nothing.
func (p *Routed) bind(w routedWant, actual map[netip.Prefix]bool) {
	var todo, restored []netip.Prefix
	for _, pfx := range w.set.VIPs {
		switch {
		case actual[pfx]:
			p.bound[pfx] = true
			delete(p.adding, pfx)
		case p.adding[pfx]:
			// Added; the kernel's event is on its way.
		case p.bound[pfx]:
			restored = append(restored, pfx)
			todo = append(todo, pfx)
		default:
			todo = append(todo, pfx)
		}
	}
	if len(todo) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if p.deps.Ledger != nil {
		if err := p.deps.Ledger.Record(p.cfg.Instance, p.cfg.Bind.Name, p.cfg.Bind.Index, todo); err != nil {
			p.failBind(w, fmt.Errorf("present: record VIPs: %w", err))
			return
		}
	}
	if err := p.deps.Addresses.Add(ctx, p.cfg.Bind.Index, todo); err != nil {
		p.failBind(w, err)
		return
	}
	for _, pfx := range todo {
		p.ours[pfx], p.adding[pfx], actual[pfx] = true, true, true
		delete(p.bound, pfx)
	}
	if len(restored) > 0 {
		p.mu.Lock()
		p.stats.Restored += uint64(len(restored))
		p.mu.Unlock()
		p.log.Warn("VIPs removed behind vipd's back were bound again", "count", len(restored), "bind", p.cfg.Bind.Name)
		p.deps.Report(Restored{VIPs: restored})
	}
}

func (p *Routed) failBind(w routedWant, err error) {
	p.addFailed = w.takeover
	p.log.Error("cannot bind VIPs", "bind", p.cfg.Bind.Name, "err", err)
	p.deps.Report(AddFailed{Err: err})
}

func (p *Routed) unbind(vips []netip.Prefix, actual map[netip.Prefix]bool) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := p.deps.Addresses.Remove(ctx, p.cfg.Bind.Index, vips); err != nil {
		p.log.Error("cannot unbind VIPs", "bind", p.cfg.Bind.Name, "err", err)
		p.deps.Report(RemoveFailed{Err: err})
		return
	}
	if p.deps.Ledger != nil {
		if err := p.deps.Ledger.Forget(p.cfg.Instance, p.cfg.Bind.Index, vips); err != nil {
			p.log.Error("cannot update the record of added VIPs", "err", err)
		}
	}
	for _, pfx := range vips {
		delete(p.ours, pfx)
		delete(p.bound, pfx)
		delete(p.adding, pfx)
		delete(actual, pfx)
	}
}

func (p *Routed) reportUnexpected(w routedWant, actual map[netip.Prefix]bool) {
	var found []netip.Prefix
	for _, pfx := range w.set.VIPs {
		if actual[pfx] && !p.ours[pfx] && !p.unexpected[pfx] {
			p.unexpected[pfx] = true
			found = append(found, pfx)
		}
	}
	if len(found) > 0 {
		p.mu.Lock()
		p.stats.Unexpected += uint64(len(found))
		p.mu.Unlock()
		p.log.Warn("VIPs bound while not announced, not by vipd: left alone", "count", len(found), "bind", p.cfg.Bind.Name)
		p.deps.Report(Unexpected{VIPs: found})
	}
}

package present

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/clock"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/vipaddr"
	"github.com/vipd/vipd/internal/watch"
)

// Kernel is the kernel's actual state as learnt from its events (package
// netmon): reading it never dumps anything.
type Kernel interface {
	// Addrs returns the addresses on interface ifindex.
	Addrs(ifindex int) []netip.Prefix
	// Present returns the members of ps on interface ifindex (address and
	// prefix length): one look at the kernel's state, without copying or
	// sorting every address of the interface (thousands during a
	// takeover, where each of their events asks again).
	Present(ifindex int, ps []netip.Prefix) []netip.Prefix
	// LinkUp reports whether interface ifindex is up with carrier.
	LinkUp(ifindex int) bool
}

// Announcer sends announcements, paced daemon-wide (*announce.Pacer).
type Announcer interface {
	Announce(key string, s announce.Sender, mac net.HardwareAddr, vips []netip.Addr, sch announce.Schedule)
	SendNow(key string, s announce.Sender, pkts ...announce.Packet) error
	Cancel(key string)
	// Congestion reports an announced VIP found stale, Delivered one
	// found at its new owner, Outcome a repair written at sent lost or
	// delivered (see announce.Pacer).
	Congestion()
	Delivered()
	Outcome(sent time.Time, lost bool)
	// Ready releases VIPs of a Wait schedule (see announce.Pacer).
	Ready(key string, vips []netip.Addr)
}

// VirtualLink is the interface that carries an instance's VIPs under the
// RFC 5798 virtual MAC (package vmac): the Presenter creates it when it
// takes over (again, if it was deleted behind its back), brings it up
// while master and down otherwise, and deletes it on Close.
type VirtualLink interface {
	// State reports the link as the kernel's events last did.
	State() (ifindex int, exists, up bool)
	// Ensure creates the link (down) if it is missing and returns its
	// index.
	Ensure() (int, error)
	// SetUp brings it up or down.
	SetUp(up bool) error
	// Delete removes it; a missing one is fine.
	Delete() error
	// Name and MAC are its name and the virtual MAC.
	Name() string
	MAC() net.HardwareAddr
}

// Ledger records the addresses vipd added, so that a later run removes
// only those (package statedir).
type Ledger interface {
	Record(instance, ifname string, ifindex int, vips []netip.Prefix) error
	Forget(instance string, ifindex int, vips []netip.Prefix) error
}

// Config is what an L2 Presenter presents.
type Config struct {
	// Instance names the instance (logs, pacer keys, ledger).
	Instance string
	// Interface carries the VIPs (index, name, MAC).
	Interface net.Interface
	// Primary is the node's own address on the interface (the advert
	// source), which tells a stale upstream entry from a dead target.
	Primary netip.Addr
	// Rate and Burst are the pacer's (0: adaptive), to bound the wait for
	// the first round of announcements should the pacer never report it.
	Rate  float64
	Burst int
	Settings
	// Leftovers are VIPs on the interface that an earlier run recorded as
	// added (it crashed): ours, so removed unless a takeover wants them.
	Leftovers []netip.Prefix
}

// Deps are what an L2 Presenter works with.
type Deps struct {
	Kernel    Kernel
	Addresses vipaddr.Addresses
	Announcer Announcer
	Sender    announce.Sender
	// Watch is the interface's watch set; nil: no watching.
	Watch *WatchSet
	// Prober sends the verification echoes; nil: no verification.
	Prober    verify.Prober
	Neighbors verify.Neighbors
	// Targets finds the upstream targets of the VIPs.
	Targets func(ifindex int, vips []netip.Prefix, configured []netip.Addr) ([]netip.Addr, error)
	// Ledger records added addresses; nil: none.
	Ledger Ledger
	// VMAC, if not nil, carries the VIPs (virtual_mac): they are added
	// on it, announced and verified from its MAC.
	VMAC   VirtualLink
	Clock  clock.Clock
	Logger *slog.Logger
	// Report receives what the instance must know; it must not block.
	Report func(Report)
}

// opTimeout bounds one netlink operation.
const opTimeout = 30 * time.Second

// desired is what the instance asked for.
type desired struct {
	held     bool
	owner    watch.Owner
	set      Settings // its VIPs are never modified in place
	takeover uint64   // generations: a new TakeOver, Reassert, SetVIPs
	reassert uint64
	vipsGen  uint64
	closing  bool
}

// L2 presents VIPs as addresses on an Ethernet interface, announced with
// gratuitous ARP / unsolicited NA. See the package documentation.
type L2 struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	loop *loop

	restored, unexpected atomic.Uint64

	mu       sync.Mutex // guards the fields below
	want     desired
	since    time.Time        // failover start of the current takeover; zero once measured
	verifier *verify.Verifier // the running one, for Status
	// roundDone is the announcement whose first round the pacer reported
	// written (see announceGen).
	roundDone uint64

	// Owned by the loop's goroutine (reconcile).
	states  map[netip.Prefix]*vip
	applied desired
	// addFailed is the takeover generation whose add failed: not retried
	// until the next takeover.
	addFailed uint64
	verifyAt  time.Time // when to start verifying (zero: not pending)
	probeAt   time.Time // when to probe the VIPs for conflicts (zero: not pending)
	// announceGen numbers the Announce calls; waitRound is the one whose
	// first round verification and probes wait for (0: none).
	announceGen, waitRound uint64
	announcedAt            time.Time // when the takeover's schedule started
	// link is the virtual MAC interface's index (0: none known), and
	// linkSeen whether the kernel reported it since it was created.
	link     atomic.Int64
	linkSeen bool
	linkUp   bool // set up by syncLink
	linkErr  bool // a failure to create it was logged
	// upstreamsList caches upstreams (see cachedUpstreams).
	upstreamsList []announce.Target
	upstreamsAt   time.Time
	upstreamsGen  uint64
}

var _ Presenter = (*L2)(nil)

// NewL2 returns a Presenter with its VIPs absent; nothing happens until
// Start. Close stops it.
func NewL2(cfg Config, deps Deps) *L2 {
	fillDeps(&deps.Clock, &deps.Logger, &deps.Report)
	p := &L2{
		cfg: cfg, deps: deps, log: deps.Logger,
		loop:   newLoop(deps.Clock),
		states: map[netip.Prefix]*vip{},
		want:   desired{set: cfg.Settings},
	}
	p.applied = p.want
	for _, pfx := range cfg.Leftovers {
		p.states[pfx] = &vip{state: stOurs, recorded: true}
	}
	return p
}

// Start runs the Presenter's goroutine.
func (p *L2) Start() { p.loop.start(p.reconcile, nil) }

func (p *L2) change(f func(w *desired)) {
	p.mu.Lock()
	f(&p.want)
	p.mu.Unlock()
	p.Reconcile()
}

// TakeOver implements Presenter.
func (p *L2) TakeOver(since time.Time) {
	p.mu.Lock()
	p.since = since
	p.mu.Unlock()
	p.change(func(w *desired) { w.held = true; w.takeover++ })
}

// Release implements Presenter.
func (p *L2) Release(owner watch.Owner) {
	p.change(func(w *desired) { w.held = false; w.owner = owner })
}

// SetOwner implements Presenter.
func (p *L2) SetOwner(owner watch.Owner) { p.change(func(w *desired) { w.owner = owner }) }

// Reassert implements Presenter.
func (p *L2) Reassert() { p.change(func(w *desired) { w.reassert++ }) }

// ExpectHandover implements Presenter.
func (p *L2) ExpectHandover(mac net.HardwareAddr) { p.deps.Watch.expectHandover(mac) }

// SetVIPs implements Presenter.
func (p *L2) SetVIPs(s Settings) {
	s.VIPs = append([]netip.Prefix(nil), s.VIPs...)
	p.change(func(w *desired) { w.set = s; w.vipsGen++ })
}

// Reconcile implements Presenter.
func (p *L2) Reconcile(added ...netip.Prefix) { p.loop.notify(added...) }

// Close implements Presenter.
func (p *L2) Close(ctx context.Context) {
	p.change(func(w *desired) { w.closing = true })
	p.loop.wait(ctx)
}

// Status implements Presenter.
func (p *L2) Status() Status {
	p.mu.Lock()
	vips, v := p.want.set.VIPs, p.verifier
	p.mu.Unlock()
	have := map[netip.Prefix]bool{}
	for _, a := range p.deps.Kernel.Present(p.vipIndex(), vips) {
		have[a] = true
	}
	byVIP := map[netip.Addr][]verify.VIPStatus{}
	if v != nil {
		for _, t := range v.Status() {
			byVIP[t.VIP] = append(byVIP[t.VIP], t)
		}
	}
	mis, conf := p.deps.Watch.findings()
	st := Status{Restored: p.restored.Load(), Unexpected: p.unexpected.Load(), VIPs: make([]VIPStatus, 0, len(vips))}
	for _, pfx := range vips {
		st.VIPs = append(st.VIPs, VIPStatus{Prefix: pfx, Held: have[pfx], Misdirected: mis[pfx.Addr()],
			ConflictMAC: conf[pfx.Addr()], Verification: byVIP[pfx.Addr()]})
	}
	return st
}

// vipIndex is the interface that carries the VIPs: the virtual MAC's, or
// the instance's own.
func (p *L2) vipIndex() int {
	if p.deps.VMAC != nil {
		return int(p.link.Load())
	}
	return p.cfg.Interface.Index
}

// vipName names the interface that carries the VIPs.
func (p *L2) vipName() string {
	if p.deps.VMAC != nil {
		return p.deps.VMAC.Name()
	}
	return p.cfg.Interface.Name
}

// vipMAC is the MAC the VIPs are announced and verified with.
func (p *L2) vipMAC() net.HardwareAddr {
	if p.deps.VMAC != nil {
		return p.deps.VMAC.MAC()
	}
	return p.cfg.Interface.HardwareAddr
}

func addrsOf(ps []netip.Prefix) []netip.Addr {
	out := make([]netip.Addr, len(ps))
	for i, p := range ps {
		out[i] = p.Addr()
	}
	return out
}

package daemon

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vipd/vipd/internal/clock"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/fsm"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/notify"
	"github.com/vipd/vipd/internal/present"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/vrrp"
)

// addressRetry is how long an instance whose addresses could not be added
// stays in Fault before it tries again.
const addressRetry = 5 * time.Second

// The fault reasons: an instance is in Fault while it has any.
const (
	faultAddress     = "address"     // the VIPs could not be added
	faultHealth      = "health"      // a check with fault: true fails
	faultInterface   = "interface"   // its link is down
	faultMaintenance = "maintenance" // the operator said so
	faultSource      = "source"      // the interface lost the address adverts are sent from
)

// instance is one virtual router: the state machine and the VRRP wire. It
// decides nothing itself (package fsm does) and touches no address (its
// Presenter does). Everything but deliver, the channels and report is
// owned by the goroutine in run.
type instance struct {
	cfg     config.Instance
	name    string // cfg.Name, read by report from other goroutines
	log     *slog.Logger
	baseLog *slog.Logger // without the instance keys
	clock   clock.Clock
	publish func(control.Event)
	// busy marks work beyond the periodic adverts (Options.Busy).
	busy func()
	obs  Observer
	node string

	// The VRRP wire.
	ifi     *net.Interface
	link    *link
	vtx     *vmacSender  // virtual_mac: adverts from the virtual MAC; nil: from link
	src     netip.Addr   // advertisement source
	dsts    []netip.Addr // multicast group or unicast peers
	advVIPs []netip.Addr // the addresses carried in advertisements
	peers   map[netip.Addr]bool
	centis  uint16
	wireVersion
	buf []byte
	m   *fsm.Machine
	// lastHeard is when the master was last heard (priority > 0): a
	// takeover's failover starts there.
	lastHeard time.Time
	// failover is why the current takeover is a failover ("" when it is
	// not: a start-up election); written by the loop at the takeover,
	// read by the Presenter's report of its end.
	failover atomic.Pointer[string]

	pres present.Presenter
	// bindIndex is the interface the Presenter's addresses are on (ifi,
	// or the loopback for a routed instance).
	bindIndex int
	// routedPrio is a routed instance's priority after health checks.
	routedPrio uint8
	// leftovers are the VIPs an earlier run left that its Presenter took
	// over (and removes).
	leftovers []netip.Prefix

	// Health checks and hooks.
	notifier  *notify.Notifier
	monitor   *health.Monitor
	stopMon   context.CancelFunc
	monDone   chan struct{}
	healthCh  chan struct{}                 // the checks changed (capacity 1)
	healthNow atomic.Pointer[health.Status] // the latest status, written by the monitor
	healthWas map[string]bool               // last published health per check

	packets   chan transport.Packet
	requests  chan func()
	addFailed chan struct{} // the Presenter could not add the VIPs (capacity 1)
	queued    atomic.Uint64 // packets dropped because the instance was busy

	// Counters, owned by run.
	sent, received, transitions, mismatch, sendErrors uint64
	drops                                             map[string]uint64
	lastTr                                            fsm.Transition
	lastTrAt                                          time.Time
	lastMismatchLog                                   time.Time
	// faults are the reasons the instance is held in Fault.
	faults  map[string]bool
	retryAt time.Time // when to try adding the VIPs again (fault "address")
}

func newInstance(cfg config.Instance, ifi *net.Interface, l *link, src netip.Addr, clk clock.Clock, log *slog.Logger, publish func(control.Event)) (*instance, error) {
	in := &instance{
		ifi: ifi, link: l, src: src, clock: clk, publish: publish, baseLog: log, name: cfg.Name,
		log:       log.With("instance", cfg.Name, "vrid", cfg.VRID, "iface", cfg.Interface),
		packets:   make(chan transport.Packet, 256),
		requests:  make(chan func()),
		addFailed: make(chan struct{}, 1),
		healthCh:  make(chan struct{}, 1),
		drops:     map[string]uint64{},
		faults:    map[string]bool{},
		obs:       nopObserver{},
	}
	if err := in.configure(cfg); err != nil {
		return nil, err
	}
	in.m = fsm.New(in.fsmConfig())
	in.routedPrio = cfg.Priority
	return in, nil
}

// configure derives the instance's wire parameters from cfg.
func (in *instance) configure(cfg config.Instance) error {
	centis, err := vrrp.IntervalCentisVersion(cfg.Version, cfg.AdvertInterval)
	if err != nil {
		return err
	}
	in.cfg, in.centis = cfg, centis
	in.configureVersion(cfg)
	in.dsts = nil
	in.peers = map[netip.Addr]bool{}
	vips := make([]netip.Addr, len(cfg.VIPs))
	for i, p := range cfg.VIPs {
		vips[i] = p.Addr()
	}
	mtu := in.ifi.MTU
	if cfg.Version == vrrp.Version2 {
		mtu -= vrrp.AuthDataLen // VRRPv2's authentication data follows the addresses
	}
	n := min(len(vips), vrrp.MaxAddresses(!cfg.IPv6(), mtu))
	in.advVIPs = vips[:n]
	if n < len(vips) {
		in.log.Info("advertisements carry only the first VIPs; the rest are excluded addresses",
			"carried", n, "vips", len(vips))
	}
	if len(cfg.UnicastPeers) > 0 {
		in.dsts = slices.Clone(cfg.UnicastPeers)
		for _, p := range cfg.UnicastPeers {
			in.peers[p] = true
		}
	} else if cfg.IPv6() {
		in.dsts = []netip.Addr{vrrp.IPv6Group}
	} else {
		in.dsts = []netip.Addr{vrrp.IPv4Group}
	}
	return nil
}

func (in *instance) fsmConfig() fsm.Config {
	prio := in.cfg.Priority
	if in.cfg.Routed() {
		prio = 255 // no election: announcing whenever not in fault (see routed.go)
	}
	return fsm.Config{
		Priority:       prio,
		AdvertInterval: in.cfg.AdvertInterval,
		Preempt:        in.cfg.Preempt,
		PreemptDelay:   in.cfg.PreemptDelay,
		PrimaryAddr:    in.src,
		V2:             in.version == vrrp.Version2,
	}
}

// deliver queues a packet for the instance; it never blocks the reader.
func (in *instance) deliver(p transport.Packet) {
	select {
	case in.packets <- p:
	default:
		in.queued.Add(1)
	}
}

// do runs f in the instance's goroutine and waits for it; false if the
// instance has stopped.
func (in *instance) do(ctx context.Context, done <-chan struct{}, f func()) bool {
	ran := make(chan struct{})
	select {
	case in.requests <- func() { f(); close(ran) }:
	case <-done:
		return false
	case <-ctx.Done():
		return false
	}
	select {
	case <-ran:
		return true
	case <-done:
		return false
	case <-ctx.Done():
		return false
	}
}

// run is the instance's loop. When ctx is done it shuts down gracefully:
// a master sends priority 0 and its Presenter removes the VIPs.
func (in *instance) run(ctx context.Context, faults []string) {
	for _, f := range faults {
		in.faults[f] = true
	}
	in.notifier = notify.New(in.cfg.Notify, in.cfg.Name, in.node, in.baseLog)
	defer in.notifier.Close()
	in.startMonitor()
	defer in.stopMonitor()
	in.pres.Start()
	if in.monitor != nil {
		// Let every check report once before joining the election, so
		// that a node does not preempt before its checks ran (a pending
		// check counts as failing).
		wait := in.clock.NewTimer(in.checksWarmup())
		select {
		case <-in.monitor.Ready():
		case <-wait.C():
			in.log.Warn("health checks have not all reported; starting with them counted as failing")
		case <-ctx.Done():
		}
		wait.Stop()
		in.applyHealth(in.monitor.Status())
	}
	if len(in.faults) > 0 {
		in.log.Warn("starting in fault", "reasons", in.faultList())
		in.apply(in.m.Step(in.clock.Now(), fsm.EnterFault{}))
	} else {
		in.apply(in.m.Step(in.clock.Now(), fsm.Startup{}))
	}
	wake := clock.NewWaker(in.clock)
	defer wake.Close()
	var armed time.Time // the deadline wake is set for; zero: none
	for {
		if dl := in.deadline(); !dl.Equal(armed) {
			armed = dl
			if dl.IsZero() {
				wake.Stop()
			} else {
				wake.Set(dl.Sub(in.clock.Now()))
			}
		}
		select {
		case <-ctx.Done():
			in.apply(in.m.Step(in.clock.Now(), fsm.Shutdown{}))
			return
		case p := <-in.packets:
			in.receive(p)
		case f := <-in.requests:
			f()
		case <-in.healthCh:
			in.healthChanged()
		case <-in.addFailed:
			if in.m.State() == fsm.Master {
				// All or nothing: no address was left behind. Do not
				// claim the VIPs: resign and try again later.
				in.log.Error("cannot add VIPs; resigning and retrying", "retry", addressRetry)
				in.retryAt = in.clock.Now().Add(addressRetry)
				in.setFault(faultAddress, true)
			}
		case <-wake.C():
			// The deadline may have been reached (a firing can also be
			// spurious: the machine ignores a Tick before its deadlines).
			armed = time.Time{}
			// Adverts that arrived while the timer fired go first: a
			// starved backup whose Master_Down_Timer and the master's
			// advert are ready together must hear the advert (select
			// picks at random), not take over for a few milliseconds.
			in.drainPackets()
			now := in.clock.Now()
			if !in.retryAt.IsZero() && !now.Before(in.retryAt) {
				in.retryAt = time.Time{}
				in.setFault(faultAddress, false)
			}
			in.apply(in.m.Step(now, fsm.Tick{}))
		}
	}
}

// drainPackets receives the adverts already queued, without waiting.
func (in *instance) drainPackets() {
	for {
		select {
		case p := <-in.packets:
			in.receive(p)
		default:
			return
		}
	}
}

// deadline is the machine's next deadline or the address retry, whichever
// comes first; zero when there is none.
func (in *instance) deadline() time.Time {
	dl, ok := in.m.NextDeadline()
	if r := in.retryAt; !r.IsZero() && (!ok || r.Before(dl)) {
		dl, ok = r, true
	}
	if !ok {
		return time.Time{}
	}
	return dl
}

// setFault adds or clears one reason to be in Fault.
func (in *instance) setFault(reason string, on bool) {
	was := len(in.faults) > 0
	if on {
		in.faults[reason] = true
	} else {
		delete(in.faults, reason)
	}
	now := len(in.faults) > 0
	switch {
	case now && !was:
		in.apply(in.m.Step(in.clock.Now(), fsm.EnterFault{}))
	case !now && was:
		in.apply(in.m.Step(in.clock.Now(), fsm.LeaveFault{}))
	}
}

func (in *instance) faultList() []string {
	var l []string
	for f := range in.faults {
		l = append(l, f)
	}
	slices.Sort(l)
	return l
}

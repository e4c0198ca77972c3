package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/bgp"
	"github.com/vipd/vipd/internal/clock"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/present"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/vmac"
)

// Options configure Run.
type Options struct {
	Config *config.Config
	// Load re-reads the configuration for a reload (SIGHUP, `vipd
	// reload`); nil disables reloading.
	Load func() (*config.Config, error)
	// ConfigFile is the file Load reads, for the messages of a rejected
	// reload ("FILE:LINE:COL: PATH: MESSAGE", like `vipd check`).
	ConfigFile string
	Env        Env
	Logger     *slog.Logger
	Version    string
	// Clock is the daemon's one clock; nil means the system's.
	Clock clock.Clock
	// Ready, when set, is called once every instance runs and the control
	// socket answers (systemd's READY=1).
	Ready func()
	// Reload delivers reload requests (SIGHUP).
	Reload <-chan struct{}
	// NoControl skips the control socket (tests that run several daemons).
	NoControl bool
	// Observer receives failover durations and other measurements; nil
	// means none.
	Observer Observer
	// Reloaded, when set, is called after each reload attempt (systemd's
	// READY=1 after RELOADING=1).
	Reloaded func(error)
	// Ledger records the addresses vipd adds, so that a run after a crash
	// removes those and only those; nil: no record (an address left by a
	// crashed run is then refused like any other).
	Ledger Ledger
	// Busy, when set, is called at each sign of work beyond the periodic
	// adverts: a state change, a takeover, a Presenter's report (package
	// procs raises GOMAXPROCS on it).
	Busy func()
}

// Daemon is a running vipd.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	clock   clock.Clock
	started time.Time
	env     Env
	kernel  Kernel
	pacer   *announce.Pacer
	bus     *bus
	maint   *maintenance
	obs     Observer
	busy    func() // Options.Busy, never nil
	// vipIndex maps each configured VIP to its instance, for reports that
	// arrive from the watchers (which must not take mu).
	vipIndex atomic.Pointer[map[netip.Addr]string]
	// byIndex lists the Presenters of each interface, for the kernel's
	// address events (which must not take mu).
	byIndex atomic.Pointer[map[int][]present.Presenter]
	// byName lists the Presenters of each virtual MAC interface by name.
	byName atomic.Pointer[map[string][]present.Presenter]
	// linkChanged wakes the link watcher (capacity 1).
	linkChanged chan struct{}

	// mu guards the fields below and serialises reconfiguration (start,
	// reload, stop, links); instance goroutines never take it.
	mu      sync.Mutex
	cfg     *config.Config
	insts   map[string]*running
	links   map[linkKey]*link
	senders map[int]announce.SenderCloser
	watches map[int]*present.WatchSet
	prober  verify.Prober
	edgeCtx context.Context
	edges   sync.WaitGroup
	closing bool
	// waiting are instances whose interface is missing (wait_for_interface,
	// or an interface deleted while running); linkDown are those held in
	// FAULT because their link is down.
	waiting  map[string]bool
	linkDown map[string]bool
	// lastReload is the outcome of the last reload, for `vipd status`.
	lastReload *control.ReloadStatus
	// speaker announces the routed instances' VIPs (nil without any);
	// routerID is its BGP identifier.
	speaker  *bgp.Speaker
	routerID netip.Addr
	// parents are the interfaces whose sysctls virtual_mac changed.
	parents map[int]*parentPrep
	// vmacGone are the virtual MAC interfaces removed at start (netmon
	// may still report them for a moment).
	vmacGone map[string]bool
	// vmacLinks are the virtual MAC interfaces of the instances, by name;
	// unrestored the sysctls that could not be restored. Both are
	// recorded in the state directory (saveVMAC).
	vmacLinks  map[string]vmac.Spec
	unrestored []vmac.Restore
}

// linkResync is how often the links are looked at without an event, in
// case one was missed.
const linkResync = 10 * time.Second

type linkKey struct {
	ifindex int
	ipv6    bool
}

// running is a started instance.
type running struct {
	in     *instance
	cancel context.CancelFunc
	done   chan struct{}
	// srcSeen: the kernel has listed the instance's source address;
	// srcGone: it listed it, and then it vanished (faultSource).
	srcSeen, srcGone bool
}

// pacerBurst is the pacer's burst for an announce_rate, as NewPacer picks
// it for a burst of 0: announce.DefaultBurst for a fixed rate, 0 (the
// pacer's own) for the adaptive default.
func pacerBurst(rate float64) int {
	if rate > 0 {
		return announce.DefaultBurst
	}
	return 0
}

// New opens every socket the configuration needs and builds the instances;
// nothing runs and no address is touched until Run. An error here (missing
// interface, missing privilege, a VIP already on the node, an unreadable
// state directory) leaves nothing open.
func New(opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.System()
	}
	d := &Daemon{
		opts: opts, log: opts.Logger, clock: opts.Clock, started: opts.Clock.Now(), env: opts.Env,
		kernel:      opts.Env.Kernel(),
		bus:         newBus(),
		cfg:         opts.Config,
		insts:       map[string]*running{},
		links:       map[linkKey]*link{},
		senders:     map[int]announce.SenderCloser{},
		watches:     map[int]*present.WatchSet{},
		obs:         opts.Observer,
		waiting:     map[string]bool{},
		linkDown:    map[string]bool{},
		linkChanged: make(chan struct{}, 1),
		parents:     map[int]*parentPrep{},
		vmacLinks:   map[string]vmac.Spec{},
	}
	if d.obs == nil {
		d.obs = nopObserver{}
	}
	d.busy = opts.Busy
	if d.busy == nil {
		d.busy = func() {}
	}
	var err error
	if d.maint, err = loadMaintenance(opts.Config.StateDir, d.log); err != nil {
		return nil, err
	}
	d.indexVIPs(opts.Config)
	d.pacer = announce.NewPacer(opts.Config.AnnounceRate, 0, d.clock, d.log) // the pacer's burst for the rate
	d.vmacGone = d.undoVMACLeftovers()
	if err := d.startSpeaker(opts.Config); err != nil {
		return nil, err
	}
	// Open every edge first: a missing interface or privilege fails here,
	// before any address is touched.
	var pending []*instance
	for _, ic := range opts.Config.Instances {
		if ic.WaitForInterface {
			if _, ok := d.kernel.Link(ic.Interface); !ok {
				d.log.Warn("interface missing; waiting for it (wait_for_interface)", "instance", ic.Name, "iface", ic.Interface)
				d.waiting[ic.Name] = true
				continue
			}
		}
		in, err := d.attach(ic)
		if err != nil {
			for _, in := range pending {
				d.detach(in)
			}
			d.stopSpeaker()
			return nil, err
		}
		pending = append(pending, in)
	}
	for _, in := range pending {
		d.insts[in.cfg.Name] = &running{in: in}
	}
	d.indexPresenters()
	return d, nil
}

// Run runs the instances and blocks until ctx is done and every instance
// has shut down gracefully (priority 0 sent, VIPs removed).
func (d *Daemon) Run(ctx context.Context) error {
	d.mu.Lock()
	var stopEdges context.CancelFunc
	d.edgeCtx, stopEdges = context.WithCancel(context.Background())
	defer stopEdges()

	var ln net.Listener
	if !d.opts.NoControl {
		var err error
		ln, err = control.Listen(d.cfg.ControlSocket)
		if err != nil {
			for _, r := range d.insts {
				d.detach(r.in)
			}
			d.stopSpeaker()
			d.mu.Unlock()
			return fmt.Errorf("daemon: %w", err)
		}
	}
	d.removeOrphans()
	d.goEdge(func(ctx context.Context) { d.pacer.Run(ctx) })
	for _, l := range d.links {
		d.startReader(l)
	}
	for _, ws := range d.watches {
		if ws != nil {
			d.startWatcher(ws)
		}
	}
	cancelSub := d.kernel.Subscribe(d.kernelChanged)
	defer cancelSub()
	d.goEdge(d.watchLinks)
	if ln != nil {
		d.goEdge(func(ctx context.Context) {
			if err := control.Serve(ctx, ln, d.mux(), d.log); err != nil && ctx.Err() == nil {
				d.log.Error("control socket stopped", "err", err)
			}
		})
	}
	for _, r := range d.insts {
		d.startInstance(r)
	}
	d.checkLinksLocked()
	d.log.Info("vipd running", "node", d.cfg.Node, "instances", len(d.insts), "version", d.opts.Version)
	d.mu.Unlock()
	if d.opts.Ready != nil {
		d.opts.Ready()
	}

	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-d.opts.Reload:
			err := d.Reload(TriggerSignal)
			if d.opts.Reloaded != nil {
				d.opts.Reloaded(err)
			}
		}
	}

	d.mu.Lock()
	d.closing = true
	var wg sync.WaitGroup
	for _, r := range d.insts {
		wg.Add(1)
		go func() { defer wg.Done(); d.stopRunning(r) }()
	}
	wg.Wait()
	// Every route is withdrawn: close the sessions.
	d.stopSpeaker()
	stopEdges()
	for _, r := range d.insts {
		d.detach(r.in)
	}
	d.mu.Unlock()
	d.edges.Wait()
	d.log.Info("vipd stopped: every instance shut down")
	return nil
}

// goEdge runs f on a goroutine that ends with the daemon's edges.
func (d *Daemon) goEdge(f func(ctx context.Context)) {
	d.edges.Add(1)
	go func() { defer d.edges.Done(); f(d.edgeCtx) }()
}

func (d *Daemon) startReader(l *link) { d.goEdge(l.read) }

func (d *Daemon) startWatcher(ws *present.WatchSet) { d.goEdge(ws.Watcher().Run) }

// startInstance runs an attached instance. Callers hold d.mu.
func (d *Daemon) startInstance(r *running) {
	d.declare(r.in.cfg)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	faults := d.maint.faultsFor(r.in.cfg.Name)
	if d.linkDown[r.in.cfg.Name] {
		faults = append(faults, faultInterface)
	}
	go func() {
		defer close(r.done)
		r.in.run(ctx, faults)
	}()
}

// stopRunning shuts an instance down gracefully (its Presenter removes
// the VIPs) and waits for it.
func (d *Daemon) stopRunning(r *running) {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
	ctx, cancel := context.WithTimeout(context.Background(), presenterStop)
	defer cancel()
	r.in.pres.Close(ctx)
}

// presenterStop bounds the last reconciliation of a stopping instance.
const presenterStop = 30 * time.Second

// stopInstance stops an instance and closes what nobody uses any more.
// Callers hold d.mu.
func (d *Daemon) stopInstance(r *running) {
	d.stopRunning(r)
	d.detach(r.in)
	d.indexPresenters()
}

func (d *Daemon) publish(e control.Event) {
	if e.Time.IsZero() {
		e.Time = d.clock.Now()
	}
	d.bus.publish(e)
}

// indexVIPs rebuilds the VIP → instance map.
func (d *Daemon) indexVIPs(cfg *config.Config) {
	m := map[netip.Addr]string{}
	for _, ic := range cfg.Instances {
		for _, p := range ic.VIPs {
			m[p.Addr()] = ic.Name
		}
	}
	d.vipIndex.Store(&m)
}

// indexPresenters rebuilds the ifindex → Presenters map. Callers hold d.mu.
func (d *Daemon) indexPresenters() {
	m := map[int][]present.Presenter{}
	byName := map[string][]present.Presenter{}
	for _, r := range d.insts {
		m[r.in.bindIndex] = append(m[r.in.bindIndex], r.in.pres)
		if r.in.cfg.VirtualMAC {
			// The virtual MAC interface's events: its index changes
			// when it is created again, its name does not.
			n := vmac.Name(r.in.cfg.VRID, r.in.cfg.IPv6())
			byName[n] = append(byName[n], r.in.pres)
		}
	}
	d.byIndex.Store(&m)
	d.byName.Store(&byName)
}

// kernelChanged routes the kernel's events: an address change to the
// Presenters of its interface, a link change to the link watcher. It runs
// on the kernel monitor's goroutine and never blocks.
func (d *Daemon) kernelChanged(c KernelChange) {
	// Links, and addresses too: the link watcher follows each instance's
	// source address.
	select {
	case d.linkChanged <- struct{}{}:
	default:
	}
	if bn := d.byName.Load(); bn != nil && c.Name != "" {
		for _, p := range (*bn)[c.Name] {
			if c.Added.IsValid() {
				p.Reconcile(c.Added)
			} else {
				p.Reconcile()
			}
		}
	}
	m := d.byIndex.Load()
	if m == nil {
		return
	}
	for idx, ps := range *m {
		if c.All || idx == c.Index {
			for _, p := range ps {
				if c.Added.IsValid() {
					p.Reconcile(c.Added)
				} else {
					p.Reconcile()
				}
			}
		}
	}
}

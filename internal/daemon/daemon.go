package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/watch"
)

// Options configure Run.
type Options struct {
	Config *config.Config
	// Load re-reads the configuration for a reload (SIGHUP, `vipd
	// reload`); nil disables reloading.
	Load    func() (*config.Config, error)
	Env     Env
	Logger  *slog.Logger
	Version string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
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
}

// Daemon is a running vipd.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	started time.Time
	env     Env
	pacer   *announce.Pacer
	bus     *bus
	maint   *maintenance
	obs     Observer
	// vipIndex maps each configured VIP to its instance, for reports that
	// arrive from the watchers (which must not take mu).
	vipIndex atomic.Pointer[map[netip.Addr]string]

	// mu guards the fields below and serialises reconfiguration (start,
	// reload, stop); instance goroutines never take it.
	mu      sync.Mutex
	cfg     *config.Config
	insts   map[string]*running
	links   map[linkKey]*link
	senders map[int]announce.SenderCloser
	watches map[int]*watchSet
	prober  verify.Prober
	edgeCtx context.Context
	edges   sync.WaitGroup
	closing bool
	// waiting are instances whose interface is missing (wait_for_interface,
	// or an interface deleted while running); linkDown are those held in
	// FAULT because their link is down.
	waiting  map[string]bool
	linkDown map[string]bool
}

// linkPoll is how often the configured interfaces are checked for
// deletion, recreation and carrier.
const linkPoll = 200 * time.Millisecond

// faultInterface is the fault reason of an instance whose link is down.
const faultInterface = "interface"

type linkKey struct {
	ifindex int
	ipv6    bool
}

// running is a started instance.
type running struct {
	in     *instance
	cancel context.CancelFunc
	done   chan struct{}
}

// New opens every socket the configuration needs and builds the instances;
// nothing runs and no address is touched until Run. An error here (missing
// interface, missing privilege) leaves nothing open.
func New(opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Daemon{
		opts: opts, log: opts.Logger, now: opts.Now, started: opts.Now(), env: opts.Env,
		bus:      newBus(),
		cfg:      opts.Config,
		insts:    map[string]*running{},
		links:    map[linkKey]*link{},
		senders:  map[int]announce.SenderCloser{},
		watches:  map[int]*watchSet{},
		obs:      opts.Observer,
		waiting:  map[string]bool{},
		linkDown: map[string]bool{},
	}
	if d.obs == nil {
		d.obs = nopObserver{}
	}
	d.indexVIPs(opts.Config)
	d.maint = loadMaintenance(opts.Config.StateDir, d.log)
	d.pacer = announce.NewPacer(opts.Config.AnnounceRate, announceBurst, nil, d.log)
	// Open every edge first: a missing interface or privilege fails here,
	// before any address is touched.
	var pending []*instance
	for _, ic := range opts.Config.Instances {
		if ic.WaitForInterface {
			if _, err := d.env.InterfaceByName(ic.Interface); err != nil {
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
			return nil, err
		}
		pending = append(pending, in)
	}
	for _, in := range pending {
		d.insts[in.cfg.Name] = &running{in: in}
	}
	return d, nil
}

// announceBurst is how many announcement packets may leave back to back.
const announceBurst = 50

// attach opens (or shares) the edges of an instance and builds it. Callers
// hold d.mu, or run before the daemon starts.
func (d *Daemon) attach(ic config.Instance) (*instance, error) {
	env := d.env
	ifi, err := env.InterfaceByName(ic.Interface)
	if err != nil {
		return nil, fmt.Errorf("daemon: instance %s: interface %s: %w", ic.Name, ic.Interface, err)
	}
	if err := env.PrepareInterface(ifi); err != nil {
		return nil, fmt.Errorf("daemon: instance %s: prepare %s: %w", ic.Name, ic.Interface, err)
	}
	key := linkKey{ifi.Index, ic.IPv6()}
	l := d.links[key]
	newLink := l == nil
	if newLink {
		conn, err := env.ListenVRRP(ifi, ic.IPv6())
		if err != nil {
			return nil, fmt.Errorf("daemon: instance %s: open VRRP socket on %s: %w", ic.Name, ic.Interface, err)
		}
		l = &link{ifi: ifi, ipv6: ic.IPv6(), conn: conn, byVRID: map[uint8]*instance{}, drops: map[string]uint64{},
			log: d.log.With("iface", ifi.Name)}
	}
	fail := func(err error) (*instance, error) {
		if newLink {
			l.conn.Close()
		}
		return nil, err
	}
	s := d.senders[ifi.Index]
	newSender := s == nil
	if newSender {
		if s, err = env.OpenSender(ifi); err != nil {
			return fail(fmt.Errorf("daemon: instance %s: open announcement socket on %s: %w", ic.Name, ic.Interface, err))
		}
	}
	fail2 := func(err error) (*instance, error) {
		if newSender {
			s.Close()
		}
		return fail(err)
	}
	src, err := env.SourceAddr(ifi, ic.IPv6(), d.vipsOn(ic.Interface, ic))
	if err != nil {
		return fail2(fmt.Errorf("daemon: instance %s: source address on %s: %w", ic.Name, ic.Interface, err))
	}
	in, err := newInstance(ic, ifi, l, src, env.Addresses(), s, d.pacer, d.now, d.log, d.publish)
	if err != nil {
		return fail2(fmt.Errorf("daemon: instance %s: %w", ic.Name, err))
	}
	if newLink {
		d.links[key] = l
		if d.edgeCtx != nil {
			d.startReader(l)
		}
	}
	if newSender {
		d.senders[ifi.Index] = s
	}
	in.obs = d.obs
	in.node = d.cfg.Node
	in.announceRate = d.cfg.AnnounceRate
	in.neigh = env.Neighbors()
	in.targets = env.Targets
	if ic.Verify.Enabled {
		if d.prober == nil {
			p, err := env.Prober()
			if err != nil {
				d.log.Error("cannot open the ICMP sockets for verification; VIPs will not be verified", "err", err)
			}
			d.prober = p
		}
		in.prober = d.prober
	}
	in.ws = d.watchFor(ifi, s)
	l.add(in)
	return in, nil
}

// watchFor returns the interface's watch set, opening its watcher on first
// use. A watcher that cannot be opened is logged: the VIPs still fail over,
// only misdirected traffic and conflicts go unseen. Callers hold d.mu.
func (d *Daemon) watchFor(ifi *net.Interface, s announce.Sender) *watchSet {
	if ws, ok := d.watches[ifi.Index]; ok {
		return ws
	}
	w, err := d.env.OpenWatcher(ifi, watch.Deps{
		Pacer: d.pacer, Sender: s, Logger: d.log.With("iface", ifi.Name), OnReport: d.onWatchReport,
	})
	if err != nil {
		d.log.Error("cannot watch for misdirected traffic and conflicts", "iface", ifi.Name, "err", err)
	}
	var ws *watchSet
	if w != nil {
		ws = newWatchSet(w)
		if d.edgeCtx != nil {
			d.startWatcher(w)
		}
	}
	d.watches[ifi.Index] = ws
	return ws
}

func (d *Daemon) startWatcher(w *watch.Watcher) {
	d.edges.Add(1)
	go func() { defer d.edges.Done(); w.Run(d.edgeCtx) }()
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

// onWatchReport turns a watcher's report into an event and a metric.
func (d *Daemon) onWatchReport(r watch.Report) {
	idx := *d.vipIndex.Load()
	switch r.Kind {
	case watch.ReportMisdirected, watch.ReportMisdirectedEnded:
		m := r.Misdirected
		msg := "upstream " + m.SrcMAC.String() + " still sends " + m.VIP.String() + " here"
		if m.Owner.Node != "" {
			msg += "; owner is " + m.Owner.Node
		}
		if r.Kind == watch.ReportMisdirectedEnded {
			msg = "misdirected traffic from " + m.SrcMAC.String() + " ended"
		} else {
			d.obs.Misdirected(idx[m.VIP], m.VIP.String(), int(m.Packets))
		}
		d.publish(control.Event{Type: control.EventMisdirected, Instance: idx[m.VIP], VIP: m.VIP.String(), Message: msg,
			Fields: map[string]string{"src_mac": m.SrcMAC.String(), "src_ip": m.SrcIP.String(),
				"packets": strconv.FormatUint(m.Packets, 10), "repairs": strconv.FormatUint(m.Repairs, 10)}})
	case watch.ReportConflict, watch.ReportConflictEnded:
		c := r.Conflict
		msg := "duplicate owner " + c.MAC.String() + " answers for " + c.VIP.String()
		if r.Kind == watch.ReportConflictEnded {
			msg = "conflict with " + c.MAC.String() + " ended"
		}
		d.publish(control.Event{Type: control.EventConflict, Instance: idx[c.VIP], VIP: c.VIP.String(), Message: msg,
			Fields: map[string]string{"mac": c.MAC.String(), "claims": strconv.FormatUint(c.Count, 10)}})
	}
}

// detach unregisters an instance that has stopped and closes the edges
// nobody uses any more. Callers hold d.mu.
func (d *Daemon) detach(in *instance) {
	in.ws.forget(in)
	l := in.link
	if l.remove(in) == 0 {
		l.conn.Close()
		delete(d.links, linkKey{l.ifi.Index, l.ipv6})
	}
	for _, r := range d.insts {
		if r.in != in && r.in.ifi.Index == in.ifi.Index {
			return
		}
	}
	if s := d.senders[in.ifi.Index]; s != nil {
		s.Close()
		delete(d.senders, in.ifi.Index)
	}
	if ws := d.watches[in.ifi.Index]; ws != nil {
		ws.w.Close()
	}
	delete(d.watches, in.ifi.Index)
}

// vipsOn lists the VIPs of every instance on an interface (they are not
// candidates for the advertisement source address).
func (d *Daemon) vipsOn(ifname string, extra config.Instance) []netip.Prefix {
	vips := slices.Clone(extra.VIPs)
	for _, ic := range d.cfg.Instances {
		if ic.Interface == ifname {
			vips = append(vips, ic.VIPs...)
		}
	}
	return vips
}

func (d *Daemon) startReader(l *link) {
	d.edges.Add(1)
	go func() { defer d.edges.Done(); l.read(d.edgeCtx) }()
}

// startInstance runs an attached instance. Callers hold d.mu.
func (d *Daemon) startInstance(r *running) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	faults := d.maint.faultsFor(r.in.cfg.Name)
	go func() {
		defer close(r.done)
		r.in.run(ctx, faults)
	}()
}

// stopInstance shuts an instance down gracefully and waits for it. Callers
// hold d.mu.
func (d *Daemon) stopInstance(r *running) {
	r.cancel()
	<-r.done
	d.detach(r.in)
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
			d.mu.Unlock()
			return fmt.Errorf("daemon: %w", err)
		}
	}
	d.edges.Add(1)
	go func() { defer d.edges.Done(); d.pacer.Run(d.edgeCtx) }()
	for _, l := range d.links {
		d.startReader(l)
	}
	for _, ws := range d.watches {
		if ws != nil {
			d.startWatcher(ws.w)
		}
	}
	d.edges.Add(1)
	go func() { defer d.edges.Done(); d.watchLinks(d.edgeCtx) }()
	if ln != nil {
		d.edges.Add(1)
		go func() {
			defer d.edges.Done()
			if err := control.Serve(d.edgeCtx, ln, d.mux(), d.log); err != nil && d.edgeCtx.Err() == nil {
				d.log.Error("control socket stopped", "err", err)
			}
		}()
	}
	for _, r := range d.insts {
		d.startInstance(r)
	}
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
			err := d.Reload()
			if err != nil {
				d.log.Error("reload rejected; the running configuration is unchanged", "err", err)
			}
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
		go func() { defer wg.Done(); r.cancel(); <-r.done }()
	}
	wg.Wait()
	stopEdges()
	for _, r := range d.insts {
		d.detach(r.in)
	}
	d.mu.Unlock()
	d.edges.Wait()
	d.log.Info("vipd stopped: every instance shut down")
	return nil
}

// Reload re-reads the configuration and applies the difference: unchanged
// instances keep their state and VIPs; changed ones are updated in place
// when their identity (interface, VRID, family, address ownership) is the
// same, else restarted; removed ones stop gracefully; new ones start. An
// invalid configuration changes nothing.
func (d *Daemon) Reload() error {
	if d.opts.Load == nil {
		return errors.New("daemon: reload: no configuration file to reload from")
	}
	cfg, err := d.opts.Load()
	if err != nil {
		d.publish(control.Event{Type: control.EventReload, Message: "rejected: " + err.Error()})
		return fmt.Errorf("daemon: reload: %w", err)
	}
	return d.apply(cfg)
}

// apply moves the running daemon to cfg.
func (d *Daemon) apply(cfg *config.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing {
		return errors.New("daemon: reload: shutting down")
	}
	old := d.cfg
	if cfg.ControlSocket != old.ControlSocket || cfg.AnnounceRate != old.AnnounceRate || cfg.Node != old.Node {
		d.log.Warn("reload: node, control_socket and announce_rate take effect at the next restart")
	}
	next := map[string]config.Instance{}
	for _, ic := range cfg.Instances {
		next[ic.Name] = ic
	}
	var added, changed, restarted, removed []string
	// Stop what goes away or changes identity first, so that a VRID can
	// move between instance names in one reload.
	for name, r := range d.insts {
		ic, keep := next[name]
		if keep && sameIdentity(r.in.cfg, ic) {
			continue
		}
		d.stopInstance(r)
		delete(d.insts, name)
		if keep {
			restarted = append(restarted, name)
		} else {
			removed = append(removed, name)
		}
	}
	d.cfg = cfg
	d.indexVIPs(cfg)
	var errs []error
	for _, ic := range cfg.Instances {
		if r, ok := d.insts[ic.Name]; ok {
			if sameInstance(r.in.cfg, ic) {
				continue
			}
			r.in.do(context.Background(), r.done, func() { r.in.reconfigure(ic) })
			changed = append(changed, ic.Name)
			continue
		}
		in, err := d.attach(ic)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r := &running{in: in}
		d.insts[ic.Name] = r
		d.startInstance(r)
		if !slices.Contains(restarted, ic.Name) {
			added = append(added, ic.Name)
		}
	}
	d.log.Info("configuration reloaded", "added", added, "changed", changed, "restarted", restarted, "removed", removed)
	d.publish(control.Event{Type: control.EventReload, Message: "applied", Fields: map[string]string{
		"added": fmt.Sprint(added), "changed": fmt.Sprint(changed), "restarted": fmt.Sprint(restarted), "removed": fmt.Sprint(removed)}})
	return errors.Join(errs...)
}

// sameIdentity reports whether b can be applied to a running a in place.
func sameIdentity(a, b config.Instance) bool {
	return a.Interface == b.Interface && a.VRID == b.VRID && a.IPv6() == b.IPv6() &&
		(a.Priority == 255) == (b.Priority == 255)
}

func sameInstance(a, b config.Instance) bool {
	a.Line, b.Line = 0, 0
	return reflect.DeepEqual(a, b)
}

func (d *Daemon) publish(e control.Event) {
	if e.Time.IsZero() {
		e.Time = d.now()
	}
	d.bus.publish(e)
}

func (d *Daemon) mux() *control.Mux {
	m := control.NewMux()
	m.HandleFunc(control.CommandStatus, func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		control.Reply(w, d.Status(ctx))
	})
	m.HandleFunc(control.CommandEvents, func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		ch, cancel := d.bus.subscribe()
		defer cancel()
		// An empty first reply tells the client the stream is open.
		if err := control.Reply(w, nil); err != nil {
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-ch:
				if err := control.Reply(w, e); err != nil {
					return
				}
			}
		}
	})
	m.HandleFunc("reload", func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		if err := d.Reload(); err != nil {
			w.Write(control.ErrorResponse(err))
			return
		}
		control.Reply(w, nil)
	})
	m.HandleFunc("maintenance", func(ctx context.Context, req control.Request, w control.ResponseWriter) {
		var args MaintenanceArgs
		if err := req.DecodeArgs(&args); err != nil {
			w.Write(control.ErrorResponse(err))
			return
		}
		if err := d.SetMaintenance(ctx, args.Instance, args.On); err != nil {
			w.Write(control.ErrorResponse(err))
			return
		}
		control.Reply(w, nil)
	})
	return m
}

// Status reports the daemon and every instance, in configuration order.
func (d *Daemon) Status(ctx context.Context) (st control.Status) {
	st = control.Status{
		Node:       d.opts.Config.Node,
		PID:        os.Getpid(),
		Version:    d.opts.Version,
		StartedAt:  d.started,
		Goroutines: runtime.NumGoroutine(),
		OpenFDs:    openFDs(),
	}
	d.mu.Lock()
	var rs []*running
	waiting := map[string]config.Instance{}
	for _, ic := range d.cfg.Instances {
		if r, ok := d.insts[ic.Name]; ok && r.done != nil {
			rs = append(rs, r)
		} else if d.waiting[ic.Name] {
			waiting[ic.Name] = ic
		}
	}
	order := make([]string, 0, len(d.cfg.Instances))
	for _, ic := range d.cfg.Instances {
		order = append(order, ic.Name)
	}
	d.mu.Unlock()
	defer func() {
		// Instances waiting for their interface are shown too, in
		// configuration order.
		for _, ic := range waiting {
			family := "ipv4"
			if ic.IPv6() {
				family = "ipv6"
			}
			is := control.InstanceStatus{Name: ic.Name, Interface: ic.Interface, VRID: ic.VRID, Family: family,
				State: "INIT", Priority: ic.Priority, EffectivePriority: ic.Priority,
				AdvertInterval: control.Duration(ic.AdvertInterval), Preempt: ic.Preempt,
				FaultReasons: []string{"waiting for interface"}, Counters: control.Counters{Drops: map[string]uint64{}}}
			for _, p := range ic.VIPs {
				is.VIPs = append(is.VIPs, control.VIPStatus{Address: p.String()})
			}
			st.Instances = append(st.Instances, is)
		}
		slices.SortStableFunc(st.Instances, func(a, b control.InstanceStatus) int {
			return slices.Index(order, a.Name) - slices.Index(order, b.Name)
		})
	}()
	for _, r := range rs {
		var is control.InstanceStatus
		if !r.in.do(ctx, r.done, func() { is = r.in.status() }) {
			continue
		}
		for k, v := range r.in.link.dropCounts() {
			// Packets that never reached an instance (unknown VRID,
			// malformed IP) are shown on every instance of the link.
			is.Counters.Drops["link_"+k] = v
		}
		st.Instances = append(st.Instances, is)
	}
	return st
}

// openFDs counts this process's open file descriptors (Linux), or -1.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// watchLinks follows the configured interfaces: an instance whose interface
// disappears stops and waits for it; a recreated interface (new index)
// gets new sockets and a fresh start; a link without carrier holds its
// instances in FAULT (interface).
func (d *Daemon) watchLinks(ctx context.Context) {
	t := time.NewTicker(linkPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.checkLinks()
		}
	}
}

func (d *Daemon) checkLinks() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing {
		return
	}
	for _, ic := range d.cfg.Instances {
		ifi, err := d.env.InterfaceByName(ic.Interface)
		r, running := d.insts[ic.Name]
		switch {
		case err != nil && running:
			d.log.Error("interface disappeared; instance stopped until it returns", "instance", ic.Name, "iface", ic.Interface)
			d.stopInstance(r)
			delete(d.insts, ic.Name)
			delete(d.linkDown, ic.Name)
			d.waiting[ic.Name] = true
		case err != nil:
		case running && ifi.Index != r.in.ifi.Index:
			d.log.Warn("interface was recreated; restarting the instance on it", "instance", ic.Name, "iface", ic.Interface)
			d.stopInstance(r)
			delete(d.insts, ic.Name)
			delete(d.linkDown, ic.Name)
			d.startAttached(ic)
		case !running && d.waiting[ic.Name]:
			d.log.Info("interface is back", "instance", ic.Name, "iface", ic.Interface)
			d.startAttached(ic)
		case running:
			down := ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagRunning == 0
			if down != d.linkDown[ic.Name] {
				d.linkDown[ic.Name] = down
				d.log.Warn("link state changed", "instance", ic.Name, "iface", ic.Interface, "down", down)
				r.in.do(context.Background(), r.done, func() { r.in.setFault(faultInterface, down) })
			}
		}
	}
}

// startAttached attaches and starts an instance; on failure it stays
// waiting. Callers hold d.mu.
func (d *Daemon) startAttached(ic config.Instance) {
	in, err := d.attach(ic)
	if err != nil {
		d.log.Error("cannot start instance; will retry", "instance", ic.Name, "err", err)
		d.waiting[ic.Name] = true
		return
	}
	delete(d.waiting, ic.Name)
	r := &running{in: in}
	d.insts[ic.Name] = r
	d.startInstance(r)
}

package daemon

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/fsm"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/notify"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/vipaddr"
	"github.com/vipd/vipd/internal/vrrp"
	"github.com/vipd/vipd/internal/watch"
)

// addressRetry is how long an instance whose addresses could not be added
// stays in Fault before it tries again.
const addressRetry = 5 * time.Second

// opTimeout bounds one netlink operation on the addresses.
const opTimeout = 30 * time.Second

// instance is one virtual router. Everything but deliver and the channels is
// owned by the goroutine in run.
type instance struct {
	cfg      config.Instance
	log      *slog.Logger
	baseLog  *slog.Logger // without the instance keys
	ifi      *net.Interface
	link     *link
	src      netip.Addr   // advertisement source
	dsts     []netip.Addr // multicast group or unicast peers
	advVIPs  []netip.Addr // the addresses carried in advertisements
	vipAddrs []netip.Addr // every VIP, for announcements
	peers    map[netip.Addr]bool
	m        *fsm.Machine
	addrs    vipaddr.Addresses
	sender   announce.Sender
	ann      Announcer
	now      func() time.Time
	publish  func(control.Event)
	centis   uint16

	// Verification and watching (nil when off or unavailable).
	ws       *watchSet
	prober   verify.Prober
	neigh    verify.Neighbors
	targets  func(ifindex int, vips []netip.Prefix, configured []netip.Addr) ([]netip.Addr, error)
	obs      Observer
	verifier *verify.Verifier
	verifyCh chan struct{} // a verification status changed (capacity 1)
	// failoverFrom is when the previous master was last heard before this
	// node took over; the failover is complete once every VIP is verified.
	failoverFrom time.Time
	lastHeard    time.Time
	remSeen      map[string]uint64 // remediation frames already reported to obs, by kind
	verifyState  map[netip.Addr]string

	// Health checks and hooks.
	node      string
	notifier  *notify.Notifier
	monitor   *health.Monitor
	stopMon   context.CancelFunc
	monDone   chan struct{}
	healthCh  chan struct{}                 // the checks changed (capacity 1)
	healthNow atomic.Pointer[health.Status] // the latest status, written by the monitor
	healthWas map[string]bool               // last published health per check

	packets  chan transport.Packet
	requests chan func()
	queued   atomic.Uint64 // packets dropped because the instance was busy

	buf []byte

	// Counters, owned by run.
	sent, received, transitions, mismatch, sendErrors uint64
	drops                                             map[string]uint64
	lastTr                                            fsm.Transition
	lastTrAt                                          time.Time
	lastMismatchLog                                   time.Time
	// verifyAt is when to start verifying after a takeover: once the
	// first announcement round has left the pacer (zero: not pending).
	verifyAt     time.Time
	announceRate float64
	// faults are the reasons the instance is held in Fault (maintenance,
	// address, health, ...); it is in Fault while there is any.
	faults  map[string]bool
	retryAt time.Time // when to try adding the VIPs again (fault "address")
}

// faultAddress is the fault reason of an instance whose VIPs could not be
// added.
const faultAddress = "address"

func newInstance(cfg config.Instance, ifi *net.Interface, l *link, src netip.Addr, addrs vipaddr.Addresses,
	sender announce.Sender, ann Announcer, now func() time.Time, log *slog.Logger, publish func(control.Event)) (*instance, error) {
	in := &instance{
		ifi: ifi, link: l, src: src, addrs: addrs, sender: sender, ann: ann, now: now, publish: publish, baseLog: log,
		log:      log.With("instance", cfg.Name, "vrid", cfg.VRID, "iface", cfg.Interface),
		packets:  make(chan transport.Packet, 256),
		requests: make(chan func()),
		verifyCh: make(chan struct{}, 1),
		healthCh: make(chan struct{}, 1),
		drops:    map[string]uint64{},
		faults:   map[string]bool{},
		obs:      nopObserver{},
	}
	if err := in.configure(cfg); err != nil {
		return nil, err
	}
	in.m = fsm.New(in.fsmConfig())
	return in, nil
}

// configure derives the instance's wire parameters from cfg.
func (in *instance) configure(cfg config.Instance) error {
	centis, err := vrrp.IntervalCentis(cfg.AdvertInterval)
	if err != nil {
		return err
	}
	in.cfg, in.centis = cfg, centis
	in.vipAddrs, in.dsts = nil, nil
	in.peers = map[netip.Addr]bool{}
	ifi := in.ifi
	for _, p := range cfg.VIPs {
		in.vipAddrs = append(in.vipAddrs, p.Addr())
	}
	n := min(len(in.vipAddrs), vrrp.MaxAddresses(!cfg.IPv6(), ifi.MTU))
	in.advVIPs = in.vipAddrs[:n]
	if n < len(in.vipAddrs) {
		in.log.Info("advertisements carry only the first VIPs; the rest are excluded addresses",
			"carried", n, "vips", len(in.vipAddrs))
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
	return fsm.Config{
		Priority:       in.cfg.Priority,
		AdvertInterval: in.cfg.AdvertInterval,
		Preempt:        in.cfg.Preempt,
		PreemptDelay:   in.cfg.PreemptDelay,
		PrimaryAddr:    in.src,
	}
}

// reconfigure applies a reloaded configuration of the same identity in
// place: the state is kept; a master adds the new VIPs, removes the dropped
// ones and announces; unchanged VIPs are not touched.
func (in *instance) reconfigure(cfg config.Instance) {
	old := in.cfg
	if err := in.configure(cfg); err != nil {
		in.log.Error("reload: cannot apply", "err", err)
		in.configure(old)
		return
	}
	in.m.Reconfigure(in.now(), in.fsmConfig())
	if !reflect.DeepEqual(old.Checks, cfg.Checks) {
		in.stopMonitor()
		in.startMonitor()
	}
	if !reflect.DeepEqual(old.Notify, cfg.Notify) {
		in.notifier.Close()
		in.notifier = notify.New(cfg.Notify, cfg.Name, in.node, in.baseLog)
	}
	if in.monitor != nil {
		in.applyHealth(in.monitor.Status())
	} else {
		in.setFault(faultHealth, false)
	}
	if in.m.State() != fsm.Master {
		in.ws.set(in, false, in.owner())
		return
	}
	added, removed := diffPrefixes(old.VIPs, cfg.VIPs)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if len(removed) > 0 {
		if err := in.addrs.Remove(ctx, in.ifi.Index, removed); err != nil {
			in.log.Error("reload: cannot remove VIPs", "err", err)
		}
	}
	if len(added) > 0 {
		if err := in.addrs.Add(ctx, in.ifi.Index, added); err != nil {
			in.log.Error("reload: cannot add VIPs; resigning", "err", err)
			in.retryAt = in.now().Add(addressRetry)
			in.setFault(faultAddress, true)
			return
		}
		// Announce replaces the instance's schedule: give it every VIP,
		// so that rounds still due for the others (a recent takeover) are
		// kept; announcing an unchanged VIP again with the same MAC is
		// harmless.
		in.ann.Announce(in.cfg.Name, in.sender, in.ifi.HardwareAddr, in.vipAddrs, in.schedule())
	}
	if len(added) > 0 || len(removed) > 0 || !reflect.DeepEqual(old.Verify, cfg.Verify) {
		// Verify (and watch) the new VIP list: the added VIPs get proved,
		// the removed ones are no longer claimed.
		in.ws.set(in, true, watch.Owner{})
		in.startVerifier()
	}
	in.log.Info("reload applied", "vips_added", len(added), "vips_removed", len(removed))
}

// diffPrefixes returns what b adds to a and what it drops from it.
func diffPrefixes(a, b []netip.Prefix) (added, removed []netip.Prefix) {
	inA := make(map[netip.Prefix]bool, len(a))
	for _, p := range a {
		inA[p] = true
	}
	inB := make(map[netip.Prefix]bool, len(b))
	for _, p := range b {
		inB[p] = true
		if !inA[p] {
			added = append(added, p)
		}
	}
	for _, p := range a {
		if !inB[p] {
			removed = append(removed, p)
		}
	}
	return added, removed
}

func (in *instance) schedule() announce.Schedule {
	return announce.Schedule{Count: in.cfg.Announce.Count, Interval: in.cfg.Announce.Interval, Refresh: in.cfg.Announce.Refresh}
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
		in.apply(in.m.Step(in.now(), fsm.EnterFault{}))
	case !now && was:
		in.apply(in.m.Step(in.now(), fsm.LeaveFault{}))
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
// a master sends priority 0 and removes its addresses.
func (in *instance) run(ctx context.Context, faults []string) {
	for _, f := range faults {
		in.faults[f] = true
	}
	in.notifier = notify.New(in.cfg.Notify, in.cfg.Name, in.node, in.baseLog)
	defer in.notifier.Close()
	in.startMonitor()
	defer in.stopMonitor()
	if in.monitor != nil {
		// Let every check report once before joining the election, so
		// that a node does not preempt before its checks ran (a pending
		// check counts as failing).
		wait := time.NewTimer(in.checksWarmup())
		select {
		case <-in.monitor.Ready():
		case <-wait.C:
			in.log.Warn("health checks have not all reported; starting with them counted as failing")
		case <-ctx.Done():
		}
		wait.Stop()
		in.applyHealth(in.monitor.Status())
	}
	in.start()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		in.arm(timer)
		select {
		case <-ctx.Done():
			in.apply(in.m.Step(in.now(), fsm.Shutdown{}))
			return
		case p := <-in.packets:
			in.receive(p)
		case f := <-in.requests:
			f()
		case <-in.verifyCh:
			in.verifyChanged()
		case <-in.healthCh:
			in.healthChanged()
		case <-timer.C:
			now := in.now()
			if !in.retryAt.IsZero() && !now.Before(in.retryAt) {
				in.retryAt = time.Time{}
				in.setFault(faultAddress, false)
				continue
			}
			if !in.verifyAt.IsZero() && !now.Before(in.verifyAt) {
				in.verifyAt = time.Time{}
				if in.m.State() == fsm.Master {
					in.startVerifier()
				}
			}
			in.apply(in.m.Step(now, fsm.Tick{}))
		}
	}
}

// arm sets the timer to the machine's next deadline (or the address retry).
func (in *instance) arm(t *time.Timer) {
	dl, ok := in.m.NextDeadline()
	for _, t := range []time.Time{in.retryAt, in.verifyAt} {
		if !t.IsZero() && (!ok || t.Before(dl)) {
			dl, ok = t, true
		}
	}
	if !ok {
		t.Reset(time.Hour)
		return
	}
	t.Reset(max(dl.Sub(in.now()), 0))
}

// start removes addresses a crashed earlier run left behind (unless this
// instance is the address owner and keeps them at once), then starts the
// state machine.
func (in *instance) start() {
	if !in.m.Owner() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		present, err := in.addrs.Present(ctx, in.ifi.Index, in.cfg.VIPs)
		if err == nil && len(present) > 0 {
			in.log.Warn("removing VIPs left on the interface by an earlier run", "count", len(present))
			err = in.addrs.Remove(ctx, in.ifi.Index, present)
		}
		cancel()
		if err != nil {
			in.log.Error("cannot clean up leftover VIPs", "err", err)
		}
	}
	if len(in.faults) > 0 {
		in.log.Warn("starting in fault", "reasons", in.faultList())
		in.apply(in.m.Step(in.now(), fsm.EnterFault{}))
		return
	}
	in.apply(in.m.Step(in.now(), fsm.Startup{}))
}

func (in *instance) faultList() []string {
	var l []string
	for f := range in.faults {
		l = append(l, f)
	}
	slices.Sort(l)
	return l
}

// receive applies the RFC 5798 §7.1 receive checks, then the state machine.
func (in *instance) receive(p transport.Packet) {
	if p.TTL != 255 {
		in.drop(vrrp.DropTTL)
		return
	}
	adv, err := vrrp.Parse(p.Payload, p.Src, p.Dst)
	if err != nil {
		in.drop(vrrp.ReasonOf(err))
		return
	}
	switch {
	case p.Src == in.src:
		in.drop(vrrp.DropOwnPacket)
		return
	case len(in.peers) > 0 && !in.peers[p.Src]:
		in.drop(vrrp.DropNotPeer)
		return
	case in.m.Owner():
		in.drop(vrrp.DropOwner)
		return
	}
	in.received++
	if !sameAddrs(adv.Addresses, in.advVIPs) {
		// RFC 5798 §7.1: MAY check the list, SHOULD log a mismatch; the
		// packet is still processed.
		in.mismatch++
		if now := in.now(); now.Sub(in.lastMismatchLog) > time.Minute {
			in.lastMismatchLog = now
			in.log.Warn("advertisement's address list differs from ours: check both configs",
				"from", p.Src, "theirs", len(adv.Addresses), "ours", len(in.advVIPs))
		}
	}
	if adv.Priority > 0 {
		in.lastHeard = in.now()
	}
	in.apply(in.m.Step(in.now(), fsm.Advert{
		From: p.Src, FromMAC: p.SrcMAC, Priority: adv.Priority, Interval: adv.Interval(),
	}))
}

// reassert answers another master (a healed partition, a peer that missed
// our adverts): advertise at once so that it yields within one interval,
// and announce and verify the VIPs again, because the upstream may have
// learned the other node's MAC meanwhile.
func (in *instance) reassert(other netip.Addr, prio uint8) {
	in.log.Warn("another router advertises as master with a lower priority: reasserting (split brain healed?)",
		"other", other, "their_priority", prio, "priority", in.m.Priority())
	in.publish(control.Event{Type: control.EventState, Instance: in.cfg.Name, Message: "reasserting against " + other.String(),
		Fields: map[string]string{"other": other.String(), "their_priority": strconv.Itoa(int(prio))}})
	in.ann.Announce(in.cfg.Name, in.sender, in.ifi.HardwareAddr, in.vipAddrs, in.schedule())
	if in.verifier != nil {
		in.verifier.Start(context.Background())
	}
}

// owner is the current master as the watcher needs it.
func (in *instance) owner() watch.Owner {
	mi := in.m.Master()
	if !mi.Addr.IsValid() || in.m.State() == fsm.Master {
		return watch.Owner{}
	}
	return watch.Owner{Node: mi.Addr.String(), MAC: mi.MAC}
}

func (in *instance) drop(r vrrp.DropReason) { in.drops[r.String()]++ }

func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[netip.Addr]bool, len(b))
	for _, x := range b {
		seen[x] = true
	}
	for _, x := range a {
		if !seen[x] {
			return false
		}
	}
	return true
}

// apply performs the state machine's actions in order.
func (in *instance) apply(acts []fsm.Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case fsm.Transition:
			in.transitions++
			in.lastTr, in.lastTrAt = a, in.now()
			in.log.Info("state change", "from", a.From.String(), "to", a.To.String(), "reason", a.Reason.String(),
				"priority", in.m.Priority())
			fields := map[string]string{"from": a.From.String(), "to": a.To.String(), "reason": a.Reason.String(),
				"priority": strconv.Itoa(int(in.m.Priority()))}
			if a.To == fsm.Fault {
				fields["faults"] = strings.Join(in.faultList(), ",")
			}
			in.publish(control.Event{Type: control.EventState, Instance: in.cfg.Name,
				Message: a.From.String() + " -> " + a.To.String(), Fields: fields})
			if in.notifier != nil {
				in.notifier.Transition(a.To.String(), in.m.Priority(), a.Reason.String())
			}
		case fsm.SendAdvert:
			in.send(a.Priority)
		case fsm.TakeOver:
			in.takeOver()
		case fsm.Release:
			in.release()
		case fsm.Reassert:
			in.reassert(a.Other, a.Priority)
		case fsm.MasterChanged:
			in.ws.set(in, false, in.owner())
		case fsm.MasterResigned:
			in.log.Info("master resigned", "from", a.From)
		}
	}
}

func (in *instance) send(prio uint8) {
	adv := vrrp.Advertisement{VRID: in.cfg.VRID, Priority: prio, MaxAdvertInterval: in.centis, Addresses: in.advVIPs}
	for _, dst := range in.dsts {
		b, err := adv.AppendMarshal(in.buf[:0], in.src, dst)
		if err == nil {
			in.buf = b
			err = in.link.conn.WriteTo(b, in.src, dst)
		}
		if err != nil {
			in.sendErrors++
			if in.sendErrors == 1 || in.sendErrors%100 == 0 {
				in.log.Error("cannot send advertisement", "dst", dst, "errors", in.sendErrors, "err", err)
			}
			continue
		}
		in.sent++
	}
}

func (in *instance) takeOver() {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	err := in.addrs.Add(ctx, in.ifi.Index, in.cfg.VIPs)
	cancel()
	if err != nil {
		// Add is all or nothing: no address is left behind. Do not claim
		// the VIPs: resign and try again later.
		in.log.Error("cannot add VIPs; resigning and retrying", "retry", addressRetry, "err", err)
		in.retryAt = in.now().Add(addressRetry)
		in.setFault(faultAddress, true)
		return
	}
	in.log.Info("VIPs added", "count", len(in.cfg.VIPs))
	in.ann.Announce(in.cfg.Name, in.sender, in.ifi.HardwareAddr, in.vipAddrs, in.schedule())
	in.ws.set(in, true, watch.Owner{})
	in.ws.probe(in.vipAddrs)
	in.failoverFrom = in.lastHeard
	if in.failoverFrom.IsZero() {
		in.failoverFrom = in.now()
	}
	// Probe a VIP only after its gratuitous ARP / NA went out, else a
	// healthy upstream looks stale and gets needless repairs.
	if d := in.announceRound(); d > 50*time.Millisecond {
		in.verifyAt = in.now().Add(d)
		return
	}
	in.startVerifier()
}

// announceRound estimates how long the pacer takes to send one round of
// announcements for every VIP.
func (in *instance) announceRound() time.Duration {
	if in.announceRate <= 0 {
		return 0
	}
	frames := len(in.vipAddrs)
	if !in.cfg.IPv6() {
		frames *= 2 // request and reply
	}
	frames -= announceBurst
	if frames <= 0 {
		return 0
	}
	return time.Duration(float64(frames) / in.announceRate * float64(time.Second))
}

// startVerifier begins the per-VIP proof after a takeover.
func (in *instance) startVerifier() {
	if in.verifier != nil {
		in.verifier.Stop()
		in.verifier = nil
	}
	in.verifyAt = time.Time{}
	if !in.cfg.Verify.Enabled || in.prober == nil {
		return
	}
	targets, err := in.targets(in.ifi.Index, in.cfg.VIPs, in.cfg.Verify.Targets)
	if err != nil {
		in.log.Warn("cannot find the upstream targets to verify against", "err", err)
	}
	if len(targets) == 0 {
		in.log.Warn("no upstream target to verify the VIPs against: no gateway on the VIPs' subnets and none configured (verify.targets)")
		return
	}
	var p4, p6 netip.Addr
	if in.src.Is4() {
		p4 = in.src
	} else {
		p6 = in.src
	}
	period := in.cfg.Verify.Period
	if period == 0 {
		period = 100 * 365 * 24 * time.Hour // only after takeover
	}
	in.verifier = verify.New(verify.Config{
		Instance:  in.cfg.Name,
		Interface: in.ifi.Name,
		IfIndex:   in.ifi.Index,
		MAC:       in.ifi.HardwareAddr,
		Primary4:  p4,
		Primary6:  p6,
		VIPs:      in.vipAddrs,
		Targets:   targets,
		Timing:    verify.Timing{Period: period},
	}, verify.Deps{
		Prober:    in.prober,
		Pacer:     in.ann,
		Sender:    in.sender,
		Neighbors: in.neigh,
		Logger:    in.log,
		OnEvent: func(verify.Event) {
			select {
			case in.verifyCh <- struct{}{}:
			default:
			}
		},
	})
	in.verifyState = map[netip.Addr]string{}
	in.verifier.Start(context.Background())
}

// verifyChanged publishes verification changes and completes the failover
// measurement once every VIP is verified.
func (in *instance) verifyChanged() {
	if in.verifier == nil {
		return
	}
	sts := in.verifier.Status()
	worst := map[netip.Addr]string{}
	all := len(sts) > 0
	for _, st := range sts {
		s := st.State.String()
		if st.State != verify.Verified {
			all = false
		}
		if w, ok := worst[st.VIP]; !ok || rank(s) > rank(w) {
			worst[st.VIP] = s
		}
		if s != in.verifyState[st.VIP] && (st.State == verify.Stale || st.State == verify.Verified || st.State == verify.Unverifiable) {
			fields := map[string]string{"target": st.Target.String(), "state": s}
			if st.FixedBy != "" {
				fields["fixed_by"] = st.FixedBy
			}
			if st.Attempts > 0 {
				fields["attempts"] = strconv.Itoa(st.Attempts)
			}
			in.publish(control.Event{Type: control.EventVerify, Instance: in.cfg.Name, VIP: st.VIP.String(), Message: s, Fields: fields})
		}
	}
	for vip, s := range worst {
		in.verifyState[vip] = s
	}
	stats := in.verifier.Stats()
	for _, k := range announce.Kinds() {
		n := stats[k.String()]
		if d := n - in.remSeen[k.String()]; d > 0 {
			in.obs.RemediationSent(in.cfg.Name, k.String(), int(d))
			if in.remSeen == nil {
				in.remSeen = map[string]uint64{}
			}
			in.remSeen[k.String()] = n
		}
	}
	if all && !in.failoverFrom.IsZero() {
		d := in.now().Sub(in.failoverFrom)
		in.failoverFrom = time.Time{}
		in.obs.ObserveFailover(in.cfg.Name, d)
		in.log.Info("every VIP verified at the upstream", "since_master_last_heard", d.Round(time.Millisecond))
		in.publish(control.Event{Type: control.EventVerify, Instance: in.cfg.Name, Message: "all VIPs verified",
			Fields: map[string]string{"failover": d.Round(time.Millisecond).String()}})
	}
}

// rank orders verification states from best to worst.
func rank(s string) int {
	switch s {
	case "verified":
		return 0
	case "unknown":
		return 1
	case "unverifiable":
		return 2
	}
	return 3 // stale
}

func (in *instance) release() {
	in.verifyAt = time.Time{}
	if in.verifier != nil {
		in.verifier.Stop()
		in.verifier = nil
		in.verifyState = nil
	}
	in.ann.Cancel(in.cfg.Name)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := in.addrs.Remove(ctx, in.ifi.Index, in.cfg.VIPs); err != nil {
		in.log.Error("cannot remove VIPs", "err", err)
		return
	}
	in.log.Info("VIPs removed", "count", len(in.cfg.VIPs))
	in.ws.set(in, false, in.owner())
}

// status reports the instance; it runs in the instance's goroutine.
func (in *instance) status() control.InstanceStatus {
	family := "ipv4"
	if in.cfg.IPv6() {
		family = "ipv6"
	}
	st := control.InstanceStatus{
		Name:                 in.cfg.Name,
		Interface:            in.cfg.Interface,
		VRID:                 in.cfg.VRID,
		Family:               family,
		State:                in.m.State().String(),
		Priority:             in.cfg.Priority,
		EffectivePriority:    in.m.Priority(),
		AdvertInterval:       control.Duration(in.cfg.AdvertInterval),
		MasterAdvertInterval: control.Duration(in.m.MasterAdverInterval()),
		Preempt:              in.cfg.Preempt,
		FaultReasons:         in.faultList(),
	}
	if mi := in.m.Master(); mi.Addr.IsValid() {
		ps := &control.PeerStatus{Address: mi.Addr.String(), Priority: mi.Priority}
		if in.m.State() == fsm.Master {
			ps.Self = true
			ps.MAC = in.ifi.HardwareAddr.String()
		} else if mi.MAC != nil {
			ps.MAC = mi.MAC.String()
		}
		st.Master = ps
	}
	held := map[netip.Prefix]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	present, err := in.addrs.Present(ctx, in.ifi.Index, in.cfg.VIPs)
	cancel()
	if err != nil {
		in.log.Warn("cannot list addresses for status", "err", err)
	}
	for _, p := range present {
		held[p] = true
	}
	var vsts []verify.VIPStatus
	if in.verifier != nil {
		vsts = in.verifier.Status()
	}
	misdirected, conflicts := in.ws.findings()
	for _, p := range in.cfg.VIPs {
		vs := control.VIPStatus{Address: p.String(), Held: held[p], Misdirected: misdirected[p.Addr()]}
		if mac, ok := conflicts[p.Addr()]; ok {
			vs.ConflictMAC = mac.String()
		}
		for _, t := range vsts {
			if t.VIP != p.Addr() {
				continue
			}
			ts := control.TargetStatus{Target: t.Target.String(), State: t.State.String(), Since: t.Since,
				LastVerified: t.LastVerified, Attempts: t.Attempts, LastStep: t.LastStep, FixedBy: t.FixedBy}
			if t.TargetMAC != nil {
				ts.TargetMAC = t.TargetMAC.String()
			}
			vs.Targets = append(vs.Targets, ts)
			if vs.Verification == "" || rank(ts.State) > rank(vs.Verification) {
				vs.Verification = ts.State
			}
		}
		st.VIPs = append(st.VIPs, vs)
	}
	drops := map[string]uint64{}
	for k, v := range in.drops {
		drops[k] = v
	}
	if q := in.queued.Load(); q > 0 {
		drops["queue_full"] = q
	}
	st.Counters = control.Counters{
		AdvertsSent:     in.sent,
		AdvertsReceived: in.received,
		Drops:           drops,
		Transitions:     in.transitions,
		AddressMismatch: in.mismatch,
	}
	if !in.lastTrAt.IsZero() {
		st.Counters.LastTransition = in.lastTrAt
		st.Counters.LastTransitionFrom = in.lastTr.From.String()
		st.Counters.LastTransitionTo = in.lastTr.To.String()
		st.Counters.LastTransitionReason = in.lastTr.Reason.String()
	}
	return st
}

// faultHealth is the fault reason of an instance whose fault check fails.
const faultHealth = "health"

// startMonitor runs the instance's health checks, if any.
func (in *instance) startMonitor() {
	in.monitor, in.healthWas = nil, map[string]bool{}
	if len(in.cfg.Checks) == 0 {
		return
	}
	in.monitor = health.NewMonitor(in.cfg.Checks, health.Deps{
		Logger: in.log,
		OnChange: func(st health.Status) {
			in.healthNow.Store(&st)
			select {
			case in.healthCh <- struct{}{}:
			default:
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	in.stopMon, in.monDone = cancel, make(chan struct{})
	go func() { defer close(in.monDone); in.monitor.Run(ctx) }()
}

func (in *instance) stopMonitor() {
	if in.stopMon != nil {
		in.stopMon()
		<-in.monDone
		in.stopMon = nil
	}
}

// healthChanged applies the latest health status.
func (in *instance) healthChanged() {
	if st := in.healthNow.Load(); st != nil && in.monitor != nil {
		in.applyHealth(*st)
	}
}

// applyHealth sets the effective priority and the health fault, and
// reports checks that changed.
func (in *instance) applyHealth(st health.Status) {
	for _, c := range st.Checks {
		if c.Pending {
			continue
		}
		in.obs.HealthCheck(in.cfg.Name, c.Name, c.Healthy)
		if was, ok := in.healthWas[c.Name]; ok && was == c.Healthy {
			continue
		}
		in.healthWas[c.Name] = c.Healthy
		msg := "healthy"
		if !c.Healthy {
			msg = "failing"
		}
		fields := map[string]string{"check": c.Name, "type": c.Type}
		if !c.Healthy && c.LastErr != "" {
			fields["error"] = c.LastErr
		}
		in.publish(control.Event{Type: control.EventHealth, Instance: in.cfg.Name, Message: c.Name + " " + msg, Fields: fields})
	}
	prio, fault := health.Effective(in.cfg.Priority, st)
	if prio != in.m.Priority() {
		in.log.Info("priority changed by health checks", "priority", prio, "configured", in.cfg.Priority)
		in.m.Step(in.now(), fsm.SetPriority{Priority: prio})
	}
	in.setFault(faultHealth, fault)
}

// checksWarmup bounds the wait for the first health results.
func (in *instance) checksWarmup() time.Duration {
	var d time.Duration
	for _, c := range in.cfg.Checks {
		d = max(d, c.Timeout)
	}
	return d + time.Second
}

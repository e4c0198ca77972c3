package verify

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/clock"
)

// Pacer is the part of the daemon-wide *announce.Pacer a Verifier uses.
type Pacer interface {
	SendNow(key string, s announce.Sender, pkts ...announce.Packet) error
	Cancel(key string)
}

// Neighbors reads this node's neighbour table.
type Neighbors interface {
	// Lookup returns the MAC of a on interface ifindex, or an error if
	// there is no usable entry.
	Lookup(ifindex int, a netip.Addr) (net.HardwareAddr, error)
}

// Config describes one instance's verification.
type Config struct {
	// Instance names the instance in logs and in the pacer key.
	Instance string
	// Interface and IfIndex are the interface holding the VIPs.
	Interface string
	IfIndex   int
	// MAC is the interface's MAC: the one the targets must learn.
	MAC net.HardwareAddr
	// Primary4 and Primary6 are the node's own addresses on the
	// interface, used to tell a stale entry from an unreachable target.
	// Without one, a miss of that family counts as stale.
	Primary4, Primary6 netip.Addr
	// VIPs are the instance's virtual addresses; Targets the devices that
	// must learn them (see Targets). Each VIP pairs with every target of
	// its family.
	VIPs    []netip.Addr
	Targets []netip.Addr
	// Timing holds the delays; Timing.Period is the verification period.
	Timing Timing
	// CheckOnly verifies without remediation.
	CheckOnly bool
}

// Deps are what a Verifier talks to.
type Deps struct {
	Prober Prober
	// Pacer paces the remediation frames; Sender writes them on the
	// interface (the pacer calls it).
	Pacer  Pacer
	Sender announce.Sender
	// Neighbors gives the targets' MACs; nil leaves them unknown (the
	// directed rung is then broadcast and the unicast rung skipped).
	Neighbors Neighbors
	// Clock defaults to clock.System(), Logger to a discarding one. The
	// Logger carries the instance's keys (the daemon's has instance, vrid
	// and iface); the Verifier adds none of them, so no line has a key
	// twice.
	Clock  clock.Clock
	Logger *slog.Logger
	// OnEvent, if set, is called from the Verifier's goroutine with each
	// Event as it happens (StateChanged, RemediationSent, RungOutcome,
	// AllVerified). It
	// must not block or call the Verifier.
	OnEvent func(Event)
}

// macMaxAge is how long a looked-up target MAC is used before asking the
// neighbour table again.
const macMaxAge = time.Second

// Verifier proves, for one instance, that each target delivers the VIPs'
// traffic to this node, and repairs the targets' neighbour entries when it
// does not. One goroutine, started by Start, owns the policy state; the
// prober and the pacer report to it through an inbox.
type Verifier struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	clock clock.Clock
	key   string
	in    inbox

	// Owned by the running goroutine (and by New before it starts).
	core *core
	macs []macEntry // by target index
	// allReported: AllVerified was reported since the last start.
	allReported bool

	pairTgt []int  // target index of each pair, -1 for none; never changes
	idle    func() // test hook: called when the goroutine is about to block with nothing queued

	sentKind    [16]atomic.Uint64 // remediation frames written, by announce.Kind
	sendFailed  atomic.Uint64
	probeErrors atomic.Uint64

	mu      sync.Mutex // guards the fields below
	cancel  context.CancelFunc
	done    chan struct{} // closed when the goroutine ends; nil when not running
	snap    []VIPStatus   // by pair index, TargetMAC filled by Status
	tmacs   []net.HardwareAddr
	counts  coreCounts
	settled chan struct{} // closed when the core first settles after a start
}

type macEntry struct {
	mac net.HardwareAddr
	at  time.Time
}

// New returns a Verifier; nothing runs until Start.
func New(cfg Config, deps Deps) *Verifier {
	if deps.Clock == nil {
		deps.Clock = clock.System()
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	v := &Verifier{
		cfg:   cfg,
		deps:  deps,
		clock: deps.Clock,
		log:   deps.Logger,
		key:   "verify/" + cfg.Instance,
		core:  newCore(cfg.Timing, cfg.CheckOnly, cfg.VIPs, cfg.Targets, cfg.Primary4, cfg.Primary6),
	}
	v.in.wake = make(chan struct{}, 1)
	v.macs = make([]macEntry, len(v.core.targets))
	v.tmacs = make([]net.HardwareAddr, len(v.core.targets))
	v.snap = make([]VIPStatus, len(v.core.pairs))
	v.pairTgt = make([]int, len(v.core.pairs))
	for i := range v.snap {
		v.snap[i] = v.core.status(i)
		v.pairTgt[i] = v.core.pairs[i].tgt
	}
	return v
}

// Start begins verification after a takeover: probes at once, then
// remediation for what is stale, then a probe per Period. If the Verifier
// runs already, it starts over (a new takeover). It stops when ctx is done
// or on Stop.
func (v *Verifier) Start(ctx context.Context) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.settled = make(chan struct{})
	if v.done != nil {
		select {
		case <-v.done: // ended with its context; start anew
		default:
			v.in.post(event{kind: evStart})
			return
		}
	}
	ctx, v.cancel = context.WithCancel(ctx)
	v.done = make(chan struct{})
	go v.run(ctx, v.done, v.settled)
}

// Stop ends verification and waits for the goroutine to end. Every status
// goes back to Unknown and remediation frames still in the pacer are
// dropped.
func (v *Verifier) Stop() {
	v.mu.Lock()
	cancel, done := v.cancel, v.done
	v.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// Status returns one status per (VIP, target) pair, in the order of
// Config.VIPs and then Config.Targets.
func (v *Verifier) Status() []VIPStatus {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]VIPStatus, len(v.snap))
	for i, st := range v.snap {
		if ti := v.pairTgt[i]; ti >= 0 && v.tmacs[ti] != nil {
			st.TargetMAC = append(net.HardwareAddr(nil), v.tmacs[ti]...)
		}
		out[i] = st
	}
	return out
}

// Stats returns counters: remediation frames written by kind (the
// announce.Kind names), "send_failed", and the probe counters
// "probes_sent", "probes_answered", "probes_missed", "late_replies",
// "primary_probes_sent", "primary_probes_answered", "probe_errors".
func (v *Verifier) Stats() map[string]uint64 {
	m := make(map[string]uint64)
	for _, k := range announce.Kinds() {
		m[k.String()] = v.sentKind[k].Load()
	}
	m["send_failed"] = v.sendFailed.Load()
	m["probe_errors"] = v.probeErrors.Load()
	v.mu.Lock()
	c := v.counts
	v.mu.Unlock()
	m["probes_sent"] = c.probesSent
	m["probes_answered"] = c.probesAnswered
	m["probes_missed"] = c.probesMissed
	m["late_replies"] = c.lateReplies
	m["primary_probes_sent"] = c.primarySent
	m["primary_probes_answered"] = c.primaryAnswered
	return m
}

// run is the Verifier's goroutine.
func (v *Verifier) run(ctx context.Context, done, settled chan struct{}) {
	defer close(done)
	now := v.clock.Now()
	v.in.take() // events of an earlier run are void
	v.core.start(now)
	v.allReported = false
	v.log.Debug("verify: started", "vips", len(v.cfg.VIPs), "targets", len(v.core.targets))
	for _, pr := range v.core.pairs {
		if pr.tgt < 0 {
			v.log.Warn("verify: no target for VIP: unverifiable", "vip", pr.vip)
		}
	}
	v.apply(now)
	for {
		if settled != nil && v.core.settled() {
			close(settled)
			settled = nil
		}
		var timer clock.Timer
		var fire <-chan time.Time
		if at := v.core.next(); !at.IsZero() {
			timer = v.clock.NewTimer(at.Sub(v.clock.Now()))
			fire = timer.C()
		}
		if v.idle != nil && v.in.empty() {
			v.idle()
		}
		select {
		case <-ctx.Done():
		case <-v.in.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			v.deps.Pacer.Cancel(v.key)
			v.core.stop(v.clock.Now())
			v.apply(v.clock.Now())
			v.log.Debug("verify: stopped")
			return
		}
		now = v.clock.Now()
		for _, ev := range v.in.take() {
			switch ev.kind {
			case evReply:
				v.core.reply(now, ev.id)
			case evStepSent:
				v.core.stepSent(ev.at, ev.pair, ev.id, ev.ok)
				v.reportStep(ev)
			case evStart:
				v.mu.Lock()
				settled = v.settled
				v.mu.Unlock()
				v.core.start(now)
				v.allReported = false
				v.log.Debug("verify: restarted")
			}
		}
		v.core.advance(now)
		v.apply(now)
		if !v.allReported && v.core.allVerified() {
			v.allReported = true
			v.emit(AllVerified{})
		}
		v.mu.Lock()
		v.counts = v.core.counts
		v.mu.Unlock()
	}
}

// apply carries out the core's actions.
func (v *Verifier) apply(now time.Time) {
	acts := v.core.takeActions()
	if len(acts) == 0 {
		return
	}
	var changed []int
	for _, a := range acts {
		switch a.kind {
		case actProbe:
			id := a.id
			err := v.deps.Prober.Echo(v.cfg.IfIndex, a.src, a.dst, func() { v.in.post(event{kind: evReply, id: id}) })
			if err != nil {
				if v.probeErrors.Add(1) == 1 {
					v.log.Warn("verify: probe failed; further failures are counted, not logged",
						"src", a.src, "target", a.dst, "err", err)
				}
			}
		case actStep:
			v.sendStep(now, a)
		case actChange:
			changed = append(changed, a.pair)
		case actOutcome:
			pr := &v.core.pairs[a.pair]
			v.emit(RungOutcome{VIP: pr.vip, Target: v.core.targets[pr.tgt].addr, Sent: a.at, Lost: a.lost})
		}
	}
	v.publish(now, changed)
}

// sendStep builds a rung and hands it to the pacer.
func (v *Verifier) sendStep(now time.Time, a action) {
	pr := &v.core.pairs[a.pair]
	ti := pr.tgt
	tg := v.core.targets[ti]
	mac := v.targetMAC(now, ti)
	st := v.core.status(a.pair)
	v.log.Info("verify: remediation step", "vip", pr.vip, "target", tg.addr, "step", a.step.Name(pr.vip.Is6()),
		"attempt", st.Attempts, "target_mac", macString(mac))
	pkts, err := stepPackets(a.step, v.cfg.MAC, pr.vip, tg.addr, mac)
	if err != nil || len(pkts) == 0 {
		if err != nil {
			v.sendFailed.Add(1)
			v.log.Warn("verify: build remediation frames", "vip", pr.vip, "target", tg.addr, "step", a.step.Name(pr.vip.Is6()), "err", err)
		} else {
			v.log.Debug("verify: step skipped, target MAC unknown", "vip", pr.vip, "target", tg.addr, "step", a.step.Name(pr.vip.Is6()))
		}
		v.core.stepSent(now, a.pair, a.id, false)
		return
	}
	s := &stepSender{v: v, pair: a.pair, id: a.id, pkts: pkts}
	s.left.Store(int32(len(pkts)))
	if err := v.deps.Pacer.SendNow(v.key, s, pkts...); err != nil {
		v.sendFailed.Add(uint64(len(pkts)))
		v.log.Warn("verify: queue remediation frames", "vip", pr.vip, "target", tg.addr, "step", a.step.Name(pr.vip.Is6()), "err", err)
		v.core.stepSent(now, a.pair, a.id, false)
	}
}

// targetMAC returns target ti's MAC from the neighbour table, looked up at
// most once per macMaxAge.
func (v *Verifier) targetMAC(now time.Time, ti int) net.HardwareAddr {
	e := &v.macs[ti]
	if v.deps.Neighbors == nil || (!e.at.IsZero() && !now.Before(e.at) && now.Sub(e.at) < macMaxAge) {
		return e.mac
	}
	mac, err := v.deps.Neighbors.Lookup(v.cfg.IfIndex, v.core.targets[ti].addr)
	e.at = now
	if err == nil && len(mac) == 6 {
		e.mac = mac
	}
	return e.mac
}

// publish updates the snapshot for the changed pairs, logs their
// transitions and reports them.
func (v *Verifier) publish(now time.Time, changed []int) {
	type note struct {
		old, st VIPStatus
	}
	notes := make([]note, 0, len(changed))
	macs := make(map[int]net.HardwareAddr)
	for _, i := range changed {
		st := v.core.status(i)
		if ti := v.core.pairs[i].tgt; ti >= 0 {
			if _, ok := macs[ti]; !ok {
				macs[ti] = v.targetMAC(now, ti)
			}
			st.TargetMAC = macs[ti]
		}
		notes = append(notes, note{st: st})
	}
	v.mu.Lock()
	for k, i := range changed {
		notes[k].old = v.snap[i]
		snap := notes[k].st
		snap.TargetMAC = nil
		v.snap[i] = snap
	}
	for ti, mac := range macs {
		v.tmacs[ti] = mac
	}
	v.mu.Unlock()

	for _, n := range notes {
		if n.old.State != n.st.State {
			v.logTransition(n.old, n.st)
		}
		if n.old.State != n.st.State {
			v.emit(StateChanged{Status: n.st, From: n.old.State})
		}
	}
}

func (v *Verifier) logTransition(old, st VIPStatus) {
	args := []any{"vip", st.VIP, "target", st.Target, "from", old.State, "state", st.State}
	switch st.State {
	case Verified:
		v.log.Info("verify: verified", append(args, "fixed_by", st.FixedBy, "attempts", st.Attempts)...)
	case Stale:
		v.log.Warn("verify: target delivers the VIP elsewhere", append(args, "target_mac", macString(st.TargetMAC))...)
	case Unverifiable:
		v.log.Warn("verify: target answers no echo", args...)
	default:
		v.log.Debug("verify: state", args...)
	}
}

func macString(m net.HardwareAddr) string {
	if m == nil {
		return ""
	}
	return m.String()
}

// waitSettled blocks until every pair is verified, or out of initial
// probes while unverifiable (or stale, when only checking), or ctx is done.
func (v *Verifier) waitSettled(ctx context.Context) {
	v.mu.Lock()
	ch := v.settled
	v.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// stepSender is the announce.Sender the pacer calls for one rung: it
// writes with the real Sender, counts, and tells the Verifier when the
// rung's last frame is out.
type stepSender struct {
	v    *Verifier
	pair int
	id   uint64
	pkts []announce.Packet
	next atomic.Int32 // index of the frame being written
	left atomic.Int32
	// sent counts the frames written, by announce.Kind; read by the
	// Verifier's goroutine once the last frame is out.
	sent [16]atomic.Int32
}

func (s *stepSender) Send(frame []byte) error {
	k := s.next.Add(1) - 1
	err := s.v.deps.Sender.Send(frame)
	if err != nil {
		s.v.sendFailed.Add(1)
	} else if int(k) < len(s.pkts) {
		s.v.sentKind[s.pkts[k].Kind&15].Add(1)
		s.sent[s.pkts[k].Kind&15].Add(1)
	}
	if s.left.Add(-1) == 0 {
		s.v.in.post(event{kind: evStepSent, pair: s.pair, id: s.id, ok: err == nil, at: s.v.clock.Now(), step: s})
	}
	return err
}

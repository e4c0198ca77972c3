package verify

import (
	"net/netip"
	"time"
)

// core is the verifier's policy as a pure state machine: it is given
// events (takeover, probe replies, steps sent by the pacer) and the time,
// and answers with actions (send this probe, send this remediation step,
// this status changed) and the time it wants to be woken. It never reads a
// clock, sleeps or touches a socket, so its tests run a whole failover in
// microseconds.
//
// Per (VIP, target) pair the cycle is:
//
//	takeover ─► probe ─► reply ─────────────────────► Verified, probe again later
//	              │
//	              └─ miss ─► primary answered? ─ no ─► Unverifiable, probe again (backoff)
//	                              │ yes
//	                              ▼
//	                        Stale: next rung of the ladder ─► pacer sent it ─► probe
//
// A miss of a probe sent after a rung went out shows that the rung did not
// change the target's entry, so the next rung may follow at once: the
// target's locktime (which only runs from an actual change) is not in the
// way, and a stale VIP reaches the directed request a few probe timeouts
// after the takeover. Without that proof the next rung waits for another
// probe, so two rungs for one pair are never closer than Locktime unless a
// probe in between went unanswered. After the last rung the pair waits
// (backoff, from Locktime doubling up to BackoffMax), probes, and climbs
// again from the first rung.
type core struct {
	t         Timing
	checkOnly bool // verify, never remediate

	pairs   []pair
	targets []target
	epoch   time.Time // of the periodic probes' slots (slot)

	// probes holds every probe sent in the last ReplyWindow, oldest first
	// (send times, and so deadlines, never decrease along it); byID finds
	// them for replies. Probes before undecided have all been decided.
	probes    []*probe
	byID      map[uint64]*probe
	undecided int
	nextID    uint64

	counts coreCounts
	acts   []action
}

// coreCounts are the core's probe counters.
type coreCounts struct {
	probesSent, probesAnswered, probesMissed, lateReplies uint64
	primarySent, primaryAnswered                          uint64
}

// phase is where a pair is in its cycle.
type phase uint8

const (
	phIdle      phase = iota // stopped, or no target
	phWaitProbe              // a probe is due at wake
	phProbing                // a probe is out; its deadline is in core.probes
	phClassify               // a probe missed; waiting for the primary's verdict
	phSending                // a step is with the pacer; wake is its SendTimeout
	phWaitPacer              // a probe is due once the pacer has sent the pair's steps
)

type pair struct {
	vip    netip.Addr
	tgt    int // index in core.targets; -1: the VIP has no target
	spread time.Duration

	state        State
	since        time.Time
	lastVerified time.Time
	attempts     int
	lastStep     Step
	fixedBy      Step

	phase     phase
	wake      time.Time
	probe     uint64        // the outstanding probe (phProbing)
	missedAt  time.Time     // send time of the probe being classified (phClassify)
	step      uint64        // id of the last step handed to the pacer
	queued    int           // steps handed to the pacer and not yet sent
	level     Step          // highest rung sent in the current climb
	climbs    int           // climbs that failed in this incident (see climbWait)
	lossy     int           // failed climbs taken for loss in this incident (see lossyClimb)
	climbAt   time.Time     // when the current climb's first rung was handed to the pacer
	issuedAt  time.Time     // when step was handed to the pacer
	judged    time.Time     // send time of the last rung whose outcome was reported
	missRung  time.Time     // rungAt of the last missed probe
	heldFor   time.Duration // longest wait in the pacer of a rung of this climb held back (over HeldBack)
	heldOrder bool          // this climb follows LadderHeld
	stepHeld  bool          // the last step written was held back (over HeldBack)
	confirm   time.Time     // when the confirming unicast reply is due (see confirmLater); zero: none
	stepAt    time.Time     // when the last step went out; kept across takeovers
	missAt    time.Time     // send time of the last missed probe
	misses    int           // probes missed in a row
	unverif   int           // unverifiable verdicts in a row, for the backoff
	probesOut int           // probes sent since the takeover
	lookAgain bool          // became verified: the next probe after the initial ones is the second look (Timing.SecondLook)
	dirty     bool          // an actChange for this pair is waiting in core.acts
}

type target struct {
	addr, primary netip.Addr
	probe         uint64 // outstanding echo from the primary, 0 if none
	probeSent     time.Time
	replySent     time.Time // send time of the latest answered primary echo
	missSent      time.Time // send time of the latest missed primary echo
	fixedAt       time.Time // when a rung last fixed one of its pairs (see lossyClimb)
}

type probe struct {
	id       uint64
	pair     int // -1: an echo from the primary address to target tgt
	tgt      int
	sent     time.Time
	deadline time.Time
	after    Step      // the pair's last step sent before this probe
	rungAt   time.Time // when the rung this probe judges left; zero: none (see rungOutcome)
	decided  bool      // answered, or missed at its deadline
	missed   bool      // its deadline passed unanswered
}

// actionKind says what an action asks for.
type actionKind uint8

const (
	actProbe   actionKind = iota + 1 // send echo id from src to dst
	actStep                          // hand step id of pair to the pacer
	actChange                        // pair's status changed
	actOutcome                       // a rung of pair sent at at got through (lost false) or not
)

type action struct {
	kind     actionKind
	id       uint64
	pair     int // -1 for an echo from the primary address
	src, dst netip.Addr
	step     Step
	at       time.Time // actOutcome: when the rung left
	lost     bool      // actOutcome
}

// newCore returns a core for vips towards targets: every VIP is paired
// with every target of its family. primary4 and primary6 are the node's
// own addresses used to tell a stale entry from an unreachable target.
func newCore(t Timing, checkOnly bool, vips, targets []netip.Addr, primary4, primary6 netip.Addr) *core {
	c := &core{t: t.withDefaults(), checkOnly: checkOnly, byID: make(map[uint64]*probe)}
	tidx := make(map[netip.Addr]int)
	for _, a := range targets {
		a = a.Unmap()
		if _, ok := tidx[a]; ok || !a.IsValid() {
			continue
		}
		pri := primary4
		if a.Is6() {
			pri = primary6
		}
		tidx[a] = len(c.targets)
		c.targets = append(c.targets, target{addr: a, primary: pri})
	}
	seen := make(map[netip.Addr]bool)
	for _, v := range vips {
		v = v.Unmap()
		if seen[v] || !v.IsValid() {
			continue
		}
		seen[v] = true
		n := 0
		for i, tg := range c.targets {
			if tg.addr.Is6() == v.Is6() {
				c.pairs = append(c.pairs, pair{vip: v, tgt: i})
				n++
			}
		}
		if n == 0 {
			c.pairs = append(c.pairs, pair{vip: v, tgt: -1, state: Unverifiable})
		}
	}
	for i := range c.pairs {
		// Spread the periodic probes over a tenth of the period.
		c.pairs[i].spread = c.t.Period / 10 * time.Duration(i) / time.Duration(len(c.pairs))
	}
	return c
}

// takeActions returns the actions accumulated since the last call.
func (c *core) takeActions() []action {
	a := c.acts
	c.acts = nil
	for _, x := range a {
		if x.kind == actChange {
			c.pairs[x.pair].dirty = false
		}
	}
	return a
}

// start begins verification after a takeover, or restarts it. Evidence from
// before is dropped, except when the last step went out (Locktime).
func (c *core) start(now time.Time) {
	c.dropProbes()
	for ti := range c.targets {
		tg := &c.targets[ti]
		tg.probe, tg.probeSent, tg.replySent, tg.missSent = 0, time.Time{}, time.Time{}, time.Time{}
		if tg.primary.IsValid() {
			c.sendPrimary(now, ti)
		}
	}
	for i := range c.pairs {
		pr := &c.pairs[i]
		if pr.tgt < 0 {
			c.setState(now, i, Unverifiable)
			continue
		}
		pr.attempts, pr.lastStep, pr.fixedBy = 0, StepNone, StepNone
		pr.level, pr.climbs, pr.heldFor, pr.heldOrder, pr.lossy = StepNone, 0, 0, false, 0
		pr.misses, pr.unverif, pr.probesOut, pr.confirm = 0, 0, 0, time.Time{}
		pr.probe, pr.lookAgain = 0, false
		pr.phase, pr.wake = phWaitProbe, now.Add(c.t.Settle)
		if !c.setState(now, i, Unknown) {
			c.changed(i)
		}
	}
}

// stop ends verification: every pair goes back to Unknown. The caller
// cancels the steps still in the pacer.
func (c *core) stop(now time.Time) {
	c.dropProbes()
	c.stepsCancelled()
	for ti := range c.targets {
		c.targets[ti].probe = 0
	}
	for i := range c.pairs {
		pr := &c.pairs[i]
		if pr.tgt < 0 {
			continue
		}
		pr.phase, pr.probe, pr.confirm = phIdle, 0, time.Time{}
		c.setState(now, i, Unknown)
	}
}

func (c *core) dropProbes() {
	clear(c.probes)
	c.probes, c.undecided = c.probes[:0], 0
	clear(c.byID)
}

// reply handles the echo reply to probe id.
func (c *core) reply(now time.Time, id uint64) {
	p := c.byID[id]
	if p == nil {
		return
	}
	late := p.missed
	p.decided = true
	if p.pair < 0 {
		c.counts.primaryAnswered++
		tg := &c.targets[p.tgt]
		if p.sent.After(tg.replySent) {
			tg.replySent = p.sent
		}
		if tg.probe == p.id {
			tg.probe = 0
		}
		c.resolve(now, p.tgt)
		return
	}
	c.counts.probesAnswered++
	if late {
		c.counts.lateReplies++
	}
	i := p.pair
	pr := &c.pairs[i]
	if pr.phase == phIdle {
		return
	}
	pr.misses, pr.unverif = 0, 0
	pr.lastVerified = now
	if pr.state != Verified {
		c.rungOutcome(i, p.rungAt, false)
		fixed := StepNone
		if pr.attempts > 0 {
			fixed = p.after
		}
		c.confirmLater(i, fixed)
		if fixed != StepNone && pr.tgt >= 0 {
			c.targets[pr.tgt].fixedAt = now
		}
		pr.level, pr.climbs, pr.heldFor, pr.heldOrder, pr.lossy = StepNone, 0, 0, false, 0
		pr.fixedBy, pr.lookAgain = fixed, true
		c.setState(now, i, Verified)
	} else {
		c.changed(i) // LastVerified moved
	}
	if pr.phase == phProbing && pr.probe != p.id {
		return // a newer probe is out and will decide on its own
	}
	pr.probe = 0
	c.nextProbe(now, i, p.sent)
}

// advance does everything due at now.
func (c *core) advance(now time.Time) {
	for {
		progressed := false
		for c.undecided < len(c.probes) {
			p := c.probes[c.undecided]
			if p.deadline.After(now) {
				break
			}
			c.undecided++
			if !p.decided {
				p.decided, p.missed = true, true
				c.missed(now, p)
				progressed = true
			}
		}
		for i := range c.pairs {
			pr := &c.pairs[i]
			if !pr.confirm.IsZero() && !pr.confirm.After(now) {
				c.sendConfirm(now, i)
			}
			if pr.wake.After(now) {
				continue
			}
			switch pr.phase {
			case phWaitProbe:
				c.sendProbe(now, i)
			case phSending:
				// The pacer is slow: probe anyway (the step may yet go
				// out, and no further one is queued before it has).
				pr.phase, pr.wake = phWaitProbe, now.Add(c.t.Settle)
			default:
				continue
			}
			progressed = true
		}
		if !progressed {
			break
		}
	}
	// Forget probes whose replies would no longer count.
	n := 0
	for n < len(c.probes) && n < c.undecided && !c.probes[n].sent.Add(c.t.ReplyWindow).After(now) {
		delete(c.byID, c.probes[n].id)
		n++
	}
	if n > 0 {
		clear(c.probes[:n])
		c.probes = c.probes[n:]
		c.undecided -= n
	}
}

// next returns when advance should run again; zero if only an event can
// change anything.
func (c *core) next() time.Time {
	var at time.Time
	earlier := func(t time.Time) {
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	if c.undecided < len(c.probes) {
		earlier(c.probes[c.undecided].deadline)
	}
	for i := range c.pairs {
		switch c.pairs[i].phase {
		case phWaitProbe, phSending:
			earlier(c.pairs[i].wake)
		}
		if !c.pairs[i].confirm.IsZero() {
			earlier(c.pairs[i].confirm)
		}
	}
	return at
}

// settled reports whether a one-shot run can stop: every pair verified, or
// out of initial probes while unverifiable (or stale, when only checking).
func (c *core) settled() bool {
	for i := range c.pairs {
		pr := &c.pairs[i]
		if pr.tgt < 0 || pr.state == Verified {
			continue
		}
		done := pr.probesOut >= c.t.InitialProbes && pr.phase != phProbing && pr.phase != phClassify
		switch {
		case pr.state == Unverifiable && done:
		case pr.state == Stale && c.checkOnly && done:
		default:
			return false
		}
	}
	return true
}

// allVerified reports whether every pair is verified.
func (c *core) allVerified() bool {
	for i := range c.pairs {
		if c.pairs[i].state != Verified {
			return false
		}
	}
	return len(c.pairs) > 0
}

// status returns pair i's status without the target's MAC.
func (c *core) status(i int) VIPStatus {
	pr := &c.pairs[i]
	st := VIPStatus{
		VIP:          pr.vip,
		State:        pr.state,
		Since:        pr.since,
		LastVerified: pr.lastVerified,
		Attempts:     pr.attempts,
		LastStep:     pr.lastStep.Name(pr.vip.Is6()),
		FixedBy:      pr.fixedBy.Name(pr.vip.Is6()),
	}
	if pr.tgt >= 0 {
		st.Target = c.targets[pr.tgt].addr
	}
	return st
}

func (c *core) missed(now time.Time, p *probe) {
	if p.pair < 0 {
		tg := &c.targets[p.tgt]
		if p.sent.After(tg.missSent) {
			tg.missSent = p.sent
		}
		if tg.probe == p.id {
			tg.probe = 0
		}
		c.resolve(now, p.tgt)
		return
	}
	c.counts.probesMissed++
	i := p.pair
	pr := &c.pairs[i]
	if pr.phase != phProbing || pr.probe != p.id {
		return
	}
	pr.probe = 0
	pr.misses++
	if p.sent.After(pr.missAt) {
		pr.missAt, pr.missRung = p.sent, p.rungAt
	}
	// One lost echo is no evidence against a verified entry.
	if pr.state == Verified && pr.misses < 2 {
		pr.phase, pr.wake = phWaitProbe, later(now, p.sent.Add(c.t.ProbeInterval))
		return
	}
	c.classify(now, i, p.sent)
}

// setState moves pair i to s and reports whether that changed anything.
func (c *core) setState(now time.Time, i int, s State) bool {
	pr := &c.pairs[i]
	if pr.state == s && !pr.since.IsZero() {
		return false
	}
	pr.state, pr.since = s, now
	c.changed(i)
	return true
}

func (c *core) changed(i int) {
	// One change action per pair between two takeActions is enough.
	if c.pairs[i].dirty {
		return
	}
	c.pairs[i].dirty = true
	c.acts = append(c.acts, action{kind: actChange, pair: i})
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

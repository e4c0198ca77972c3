package verify

import (
	"container/heap"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// This file is a discrete-event simulation of the world around the core: a
// Linux-like router (one per target) with a neighbour table, a paced sender,
// and the wire. Time is virtual and exact; a whole failover takes
// microseconds of real time.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// simRouter models one target's neighbour table for the VIPs, the way Linux
// treats the ladder's steps.
type simRouter struct {
	addr     netip.Addr
	ours     map[netip.Addr]bool      // entry for VIP holds our MAC
	updated  map[netip.Addr]time.Time // when the entry last changed
	locktime time.Duration
	rtt      time.Duration

	ignore     map[Step]map[netip.Addr]bool // steps dropped for a VIP (nft)
	icmpDown   bool                         // answers no echo at all
	dropEchoes int                          // drop the next n echoes to VIPs
	loss       func() bool                  // if set, drops an echo (either way) when true
	stepLoss   func() bool                  // if set, drops a step (or the takeover's announcement) when true

	// An ARP policer (nft "limit rate over"): steps beyond policeRate per
	// second, in bursts of policeBurst, are dropped. Zero: none.
	policeRate  float64
	policeBurst int
	policeTAT   time.Time
	policed     int // steps dropped by the policer
}

func newSimRouter(addr netip.Addr) *simRouter {
	return &simRouter{
		addr:     addr,
		ours:     map[netip.Addr]bool{},
		updated:  map[netip.Addr]time.Time{},
		locktime: time.Second,
		rtt:      time.Millisecond,
		ignore:   map[Step]map[netip.Addr]bool{},
	}
}

func (r *simRouter) setIgnore(s Step, vips ...netip.Addr) {
	if r.ignore[s] == nil {
		r.ignore[s] = map[netip.Addr]bool{}
	}
	for _, v := range vips {
		r.ignore[s][v] = true
	}
}

// apply is a step arriving at now. Gratuitous and directed updates override
// whatever the locktime says (Linux: is_garp, neigh_event_ns); a unicast
// reply only after locktime since the entry last changed.
func (r *simRouter) apply(now time.Time, s Step, vip netip.Addr) {
	if !r.police(now) || r.ignore[s][vip] || (r.stepLoss != nil && r.stepLoss()) {
		return
	}
	if s == StepUnicast && now.Sub(r.updated[vip]) < r.locktime {
		return
	}
	if !r.ours[vip] {
		r.ours[vip] = true
		r.updated[vip] = now
	}
}

// police reports whether the policer lets a frame arriving at now through.
func (r *simRouter) police(now time.Time) bool {
	if r.policeRate <= 0 {
		return true
	}
	iv := time.Duration(float64(time.Second) / r.policeRate)
	if r.policeTAT.Before(now) {
		r.policeTAT = now
	}
	if r.policeTAT.Sub(now) > time.Duration(r.policeBurst-1)*iv {
		r.policed++
		return false
	}
	r.policeTAT = r.policeTAT.Add(iv)
	return true
}

// moveAway points the entry for vip at someone else (the old owner).
func (r *simRouter) moveAway(now time.Time, vip netip.Addr) {
	r.ours[vip] = false
	r.updated[vip] = now
}

// echo reports whether an echo from src is answered to us.
func (r *simRouter) echo(src netip.Addr, primary bool) bool {
	if r.icmpDown || (r.loss != nil && r.loss()) {
		return false
	}
	if primary {
		return true
	}
	if r.dropEchoes > 0 {
		r.dropEchoes--
		return false
	}
	return r.ours[src]
}

// stepRecord is one step as the world saw it.
type stepRecord struct {
	pair   int
	id     uint64
	step   Step
	issued time.Time // handed to the pacer
	sent   time.Time // written by the pacer (zero until then)
}

type probeRecord struct {
	pair       int
	sent       time.Time
	answered   bool
	answeredAt time.Time
}

// missedBy reports whether the probe had gone unanswered for ProbeTimeout
// by time at: what the core can know.
func (p probeRecord) missedBy(at time.Time, timeout time.Duration) bool {
	deadline := p.sent.Add(timeout)
	// A reply at the deadline itself comes too late: the core decides the
	// miss before it looks at events of the same instant.
	return !deadline.After(at) && (!p.answered || !p.answeredAt.Before(deadline))
}

type simEvent struct {
	at  time.Time
	seq int
	fn  func()
}

type eventHeap []simEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(a, b int) bool {
	if !h[a].at.Equal(h[b].at) {
		return h[a].at.Before(h[b].at)
	}
	return h[a].seq < h[b].seq
}
func (h eventHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(simEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// world drives a core against simulated routers and a simulated pacer.
type world struct {
	t       testing.TB
	now     time.Time
	c       *core
	routers map[netip.Addr]*simRouter
	events  eventHeap
	seq     int

	// pacer: a token bucket like announce.Pacer, FIFO.
	rate     float64
	burst    int
	tat      time.Time
	pacerQ   []int // indexes into steps
	pacerRun bool
	stall    time.Duration // extra delay before each frame (a stuck pacer)

	steps    []stepRecord
	probes   []probeRecord
	probeIdx map[uint64]int
	changes  map[int]int // pair → change actions
	verified map[int]time.Time
	restarts []time.Time // takeovers after the first
	outcomes []action    // actOutcome, in order
}

func newWorld(t testing.TB, tm Timing, checkOnly bool, vips, targets []netip.Addr, p4, p6 netip.Addr) *world {
	w := &world{
		t:        t,
		now:      t0,
		c:        newCore(tm, checkOnly, vips, targets, p4, p6),
		routers:  map[netip.Addr]*simRouter{},
		rate:     500,
		burst:    50,
		probeIdx: map[uint64]int{},
		changes:  map[int]int{},
		verified: map[int]time.Time{},
	}
	for _, a := range targets {
		w.routers[a] = newSimRouter(a)
	}
	return w
}

func (w *world) router(a string) *simRouter { return w.routers[netip.MustParseAddr(a)] }

func (w *world) at(at time.Time, fn func()) {
	w.seq++
	heap.Push(&w.events, simEvent{at: at, seq: w.seq, fn: fn})
}

// takeover starts the core at now, after the daemon's own gratuitous ARP
// for every VIP has reached the routers.
func (w *world) takeover() {
	for _, r := range w.routers {
		for _, pr := range w.c.pairs {
			r.apply(w.now, StepGratuitous, pr.vip)
		}
	}
	w.c.start(w.now)
	w.drain()
}

// restart is a second takeover at now (the entries stay as they are).
func (w *world) restart() {
	w.restarts = append(w.restarts, w.now)
	w.c.start(w.now)
	w.drain()
}

// restartBetween reports whether a takeover happened in [a, b].
func (w *world) restartBetween(a, b time.Time) bool {
	for _, r := range w.restarts {
		if !r.Before(a) && !r.After(b) {
			return true
		}
	}
	return false
}

// runFor runs the world for d of virtual time.
func (w *world) runFor(d time.Duration) { w.runUntil(w.now.Add(d), nil) }

// runUntil runs until end or until done returns true.
func (w *world) runUntil(end time.Time, done func() bool) {
	for guard := 0; ; guard++ {
		if guard > 10_000_000 {
			w.t.Fatal("simulation does not terminate")
		}
		if done != nil && done() {
			return
		}
		next := w.c.next()
		var ev time.Time
		if len(w.events) > 0 {
			ev = w.events[0].at
		}
		switch {
		case !next.IsZero() && (ev.IsZero() || !next.After(ev)):
			if next.After(end) {
				w.now = end
				return
			}
			if next.After(w.now) {
				w.now = next
			}
			w.c.advance(w.now)
		case !ev.IsZero():
			if ev.After(end) {
				w.now = end
				return
			}
			e := heap.Pop(&w.events).(simEvent)
			if e.at.After(w.now) {
				w.now = e.at
			}
			e.fn()
		default:
			w.now = end
			return
		}
		w.drain()
	}
}

// drain carries out the core's actions.
func (w *world) drain() {
	for _, a := range w.c.takeActions() {
		switch a.kind {
		case actProbe:
			r := w.routers[a.dst]
			if a.pair >= 0 {
				w.probeIdx[a.id] = len(w.probes)
				w.probes = append(w.probes, probeRecord{pair: a.pair, sent: w.now})
			}
			if r.echo(a.src, a.pair < 0) {
				id := a.id
				w.at(w.now.Add(r.rtt), func() {
					if k, ok := w.probeIdx[id]; ok && !w.probes[k].answered {
						w.probes[k].answered, w.probes[k].answeredAt = true, w.now
					}
					w.c.reply(w.now, id)
				})
			}
		case actStep:
			w.steps = append(w.steps, stepRecord{pair: a.pair, id: a.id, step: a.step, issued: w.now})
			w.pacerQ = append(w.pacerQ, len(w.steps)-1)
			w.kickPacer()
		case actOutcome:
			w.outcomes = append(w.outcomes, a)
		case actChange:
			w.changes[a.pair]++
			if st := w.c.pairs[a.pair]; st.state == Verified {
				if _, ok := w.verified[a.pair]; !ok {
					w.verified[a.pair] = w.now
				}
			}
		}
	}
}

// kickPacer schedules the next frame of the simulated pacer.
func (w *world) kickPacer() {
	if w.pacerRun || len(w.pacerQ) == 0 {
		return
	}
	w.pacerRun = true
	iv := time.Duration(float64(time.Second) / w.rate)
	tol := time.Duration(w.burst-1) * iv
	at := w.now
	if w.tat.Before(at) {
		w.tat = at
	}
	if d := w.tat.Sub(at) - tol; d > 0 {
		at = at.Add(d)
	}
	at = at.Add(w.stall)
	w.at(at, func() {
		w.pacerRun = false
		if w.tat.Before(w.now) {
			w.tat = w.now
		}
		w.tat = w.tat.Add(iv)
		k := w.pacerQ[0]
		w.pacerQ = w.pacerQ[1:]
		s := &w.steps[k]
		s.sent = w.now
		pr := w.c.pairs[s.pair]
		r := w.routers[w.c.targets[pr.tgt].addr]
		vip, step := pr.vip, s.step
		w.at(w.now.Add(r.rtt/2), func() { r.apply(w.now, step, vip) })
		w.c.stepSent(w.now, s.pair, s.id, true)
		w.kickPacer()
	})
}

// stepsOf returns the steps of pair i in order.
func (w *world) stepsOf(i int) []stepRecord {
	var out []stepRecord
	for _, s := range w.steps {
		if s.pair == i {
			out = append(out, s)
		}
	}
	return out
}

// checkInvariants asserts, for every pair: steps climb the ladder in order
// (gratuitous, directed, unicast, then again from gratuitous); no two steps
// are issued within Locktime of the previous one being sent unless a probe
// sent after it went unanswered; a step is only issued once the previous
// one was sent; at most one probe is out at a time.
func (w *world) checkInvariants() {
	w.t.Helper()
	lock := w.c.t.Locktime
	for i := range w.c.pairs {
		ss := w.stepsOf(i)
		for k, s := range ss {
			if k == 0 {
				if s.step != StepGratuitous {
					w.t.Errorf("pair %d: first step %v, want gratuitous", i, s.step)
				}
				continue
			}
			prev := ss[k-1]
			if prev.sent.IsZero() || s.issued.Before(prev.sent) {
				w.t.Errorf("pair %d: step %d (%v) issued at %v before step %d was sent (%v)",
					i, k, s.step, s.issued.Sub(t0), k-1, prev.sent.Sub(t0))
				continue
			}
			// The next rung of either order (Ladder, LadderHeld), or
			// a new climb.
			n1, _ := nextRung(prev.step, false)
			n2, _ := nextRung(prev.step, true)
			if s.step != n1 && s.step != n2 && s.step != StepGratuitous {
				w.t.Errorf("pair %d: step %d is %v after %v", i, k, s.step, prev.step)
			}
			if s.issued.Sub(prev.sent) >= lock {
				continue
			}
			proven := false
			for _, p := range w.probes {
				if p.pair == i && p.sent.After(prev.sent) && p.missedBy(s.issued, w.c.t.ProbeTimeout) {
					proven = true
				}
			}
			if !proven {
				w.t.Errorf("pair %d: step %d (%v) %v after step %d without a missed probe in between (locktime %v)",
					i, k, s.step, s.issued.Sub(prev.sent), k-1, lock)
			}
		}
		var last *probeRecord
		for k := range w.probes {
			p := &w.probes[k]
			if p.pair != i {
				continue
			}
			if last != nil && !(last.answered && !last.answeredAt.After(p.sent)) && p.sent.Sub(last.sent) < w.c.t.ProbeTimeout && !w.restartBetween(last.sent, p.sent) {
				w.t.Errorf("pair %d: probe at %v while the one from %v was still out",
					i, p.sent.Sub(t0), last.sent.Sub(t0))
			}
			last = p
		}
	}
}

func addrs(base string, n int) []netip.Addr {
	a := netip.MustParseAddr(base)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = a
		a = a.Next()
	}
	return out
}

func (w *world) String() string {
	s := ""
	for i := range w.c.pairs {
		st := w.c.status(i)
		s += fmt.Sprintf("%v→%v %v attempts=%d last=%q fixed=%q\n", st.VIP, st.Target, st.State, st.Attempts, st.LastStep, st.FixedBy)
	}
	return s
}

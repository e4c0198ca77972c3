package announce

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Defaults of the daemon-wide pacer and of a master's schedule.
const (
	// DefaultRate is a fixed rate that suits a router's ARP/ND policer
	// (control-plane protection commonly allows a few hundred to a few
	// thousand ARP packets per second for the whole box), for who wants
	// one; a Pacer made with rate 0 adapts instead (see AutoMaxRate).
	DefaultRate = 500
	// DefaultBurst is how many packets may leave back to back at a fixed
	// rate.
	DefaultBurst = 50
	// DefaultCount is how many rounds a new master sends.
	DefaultCount = 2
	// DefaultInterval separates two rounds for one VIP. It is just above
	// Linux's default neighbour locktime (1 s), within which a Linux
	// router ignores a non-gratuitous update of the same entry.
	DefaultInterval = 1100 * time.Millisecond
	// MaxQueued bounds the packets queued by SendNow.
	MaxQueued = 4096
)

var (
	// ErrQueueFull: SendNow would queue more than MaxQueued packets.
	ErrQueueFull = errors.New("send queue full")
	// ErrPacket: SendNow got a Packet without a valid Kind or Frame.
	ErrPacket = errors.New("invalid packet")
)

// Stats counts packets by kind since the Pacer was made. Every Kind has an
// entry.
type Stats struct {
	Sent   map[Kind]uint64 // written without error
	Failed map[Kind]uint64 // Send returned an error
}

// Pacer sends every announcement of the daemon through one token bucket,
// so that thousands of VIPs changing owner at once do not trip the
// upstream router's ARP/ND policer.
//
// Each key (an instance name) has at most one schedule. Each VIP of a
// schedule has at most one pending round, due a full Interval (or Refresh)
// after its previous round ended: a round that cannot finish in time
// delays the next one for that VIP instead of queueing another, so a
// schedule holds one entry per VIP however slow the pacing. Packets queued
// by SendNow go first; then schedules take turns packet by packet, rounds
// of a fresh master before refresh rounds.
//
// Run is the single goroutine that sends. Announce, Cancel, SendNow and
// Stats may be called from any goroutine.
type Pacer struct {
	clock Clock
	log   *slog.Logger
	wake  chan struct{} // capacity 1: something new to look at

	mu     sync.Mutex // guards the fields below
	cond   *sync.Cond // on mu; broadcast when a send finishes
	bucket bucket
	rc     rateControl
	burst  int // the fixed burst, or an adaptive one's at the ceiling
	jobs   map[string]*job
	ring   []*job   // the jobs, in turn-taking order
	rr     int      // where in ring the next search starts
	queue  []queued // SendNow packets, first in first out
	seq    uint64   // orders entries with the same due time
	// inflight is set while Poll writes a frame for inflightKey without
	// the lock; Cancel waits for it.
	inflight    bool
	inflightKey string
	failing     map[string]int // key → failed sends since its last success
	sent        [numKinds]uint64
	failed      [numKinds]uint64
}

// NewPacer returns a pacer sending at most rate packets per second in
// bursts of at most burst packets. A zero or negative rate adapts (see
// AutoMaxRate), with AutoBurst if burst is zero or negative; a fixed rate
// takes DefaultBurst then. A nil clock is SystemClock and a nil logger
// discards.
func NewPacer(rate float64, burst int, clock Clock, log *slog.Logger) *Pacer {
	rc := newRateControl(rate)
	if burst <= 0 {
		burst = DefaultBurst
		if rc.adaptive {
			burst = AutoBurst
		}
	}
	if clock == nil {
		clock = SystemClock()
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Pacer{
		clock:   clock,
		log:     log,
		wake:    make(chan struct{}, 1),
		bucket:  newBucket(rc.rate, burst),
		rc:      rc,
		burst:   burst,
		jobs:    make(map[string]*job),
		failing: make(map[string]int),
	}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// Announce starts key's schedule: the gratuitous ARP request and reply for
// every IPv4 VIP and the unsolicited NA for every IPv6 VIP, from mac,
// written with s. It replaces key's previous schedule; the first round is
// due now. Duplicate VIPs are announced once. A VIP that cannot be
// announced (see Announcements) is logged and left out; with no VIP left,
// or an invalid mac or nil s, key just has no schedule any more. Callers
// that want the error call Announcements first (config validation).
func (p *Pacer) Announce(key string, s Sender, mac net.HardwareAddr, vips []netip.Addr, sch Schedule) {
	vips = uniq(vips)
	switch err := checkMACs(From(mac), nil); {
	case err != nil:
		p.log.Error("announce: nothing announced", "instance", key, "err", fmt.Errorf("announce: %w", err))
		vips = nil
	case s == nil:
		p.log.Error("announce: nothing announced", "instance", key, "err", errors.New("announce: nil Sender"))
		vips = nil
	}
	valid := vips[:0]
	for _, v := range vips {
		if err := checkAnnouncement(From(mac), v); err != nil {
			p.log.Error("announce: VIP left out", "instance", key, "vip", v, "err", err)
			continue
		}
		valid = append(valid, v)
	}
	pkts, err := Src{Eth: mac, HW: mac, Router: sch.Router}.Announcements(valid)
	if err != nil { // checked above; kept for safety
		p.log.Error("announce: nothing announced", "instance", key, "err", err)
		pkts = nil
	}
	sch = sch.normalize()
	j := &job{key: key, sender: s, sch: sch}
	es := make([]entry, 0, len(valid)) // one allocation for all entries
	for i := 0; i < len(pkts); {
		n := 1
		if pkts[i].Kind == KindGratuitousRequest {
			n = 2 // and its reply
		}
		es = append(es, entry{pkts: pkts[i : i+n : i+n]})
		i += n
	}
	firstLen := 0
	for i := range es {
		es[i].first = directed(mac, es[i].pkts[0].VIP, sch.Targets, es[i].pkts, len(es) <= fullFirstRound)
		firstLen += len(es[i].round0())
	}
	if passes := firstPasses(sch, firstLen); passes > 1 {
		for i := range es {
			es[i].first = slices.Repeat(es[i].round0(), passes)
		}
	}
	j.firstLeft = len(es)
	j.q = make(entryHeap, len(es))
	for i := range es {
		j.q[i] = &es[i]
	}
	now := p.clock.Now()
	n := len(j.q) // the pacer owns j.q once it is queued

	p.mu.Lock()
	if old := p.jobs[key]; old != nil {
		p.removeJob(old)
	}
	if len(j.q) > 0 {
		due := now
		if sch.Wait {
			due = now.Add(waitHorizon)
			j.waiting = make(map[netip.Addr]*entry, len(j.q))
		}
		for i, e := range j.q { // equal due, rising seq: already a heap
			e.due, e.seq, e.idx = due, p.nextSeq(), i
			if j.waiting != nil {
				e.held = true
				j.waiting[e.pkts[0].VIP.Unmap().WithZone("")] = e
			}
		}
		p.jobs[key] = j
		p.ring = append(p.ring, j)
	}
	p.mu.Unlock()

	p.poke()
	p.log.Debug("announce: schedule started", "instance", key, "vips", n,
		"rounds", sch.Count, "interval", sch.Interval, "refresh", sch.Refresh)
}

// waitHorizon is where a Wait schedule's entries sit until Ready.
const waitHorizon = 100 * 365 * 24 * time.Hour

// Ready releases the first round of vips in key's Wait schedule: they are
// due now. VIPs not waiting (already released, not in the schedule) are
// ignored.
func (p *Pacer) Ready(key string, vips []netip.Addr) {
	now := p.clock.Now()
	released := false
	p.mu.Lock()
	if j := p.jobs[key]; j != nil && j.waiting != nil {
		for _, v := range vips {
			v = v.Unmap().WithZone("")
			e := j.waiting[v]
			if e == nil {
				continue
			}
			delete(j.waiting, v)
			e.held, e.due, e.seq = false, now, p.nextSeq()
			heap.Fix(&j.q, e.idx)
			released = true
		}
	}
	p.mu.Unlock()
	if released {
		p.poke()
	}
}

// Cancel stops key's schedule and drops its packets queued by SendNow.
// When Cancel returns, no further frame of key will be written: if one is
// being written, Cancel waits for that write. Cancel must not be called
// from a Sender.
func (p *Pacer) Cancel(key string) {
	p.mu.Lock()
	vips := 0
	if j := p.jobs[key]; j != nil {
		vips = len(j.q)
		p.removeJob(j)
	}
	kept, dropped := p.queue[:0], 0
	for _, q := range p.queue {
		if q.key == key {
			dropped++
			continue
		}
		kept = append(kept, q)
	}
	clear(p.queue[len(kept):])
	p.queue = kept
	delete(p.failing, key)
	for p.inflight && p.inflightKey == key {
		p.cond.Wait()
	}
	p.mu.Unlock()
	if vips > 0 || dropped > 0 {
		p.log.Debug("announce: cancelled", "instance", key, "vips", vips, "queued", dropped)
	}
}

// SendNow queues one-off packets for key, ahead of every schedule but
// still paced. Cancel(key) drops them if they are still queued.
func (p *Pacer) SendNow(key string, s Sender, pkts ...Packet) error {
	if s == nil {
		return fmt.Errorf("announce: send now for %s: nil Sender", key)
	}
	for i, pk := range pkts {
		if pk.Kind == 0 || pk.Kind >= numKinds || len(pk.Frame) < ethHeaderLen {
			return fmt.Errorf("announce: send now for %s: packet %d (%s): %w", key, i, pk.Kind, ErrPacket)
		}
	}
	p.mu.Lock()
	if len(p.queue)+len(pkts) > MaxQueued {
		p.mu.Unlock()
		return fmt.Errorf("announce: send now for %s: %d packets: %w", key, len(pkts), ErrQueueFull)
	}
	for _, pk := range pkts {
		p.queue = append(p.queue, queued{key: key, sender: s, pkt: pk})
	}
	p.mu.Unlock()
	p.poke()
	return nil
}

// Stats returns the packet counters.
func (p *Pacer) Stats() Stats {
	st := Stats{Sent: make(map[Kind]uint64, numKinds-1), Failed: make(map[Kind]uint64, numKinds-1)}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range Kinds() {
		st.Sent[k] = p.sent[k]
		st.Failed[k] = p.failed[k]
	}
	return st
}

// Run sends until ctx is done. Call it once, in its own goroutine.
func (p *Pacer) Run(ctx context.Context) {
	for ctx.Err() == nil {
		next := p.Poll(p.clock.Now())
		var t Timer
		var fire <-chan time.Time
		if !next.IsZero() {
			t = p.clock.NewTimer(next.Sub(p.clock.Now()))
			fire = t.C()
		}
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-fire:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// Poll writes every frame that is due at now and that the rate allows,
// and returns when it should be called again: the zero time means nothing
// is scheduled until the next Announce or SendNow. Run calls Poll; tests
// call it directly with made-up times. Do not call Poll while Run runs.
func (p *Pacer) Poll(now time.Time) time.Time {
	for {
		w, ok, next, from := p.next(now)
		if from != 0 {
			p.logRate(from)
		}
		if !ok {
			return next
		}
		err := w.sender.Send(w.pkt.Frame)
		p.done(w, err, now)
	}
}

// next picks the frame to write at now and marks it in flight, or returns
// ok false and when to look again. changed is the rate before next changed
// it (judging a window of outcomes that closed, or raising), else 0.
func (p *Pacer) next(now time.Time) (w work, ok bool, at time.Time, changed float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ji, earliest := p.pickJob(now)
	if len(p.queue) == 0 && ji < 0 {
		return work{}, false, earliest, 0
	}
	if old := p.rc.rate; p.rc.raise(now) {
		p.setRate()
		changed = old
	}
	if d := p.bucket.wait(now); d > 0 {
		return work{}, false, now.Add(d), changed
	}
	p.bucket.take(now)
	// A first round goes before everything: it is the takeover's
	// critical path. Then one-off packets (repairs, probes), then later
	// rounds and refreshes.
	if len(p.queue) > 0 && (ji < 0 || p.ring[ji].q[0].round > 0) {
		q := p.queue[0]
		p.queue[0] = queued{}
		p.queue = p.queue[1:]
		if len(p.queue) == 0 {
			p.queue = nil
		}
		w = work{key: q.key, sender: q.sender, pkt: q.pkt}
	} else {
		j := p.ring[ji]
		p.rr = ji + 1
		e := j.q[0]
		w = work{key: j.key, sender: j.sender, pkt: e.round0()[e.next], job: j, entry: e}
	}
	p.inflight, p.inflightKey = true, w.key
	return w, true, time.Time{}, changed
}

// done records the outcome of writing w at now and moves its VIP's
// schedule on.
func (p *Pacer) done(w work, err error, now time.Time) {
	var firstFailure, cut bool
	var recovered int
	var finished *job
	var firstRound func()
	p.mu.Lock()
	p.inflight = false
	p.cond.Broadcast()
	if err != nil {
		p.failed[w.pkt.Kind]++
		p.failing[w.key]++
		firstFailure = p.failing[w.key] == 1
		// A full transmit queue (ENOBUFS) is congestion too.
		if cut = p.rc.cut(now); cut {
			p.setRate()
		}
	} else {
		p.sent[w.pkt.Kind]++
		if recovered = p.failing[w.key]; recovered > 0 {
			delete(p.failing, w.key)
		}
	}
	if w.job != nil && p.jobs[w.key] == w.job {
		round := w.entry.round
		if p.advance(w.job, w.entry, now) {
			finished = w.job
		}
		if round == 0 && w.entry.round == 1 {
			if w.job.firstLeft--; w.job.firstLeft == 0 {
				firstRound = w.job.sch.FirstRound
			}
		}
	}
	rate := p.rc.rate
	p.mu.Unlock()

	if cut {
		p.log.Info("announce: slowing down after a failed send", "rate", rate)
	}
	if firstRound != nil {
		firstRound()
	}

	if firstFailure {
		p.log.Warn("announce: send failed; further failures are counted, not logged, until one succeeds",
			"instance", w.key, "vip", w.pkt.VIP, "kind", w.pkt.Kind, "err", err)
	}
	if recovered > 0 {
		p.log.Info("announce: sending recovered", "instance", w.key, "failed", recovered)
	}
	if finished != nil {
		p.log.Debug("announce: schedule done", "instance", finished.key, "rounds", finished.sch.Count)
	}
}

func (p *Pacer) nextSeq() uint64 {
	p.seq++
	return p.seq
}

func (p *Pacer) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

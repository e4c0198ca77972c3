package announce

import (
	"container/heap"
	"net"
	"net/netip"
	"slices"
	"time"
)

// The pacer's bookkeeping: a schedule per key (instance), an entry per
// VIP in a heap by due time, and the frames of each round.

// Schedule says how a master repeats its announcements.
type Schedule struct {
	// Count is the number of rounds sent on becoming master; 0 or less
	// means DefaultCount. A round sends every form for every VIP once.
	Count int
	// Interval is the least time between two rounds for one VIP, counted
	// from the end of that VIP's previous round; 0 or less means
	// DefaultInterval.
	Interval time.Duration
	// Refresh, if positive, repeats a round for every VIP this long after
	// its previous one for as long as the schedule runs (until Cancel).
	// A Refresh below Interval is raised to Interval.
	Refresh time.Duration
	// Targets, if any, get an ordinary request in the first round for
	// every VIP, before its gratuitous request (the reply form then
	// follows in the later rounds only): an ARP request "who-has
	// target, tell VIP" to the target's MAC (broadcast if unknown), or a
	// Neighbor Solicitation from the VIP for IPv6. Upstreams that ignore
	// gratuitous ARP learn the new owner from it (RFC 826's merge step).
	Targets []Target
	// Wait holds every VIP's first round until Ready names it: a takeover
	// announces each VIP as soon as its address is added, while the
	// others are still being added.
	Wait bool
	// Repeat sends a small first round up to MaxFirstPasses times in all
	// (while its passes add up to at most FirstBudget frames): a second
	// and third chance against a lossy upstream where it costs little.
	Repeat bool
	// FirstRound, if not nil, is called once, on the pacer's goroutine,
	// when the first round of every VIP has been written (not if the
	// schedule is cancelled or replaced before). Verification and
	// conflict probes start then: they must not queue ahead of it.
	FirstRound func()
	// Router sets the Router flag of the NAs (the VIPs are a router's).
	Router bool
}

// Target is an upstream neighbour that a first round addresses directly.
type Target struct {
	Addr netip.Addr
	MAC  net.HardwareAddr // nil: not in the neighbour table yet
}

// DefaultSchedule is DefaultCount rounds DefaultInterval apart, no refresh.
func DefaultSchedule() Schedule {
	return Schedule{Count: DefaultCount, Interval: DefaultInterval}
}

func (s Schedule) normalize() Schedule {
	if s.Count <= 0 {
		s.Count = DefaultCount
	}
	if s.Interval <= 0 {
		s.Interval = DefaultInterval
	}
	if s.Refresh > 0 && s.Refresh < s.Interval {
		s.Refresh = s.Interval
	}
	return s
}

// job is one key's schedule.
type job struct {
	key    string
	sender Sender
	sch    Schedule
	q      entryHeap // one entry per VIP, earliest due first
	// firstLeft counts the VIPs whose first round is not written yet.
	firstLeft int
	// waiting holds the entries of a Wait schedule until Ready.
	waiting map[netip.Addr]*entry
}

// entry is one VIP of a job: the frames of a round and when it is due.
type entry struct {
	pkts  []Packet // one round: request+reply, or one NA
	first []Packet // the first round, if it differs (directed requests)
	next  int      // index in pkts of the next frame of the current round
	held  bool     // waiting for Ready
	round int      // rounds completed
	due   time.Time
	seq   uint64
	idx   int // position in the job's heap
}

type queued struct {
	key    string
	sender Sender
	pkt    Packet
}

// work is one frame picked to be written.
type work struct {
	key    string
	sender Sender
	pkt    Packet
	job    *job   // nil for SendNow packets
	entry  *entry // nil for SendNow packets
}

// uniq returns vips without repeats (an IPv4-mapped address repeats its
// IPv4 form), in first-seen order.
func uniq(vips []netip.Addr) []netip.Addr {
	seen := make(map[netip.Addr]struct{}, len(vips))
	out := make([]netip.Addr, 0, len(vips))
	for _, v := range vips {
		k := v.Unmap().WithZone("")
		if _, ok := seen[k]; ok {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, v)
	}
	return out
}

// entryHeap orders a job's entries: first those in their first round
// that are released (all due: since their release, or since their last
// frame), fewest frames written first, so that every VIP's first frame
// leaves before any VIP's second; then the others by due time; ties by
// seq.
type entryHeap []*entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(a, b int) bool {
	ea, eb := h[a], h[b]
	fa, fb := ea.round == 0 && !ea.held, eb.round == 0 && !eb.held
	if fa != fb {
		return fa
	}
	if fa && ea.next != eb.next {
		return ea.next < eb.next
	}
	if !ea.due.Equal(eb.due) {
		return ea.due.Before(eb.due)
	}
	return ea.seq < eb.seq
}
func (h entryHeap) Swap(a, b int) {
	h[a], h[b] = h[b], h[a]
	h[a].idx, h[b].idx = a, b
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.idx = -1
	return e
}

// round0 returns the frames of e's current round.
func (e *entry) round0() []Packet {
	if e.round == 0 && e.first != nil {
		return e.first
	}
	return e.pkts
}

// fullFirstRound: a takeover of at most this many VIPs sends both
// gratuitous forms in its first round next to the directed requests — a
// second chance against a lossy upstream where it costs little; a larger
// one sends the request form only, to keep its first round short.
const fullFirstRound = 1024

// directed returns the first round of vip: a directed request to each
// target of its family, then pkts (all, or the first only); nil if there
// is no target.
func directed(mac net.HardwareAddr, vip netip.Addr, targets []Target, pkts []Packet, all bool) []Packet {
	var out []Packet
	v4 := vip.Unmap().Is4()
	for _, t := range targets {
		var pk Packet
		var err error
		switch a := t.Addr.Unmap(); {
		case v4 && a.Is4():
			dst := t.MAC
			if dst == nil {
				dst = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
			}
			pk, err = DirectedARPRequest(mac, vip, dst, a)
		case !v4 && a.Is6():
			pk, err = NeighborSolicitation(mac, vip, t.MAC, a)
		default:
			continue
		}
		if err == nil {
			out = append(out, pk)
		}
	}
	if out == nil {
		return nil
	}
	// The directed requests do what the gratuitous reply form is for
	// (routers that only learn from what looks like an answer to their
	// own traffic): the first round carries the request form only, which
	// every other host on the segment takes; the reply form follows in
	// the later rounds. A takeover of thousands of VIPs is then one frame
	// per VIP and target lighter on the critical path.
	if all {
		return append(out, pkts...)
	}
	return append(out, pkts[0])
}

const (
	// MaxFirstPasses is how many times a Repeat schedule's first round
	// is sent at most.
	MaxFirstPasses = 3
	// FirstBudget is the most frames a Repeat schedule's first round
	// takes in all its passes: about 0.1 s at AutoMaxRate.
	FirstBudget = 2048
)

// firstPasses returns how many times sch's first round of n frames is
// sent.
func firstPasses(sch Schedule, n int) int {
	if !sch.Repeat || n == 0 {
		return 1
	}
	return min(MaxFirstPasses, max(1, FirstBudget/n))
}

// pickJob returns the index in ring of the job to serve at now (-1 if no
// job has a VIP due) and the earliest due time of all jobs. Jobs take
// turns; a job in its first round goes before one in a later round, and
// that before one refreshing.
func (p *Pacer) pickJob(now time.Time) (int, time.Time) {
	best, bestClass := -1, 3
	var earliest time.Time
	for i := range p.ring {
		k := (p.rr + i) % len(p.ring)
		j := p.ring[k]
		e := j.q[0]
		if earliest.IsZero() || e.due.Before(earliest) {
			earliest = e.due
		}
		if e.due.After(now) {
			continue
		}
		class := 0
		switch {
		case e.round >= j.sch.Count:
			class = 2
		case e.round > 0:
			class = 1
		}
		if class < bestClass {
			best, bestClass = k, class
		}
	}
	return best, earliest
}

// advance moves e past the frame just written at now and reports whether
// that finished the job.
func (p *Pacer) advance(j *job, e *entry, now time.Time) bool {
	e.next++
	if e.next < len(e.round0()) {
		if e.round == 0 {
			// The first round takes turns: back behind the VIPs that
			// wrote fewer of theirs.
			e.seq = p.nextSeq()
			heap.Fix(&j.q, e.idx)
		}
		return false
	}
	e.next = 0
	e.round++
	switch {
	case e.round < j.sch.Count:
		e.due = now.Add(j.sch.Interval)
	case j.sch.Refresh > 0:
		e.due = now.Add(j.sch.Refresh)
	default:
		heap.Remove(&j.q, e.idx)
		if len(j.q) == 0 {
			p.removeJob(j)
			return true
		}
		return false
	}
	e.seq = p.nextSeq()
	heap.Fix(&j.q, e.idx)
	return false
}

func (p *Pacer) removeJob(j *job) {
	if p.jobs[j.key] == j {
		delete(p.jobs, j.key)
	}
	for i, r := range p.ring {
		if r != j {
			continue
		}
		p.ring = slices.Delete(p.ring, i, i+1)
		if i < p.rr {
			p.rr--
		}
		break
	}
	if len(p.ring) == 0 || p.rr >= len(p.ring) {
		p.rr = 0
	}
}

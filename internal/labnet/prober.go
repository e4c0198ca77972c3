package labnet

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// MaxPPS bounds the Prober's total send rate, IPv4 and IPv6 together. With
// more VIPs than MaxPPS × interval, each VIP is probed less often: 4096 VIPs
// at most every 204.8 ms instead of every 10 ms.
const MaxPPS = 20000

// probeGrace is how long before the end of a measurement a probe must have
// been sent to count: its reply may still be on its way.
const probeGrace = 50 * time.Millisecond

// VIPResult is what the Prober saw of one VIP after an instant (the fault).
type VIPResult struct {
	VIP netip.Addr
	// Sent and Received count the probes sent after the instant (up to shortly
	// before the end of the measurement) and the replies to them.
	Sent, Received int
	// Recovered tells that every probe sent after Recovery (up to shortly
	// before the end) was answered: replies continue.
	Recovered bool
	// Outage is the time from the instant to Recovery; zero if no probe was
	// lost; for a VIP that did not recover, the time from the instant to the
	// end (a lower bound). Its precision is the probe interval.
	Outage time.Duration
	// FirstLoss is when the first unanswered probe after the instant was
	// sent; zero when none was lost.
	FirstLoss time.Time
	// Recovery is when the first reply to a probe sent after the last lost
	// one arrived; the instant itself when nothing was lost; zero if the VIP
	// did not recover.
	Recovery time.Time
	// MaxGap is the longest time without a reply, counted from the instant to
	// the end. A client that could not send for a while (see Prober.Lag)
	// makes a gap without any loss.
	MaxGap time.Duration
	// LongestLoss is the longest run of unanswered probes: from when its
	// first was sent to the first reply to a probe sent after its last (to
	// the end when none came). Zero when no probe was lost. Unlike MaxGap,
	// a stalled client does not make one.
	LongestLoss time.Duration
	// LongestLossAt is when the first probe of that run was sent.
	LongestLossAt time.Time
	// LastReply is when the latest reply arrived (zero if none since the
	// instant).
	LastReply time.Time
}

// history records the probes of every VIP as nanoseconds since start. Each
// VIP has its own lock, so that the sender, the receivers and Results only
// ever wait for one VIP's worth of work.
type history struct {
	start time.Time
	vips  []vipHistory

	sentTotal, recvTotal atomic.Uint64

	lagMu sync.Mutex
	lags  []lag // the sender's late wake-ups, oldest first, bounded
}

// lag is a wake-up of the sender that found probes overdue: the oldest was
// due at at and went out d late.
type lag struct{ at, d int64 }

// lagNoise is lateness the history does not record: a timer tick or two.
const lagNoise = int64(5 * time.Millisecond)

// maxLags bounds the lags kept (the worst are kept when it is reached).
const maxLags = 4096

type vipHistory struct {
	mu   sync.Mutex // guards the fields below
	sent []int64    // per sequence number - base: send time
	recv []int64    // same index: reply time, 0 = no reply (yet)
	base uint64     // sequence number of sent[0]
	last int64      // latest reply time, 0 = none
}

func newHistory(n int, start time.Time) *history {
	return &history{start: start, vips: make([]vipHistory, n)}
}

// at converts a time to the history's clock.
func (h *history) at(t time.Time) int64 { return int64(t.Sub(h.start)) }

// time converts back.
func (h *history) time(ns int64) time.Time { return h.start.Add(time.Duration(ns)) }

// sentProbe records a probe to VIP i and returns its sequence number.
func (h *history) sentProbe(i int, at int64) uint64 {
	v := &h.vips[i]
	v.mu.Lock()
	defer v.mu.Unlock()
	seq := v.base + uint64(len(v.sent))
	v.sent = append(v.sent, at)
	v.recv = append(v.recv, 0)
	h.sentTotal.Add(1)
	return seq
}

// reply records the reply to probe seq of VIP i; it reports false for a
// probe it does not know (trimmed, never sent) and for a duplicate.
func (h *history) reply(i int, seq uint64, at int64) bool {
	if i < 0 || i >= len(h.vips) {
		return false
	}
	v := &h.vips[i]
	v.mu.Lock()
	defer v.mu.Unlock()
	if seq < v.base {
		return false
	}
	k := seq - v.base
	if k >= uint64(len(v.sent)) || v.recv[k] != 0 {
		return false
	}
	if at <= 0 {
		at = 1 // 0 means "no reply"
	}
	v.recv[k] = at
	v.last = max(v.last, at)
	h.recvTotal.Add(1)
	return true
}

// lagged notes that the probe due at dueAt went out d late.
func (h *history) lagged(d, dueAt int64) {
	if d <= lagNoise {
		return
	}
	h.lagMu.Lock()
	defer h.lagMu.Unlock()
	if n := len(h.lags); n > 0 && h.lags[n-1].at == dueAt {
		h.lags[n-1].d = max(h.lags[n-1].d, d) // the same stall, seen again
		return
	}
	if len(h.lags) >= maxLags {
		i := slices.IndexFunc(h.lags, func(l lag) bool { return l.d < d })
		if i < 0 {
			return
		}
		h.lags = slices.Delete(h.lags, i, i+1)
	}
	h.lags = append(h.lags, lag{dueAt, d})
}

// worstLag returns the sender's worst lateness for probes due in
// [since, until], and when the probe it delayed was due.
func (h *history) worstLag(since, until int64) (d, at int64) {
	h.lagMu.Lock()
	defer h.lagMu.Unlock()
	for _, l := range h.lags {
		if l.at >= since && l.at <= until && l.d > d {
			d, at = l.d, l.at
		}
	}
	return d, at
}

// lastReply returns VIP i's latest reply time, 0 if none.
func (h *history) lastReply(i int) int64 {
	v := &h.vips[i]
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last
}

// trim forgets the probes sent before t.
func (h *history) trim(t int64) {
	for i := range h.vips {
		v := &h.vips[i]
		v.mu.Lock()
		k, _ := slices.BinarySearch(v.sent, t)
		v.sent = slices.Clone(v.sent[k:])
		v.recv = slices.Clone(v.recv[k:])
		v.base += uint64(k)
		v.mu.Unlock()
	}
}

// result analyses VIP i over [since, horizon].
func (h *history) result(i int, since, horizon int64) VIPResult {
	v := &h.vips[i]
	v.mu.Lock()
	o := analyse(v.sent, v.recv, since, horizon)
	v.mu.Unlock()
	r := VIPResult{
		Sent: o.sent, Received: o.received, Recovered: o.recovered,
		Outage: time.Duration(o.outage), MaxGap: time.Duration(o.maxGap),
		LongestLoss: time.Duration(o.longestLoss),
	}
	if o.longestLoss > 0 {
		r.LongestLossAt = h.time(o.longestLossAt)
	}
	if o.firstLoss >= 0 {
		r.FirstLoss = h.time(o.firstLoss)
	}
	if o.recovered {
		r.Recovery = h.time(o.recovery)
	}
	if o.lastReply >= 0 {
		r.LastReply = h.time(o.lastReply)
	}
	return r
}

type analysis struct {
	sent, received int
	recovered      bool
	outage, maxGap int64
	longestLoss    int64
	longestLossAt  int64
	firstLoss      int64 // -1: none
	recovery       int64
	lastReply      int64 // -1: none
}

// analyse is the pure core of Results: probes sent at sent[k], answered at
// recv[k] (0 = unanswered), looked at from since to horizon (probes sent
// later are not counted). The VIP recovered at the first reply to a probe
// sent after the last unanswered one; with no unanswered probe there was
// no outage; when the last probes went unanswered it has not recovered.
// Gaps run between consecutive replies, and between since or horizon and
// the nearest reply.
func analyse(sent, recv []int64, since, horizon int64) analysis {
	a := analysis{firstLoss: -1, lastReply: -1}
	if horizon < since {
		return a
	}
	var replies []int64
	lastLost := -1
	for k, s := range sent {
		if s < since || s > horizon {
			continue
		}
		a.sent++
		if recv[k] == 0 {
			if a.firstLoss < 0 {
				a.firstLoss = s
			}
			lastLost = k
			continue
		}
		a.received++
		if recv[k] <= horizon {
			replies = append(replies, recv[k])
		}
	}
	slices.Sort(replies)
	if len(replies) > 0 {
		a.lastReply = replies[len(replies)-1]
	}
	prev := since
	for _, r := range append(replies, horizon) {
		a.maxGap = max(a.maxGap, r-prev)
		prev = r
	}
	a.longestLoss, a.longestLossAt = longestLoss(sent, recv, since, horizon)
	a.outage = horizon - since
	switch {
	case a.sent == 0:
	case lastLost < 0:
		a.recovered, a.recovery, a.outage = true, since, 0
	default:
		first := int64(-1)
		for k := lastLost + 1; k < len(sent) && sent[k] <= horizon; k++ {
			if recv[k] != 0 && (first < 0 || recv[k] < first) {
				first = recv[k]
			}
		}
		if first >= 0 {
			a.recovered, a.recovery, a.outage = true, first, first-since
		}
	}
	return a
}

// longestLoss is analyse's LongestLoss: the longest time from the first
// probe of a run of unanswered ones to the first reply to a later probe
// (horizon if none), and when that run's first probe was sent.
func longestLoss(sent, recv []int64, since, horizon int64) (longest, at int64) {
	runStart := int64(-1) // send time of the run's first lost probe
	for k, s := range sent {
		if s < since || s > horizon {
			continue
		}
		if recv[k] == 0 {
			if runStart < 0 {
				runStart = s
			}
			continue
		}
		if runStart < 0 {
			continue
		}
		// The run ends with this probe: it ended when the first reply to a
		// probe from here on came (replies can overtake each other).
		end := horizon
		for m := k; m < len(sent) && sent[m] <= horizon; m++ {
			if recv[m] != 0 && recv[m] < end {
				end = recv[m]
			}
		}
		if end-runStart > longest {
			longest, at = end-runStart, runStart
		}
		runStart = -1
	}
	if runStart >= 0 && horizon-runStart > longest {
		longest, at = horizon-runStart, runStart
	}
	return longest, at
}

// effectiveInterval is the per-VIP probe interval after the MaxPPS cap.
func effectiveInterval(n int, every time.Duration) time.Duration {
	if n <= 0 {
		return every
	}
	minEvery := time.Duration(int64(n) * int64(time.Second) / MaxPPS)
	return max(every, minEvery)
}

// reachWindow is how recent a reply must be for Reachable.
func reachWindow(interval time.Duration) time.Duration {
	return max(100*time.Millisecond, 3*interval)
}

// inetChecksum is the Internet checksum of RFC 1071.
func inetChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

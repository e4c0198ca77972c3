package announce

import "time"

// Adaptive pacing: a Pacer made with rate 0 starts at AutoMaxRate, so that
// a takeover's announcements leave at once (the critical path of a
// failover), and slows down on evidence, the way TCP finds its rate. The
// evidence is the verifier's: each announced VIP is either found at its
// new owner (Delivered) or still stale at the upstream (Congestion), and
// each repair the verifier sent through the pacer either got through or
// not (Outcome, with when the repair left). What
// tells a policer from a lossy path is the share lost: a policer at R
// packets/s drops 1−R/S of what is sent at S, nearly everything when S is
// far above R, while random loss drops the same share at any rate and
// slowing down would not help it. So a window of outcomes whose loss share
// is above MaxLoss cuts the rate to what got through (S·(1−loss): about a
// policer's R, where what is sent gets through; an estimate from VIPs
// announced with several frames each is higher, and the next window cuts
// again; at most a tenth per cut, and the first from the ceiling at least
// to DefaultRate), at most once per CutGap (or at once, when the window
// already holds earlyLost stale VIPs and hardly any found); a lower share
// keeps the rate, and the repairs of what a lossy path dropped go out at
// full speed. Like TCP, which cuts once per window of data, the outcome of
// a repair written before the last cut is no evidence against the new
// rate: behind a policer the repairs wait in the queue for seconds, and
// judging them late against the lowered rate drove it to AutoMinRate. The rate doubles again after each
// RaiseAfter without a cut, up to AutoMaxRate. A send that fails (a full
// transmit queue) halves it. The burst follows the rate (BurstSpan of it):
// after a pause, a slowed-down pacer does not flood the policer again.
const (
	// AutoMaxRate is the adaptive pacer's ceiling and start, in packets
	// per second: 4096 VIPs' first frame in about 40 ms, about what the
	// adds of their addresses take. (At 20,000/s a takeover of 1000 VIPs
	// spent 150 ms on its first round and was 10–15 ms behind
	// keepalived's worst VIP; at 100,000/s 55–70 ms, and level with it.)
	AutoMaxRate = 100000
	// AutoMinRate is its floor: a policer slower than this still gets
	// the repairs, only later.
	AutoMinRate = 50
	// AutoBurst is how many packets may leave back to back at the
	// ceiling: half of a NIC's usual transmit queue (txqueuelen 1000),
	// so that a burst does not overflow it. Below it the burst is BurstSpan's worth of the rate (see
	// adaptiveBurst).
	AutoBurst = 512
	// BurstSpan is how much of its rate an adaptive pacer may send back
	// to back: a burst of 256 after a pause would be another flood into
	// the policer the pacer slowed down for (nft's limit passes bursts of
	// 5 by default: BurstSpan of 100/s).
	BurstSpan = 50 * time.Millisecond
	// CutGap is the least time between two cuts, and the longest a window
	// of outcomes stays open: the evidence of one burst arrives over its
	// verification, not all at once.
	CutGap = 300 * time.Millisecond
	// RaiseAfter is how long the rate stays after a cut before it doubles.
	RaiseAfter = 5 * time.Second
	// MaxLoss is the share of announced VIPs found stale above which the
	// losses are taken for a policer's: one sending at four times its
	// rate drops 3/4. (Random loss of half, and the chance that a window
	// of a few VIPs under it looks worse, stay below.)
	MaxLoss = 0.7
	// earlyLost stale VIPs, more than earlyLoss of the window, close it
	// before CutGap.
	earlyLost = 64
	earlyLoss = 0.9
)

// rateControl decides the adaptive rate. It is pure: the Pacer calls it
// with the time, under its lock.
type rateControl struct {
	adaptive bool
	rate     float64
	lastCut  time.Time // zero: never cut
	changed  time.Time // last cut or raise
	// The open window of outcomes: lost and delivered since winStart.
	lost, delivered int
	winStart        time.Time
}

func newRateControl(rate float64) rateControl {
	if rate > 0 {
		return rateControl{rate: rate}
	}
	return rateControl{adaptive: true, rate: AutoMaxRate}
}

// outcome records one verdict at now (lost: found stale) on a frame
// written at sent, and reports whether that changed the rate. A zero sent
// (an announcement: when it left is not known to who judged it) counts
// from CutGap after the last cut on.
func (c *rateControl) outcome(now, sent time.Time, lost bool) bool {
	if !c.adaptive {
		return false
	}
	if !c.lastCut.IsZero() && (sent.IsZero() && now.Sub(c.lastCut) < CutGap || !sent.IsZero() && sent.Before(c.lastCut)) {
		// The outcome of a frame that left before the cut, at the
		// old rate: no evidence about the new one. (The repairs of a
		// policer's victims wait in the queue for seconds: their
		// outcomes arrive long after CutGap.)
		return false
	}
	if c.lost+c.delivered == 0 {
		c.winStart = now
	}
	if lost {
		c.lost++
	} else {
		c.delivered++
	}
	return c.judge(now)
}

// judge closes the window once it is CutGap old, and cuts the rate if
// its loss share is above MaxLoss. It reports whether the rate changed.
// (A window closes by time, not by count: the verifier reports a burst's
// outcomes in batches, those found at once first, the stale ones after.)
func (c *rateControl) judge(now time.Time) bool {
	n := c.lost + c.delivered
	// A window closes early when it already shows a policer beyond
	// doubt: each frame sent meanwhile at the old rate is lost too, and
	// costs a VIP a rung of its repair ladder.
	early := c.lost >= earlyLost && float64(c.lost) > earlyLoss*float64(n)
	if n == 0 || !early && now.Sub(c.winStart) < CutGap {
		return false
	}
	lost := c.lost
	c.lost, c.delivered = 0, 0
	share := float64(lost) / float64(n)
	if lost < 2 || share <= MaxLoss {
		// One stale VIP is no pattern; a share at or below MaxLoss is
		// what a lossy path, not a policer, does.
		return false
	}
	// At most a tenth per cut: a window can be a partial view (an early
	// one, of stale VIPs reported before those found).
	r := max(c.rate*float64(n-lost)/float64(n), c.rate/10)
	if c.rate == AutoMaxRate {
		// The first cut goes at least to DefaultRate: a takeover's
		// first window counts VIPs announced with several frames each,
		// and overestimates what got through.
		r = min(r, DefaultRate)
	}
	return c.set(now, r)
}

// adaptiveBurst returns the burst of an adaptive pacer at rate: BurstSpan
// of the rate, at least 1 and at most limit (the burst at the ceiling).
func adaptiveBurst(rate float64, limit int) int {
	return max(1, min(limit, int(rate*BurstSpan.Seconds())))
}

// cut halves the rate at now (a failed send), unless it was cut less than
// CutGap ago; it reports whether the rate changed.
func (c *rateControl) cut(now time.Time) bool {
	if !c.adaptive || (!c.lastCut.IsZero() && now.Sub(c.lastCut) < CutGap) {
		return false
	}
	return c.set(now, c.rate/2)
}

// set lowers the rate to r (not below AutoMinRate) at now; it reports
// whether the rate changed.
func (c *rateControl) set(now time.Time, r float64) bool {
	r = max(AutoMinRate, r)
	if r >= c.rate {
		return false
	}
	c.rate = r
	c.lastCut, c.changed = now, now
	c.lost, c.delivered = 0, 0
	return true
}

// raise doubles the rate if RaiseAfter passed since the last change and it
// is below the ceiling, and closes a window that is CutGap old; it reports
// whether the rate changed.
func (c *rateControl) raise(now time.Time) bool {
	if !c.adaptive {
		return false
	}
	if c.judge(now) {
		return true
	}
	if c.rate >= AutoMaxRate || now.Sub(c.changed) < RaiseAfter {
		return false
	}
	c.rate = min(AutoMaxRate, 2*c.rate)
	c.changed = now
	return true
}

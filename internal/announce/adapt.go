package announce

import "time"

// Adaptive pacing: a Pacer made with rate 0 starts at AutoMaxRate, so that
// a takeover's announcements leave at once (the critical path of a
// failover), and slows down on evidence — Congestion, called when
// announced VIPs are found stale, or a send fails — the way TCP finds its
// rate: the first cut drops it to DefaultRate (a rate most control-plane
// policers let through; TCP's restart after a loss), each further cut
// halves it, at most once per CutGap, and it doubles again after each
// RaiseAfter without a cut, up to AutoMaxRate. An upstream's ARP/ND
// policer then gets a rate it lets through, and the repairs of what it
// dropped go out at that rate; a healthy upstream sees full speed.
const (
	// AutoMaxRate is the adaptive pacer's ceiling and start, in packets
	// per second: 4096 VIPs' request and reply in about 0.4 s.
	AutoMaxRate = 20000
	// AutoMinRate is its floor: a policer slower than this still gets
	// the repairs, only later.
	AutoMinRate = 50
	// AutoBurst is how many packets may leave back to back.
	AutoBurst = 256
	// CutGap is the least time between two cuts: the evidence of one
	// burst arrives over its verification, not all at once.
	CutGap = 300 * time.Millisecond
	// RaiseAfter is how long the rate stays after a cut before it doubles.
	RaiseAfter = 5 * time.Second
)

// rateControl decides the adaptive rate. It is pure: the Pacer calls it
// with the time, under its lock.
type rateControl struct {
	adaptive bool
	rate     float64
	lastCut  time.Time // zero: never cut
	changed  time.Time // last cut or raise
}

func newRateControl(rate float64) rateControl {
	if rate > 0 {
		return rateControl{rate: rate}
	}
	return rateControl{adaptive: true, rate: AutoMaxRate}
}

// cut halves the rate on evidence of loss at now, unless it was cut less
// than CutGap ago; it reports whether the rate changed.
func (c *rateControl) cut(now time.Time) bool {
	if !c.adaptive || (!c.lastCut.IsZero() && now.Sub(c.lastCut) < CutGap) || c.rate <= AutoMinRate {
		return false
	}
	if c.rate > DefaultRate {
		c.rate = DefaultRate
	} else {
		c.rate = max(AutoMinRate, c.rate/2)
	}
	c.lastCut, c.changed = now, now
	return true
}

// raise doubles the rate if RaiseAfter passed since the last change and it
// is below the ceiling; it reports whether the rate changed.
func (c *rateControl) raise(now time.Time) bool {
	if !c.adaptive || c.rate >= AutoMaxRate || now.Sub(c.changed) < RaiseAfter {
		return false
	}
	c.rate = min(AutoMaxRate, 2*c.rate)
	c.changed = now
	return true
}

package announce

import (
	"testing"
	"time"
)

var tRC = time.Unix(1e9, 0)

// feed records lost and delivered outcomes at at, lost first, and reports
// whether any changed the rate.
func feed(c *rateControl, at time.Time, lost, delivered int) bool {
	changed := false
	for range lost {
		changed = c.outcome(at, time.Time{}, true) || changed
	}
	for range delivered {
		changed = c.outcome(at, time.Time{}, false) || changed
	}
	return changed
}

// window records lost and delivered outcomes at at and closes the window
// CutGap later; it reports whether the rate changed.
func window(c *rateControl, at time.Time, lost, delivered int) bool {
	changed := feed(c, at, lost, delivered)
	return c.raise(at.Add(CutGap)) || changed
}

// TestRateControlPolicer: a window where most VIPs were lost (what a
// policer far below the rate does) cuts the rate to what got through; outcomes within CutGap of a cut are not held against the new
// rate; the rate doubles back after RaiseAfter without a cut.
func TestRateControlPolicer(t *testing.T) {
	c := newRateControl(0)
	if !c.adaptive || c.rate != AutoMaxRate {
		t.Fatalf("start %+v", c)
	}
	// 31 of 32 stale: 20000 * 1/32 = 625, and the first cut goes at
	// least to DefaultRate; once the window closes.
	if feed(&c, tRC, 31, 1) || c.rate != AutoMaxRate {
		t.Fatalf("judged a window younger than CutGap: %v", c.rate)
	}
	if !c.raise(tRC.Add(CutGap)) || c.rate != DefaultRate {
		t.Fatalf("after 31 of 32 lost: %v, want %v", c.rate, DefaultRate)
	}
	cutAt := tRC.Add(CutGap)
	// The outcomes of frames sent before the cut keep coming: ignored.
	if feed(&c, cutAt.Add(CutGap/2), 64, 0) || c.rate != DefaultRate {
		t.Fatalf("cut again within CutGap: %v", c.rate)
	}
	// At the new rate, 3 of 4 lost: 500 / 4 = 125.
	if !window(&c, cutAt.Add(CutGap), 24, 8) || c.rate != 125 {
		t.Fatalf("second cut: %v, want 125", c.rate)
	}
	// Half lost, or just below MaxLoss: what a lossy path does; the
	// rate stays.
	if window(&c, cutAt.Add(4*CutGap), 16, 16) || window(&c, cutAt.Add(6*CutGap), 22, 10) || c.rate != 125 {
		t.Fatalf("cut on half lost: %v", c.rate)
	}
	// Everything lost many times over: down to the floor, not below.
	for i := 8; i < 40; i += 2 {
		window(&c, cutAt.Add(time.Duration(i)*CutGap), 32, 0)
	}
	if c.rate != AutoMinRate {
		t.Fatalf("floor: %v", c.rate)
	}
	at := c.changed // the cut that reached the floor
	if c.raise(at.Add(RaiseAfter - 1)) {
		t.Fatal("raised before RaiseAfter")
	}
	if !c.raise(at.Add(RaiseAfter)) || c.rate != 2*AutoMinRate {
		t.Fatalf("raise: %v", c.rate)
	}
	for i := 2; i < 20; i++ {
		c.raise(at.Add(time.Duration(i) * RaiseAfter))
	}
	if c.rate != AutoMaxRate {
		t.Fatalf("back to the ceiling: %v", c.rate)
	}
}

// TestRateControlBatches: the verifier reports those found at once
// first, the stale ones after: a window is judged as a whole, not by its
// first outcomes.
func TestRateControlBatches(t *testing.T) {
	c := newRateControl(0)
	feed(&c, tRC, 0, 3760)
	if feed(&c, tRC.Add(60*time.Millisecond), 336, 0) || c.raise(tRC.Add(CutGap)) || c.rate != AutoMaxRate {
		t.Fatalf("336 of 4096 stale cut the rate to %v", c.rate)
	}
}

// TestRateControlLossyPath: random loss of half, however long it lasts,
// keeps the full rate: slowing down would not help it.
func TestRateControlLossyPath(t *testing.T) {
	c := newRateControl(0)
	for i := range 100 {
		at := tRC.Add(time.Duration(i) * CutGap)
		if feed(&c, at, 8, 8) || feed(&c, at, 11, 5) {
			t.Fatalf("window %d: cut to %v on about half the VIPs lost", i, c.rate)
		}
	}
	if c.rate != AutoMaxRate {
		t.Fatalf("rate %v", c.rate)
	}
}

// TestRateControlSmallWindows: a single stale VIP is no pattern; a small
// window is judged once it is CutGap old, at the next outcome or send.
func TestRateControlSmallWindows(t *testing.T) {
	c := newRateControl(0)
	if window(&c, tRC, 1, 0) || c.rate != AutoMaxRate {
		t.Fatalf("one stale VIP cut the rate to %v", c.rate)
	}
	// 9 of 10 lost: 20000 / 10 = 2000, at least DefaultRate for a first
	// cut.
	if feed(&c, tRC.Add(2*CutGap), 9, 1) {
		t.Fatal("judged a young window")
	}
	if !c.raise(tRC.Add(3*CutGap)) || c.rate != DefaultRate {
		t.Fatalf("window of 10 judged by raise: %v, want %v", c.rate, DefaultRate)
	}
}

// TestRateControlSendFailure: a failed send halves the rate, at most once
// per CutGap; a configured rate is kept whatever happens.
func TestRateControlSendFailure(t *testing.T) {
	c := newRateControl(0)
	if !c.cut(tRC) || c.rate != AutoMaxRate/2 {
		t.Fatalf("cut: %v", c.rate)
	}
	if c.cut(tRC.Add(CutGap/2)) || c.rate != AutoMaxRate/2 {
		t.Fatalf("two cuts within CutGap: %v", c.rate)
	}
	f := newRateControl(500)
	if f.cut(tRC) || feed(&f, tRC, 100, 0) || f.raise(tRC.Add(time.Hour)) || f.rate != 500 {
		t.Fatalf("fixed rate changed: %+v", f)
	}
}

// TestRateControlEarlyWindow: a window that already shows a policer beyond
// doubt (earlyLost stale, more than earlyLoss of it) closes at once; as
// many stale among many more found does not.
func TestRateControlEarlyWindow(t *testing.T) {
	c := newRateControl(0)
	if !feed(&c, tRC, 70, 2) || c.rate != DefaultRate {
		t.Fatalf("70 of 72 stale: rate %v, want an early cut to %v", c.rate, DefaultRate)
	}
	l := newRateControl(0)
	if feed(&l, tRC, 0, 3000) || feed(&l, tRC, 1000, 0) || l.rate != AutoMaxRate {
		t.Fatalf("1000 of 4000 stale closed the window early: %v", l.rate)
	}
}

// TestAdaptiveBurst: an adaptive pacer's burst is BurstSpan of its rate,
// between 1 and the burst at the ceiling.
func TestAdaptiveBurst(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		limit int
		want  int
	}{
		{AutoMaxRate, AutoBurst, AutoBurst},
		{DefaultRate, AutoBurst, 25},
		{100, AutoBurst, 5}, // nft limit's own burst at 100/s
		{AutoMinRate, AutoBurst, 2},
		{10, AutoBurst, 1},
		{DefaultRate, 8, 8},
	} {
		if got := adaptiveBurst(tc.rate, tc.limit); got != tc.want {
			t.Errorf("adaptiveBurst(%v, %d) = %d, want %d", tc.rate, tc.limit, got, tc.want)
		}
	}
}

// TestRateControlSentBeforeCut: the outcomes of repairs written before a
// cut are ignored however late they come (they waited in the queue at the
// old rate); those of repairs written after it are judged against the new
// rate.
func TestRateControlSentBeforeCut(t *testing.T) {
	c := newRateControl(0)
	window(&c, tRC, 100, 0)
	if c.rate != DefaultRate {
		t.Fatalf("first cut to %v, want %v", c.rate, DefaultRate)
	}
	for _, tc := range []struct {
		name      string
		sent      time.Duration // after the last cut
		lost, got int           // in turns of 4 lost, 1 delivered
		want      float64
	}{
		// Seconds after the cut, repairs written before it are still
		// being judged: all lost, and the rate stays.
		{"written before the cut", -time.Millisecond, 200, 0, DefaultRate},
		// Written at the new rate, 4 of 5 lost: the policer lets 100/s
		// through.
		{"written after the cut", time.Second, 80, 20, 100},
		// Written before that second cut, judged after it: ignored.
		{"written before the second cut", -time.Millisecond, 200, 0, 100},
	} {
		at := c.lastCut.Add(3 * time.Second)
		sent := c.lastCut.Add(tc.sent)
		for k := range tc.lost + tc.got {
			c.outcome(at, sent, k%5 != 4 || k/5 >= tc.got)
		}
		c.raise(at.Add(CutGap))
		if c.rate != tc.want {
			t.Errorf("%s: rate %v, want %v", tc.name, c.rate, tc.want)
		}
	}
}

package verify

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestLadderBehindPolicer: the router polices ARP to 100 frames/s (the
// lab's policer), so the takeover's announcements got through for a
// handful of VIPs only, and the pacer sends the repairs at a rate above,
// at or below the policer's. Every VIP is verified, within a small
// multiple of what the policer's rate allows at best (one frame per VIP),
// because climbs whose rungs waited in the pacer do not count as failed:
// the backoff does not grow while the pacer's queue spaces the climbs.
func TestLadderBehindPolicer(t *testing.T) {
	const police = 100
	for _, tc := range []struct {
		vips  int
		rate  float64 // the pacer's
		burst int
	}{
		{200, 500, 25},
		{1000, 500, 25},
		{1000, 100, 5},
		{1000, 50, 2},
	} {
		t.Run(fmt.Sprintf("%d VIPs at %v/s", tc.vips, tc.rate), func(t *testing.T) {
			vips := addrs("198.18.0.100", tc.vips)
			gw := netip.MustParseAddr("198.18.0.1")
			w := newWorld(t, Timing{}, false, vips, []netip.Addr{gw}, netip.MustParseAddr("198.18.0.12"), netip.Addr{})
			w.rate, w.burst = tc.rate, tc.burst
			r := w.routers[gw]
			r.policeRate, r.policeBurst = police, 5
			w.takeover()
			w.runUntil(t0.Add(5*time.Minute), w.c.allVerified)
			w.checkInvariants()
			if !w.c.allVerified() {
				t.Fatalf("not all verified after 5 min:\n%v", w)
			}
			var worst time.Duration
			for i := range vips {
				worst = max(worst, w.verified[i].Sub(t0))
			}
			// At best one frame per VIP through the policer, at the
			// slower of the two rates.
			best := time.Duration(float64(tc.vips) / min(tc.rate, police) * float64(time.Second))
			t.Logf("all verified %v after the takeover (best %v), %d steps, %d policed", worst, best, len(w.steps), r.policed)
			// (Before climbs held back by the pacer stopped counting
			// as failed: 8.7 s for 200 VIPs at 500/s, 22 s for 1000.)
			if limit := best*3/2 + 4*time.Second; worst > limit {
				t.Errorf("last VIP verified %v after the takeover, want within %v", worst, limit)
			}
		})
	}
}

// TestClimbWait: how long a pair waits after a climb went unanswered, and
// whether that climb counts as failed.
func TestClimbWait(t *testing.T) {
	tm := Timing{Locktime: time.Second, BackoffMax: 30 * time.Second}
	for _, tc := range []struct {
		name       string
		climbs     int
		heldFor    time.Duration
		wait       time.Duration
		wantFailed bool
	}{
		{"first failed climb", 0, 0, time.Second, true},
		{"third failed climb doubles twice", 2, 0, 4 * time.Second, true},
		{"failed climbs cap at BackoffMax", 10, 0, 30 * time.Second, true},
		{"held back: not failed, Locktime", 0, 5 * time.Second, time.Second, false},
		{"held back after failed climbs: the queue's wait", 4, 3 * time.Second, 3 * time.Second, false},
		{"held back briefly: at least Locktime", 4, 200 * time.Millisecond, time.Second, false},
		{"held back long: at most the backoff reached", 3, 20 * time.Second, 4 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wait, failed := climbWait(tm.withDefaults(), tc.climbs, tc.heldFor)
			if wait != tc.wait || failed != tc.wantFailed {
				t.Errorf("climbWait(%d, %v) = %v, %v; want %v, %v", tc.climbs, tc.heldFor, wait, failed, tc.wait, tc.wantFailed)
			}
		})
	}
}

// TestHeldBackRung: a rung that waited in the pacer longer than HeldBack
// makes its climb held back; one written at once does not.
func TestHeldBackRung(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	for _, tc := range []struct {
		wait time.Duration
		held bool
	}{
		{0, false},
		{DefaultHeldBack, false},
		{DefaultHeldBack + time.Millisecond, true},
		{3 * time.Second, true},
	} {
		c := newCore(Timing{}, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
		c.start(t0)
		c.sendStep(t0, 0)
		a := c.takeActions()
		id := a[len(a)-1].id
		c.stepSent(t0.Add(tc.wait), 0, id, true)
		if got := c.pairs[0].heldFor > 0; got != tc.held {
			t.Errorf("rung written %v after it was queued: held %v, want %v", tc.wait, got, tc.held)
		}
	}
}

// TestRungOutcome: each rung is judged once, by a probe sent after it
// left: lost when that probe missed and the pair stayed stale, delivered
// when it was answered; each outcome names when its rung left.
func TestRungOutcome(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	w := newWorld(t, Timing{}, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
	r := w.routers[gw4]
	r.setIgnore(StepGratuitous, vip)
	r.moveAway(t0.Add(-time.Hour), vip)
	w.c.start(w.now) // the takeover's announcement did not get through
	w.drain()
	w.runFor(2 * time.Second)
	ss := w.stepsOf(0)
	if got, want := stepList(ss), []Step{StepGratuitous, StepDirected}; !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	if len(w.outcomes) != 2 {
		t.Fatalf("%d outcomes, want one per rung: %+v", len(w.outcomes), w.outcomes)
	}
	for k, o := range w.outcomes {
		if !o.at.Equal(ss[k].sent) || o.lost != (k == 0) {
			t.Errorf("outcome %d: sent %v lost %v; want sent %v (rung %v) lost %v",
				k, o.at.Sub(t0), o.lost, ss[k].sent.Sub(t0), ss[k].step, k == 0)
		}
	}
}

// BenchmarkBehindPolicer fails over 1000 VIPs behind a router that polices
// ARP to 100 frames/s, with the pacer at 500/s (the adaptive pacer's first
// cut), and reports in simulated seconds when the last VIP was verified
// (s-all-verified; the policer allows 10 s at best) and how many rungs it
// took.
func BenchmarkBehindPolicer(b *testing.B) {
	vips := addrs("198.18.0.100", 1000)
	gw := netip.MustParseAddr("198.18.0.1")
	var took time.Duration
	var steps int
	for b.Loop() {
		w := newWorld(b, Timing{}, false, vips, []netip.Addr{gw}, netip.MustParseAddr("198.18.0.12"), netip.Addr{})
		w.rate, w.burst = 500, 25
		r := w.routers[gw]
		r.policeRate, r.policeBurst = 100, 5
		w.takeover()
		w.runUntil(t0.Add(5*time.Minute), w.c.allVerified)
		if !w.c.allVerified() {
			b.Fatal("not all verified after 5 min")
		}
		took, steps = w.now.Sub(t0), len(w.steps)
	}
	b.ReportMetric(took.Seconds(), "s-all-verified")
	b.ReportMetric(float64(steps), "rungs")
}

// TestNextRung: the ladder's order, and LadderHeld's for a climb whose
// first rung waited in the pacer.
func TestNextRung(t *testing.T) {
	for _, tc := range []struct {
		from Step
		held bool
		want Step
		more bool
	}{
		{StepNone, false, StepGratuitous, true},
		{StepGratuitous, false, StepDirected, true},
		{StepDirected, false, StepUnicast, true},
		{StepUnicast, false, StepNone, false},
		{StepNone, true, StepGratuitous, true},
		{StepGratuitous, true, StepUnicast, true},
		{StepUnicast, true, StepDirected, true},
		{StepDirected, true, StepNone, false},
	} {
		if got, more := nextRung(tc.from, tc.held); got != tc.want || more != tc.more {
			t.Errorf("nextRung(%v, held %v) = %v, %v; want %v, %v", tc.from, tc.held, got, more, tc.want, tc.more)
		}
	}
}

// TestConfirmAfterHeldFix: a VIP fixed by a rung that waited in the pacer
// (a policer upstream) gets one unicast reply a Locktime after that rung,
// to leave the upstream's entry REACHABLE rather than STALE; one fixed by
// a rung that left at once gets nothing more.
func TestConfirmAfterHeldFix(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	for _, tc := range []struct {
		stall time.Duration
		want  []Step
	}{
		{0, []Step{StepGratuitous}},
		{200 * time.Millisecond, []Step{StepGratuitous, StepUnicast}},
	} {
		w := newWorld(t, Timing{}, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
		w.routers[gw4].moveAway(t0.Add(-time.Hour), vip)
		w.stall = tc.stall
		w.c.start(w.now) // the takeover's announcement did not get through
		w.drain()
		w.runFor(5 * time.Second)
		w.checkInvariants()
		ss := w.stepsOf(0)
		if got := stepList(ss); !slices.Equal(got, tc.want) {
			t.Fatalf("stall %v: steps %v, want %v", tc.stall, got, tc.want)
		}
		if st := w.c.status(0); st.State != Verified || st.FixedBy != "gratuitous_arp" {
			t.Errorf("stall %v: status %+v", tc.stall, st)
		}
		if len(ss) == 2 {
			if gap := ss[1].issued.Sub(ss[0].sent); gap < w.c.t.Locktime || gap > w.c.t.Locktime+100*time.Millisecond {
				t.Errorf("confirming reply %v after the fix, want just after Locktime", gap)
			}
		}
	}
}

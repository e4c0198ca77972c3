package verify

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"
)

var (
	gw4      = netip.MustParseAddr("192.0.2.1")
	gw6      = netip.MustParseAddr("2001:db8:1::1")
	primary4 = netip.MustParseAddr("192.0.2.12")
	primary6 = netip.MustParseAddr("2001:db8:1::12")
)

func stepList(ss []stepRecord) []Step {
	var out []Step
	for _, s := range ss {
		out = append(out, s.step)
	}
	return out
}

// TestLadderEscalation: each router ignores some rungs; the ladder climbs
// until one works, and the status says which.
func TestLadderEscalation(t *testing.T) {
	for _, tc := range []struct {
		name      string
		vip, gw   netip.Addr
		ignore    []Step
		wantSteps []Step
		fixedBy   string
		within    time.Duration
	}{
		{"takeover garp suffices", netip.MustParseAddr("192.0.2.100"), gw4, nil, nil, "", 30 * time.Millisecond},
		{"garp ignored", netip.MustParseAddr("192.0.2.100"), gw4, []Step{StepGratuitous},
			[]Step{StepGratuitous, StepDirected}, "directed_request", 300 * time.Millisecond},
		{"garp and directed ignored", netip.MustParseAddr("192.0.2.100"), gw4, []Step{StepGratuitous, StepDirected},
			[]Step{StepGratuitous, StepDirected, StepUnicast}, "unicast_reply", 450 * time.Millisecond},
		{"v6 unsolicited NA ignored", netip.MustParseAddr("2001:db8:1::100"), gw6, []Step{StepGratuitous},
			[]Step{StepGratuitous, StepDirected}, "neighbor_solicit", 300 * time.Millisecond},
		{"v6 NA ignored, NS works only as unicast NA", netip.MustParseAddr("2001:db8:1::100"), gw6, []Step{StepGratuitous, StepDirected},
			[]Step{StepGratuitous, StepDirected, StepUnicast}, "unicast_na", 450 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, Timing{}, false, []netip.Addr{tc.vip}, []netip.Addr{tc.gw}, primary4, primary6)
			r := w.routers[tc.gw]
			for _, s := range tc.ignore {
				r.setIgnore(s, tc.vip)
			}
			w.takeover()
			w.runFor(2 * time.Second)
			w.checkInvariants()
			st := w.c.status(0)
			if st.State != Verified {
				t.Fatalf("state %v, want verified\n%v", st.State, w)
			}
			if got := stepList(w.stepsOf(0)); !slices.Equal(got, tc.wantSteps) {
				t.Errorf("steps %v, want %v", got, tc.wantSteps)
			}
			if st.FixedBy != tc.fixedBy {
				t.Errorf("FixedBy %q, want %q", st.FixedBy, tc.fixedBy)
			}
			if st.Attempts != len(tc.wantSteps) {
				t.Errorf("Attempts %d, want %d", st.Attempts, len(tc.wantSteps))
			}
			if took := w.verified[0].Sub(t0); took > tc.within {
				t.Errorf("verified %v after takeover, want within %v", took, tc.within)
			}
		})
	}
}

// TestLadderBackoff: a router that ignores every rung gets the whole ladder
// again and again, the climbs separated by a backoff that starts at
// Locktime and doubles up to BackoffMax; the pair stays stale.
func TestLadderBackoff(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	tm := Timing{BackoffMax: 8 * time.Second}
	w := newWorld(t, tm, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
	w.router("192.0.2.1").setIgnore(StepGratuitous, vip)
	w.router("192.0.2.1").setIgnore(StepDirected, vip)
	w.router("192.0.2.1").setIgnore(StepUnicast, vip)
	w.takeover()
	w.runFor(40 * time.Second)
	w.checkInvariants()
	if st := w.c.status(0); st.State != Stale {
		t.Fatalf("state %v, want stale", st.State)
	}
	ss := w.stepsOf(0)
	var gaps []time.Duration // from the last rung of a climb to the first of the next
	for k := 1; k < len(ss); k++ {
		if ss[k].step == StepGratuitous {
			gaps = append(gaps, ss[k].issued.Sub(ss[k-1].sent))
		}
	}
	want := []time.Duration{1, 2, 4, 8, 8}
	if len(gaps) < len(want) {
		t.Fatalf("only %d climbs in 40s: gaps %v", len(gaps)+1, gaps)
	}
	for k, wnt := range want {
		lo := wnt * time.Second
		if gaps[k] < lo || gaps[k] > lo+300*time.Millisecond {
			t.Errorf("gap %d between climbs %v, want %v (+ one probe)", k, gaps[k], lo)
		}
	}
	if st := w.c.status(0); st.Attempts != len(ss) || st.LastStep != ss[len(ss)-1].step.Name(false) {
		t.Errorf("status attempts %d last %q, steps sent %d", st.Attempts, st.LastStep, len(ss))
	}
	// The entry becomes ours by other means (the router re-resolved): the
	// next probe verifies, FixedBy names the last step before it.
	w.routers[gw4].ours[vip] = true
	w.runFor(10 * time.Second)
	if st := w.c.status(0); st.State != Verified {
		t.Errorf("after the entry moved: %v", st.State)
	}
}

// TestLadderLocktime: with a pacer that holds every frame back past
// SendTimeout, probes leave before the steps they should judge. No rung
// may then follow the previous one before a probe sent after it went out
// has missed, and none is queued behind an unsent one.
func TestLadderLocktime(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	for _, stall := range []time.Duration{350 * time.Millisecond, 800 * time.Millisecond} {
		tm := Timing{SendTimeout: 300 * time.Millisecond}
		w := newWorld(t, tm, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
		// Held back in the pacer, the climb follows LadderHeld.
		w.router("192.0.2.1").setIgnore(StepGratuitous, vip)
		w.router("192.0.2.1").setIgnore(StepUnicast, vip)
		w.stall = stall
		w.takeover()
		w.runFor(10 * time.Second)
		w.checkInvariants()
		ss := w.stepsOf(0)
		// LadderHeld, and the unicast reply that confirms the fix a
		// Locktime later (confirmLater).
		if got, want := stepList(ss), append(slices.Clone(LadderHeld), StepUnicast); !slices.Equal(got, want) {
			t.Fatalf("stall %v: steps %v, want %v", stall, got, want)
		}
		for k := 1; k < len(ss); k++ {
			if ss[k].issued.Sub(ss[k-1].sent) >= w.c.t.Locktime {
				continue // the confirming reply, after the locktime
			}
			proof := false
			for _, p := range w.probes {
				if p.sent.After(ss[k-1].sent) && p.missedBy(ss[k].issued, w.c.t.ProbeTimeout) {
					proof = true
				}
			}
			if !proof {
				t.Errorf("stall %v: rung %d issued %v after rung %d went out, with no missed probe in between",
					stall, k, ss[k].issued.Sub(ss[k-1].sent), k-1)
			}
		}
		if st := w.c.status(0); st.State != Verified || st.FixedBy != "directed_request" {
			t.Errorf("stall %v: status %+v", stall, st)
		}
	}
}

// TestLadderOldOwnerLocktime: the old owner refreshed the router's entry
// just before the takeover, so the router ignores our unicast reply within
// its locktime; the next climb, a backoff later, gets through.
func TestLadderOldOwnerLocktime(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	w := newWorld(t, Timing{}, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
	r := w.routers[gw4]
	r.setIgnore(StepGratuitous, vip)
	r.setIgnore(StepDirected, vip)
	r.moveAway(t0.Add(-100*time.Millisecond), vip)
	w.takeover()
	w.runFor(5 * time.Second)
	w.checkInvariants()
	got := stepList(w.steps)
	want := []Step{StepGratuitous, StepDirected, StepUnicast, StepGratuitous, StepDirected, StepUnicast}
	if !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	if gap := w.steps[3].issued.Sub(w.steps[2].sent); gap < time.Second {
		t.Errorf("second climb %v after the first, want ≥ locktime", gap)
	}
	if st := w.c.status(0); st.State != Verified || st.FixedBy != "unicast_reply" || st.Attempts != 6 {
		t.Errorf("status %+v", st)
	}
}

// TestLadderLocktimeRouter: the simulated router ignores a unicast reply
// within locktime of the entry's last change; the verifier does not rely on
// one sent too early.
func TestLadderLocktimeRouter(t *testing.T) {
	r := newSimRouter(gw4)
	vip := netip.MustParseAddr("192.0.2.100")
	r.moveAway(t0, vip)
	r.apply(t0.Add(500*time.Millisecond), StepUnicast, vip)
	if r.ours[vip] {
		t.Fatal("unicast reply within locktime accepted")
	}
	r.apply(t0.Add(500*time.Millisecond), StepDirected, vip)
	if !r.ours[vip] {
		t.Fatal("directed request within locktime ignored")
	}
}

// TestVerifiedStopsLadder: once verified, no more steps; probes drop to one
// per Period, and a single lost echo does not make the pair stale.
func TestVerifiedStopsLadder(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	w := newWorld(t, Timing{}, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
	w.router("192.0.2.1").setIgnore(StepGratuitous, vip)
	w.takeover()
	w.runFor(time.Second)
	if st := w.c.status(0); st.State != Verified {
		t.Fatalf("state %v", st.State)
	}
	steps, probes := len(w.steps), len(w.probes)
	w.runFor(95 * time.Second)
	if len(w.steps) != steps {
		t.Errorf("%d steps after verification", len(w.steps)-steps)
	}
	if n := len(w.probes) - probes; n < 2 || n > 4 {
		t.Errorf("%d probes in 95s, want about 3 (period 30s)", n)
	}
	w.routers[gw4].dropEchoes = 1
	changes := w.changes[0]
	w.runFor(31 * time.Second)
	if st := w.c.status(0); st.State != Verified {
		t.Errorf("one lost echo made it %v", st.State)
	}
	if w.c.counts.probesMissed == 0 {
		t.Error("the dropped echo was not counted as missed")
	}
	_ = changes
	// Now the old owner takes the entry back: two misses, stale, repaired.
	w.routers[gw4].moveAway(w.now, vip)
	w.runFor(70 * time.Second)
	w.checkInvariants()
	st := w.c.status(0)
	if st.State != Verified || st.FixedBy != "directed_request" || st.Attempts != 2 {
		t.Errorf("after the entry moved away: %+v", st)
	}
}

// TestUnverifiable: a target that answers nothing is unverifiable, gets no
// remediation, and is probed with a growing interval; when it comes back
// the stale entry is repaired.
func TestUnverifiable(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	w := newWorld(t, Timing{}, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
	r := w.routers[gw4]
	r.icmpDown = true
	r.setIgnore(StepGratuitous, vip)
	w.takeover()
	w.runFor(time.Minute)
	if st := w.c.status(0); st.State != Unverifiable {
		t.Fatalf("state %v", st.State)
	}
	if len(w.steps) != 0 {
		t.Errorf("%d steps towards an unverifiable target", len(w.steps))
	}
	var gaps []time.Duration
	for k := 1; k < len(w.probes); k++ {
		gaps = append(gaps, w.probes[k].sent.Sub(w.probes[k-1].sent))
	}
	if len(gaps) < 4 || len(gaps) > 12 || !slices.IsSorted(gaps) || gaps[len(gaps)-1] > 31*time.Second {
		t.Errorf("probe gaps %v: want growing, capped at the period", gaps)
	}
	if !w.c.settled() {
		t.Error("an unverifiable pair out of initial probes is not settled")
	}
	r.icmpDown = false
	w.runFor(time.Minute)
	w.checkInvariants()
	if st := w.c.status(0); st.State != Verified || st.FixedBy != "directed_request" {
		t.Errorf("after the target came back: %+v", st)
	}
}

// TestRestartOnTakeover: a second takeover in the middle of a climb starts
// over: Unknown, attempts reset, the old probe's reply ignored.
func TestRestartOnTakeover(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	w := newWorld(t, Timing{}, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
	r := w.routers[gw4]
	r.setIgnore(StepGratuitous, vip)
	r.setIgnore(StepDirected, vip)
	r.moveAway(t0.Add(-time.Minute), vip)
	w.takeover()
	// Run until the second rung is out.
	w.runUntil(t0.Add(time.Second), func() bool { return len(w.steps) == 2 && !w.steps[1].sent.IsZero() })
	if len(w.steps) != 2 {
		t.Fatalf("steps %v", stepList(w.steps))
	}
	w.restart()
	st := w.c.status(0)
	if st.State != Unknown || st.Attempts != 0 || st.LastStep != "" {
		t.Fatalf("after restart: %+v", st)
	}
	w.runFor(2 * time.Second)
	w.checkInvariants()
	got := stepList(w.steps)
	want := []Step{StepGratuitous, StepDirected, StepGratuitous, StepDirected, StepUnicast}
	if !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	if st := w.c.status(0); st.State != Verified || st.Attempts != 3 {
		t.Errorf("status %+v", st)
	}
}

// TestStopForgets: after stop, replies are ignored and nothing is due.
func TestStopForgets(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	w := newWorld(t, Timing{}, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
	w.takeover()
	w.runFor(10 * time.Millisecond) // probe not yet sent (Settle)
	w.c.advance(w.now.Add(25 * time.Millisecond))
	acts := w.c.takeActions()
	var id uint64
	for _, a := range acts {
		if a.kind == actProbe && a.pair == 0 {
			id = a.id
		}
	}
	if id == 0 {
		t.Fatalf("no probe in %v", acts)
	}
	w.c.stop(w.now)
	w.c.reply(w.now, id)
	if st := w.c.status(0); st.State != Unknown {
		t.Errorf("after stop: %v", st.State)
	}
	if !w.c.next().IsZero() {
		t.Errorf("something due after stop: %v", w.c.next())
	}
}

// TestManyVIPsSharePacer: 1000 VIPs, every other one ignoring gratuitous
// ARP, all through one pacer of 500 packets/s: everything is verified, the
// ladder and the locktime hold for every pair, and the story's 20 VIPs are
// verified within a second.
func TestManyVIPsSharePacer(t *testing.T) {
	for _, tc := range []struct {
		n      int
		within time.Duration
	}{
		{20, time.Second},
		{1000, 5 * time.Second},
	} {
		vips := addrs("198.18.0.100", tc.n)
		w := newWorld(t, Timing{}, false, vips, []netip.Addr{netip.MustParseAddr("198.18.0.1")}, netip.MustParseAddr("198.18.0.12"), netip.Addr{})
		r := w.router("198.18.0.1")
		for i, v := range vips {
			if i%2 == 1 {
				r.setIgnore(StepGratuitous, v)
			}
		}
		w.takeover()
		w.runFor(20 * time.Second)
		w.checkInvariants()
		var worst time.Duration
		for i := range vips {
			st := w.c.status(i)
			if st.State != Verified {
				t.Fatalf("n=%d: %v is %v", tc.n, st.VIP, st.State)
			}
			// The directed request, or (when the rung waited in the
			// pacer's queue: LadderHeld) the unicast reply.
			want := []string{""}
			if i%2 == 1 {
				want = []string{"directed_request", "unicast_reply"}
			}
			if !slices.Contains(want, st.FixedBy) {
				t.Errorf("n=%d: %v fixed by %q, want one of %q", tc.n, st.VIP, st.FixedBy, want)
			}
			worst = max(worst, w.verified[i].Sub(t0))
		}
		t.Logf("n=%d: all verified %v after takeover, %d steps", tc.n, worst, len(w.steps))
		if worst > tc.within {
			t.Errorf("n=%d: last VIP verified %v after takeover, want within %v", tc.n, worst, tc.within)
		}
	}
}

// TestCheckOnly: verification without repair sends no step, calls the
// sticky VIPs stale after the initial probes and settles.
func TestCheckOnly(t *testing.T) {
	vips := addrs("192.0.2.100", 10)
	w := newWorld(t, Timing{}, true, vips, []netip.Addr{gw4}, primary4, primary6)
	r := w.routers[gw4]
	for i, v := range vips {
		if i%2 == 1 {
			r.setIgnore(StepGratuitous, v)
		}
	}
	w.takeover()
	w.runUntil(t0.Add(5*time.Second), w.c.settled)
	if !w.c.settled() {
		t.Fatal("not settled after 5s")
	}
	if took := w.now.Sub(t0); took > 600*time.Millisecond {
		t.Errorf("check took %v", took)
	}
	if len(w.steps) != 0 {
		t.Errorf("check sent %d steps", len(w.steps))
	}
	for i := range vips {
		want := Verified
		if i%2 == 1 {
			want = Stale
		}
		if st := w.c.status(i); st.State != want {
			t.Errorf("%v: %v, want %v", st.VIP, st.State, want)
		}
	}
}

// TestLateReply: a reply after ProbeTimeout still verifies, and the
// primary's late reply turns an unverifiable verdict around.
func TestLateReply(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	w := newWorld(t, Timing{}, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
	w.routers[gw4].rtt = 150 * time.Millisecond
	w.takeover()
	w.runFor(time.Second)
	if st := w.c.status(0); st.State != Verified {
		t.Fatalf("state %v", st.State)
	}
	if w.c.counts.lateReplies == 0 {
		t.Error("no late reply counted")
	}
}

// TestTargets: a VIP with two targets has a status per target; a VIP of a
// family without target is unverifiable at once; without a primary address
// a miss counts as stale.
func TestTargets(t *testing.T) {
	v4 := netip.MustParseAddr("192.0.2.100")
	v6 := netip.MustParseAddr("2001:db8:1::100")
	gwB := netip.MustParseAddr("192.0.2.2")
	w := newWorld(t, Timing{}, false, []netip.Addr{v4, v6}, []netip.Addr{gw4, gwB}, netip.Addr{}, netip.Addr{})
	w.routers[gwB].setIgnore(StepGratuitous, v4)
	w.takeover()
	w.runFor(2 * time.Second)
	w.checkInvariants()
	if len(w.c.pairs) != 3 {
		t.Fatalf("%d pairs", len(w.c.pairs))
	}
	want := []VIPStatus{
		{VIP: v4, Target: gw4, State: Verified},
		{VIP: v4, Target: gwB, State: Verified, FixedBy: "directed_request"},
		{VIP: v6, State: Unverifiable},
	}
	for i, wnt := range want {
		st := w.c.status(i)
		if st.VIP != wnt.VIP || st.Target != wnt.Target || st.State != wnt.State || st.FixedBy != wnt.FixedBy {
			t.Errorf("pair %d: %+v, want %+v", i, st, wnt)
		}
	}
	if !w.c.settled() {
		t.Error("not settled")
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		base  time.Duration
		n     int
		limit time.Duration
		want  time.Duration
	}{
		{time.Second, 1, 30 * time.Second, time.Second},
		{time.Second, 3, 30 * time.Second, 4 * time.Second},
		{time.Second, 10, 30 * time.Second, 30 * time.Second},
		{time.Second, 0, 30 * time.Second, time.Second},
		{time.Second, 200, 30 * time.Second, 30 * time.Second},
	} {
		if got := backoff(tc.base, tc.n, tc.limit); got != tc.want {
			t.Errorf("backoff(%v, %d, %v) = %v, want %v", tc.base, tc.n, tc.limit, got, tc.want)
		}
	}
}

// TestOnlyAfterTakeover: with a century-long period (the daemon's "verify
// only after a takeover"), a stale VIP still gets its ladder every
// BackoffMax at most, and an unreachable target is still re-probed.
func TestOnlyAfterTakeover(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	tm := Timing{Period: 100 * 365 * 24 * time.Hour}
	w := newWorld(t, tm, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
	r := w.routers[gw4]
	for _, s := range Ladder {
		r.setIgnore(s, vip)
	}
	w.takeover()
	w.runFor(5 * time.Minute)
	w.checkInvariants()
	ss := w.stepsOf(0)
	if last := ss[len(ss)-1]; w.now.Sub(last.sent) > DefaultBackoffMax+time.Second {
		t.Errorf("last step %v before the end: the backoff is not capped", w.now.Sub(last.sent))
	}
	r.icmpDown = true
	n := len(w.probes)
	w.runFor(5 * time.Minute)
	if got := len(w.probes) - n; got < 5 {
		t.Errorf("%d probes in 5 min towards an unreachable target", got)
	}
	if st := w.c.status(0); st.State != Unverifiable {
		t.Errorf("state %v", st.State)
	}
}

// TestLadderLossyPath: behind a path that loses most frames (70 %), a climb
// of the ladder fails now and then while the same rungs fix other VIPs at
// the target. Such a climb is taken for loss: the pair climbs again after
// Locktime instead of a doubled backoff, up to LossyClimbs times.
// (TestLadderBackoff: a target that ignores every rung, and fixes nothing
// else, still gets the growing backoff.)
func TestLadderLossyPath(t *testing.T) {
	const n = 200
	var vips []netip.Addr
	for k := range n {
		vips = append(vips, netip.AddrFrom4([4]byte{192, 0, 2, byte(k + 10)}))
	}
	w := newWorld(t, Timing{}, false, vips, []netip.Addr{gw4}, primary4, primary6)
	rng := rand.New(rand.NewPCG(7, 11))
	w.routers[gw4].stepLoss = func() bool { return rng.IntN(100) < 70 }
	w.takeover()
	w.runFor(30 * time.Second)
	w.checkInvariants()
	lossy, worst := 0, time.Duration(0)
	for i := range n {
		if st := w.c.status(i); st.State != Verified {
			t.Fatalf("%v: %v after 30 s", st.VIP, st.State)
		}
		worst = max(worst, w.verified[i].Sub(t0))
		ss := w.stepsOf(i)
		var gaps []time.Duration
		for k := 1; k < len(ss); k++ {
			if ss[k].step == StepGratuitous {
				gaps = append(gaps, ss[k].issued.Sub(ss[k-1].sent))
			}
		}
		for k, g := range gaps[:min(len(gaps), LossyClimbs)] {
			lossy++
			if g > time.Second+300*time.Millisecond {
				t.Errorf("%v: climb %d came %v after the one before, want Locktime (1s) + one probe: the target fixed other VIPs meanwhile", vips[i], k+2, g)
			}
		}
	}
	if lossy == 0 {
		t.Fatal("no pair climbed twice: the test does not test anything")
	}
	t.Logf("%d climbs after a failed one; every VIP verified within %v", lossy, worst)
}

// TestLadderLossyClimbsCapped: a target that keeps following the ladder for
// one VIP (its entry keeps moving away and the ladder fixes it) and ignores
// every rung for another (a static entry). The pinned VIP's failed climbs
// are taken for loss LossyClimbs times, then the backoff grows again.
func TestLadderLossyClimbsCapped(t *testing.T) {
	pinned, moving := netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")
	w := newWorld(t, Timing{Period: 200 * time.Millisecond, BackoffMax: 8 * time.Second}, false,
		[]netip.Addr{pinned, moving}, []netip.Addr{gw4}, primary4, primary6)
	r := w.routers[gw4]
	for _, s := range []Step{StepGratuitous, StepDirected, StepUnicast} {
		r.setIgnore(s, pinned)
	}
	for k := 1; k <= 60; k++ {
		w.at(t0.Add(time.Duration(k)*500*time.Millisecond), func() { r.moveAway(w.now, moving) })
	}
	w.takeover()
	w.runFor(30 * time.Second)
	w.checkInvariants()
	ss := w.stepsOf(0)
	var gaps []time.Duration
	for k := 1; k < len(ss); k++ {
		if ss[k].step == StepGratuitous {
			gaps = append(gaps, ss[k].issued.Sub(ss[k-1].sent))
		}
	}
	// LossyClimbs climbs at Locktime, then the usual 1, 2, 4 s.
	want := []time.Duration{1, 1, 1, 1, 2, 4}
	if len(gaps) < len(want) {
		t.Fatalf("only %d climbs of the pinned VIP: gaps %v", len(gaps)+1, gaps)
	}
	for k, wnt := range want {
		lo := wnt * time.Second
		if gaps[k] < lo || gaps[k] > lo+300*time.Millisecond {
			t.Errorf("gap %d between climbs %v, want %v (+ one probe); all %v", k, gaps[k], lo, gaps)
		}
	}
	if w.verified[1].IsZero() {
		t.Error("the moving VIP was never fixed: the test does not test anything")
	}
}

// TestSecondLook: a pair that became verified is probed again SecondLook
// after its initial probes, then every Period; an entry that the upstream
// lost a few seconds after the fix (its re-confirmation policed) is found
// and repaired at the second look, not a Period later. Only once per
// verification: a pair verified all along is not looked at again.
func TestSecondLook(t *testing.T) {
	vip := netip.MustParseAddr("192.0.2.100")
	w := newWorld(t, Timing{}, false, []netip.Addr{vip}, []netip.Addr{gw4}, primary4, primary6)
	w.takeover()
	w.runFor(2 * time.Second)
	if st := w.c.status(0); st.State != Verified {
		t.Fatalf("after the takeover: %v", st.State)
	}
	lost := w.now.Add(6 * time.Second)
	w.at(lost, func() { w.routers[gw4].moveAway(w.now, vip) })
	w.runFor(DefaultSecondLook + 2*time.Second)
	var stale time.Time
	for _, p := range w.probes {
		if p.pair == 0 && p.sent.After(lost) && !p.answered {
			stale = p.sent
			break
		}
	}
	if stale.IsZero() || stale.Sub(lost) > DefaultSecondLook {
		t.Fatalf("entry lost at %v: first missed probe at %v, want within the second look", lost.Sub(t0), stale.Sub(t0))
	}
	w.runFor(5 * time.Second)
	if st := w.c.status(0); st.State != Verified || st.Attempts == 0 {
		t.Fatalf("after the second look: %+v", st)
	}
	// Verified after the repair: one more second look, then the period.
	var sent []time.Duration
	from := w.now
	w.runFor(DefaultSecondLook + DefaultPeriod + 4*time.Second)
	for _, p := range w.probes {
		if p.pair == 0 && p.sent.After(from) {
			sent = append(sent, p.sent.Sub(from))
		}
	}
	if len(sent) != 2 || sent[0] > DefaultSecondLook+4*time.Second || sent[1]-sent[0] < DefaultPeriod {
		t.Errorf("probes after the repair at %v, want a second look within %v then one a period later", sent, DefaultSecondLook)
	}
	w.checkInvariants()
}

package verify

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestLadderRandomized runs the core against many random worlds: routers
// that ignore random rungs for random VIPs, echo loss, slow replies, a
// stalling pacer, a second takeover at a random time. In every world the
// ladder order, the locktime rule and the one-probe-at-a-time rule hold,
// and every pair whose router accepts some rung ends verified once the echo
// loss stops (while it lasts, three periodic probes lost in a row make a
// pair stale at any moment, the last one too).
const debugSeed = false // log every step and probe of a failing world

func TestLadderRandomized(t *testing.T) {
	for seed := uint64(1); seed <= 1000; seed++ {
		rng := rand.New(rand.NewPCG(seed, 42))
		n := 1 + rng.IntN(12)
		vips := addrs("192.0.2.100", n)
		targets := []netip.Addr{gw4}
		if rng.IntN(3) == 0 {
			targets = append(targets, netip.MustParseAddr("192.0.2.2"))
		}
		tm := Timing{SendTimeout: time.Duration(50+rng.IntN(2000)) * time.Millisecond}
		w := newWorld(t, tm, false, vips, targets, primary4, primary6)
		w.stall = time.Duration(rng.IntN(3)) * time.Duration(rng.IntN(400)) * time.Millisecond
		lossPct, lossy := rng.IntN(20), true
		repairable := map[[2]netip.Addr]bool{}
		for _, r := range w.routers {
			r.rtt = time.Duration(1+rng.IntN(120)) * time.Millisecond
			r.loss = func() bool { return lossy && rng.IntN(100) < lossPct }
			for _, v := range vips {
				ok := false
				for _, s := range Ladder {
					if rng.IntN(2) == 0 {
						r.setIgnore(s, v)
					} else {
						ok = true
					}
				}
				repairable[[2]netip.Addr{v, r.addr}] = ok
			}
		}
		w.takeover()
		if rng.IntN(2) == 0 {
			w.runFor(time.Duration(rng.IntN(3000)) * time.Millisecond)
			w.restart()
		}
		w.runFor(3 * time.Minute)
		lossy = false
		w.runFor(DefaultPeriod + DefaultBackoffMax + 10*time.Second)
		w.checkInvariants()
		for i := range w.c.pairs {
			st := w.c.status(i)
			if repairable[[2]netip.Addr{st.VIP, st.Target}] && st.State != Verified {
				t.Errorf("seed %d: %v → %v repairable but %v at the end (loss %d%%, stall %v, rtt %v, steps %v)",
					seed, st.VIP, st.Target, st.State, lossPct, w.stall, w.routers[st.Target].rtt, stepList(w.stepsOf(i)))
				var last []probeRecord
				for _, p := range w.probes {
					if p.pair == i {
						last = append(last, p)
					}
				}
				for _, p := range last[max(0, len(last)-8):] {
					t.Logf("  probe sent %v answered %v at %v", p.sent.Sub(t0), p.answered, p.answeredAt.Sub(t0))
				}
				pr := w.c.pairs[i]
				t.Logf("  phase %d wake %v since %v", pr.phase, pr.wake.Sub(t0), st.Since.Sub(t0))
			}
		}
		if t.Failed() {
			t.Logf("seed %d failed", seed)
			if debugSeed {
				for i := range w.c.pairs {
					for _, st := range w.stepsOf(i) {
						t.Logf("pair %d step %v issued %v sent %v", i, st.step, st.issued.Sub(t0), st.sent.Sub(t0))
					}
					for _, p := range w.probes {
						if p.pair == i {
							t.Logf("pair %d probe %v answered %v %v", i, p.sent.Sub(t0), p.answered, p.answeredAt.Sub(t0))
						}
					}
				}
			}
			return
		}
	}
}

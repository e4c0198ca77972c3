package fsm

import (
	"net"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestBackupFollowsMasterChanges(t *testing.T) {
	m := New(cfg(100, "192.0.2.12"))
	m.Step(t0, Startup{})
	a := netip.MustParseAddr("192.0.2.11")
	macA := net.HardwareAddr{2, 0, 0, 0, 0, 0xa}
	acts := m.Step(t0.Add(time.Second), Advert{From: a, FromMAC: macA, Priority: 200, Interval: time.Second})
	if len(acts) != 1 || acts[0].(MasterChanged).Master.Addr != a || acts[0].(MasterChanged).Master.MAC.String() != macA.String() {
		t.Fatalf("first advert: %#v", acts)
	}
	if acts := m.Step(t0.Add(2*time.Second), Advert{From: a, FromMAC: macA, Priority: 200, Interval: time.Second}); acts != nil {
		t.Fatalf("same master again: %#v", acts)
	}
	// The master resigns: an orderly handover, reported once; the master
	// it follows is the same router (now at priority 0).
	acts = m.Step(t0.Add(2500*time.Millisecond), Advert{From: a, FromMAC: macA, Priority: 0, Interval: time.Second})
	if want := []Action{MasterResigned{From: a, MAC: macA}}; !reflect.DeepEqual(acts, want) {
		t.Fatalf("priority 0: %#v", acts)
	}
	acts = m.Step(t0.Add(10*time.Second), Tick{})
	if tr := acts[0].(Transition); tr.Reason != ReasonMasterResigned {
		t.Fatalf("%#v", acts)
	}
}

func TestReassertAtMostOncePerGap(t *testing.T) {
	m := New(cfg(200, "192.0.2.11"))
	m.Step(t0, Startup{})
	dl, _ := m.NextDeadline()
	m.Step(dl, Tick{}) // master
	other := netip.MustParseAddr("192.0.2.12")
	lower := Advert{From: other, Priority: 100, Interval: time.Second}
	// It heard nobody before it took over: another master right after
	// may have announced after us (both sides of a partition took over).
	at := dl.Add(10 * time.Millisecond)
	acts := m.Step(at, lower)
	if want := []Action{Reassert{Other: other, Priority: 100}, SendAdvert{Priority: 200}}; !reflect.DeepEqual(acts, want) {
		t.Fatalf("%#v", acts)
	}
	if next, _ := m.NextDeadline(); next != at.Add(time.Second) {
		t.Fatalf("advert timer not restarted: next at +%v", next.Sub(at))
	}
	if acts := m.Step(at.Add(time.Second), lower); acts != nil {
		t.Fatalf("second reassert within the gap: %#v", acts)
	}
	if acts := m.Step(at.Add(ReassertGap), lower); len(acts) != 2 {
		t.Fatalf("reassert after the gap: %#v", acts)
	}
}

// transitions lists a router's transitions as "STATE(reason)".
func transitions(r *simRouter) []string {
	var s []string
	for _, a := range r.acts {
		if tr, ok := a.(Transition); ok {
			s = append(s, tr.To.String()+"("+tr.Reason.String()+")")
		}
	}
	return s
}

func sends(r *simRouter, prio uint8) int {
	n := 0
	for _, a := range r.acts {
		if s, ok := a.(SendAdvert); ok && s.Priority == prio {
			n++
		}
	}
	return n
}

// TestPreemptionSparesAThirdRouter: a preempted master sends no priority
// 0, so the third router never starts its Skew_Time.
func TestPreemptionSparesAThirdRouter(t *testing.T) {
	n := &simNet{now: t0}
	a := n.add("a", cfg(200, "192.0.2.11"))
	b := n.add("b", cfg(150, "192.0.2.12"))
	c := n.add("c", cfg(100, "192.0.2.13"))
	n.apply(a, a.m.Step(n.now, EnterFault{})) // maintenance
	n.apply(b, b.m.Step(n.now, Startup{}))
	n.apply(c, c.m.Step(n.now, Startup{}))
	n.run(t0.Add(10 * time.Second))
	if got := n.masters(); !reflect.DeepEqual(got, []string{"b"}) {
		t.Fatalf("masters %v", got)
	}
	b.acts, c.acts = nil, nil
	n.apply(a, a.m.Step(n.now, LeaveFault{}))
	n.run(n.now.Add(10 * time.Second))
	if got := n.masters(); !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("masters after a's return %v", got)
	}
	if got := transitions(c); got != nil {
		t.Fatalf("c made transitions %v", got)
	}
	if got := transitions(b); !reflect.DeepEqual(got, []string{"BACKUP(preempted)"}) {
		t.Fatalf("b: %v", got)
	}
	if sends(b, 0) != 0 {
		t.Fatal("the preempted master sent priority 0")
	}
	for _, act := range a.acts {
		if _, ok := act.(Reassert); ok {
			t.Fatalf("a reasserted right after taking over: %#v", a.acts)
		}
	}
}

// runUntilNext fires timers until the next one to fire is r's.
func (n *simNet) runUntilNext(r *simRouter) {
	for {
		next, at := n.next()
		if next == r {
			return
		}
		n.now = at
		n.apply(next, next.m.Step(n.now, Tick{}))
	}
}

// TestPreemptDelaySurvivesSilentPartition is finding 5 of
// docs/reliability.md: A (priority 200, preempt delay 5 s) follows B (100)
// within its delay; A's path fails without carrier loss for 2 s every 4 s,
// so A becomes master of an island each time. At every heal the VIPs must
// stay with (or come straight back to) B, whichever advert crosses first,
// and A preempts only once the path has been stable for the delay.
func TestPreemptDelaySurvivesSilentPartition(t *testing.T) {
	for _, first := range []string{"a", "b"} {
		t.Run(first+" advertises first after each heal", func(t *testing.T) {
			n := &simNet{now: t0}
			ca, cb := cfg(200, "192.0.2.11"), cfg(100, "192.0.2.12")
			ca.PreemptDelay = 5 * time.Second
			ca.AdvertInterval, cb.AdvertInterval = 100*time.Millisecond, 100*time.Millisecond
			a := n.add("a", ca)
			b := n.add("b", cb)
			n.apply(b, b.m.Step(n.now, Startup{}))
			n.run(t0.Add(5 * time.Second))
			n.apply(a, a.m.Step(n.now, Startup{}))
			n.run(n.now.Add(2 * time.Second))
			if got := n.masters(); !reflect.DeepEqual(got, []string{"b"}) {
				t.Fatalf("before the flaps: masters %v", got)
			}
			byName := map[string]*simRouter{"a": a, "b": b}
			var lastHeal time.Time
			for i := range 3 {
				a.cut = true
				n.run(n.now.Add(2 * time.Second))
				if a.m.State() != Master || b.m.State() != Master {
					t.Fatalf("flap %d: during the cut a %v b %v", i, a.m.State(), b.m.State())
				}
				n.runUntilNext(byName[first])
				a.cut = false
				lastHeal = n.now
				n.run(n.now.Add(100 * time.Millisecond))
				if got := n.masters(); !reflect.DeepEqual(got, []string{"b"}) {
					t.Fatalf("flap %d: after the heal masters %v (a %v, b %v)", i, got, transitions(a), transitions(b))
				}
				n.run(lastHeal.Add(2 * time.Second))
			}
			// Stable from now on: A preempts once, after its delay.
			a.acts, b.acts = nil, nil
			n.run(lastHeal.Add(20 * time.Second))
			if got := n.masters(); !reflect.DeepEqual(got, []string{"a"}) {
				t.Fatalf("at the end: masters %v", got)
			}
			if got := transitions(a); !reflect.DeepEqual(got, []string{"MASTER(master_down_timer)"}) {
				t.Fatalf("a at the end: %v", got)
			}
			if d := n.at["a"].Sub(lastHeal); d < 5*time.Second {
				t.Fatalf("a preempted %v after the last heal, before its 5s delay", d)
			}
		})
	}
}

// TestPartitionHealFinalAdvertReasserts: without a preempt delay the
// higher-priority master keeps the VIPs and reasserts once (re-announce),
// whichever side's advert crosses first; the loser yields once.
func TestPartitionHealFinalAdvertReasserts(t *testing.T) {
	for _, first := range []string{"a", "b"} {
		t.Run(first+" first", func(t *testing.T) {
			n := &simNet{now: t0}
			a := n.add("a", cfg(200, "192.0.2.11"))
			b := n.add("b", cfg(100, "192.0.2.12"))
			for _, r := range n.routers {
				n.apply(r, r.m.Step(n.now, Startup{}))
			}
			n.run(t0.Add(10 * time.Second))
			a.cut = true
			n.run(n.now.Add(10 * time.Second))
			a.acts, b.acts = nil, nil
			n.runUntilNext(map[string]*simRouter{"a": a, "b": b}[first])
			a.cut = false
			n.run(n.now.Add(5 * time.Second))
			if got := n.masters(); !reflect.DeepEqual(got, []string{"a"}) {
				t.Fatalf("masters %v", got)
			}
			if got := transitions(b); !reflect.DeepEqual(got, []string{"BACKUP(preempted)"}) {
				t.Fatalf("b: %v", got)
			}
			if got := transitions(a); got != nil {
				t.Fatalf("a: %v", got)
			}
			reasserts := slices.IndexFunc(a.acts, func(x Action) bool { _, ok := x.(Reassert); return ok })
			if reasserts < 0 {
				t.Fatalf("a never reasserted: %#v", a.acts)
			}
		})
	}
}

// TestGoodbyeThenPartition: a router that preempted a lower master by
// Master_Down_Timer ignores that master's goodbye, but when the two are
// split right after and both master again, the other's adverts after the
// heal are reasserted against (found in the partition e2e test: the split
// came 0.8 s after the start-up election).
func TestGoodbyeThenPartition(t *testing.T) {
	c := cfg(200, "192.0.2.11")
	c.AdvertInterval = 100 * time.Millisecond
	m := New(c)
	m.Step(t0, Startup{})
	b := netip.MustParseAddr("192.0.2.12")
	lower := Advert{From: b, Priority: 100, Interval: 100 * time.Millisecond}
	m.Step(t0.Add(10*time.Millisecond), lower) // a master already: preempt it
	dl, _ := m.NextDeadline()
	if acts := m.Step(dl, Tick{}); acts[0].(Transition).To != Master {
		t.Fatalf("%#v", acts)
	}
	if acts := m.Step(dl.Add(5*time.Millisecond), lower); acts != nil {
		t.Fatalf("goodbye of the preempted master: %#v", acts)
	}
	// Split; B masters its side; healed 1.2 s after our takeover.
	acts := m.Step(dl.Add(1200*time.Millisecond), lower)
	if len(acts) != 2 || !reflect.DeepEqual(acts[0], Reassert{Other: b, Priority: 100}) {
		t.Fatalf("after the heal: %#v, want a reassert", acts)
	}
}

// TestReassertAfterASilence: the gap between two reasserts does not hold
// across a silence: a lower master heard again after more than
// Master_Down_Interval (a partition that healed) is reasserted against at
// once (found under load: the start-up reassert swallowed the heal's).
func TestReassertAfterASilence(t *testing.T) {
	c := cfg(200, "192.0.2.11")
	c.AdvertInterval = 20 * time.Millisecond
	m := New(c)
	m.Step(t0, Startup{})
	dl, _ := m.NextDeadline()
	m.Step(dl, Tick{}) // master
	lower := Advert{From: netip.MustParseAddr("192.0.2.12"), Priority: 100, Interval: 20 * time.Millisecond}
	if acts := m.Step(dl.Add(200*time.Millisecond), lower); len(acts) != 2 {
		t.Fatalf("first: %#v", acts)
	}
	if acts := m.Step(dl.Add(220*time.Millisecond), lower); acts != nil {
		t.Fatalf("same episode, within the gap: %#v", acts)
	}
	// Silent for 300 ms (> Master_Down_Interval ~70 ms), then heard again.
	if acts := m.Step(dl.Add(520*time.Millisecond), lower); len(acts) != 2 {
		t.Fatalf("after a silence: %#v, want a reassert", acts)
	}
}

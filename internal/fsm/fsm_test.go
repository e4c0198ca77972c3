package fsm

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func cfg(prio uint8, addr string) Config {
	return Config{Priority: prio, AdvertInterval: time.Second, Preempt: true, PrimaryAddr: netip.MustParseAddr(addr)}
}

func TestIntervals(t *testing.T) {
	for _, tc := range []struct {
		prio     uint8
		interval time.Duration
		skew     time.Duration
		down     time.Duration
	}{
		{prio: 100, interval: time.Second, skew: 609375 * time.Microsecond, down: 3609375 * time.Microsecond},
		{prio: 255, interval: time.Second, skew: time.Second / 256, down: 3*time.Second + time.Second/256},
		{prio: 1, interval: 100 * time.Millisecond, skew: 255 * 100 * time.Millisecond / 256, down: 300*time.Millisecond + 255*100*time.Millisecond/256},
		{prio: 150, interval: 100 * time.Millisecond, skew: 41406250 * time.Nanosecond, down: 341406250 * time.Nanosecond},
	} {
		m := New(Config{Priority: tc.prio, AdvertInterval: tc.interval})
		if got := m.SkewTime(); got != tc.skew {
			t.Errorf("prio %d: skew %v, want %v", tc.prio, got, tc.skew)
		}
		if got := m.MasterDownInterval(); got != tc.down {
			t.Errorf("prio %d: master down %v, want %v", tc.prio, got, tc.down)
		}
	}
}

func TestStartupBackupThenMasterDown(t *testing.T) {
	m := New(cfg(100, "192.0.2.12"))
	acts := m.Step(t0, Startup{})
	want := []Action{Transition{From: Initialize, To: Backup, Reason: ReasonStartup}}
	if !reflect.DeepEqual(acts, want) {
		t.Fatalf("startup: %#v, want %#v", acts, want)
	}
	dl, ok := m.NextDeadline()
	if !ok || dl != t0.Add(m.MasterDownInterval()) {
		t.Fatalf("deadline %v %v, want %v", dl, ok, t0.Add(m.MasterDownInterval()))
	}
	// Just before the deadline nothing happens.
	if acts := m.Step(dl.Add(-time.Nanosecond), Tick{}); acts != nil {
		t.Fatalf("early tick: %#v", acts)
	}
	acts = m.Step(dl, Tick{})
	want = []Action{Transition{From: Backup, To: Master, Reason: ReasonMasterDown}, SendAdvert{Priority: 100}, TakeOver{}}
	if !reflect.DeepEqual(acts, want) {
		t.Fatalf("master down: %#v, want %#v", acts, want)
	}
	if m.State() != Master {
		t.Fatalf("state %v", m.State())
	}
	// Adverts every interval, on cadence.
	for i := 1; i <= 3; i++ {
		next, _ := m.NextDeadline()
		if want := dl.Add(time.Duration(i) * time.Second); next != want {
			t.Fatalf("advert %d at %v, want %v", i, next, want)
		}
		if acts := m.Step(next, Tick{}); !reflect.DeepEqual(acts, []Action{SendAdvert{Priority: 100}}) {
			t.Fatalf("advert tick: %#v", acts)
		}
	}
}

func TestOwnerStartsAsMaster(t *testing.T) {
	m := New(cfg(255, "192.0.2.11"))
	acts := m.Step(t0, Startup{})
	want := []Action{Transition{From: Initialize, To: Master, Reason: ReasonOwner}, SendAdvert{Priority: 255}, TakeOver{}}
	if !reflect.DeepEqual(acts, want) {
		t.Fatalf("%#v", acts)
	}
	if m.Step(t0, SetPriority{Priority: 10}); m.Priority() != 255 {
		t.Fatalf("owner priority changed to %d", m.Priority())
	}
}

func TestBackupLearnsIntervalAndResetsTimer(t *testing.T) {
	m := New(cfg(100, "192.0.2.12"))
	m.Step(t0, Startup{})
	at := t0.Add(2 * time.Second)
	m.Step(at, Advert{From: netip.MustParseAddr("192.0.2.11"), Priority: 200, Interval: 100 * time.Millisecond})
	if got := m.MasterAdverInterval(); got != 100*time.Millisecond {
		t.Fatalf("learned interval %v", got)
	}
	dl, _ := m.NextDeadline()
	if want := at.Add(300*time.Millisecond + 156*100*time.Millisecond/256); dl != want {
		t.Fatalf("deadline %v, want %v", dl, want)
	}
	if mi := m.Master(); mi.Addr != netip.MustParseAddr("192.0.2.11") || mi.Priority != 200 {
		t.Fatalf("master %+v", mi)
	}
}

func TestPriorityZeroTakeoverAfterSkew(t *testing.T) {
	m := New(cfg(100, "192.0.2.12"))
	m.Step(t0, Startup{})
	m.Step(t0.Add(time.Second), Advert{From: netip.MustParseAddr("192.0.2.11"), Priority: 200, Interval: time.Second})
	at := t0.Add(1500 * time.Millisecond)
	m.Step(at, Advert{From: netip.MustParseAddr("192.0.2.11"), Priority: 0, Interval: time.Second})
	dl, _ := m.NextDeadline()
	if want := at.Add(m.SkewTime()); dl != want {
		t.Fatalf("deadline %v, want skew %v", dl.Sub(at), m.SkewTime())
	}
	acts := m.Step(dl, Tick{})
	if tr := acts[0].(Transition); tr.To != Master || tr.Reason != ReasonMasterResigned {
		t.Fatalf("%#v", acts)
	}
}

func TestMasterShutdownSendsPriorityZero(t *testing.T) {
	m := New(cfg(255, "192.0.2.11"))
	m.Step(t0, Startup{})
	acts := m.Step(t0.Add(time.Second), Shutdown{})
	want := []Action{Transition{From: Master, To: Initialize, Reason: ReasonShutdown}, SendAdvert{Priority: 0}, Release{}}
	if !reflect.DeepEqual(acts, want) {
		t.Fatalf("%#v", acts)
	}
	if _, ok := m.NextDeadline(); ok {
		t.Fatal("timer still running after shutdown")
	}
	if acts := m.Step(t0.Add(2*time.Second), Shutdown{}); acts != nil {
		t.Fatalf("second shutdown: %#v", acts)
	}
}

func TestMasterYieldsToHigherPriorityAndTieBreak(t *testing.T) {
	for _, tc := range []struct {
		name  string
		prio  uint8
		from  string
		yield bool
	}{
		{"higher priority", 200, "192.0.2.1", true},
		{"lower priority", 50, "192.0.2.200", false},
		{"equal priority, higher address", 100, "192.0.2.13", true},
		{"equal priority, lower address", 100, "192.0.2.11", false},
		{"priority zero", 0, "192.0.2.200", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(cfg(100, "192.0.2.12"))
			m.Step(t0, Startup{})
			dl, _ := m.NextDeadline()
			m.Step(dl, Tick{})
			acts := m.Step(dl.Add(10*time.Millisecond), Advert{From: netip.MustParseAddr(tc.from), Priority: tc.prio, Interval: time.Second})
			if tc.yield {
				want := []Action{SendAdvert{Priority: 100}, Transition{From: Master, To: Backup, Reason: ReasonPreempted}, Release{},
					MasterChanged{Master: m.Master()}}
				if !reflect.DeepEqual(acts, want) || m.State() != Backup || m.Master().Addr != netip.MustParseAddr(tc.from) {
					t.Fatalf("%#v state %v", acts, m.State())
				}
				return
			}
			if m.State() != Master {
				t.Fatalf("state %v", m.State())
			}
			from := netip.MustParseAddr(tc.from)
			if tc.prio == 0 && !reflect.DeepEqual(acts, []Action{MasterResigned{From: from, WasMaster: true}, Reassert{Other: from}, SendAdvert{Priority: 100}}) {
				t.Fatalf("priority 0 seen by master: %#v", acts)
			}
			if tc.prio != 0 && !reflect.DeepEqual(acts, []Action{Reassert{Other: from, Priority: tc.prio}, SendAdvert{Priority: 100}}) {
				t.Fatalf("lower-priority master seen by master: %#v", acts)
			}
		})
	}
}

func TestPreemption(t *testing.T) {
	lower := Advert{From: netip.MustParseAddr("192.0.2.11"), Priority: 100, Interval: time.Second}
	t.Run("preempt on", func(t *testing.T) {
		m := New(cfg(150, "192.0.2.12"))
		m.Step(t0, Startup{})
		now := t0
		// The lower-priority master keeps advertising; we ignore it and take over.
		for m.State() == Backup {
			now = now.Add(time.Second)
			m.Step(now, lower)
			m.Step(now, Tick{})
		}
		if now.Sub(t0) > 4*time.Second {
			t.Fatalf("took over after %v", now.Sub(t0))
		}
	})
	t.Run("preempt off", func(t *testing.T) {
		c := cfg(150, "192.0.2.12")
		c.Preempt = false
		m := New(c)
		m.Step(t0, Startup{})
		for i := 1; i <= 100; i++ {
			now := t0.Add(time.Duration(i) * time.Second)
			m.Step(now, lower)
			m.Step(now, Tick{})
		}
		if m.State() != Backup {
			t.Fatalf("state %v", m.State())
		}
	})
	t.Run("preempt delay", func(t *testing.T) {
		c := cfg(150, "192.0.2.12")
		c.PreemptDelay = 30 * time.Second
		m := New(c)
		m.Step(t0, Startup{})
		now := t0
		for m.State() == Backup {
			now = now.Add(time.Second)
			m.Step(now, lower)
			m.Step(now, Tick{})
			if now.Sub(t0) > time.Minute {
				t.Fatal("never preempted")
			}
		}
		// Seen first at t0+1s, accepted until t0+31s, timer then runs out.
		if d := now.Sub(t0); d < 31*time.Second || d > 35*time.Second {
			t.Fatalf("preempted after %v, want ~31s+Master_Down_Interval", d)
		}
	})
	t.Run("preempt delay restarts after fault", func(t *testing.T) {
		c := cfg(150, "192.0.2.12")
		c.PreemptDelay = 10 * time.Second
		m := New(c)
		m.Step(t0, Startup{})
		now := t0
		// A link that flaps every 2 s: fault, recover, fault, ... for a minute.
		for i := 0; i < 60; i++ {
			now = now.Add(time.Second)
			if i%4 == 2 {
				m.Step(now, EnterFault{})
			}
			if i%4 == 3 {
				m.Step(now, LeaveFault{})
			}
			m.Step(now, lower)
			m.Step(now, Tick{})
			if m.State() == Master {
				t.Fatalf("preempted at %v despite the delay", now.Sub(t0))
			}
		}
	})
}

func TestFault(t *testing.T) {
	m := New(cfg(100, "192.0.2.12"))
	m.Step(t0, Startup{})
	dl, _ := m.NextDeadline()
	m.Step(dl, Tick{})
	acts := m.Step(dl.Add(time.Second), EnterFault{})
	want := []Action{Transition{From: Master, To: Fault, Reason: ReasonFault}, SendAdvert{Priority: 0}, Release{}}
	if !reflect.DeepEqual(acts, want) {
		t.Fatalf("%#v", acts)
	}
	if _, ok := m.NextDeadline(); ok {
		t.Fatal("timer runs in fault")
	}
	if acts := m.Step(dl.Add(time.Hour), Tick{}); acts != nil {
		t.Fatalf("tick in fault: %#v", acts)
	}
	acts = m.Step(dl.Add(time.Hour), LeaveFault{})
	want = []Action{Transition{From: Fault, To: Backup, Reason: ReasonRecovered}}
	if !reflect.DeepEqual(acts, want) {
		t.Fatalf("%#v", acts)
	}
}

// net simulates routers on one link: adverts are delivered to every other
// live router at the instant they are sent. Time advances to the earliest
// deadline, like a discrete-event simulator.
type simNet struct {
	now     time.Time
	routers []*simRouter
	log     []string
	at      map[string]time.Time // when each router last became master
}

type simRouter struct {
	name string
	m    *Machine
	up   bool
	// cut: the router runs but nothing it sends or is sent reaches the
	// others (a path that fails without carrier loss).
	cut bool
	// acts records every action it was given, in order.
	acts []Action
}

func (n *simNet) add(name string, c Config) *simRouter {
	r := &simRouter{name: name, m: New(c), up: true}
	n.routers = append(n.routers, r)
	return r
}

func (n *simNet) apply(r *simRouter, acts []Action) {
	r.acts = append(r.acts, acts...)
	for _, a := range acts {
		switch a := a.(type) {
		case Transition:
			n.log = append(n.log, r.name+":"+a.To.String())
			if a.To == Master {
				if n.at == nil {
					n.at = map[string]time.Time{}
				}
				n.at[r.name] = n.now
			}
		case SendAdvert:
			for _, o := range n.routers {
				if o != r && o.up && !o.cut && !r.cut {
					n.apply(o, o.m.Step(n.now, Advert{From: r.m.cfg.PrimaryAddr, Priority: a.Priority, Interval: r.m.cfg.AdvertInterval}))
				}
			}
		}
	}
}

// next returns the router whose timer fires first, and when.
func (n *simNet) next() (next *simRouter, at time.Time) {
	for _, r := range n.routers {
		if !r.up {
			continue
		}
		if dl, ok := r.m.NextDeadline(); ok && (next == nil || dl.Before(at)) {
			next, at = r, dl
		}
	}
	return next, at
}

// run advances time until limit, firing timers in order.
func (n *simNet) run(limit time.Time) {
	for {
		next, at := n.next()
		if next == nil || at.After(limit) {
			n.now = limit
			return
		}
		n.now = at
		n.apply(next, next.m.Step(n.now, Tick{}))
	}
}

func (n *simNet) masters() []string {
	var s []string
	for _, r := range n.routers {
		if r.up && r.m.State() == Master {
			s = append(s, r.name)
		}
	}
	return s
}

func TestSkewOrderingThreeRouters(t *testing.T) {
	n := &simNet{now: t0}
	a := n.add("a", cfg(200, "192.0.2.11"))
	_ = n.add("b", cfg(150, "192.0.2.12"))
	_ = n.add("c", cfg(100, "192.0.2.13"))
	for _, r := range n.routers {
		n.apply(r, r.m.Step(n.now, Startup{}))
	}
	n.run(t0.Add(10 * time.Second))
	if got := n.masters(); !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("masters after election %v (log %v)", got, n.log)
	}
	// a dies silently: b's shorter skew makes it master first; c stays backup.
	a.up = false
	died := n.now
	n.log = nil
	n.run(died.Add(10 * time.Second))
	if got := n.masters(); !reflect.DeepEqual(got, []string{"b"}) {
		t.Fatalf("masters after a died %v (log %v)", got, n.log)
	}
	if !reflect.DeepEqual(n.log, []string{"b:MASTER"}) {
		t.Fatalf("transitions %v, want only b:MASTER", n.log)
	}
	// a returns and preempts.
	a.up = true
	a.m = New(a.m.cfg)
	n.log = nil
	n.apply(a, a.m.Step(n.now, Startup{}))
	n.run(n.now.Add(10 * time.Second))
	if got := n.masters(); !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("masters after a returned %v (log %v)", got, n.log)
	}

}

func TestGracefulShutdownHandsOverInSkewTime(t *testing.T) {
	n := &simNet{now: t0}
	a := n.add("a", cfg(200, "192.0.2.11"))
	b := n.add("b", cfg(100, "192.0.2.12"))
	for _, r := range n.routers {
		n.apply(r, r.m.Step(n.now, Startup{}))
	}
	n.run(t0.Add(10 * time.Second))
	stop := n.now
	n.apply(a, a.m.Step(stop, Shutdown{}))
	a.up = false
	n.run(stop.Add(10 * time.Second))
	if b.m.State() != Master {
		t.Fatalf("b is %v", b.m.State())
	}
	if took := n.at["b"].Sub(stop); took != b.m.SkewTime() {
		t.Fatalf("takeover %v after shutdown, want Skew_Time %v", took, b.m.SkewTime())
	}
}

func TestPartitionHeal(t *testing.T) {
	n := &simNet{now: t0}
	a := n.add("a", cfg(200, "192.0.2.11"))
	b := n.add("b", cfg(100, "192.0.2.12"))
	for _, r := range n.routers {
		n.apply(r, r.m.Step(n.now, Startup{}))
	}
	n.run(t0.Add(10 * time.Second))
	// Partition: each side sees nobody. Simulate by taking them apart.
	na, nb := &simNet{now: n.now, routers: []*simRouter{a}}, &simNet{now: n.now, routers: []*simRouter{b}}
	na.run(n.now.Add(10 * time.Second))
	nb.run(n.now.Add(10 * time.Second))
	if a.m.State() != Master || b.m.State() != Master {
		t.Fatalf("during partition: a %v b %v", a.m.State(), b.m.State())
	}
	n.now = na.now
	heal := n.now
	n.run(heal.Add(a.m.cfg.AdvertInterval))
	if got := n.masters(); !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("one advert interval after heal: masters %v", got)
	}
}

func TestStateAndReasonStrings(t *testing.T) {
	for s := Initialize; s <= Fault; s++ {
		if s.String() == "" || s.String()[0] == 'S' {
			t.Errorf("state %d has no name", s)
		}
	}
	for r := ReasonNone; r <= ReasonRecovered; r++ {
		if r.String() == "" || r.String()[0] == 'R' {
			t.Errorf("reason %d has no name", r)
		}
	}
}

func BenchmarkStepAdvert(b *testing.B) {
	m := New(cfg(100, "192.0.2.12"))
	m.Step(t0, Startup{})
	adv := Advert{From: netip.MustParseAddr("192.0.2.11"), Priority: 200, Interval: time.Second}
	now := t0
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Millisecond)
		m.Step(now, adv)
	}
}

func BenchmarkStepMasterTick(b *testing.B) {
	m := New(cfg(255, "192.0.2.11"))
	m.Step(t0, Startup{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dl, _ := m.NextDeadline()
		m.Step(dl, Tick{})
	}
}

func TestReconfigure(t *testing.T) {
	m := New(cfg(100, "192.0.2.12"))
	m.Step(t0, Startup{})
	dl, _ := m.NextDeadline()
	m.Step(dl, Tick{})
	c := cfg(120, "192.0.2.12")
	c.AdvertInterval = 200 * time.Millisecond
	now := dl.Add(10 * time.Millisecond)
	m.Reconfigure(now, c)
	if m.State() != Master || m.Priority() != 120 {
		t.Fatalf("state %v prio %d", m.State(), m.Priority())
	}
	next, _ := m.NextDeadline()
	if next != now.Add(200*time.Millisecond) {
		t.Fatalf("next advert at +%v", next.Sub(now))
	}
	if acts := m.Step(next, Tick{}); !reflect.DeepEqual(acts, []Action{SendAdvert{Priority: 120}}) {
		t.Fatalf("%#v", acts)
	}
}

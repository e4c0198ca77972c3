package netmon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/clock/clocktest"
)

func startMonitor(t *testing.T, k *fakeKernel, opts Options) (*Monitor, *clocktest.Clock) {
	t.Helper()
	clk := clocktest.NewClock(time.Unix(1e9, 0))
	opts.Clock = clk
	m, err := newMonitor(k, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, clk
}

// waitPending waits until a timer of duration d is pending.
func waitPending(t *testing.T, clk *clocktest.Clock, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		p := clk.Pending()
		if slices.Contains(p, d) {
			return
		}
		if err := clk.WaitTimers(ctx, len(p)+1); err != nil {
			t.Fatalf("no %v timer; pending %v: %v", d, clk.Pending(), err)
		}
	}
}

func overflow() error {
	return fmt.Errorf("netmon: %w: Receive failed: no buffer space available", errOverflow)
}

func TestMonitorSnapshotAndEvents(t *testing.T) {
	checkGoroutines(t)
	k := newFakeKernel([]Link{eth(1, "lo"), eth(2, "eth0")}, []IfAddr{{1, lo4}, {2, pA}})
	m, _ := startMonitor(t, k, Options{})
	fs := k.nextStream(t)

	// Ready when Open returns.
	if l, ok := m.Link("eth0"); !ok || l.Index != 2 || !l.Usable() {
		t.Errorf("Link(eth0) = %+v, %v", l, ok)
	}
	if got := m.Addrs(2); !slices.Equal(got, []netip.Prefix{pA}) {
		t.Errorf("Addrs = %v", got)
	}
	if st := m.Stats(); st.Resyncs != 1 || st.Events != 0 {
		t.Errorf("Stats = %+v", st)
	}

	r := record(t, m)
	fs.sendAddr(t, addrEvent{index: 2, prefix: p6})
	fs.sendAddr(t, addrEvent{index: 2, prefix: pA}) // the listing repeats what is known: no change
	down := eth(2, "eth0")
	down.Running, down.LowerUp, down.OperState = false, false, OperLowerLayerDown
	fs.sendLink(t, linkEvent{link: down})
	fs.sendAddr(t, addrEvent{index: 1, prefix: pA32})
	fs.sendLink(t, linkEvent{link: down, deleted: true})
	fs.sendAddr(t, addrEvent{index: 1, prefix: pA32, deleted: true})
	checkChanges(t, "events", r.next(t, 7),
		Change{Kind: AddrAdded, Index: 2, Name: "eth0", Prefix: p6},
		Change{Kind: LinkChanged, Index: 2, Name: "eth0"},
		Change{Kind: AddrAdded, Index: 1, Name: "lo", Prefix: pA32},
		Change{Kind: AddrRemoved, Index: 2, Name: "eth0", Prefix: pA},
		Change{Kind: AddrRemoved, Index: 2, Name: "eth0", Prefix: p6},
		Change{Kind: LinkDeleted, Index: 2, Name: "eth0"},
		Change{Kind: AddrRemoved, Index: 1, Name: "lo", Prefix: pA32})
	if _, ok := m.Link("eth0"); ok || m.Holders(pA.Addr()) != nil {
		t.Errorf("eth0 or its address survived its deletion: %v", m.AllAddrs())
	}
	if st := m.Stats(); st.Events != 6 || st.Failures != 0 {
		t.Errorf("Stats = %+v", st)
	}

	m.Close()
	m.Close()
	if !fs.isStopped() || !k.closed {
		t.Error("Close left the subscription or the kernel open")
	}
	if _, ok := m.Link("lo"); !ok {
		t.Error("the snapshot is gone after Close")
	}
}

func TestMonitorResubscribesAfterOverflow(t *testing.T) {
	checkGoroutines(t)
	logs := newLogRecords()
	k := newFakeKernel([]Link{eth(1, "lo"), eth(2, "eth0")}, []IfAddr{{1, lo4}, {2, pA}, {2, p6}})
	m, clk := startMonitor(t, k, Options{Logger: slog.New(logs)})
	fs := k.nextStream(t)
	r := record(t, m)

	// While nobody listens, eth0 is deleted and recreated (index 5) with
	// one of its addresses, and the first two resubscriptions fail.
	k.set([]Link{eth(1, "lo"), eth(5, "eth0")}, []IfAddr{{1, lo4}, {5, pA}})
	k.failSubscribe(errBoom)
	fs.fail(overflow())
	fs.waitStopped(t)
	waitPending(t, clk, 10*time.Millisecond)
	clk.Advance(10 * time.Millisecond)
	waitPending(t, clk, 20*time.Millisecond)
	clk.Advance(20 * time.Millisecond)
	waitPending(t, clk, 40*time.Millisecond)
	k.failSubscribe(nil)
	clk.Advance(40 * time.Millisecond)
	fs = k.nextStream(t)
	checkChanges(t, "resync after resubscribing", r.next(t, 6),
		Change{Kind: AddrRemoved, Index: 2, Name: "eth0", Prefix: pA},
		Change{Kind: AddrRemoved, Index: 2, Name: "eth0", Prefix: p6},
		Change{Kind: LinkDeleted, Index: 2, Name: "eth0"},
		Change{Kind: LinkChanged, Index: 5, Name: "eth0"},
		Change{Kind: AddrAdded, Index: 5, Name: "eth0", Prefix: pA},
		Change{Kind: Resynced})
	if l, ok := m.Link("eth0"); !ok || l.Index != 5 || !slices.Equal(m.Addrs(5), []netip.Prefix{pA}) || m.Addrs(2) != nil {
		t.Errorf("after the resync: eth0 = %+v, addrs %v", l, m.AllAddrs())
	}
	want := Stats{Failures: 3, Overflows: 1, Resubscriptions: 1, Resyncs: 2}
	if st := m.Stats(); st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}

	// Another failure in the same episode: the backoff goes on doubling,
	// nothing more is logged, and events flow again afterwards.
	fs.fail(errBoom)
	fs.waitStopped(t) // the settle timer is stopped before the subscription
	waitPending(t, clk, 80*time.Millisecond)
	clk.Advance(80 * time.Millisecond)
	fs = k.nextStream(t)
	checkChanges(t, "resync without differences", r.next(t, 1), Change{Kind: Resynced})
	fs.sendAddr(t, addrEvent{index: 5, prefix: p6})
	checkChanges(t, "event after recovery", r.next(t, 1), Change{Kind: AddrAdded, Index: 5, Name: "eth0", Prefix: p6})
	if got := logs.at(slog.LevelWarn); !slices.Equal(got, []string{"netlink subscription failed; resubscribing"}) {
		t.Errorf("warnings: %q, want one for the episode", got)
	}

	// Healthy for a second: the episode ends, and the next failure starts
	// a new one, logged, with the backoff back at 10 ms.
	waitPending(t, clk, time.Second)
	clk.Advance(time.Second)
	logs.waitFor(t, slog.LevelInfo, "netlink subscription healthy again", 1)
	fs.fail(overflow())
	fs.waitStopped(t)
	waitPending(t, clk, 10*time.Millisecond)
	clk.Advance(10 * time.Millisecond)
	k.nextStream(t)
	// The kernel's dump does not have the address the event added.
	checkChanges(t, "second episode", r.next(t, 2),
		Change{Kind: AddrRemoved, Index: 5, Name: "eth0", Prefix: p6},
		Change{Kind: Resynced})
	logs.waitFor(t, slog.LevelWarn, "netlink subscription failed; resubscribing", 2)
	want = Stats{Events: 1, Failures: 5, Overflows: 2, Resubscriptions: 3, Resyncs: 4}
	if st := m.Stats(); st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}

func TestMonitorPeriodicResync(t *testing.T) {
	checkGoroutines(t)
	logs := newLogRecords()
	k := newFakeKernel([]Link{eth(1, "lo"), eth(2, "eth0")}, []IfAddr{{1, lo4}, {2, pA}})
	m, clk := startMonitor(t, k, Options{Logger: slog.New(logs), ResyncInterval: time.Minute})
	fs := k.nextStream(t)
	r := record(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	// Nothing differs: nothing is emitted.
	clk.Advance(time.Minute)
	if err := clk.WaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	r.none(t)
	if st := m.Stats(); st.Resyncs != 2 || st.Corrections != 0 {
		t.Errorf("Stats = %+v", st)
	}

	// An address the kernel removed without an event, and one it added.
	k.set([]Link{eth(1, "lo"), eth(2, "eth0")}, []IfAddr{{1, lo4}, {2, p6}})
	clk.Advance(time.Minute)
	checkChanges(t, "corrections", r.next(t, 3),
		Change{Kind: AddrRemoved, Index: 2, Name: "eth0", Prefix: pA},
		Change{Kind: AddrAdded, Index: 2, Name: "eth0", Prefix: p6},
		Change{Kind: Resynced})
	if st := m.Stats(); st.Resyncs != 3 || st.Corrections != 2 || st.Failures != 0 {
		t.Errorf("Stats = %+v", st)
	}
	logs.waitFor(t, slog.LevelWarn, "resync corrected the snapshot: events were missed", 1)

	// A non-fatal error from a subscription resyncs at once.
	k.set([]Link{eth(1, "lo"), eth(2, "eth0")}, []IfAddr{{1, lo4}})
	k.note(errBoom)
	checkChanges(t, "resync after an error", r.next(t, 2),
		Change{Kind: AddrRemoved, Index: 2, Name: "eth0", Prefix: p6},
		Change{Kind: Resynced})
	if st := m.Stats(); st.Errors != 1 {
		t.Errorf("Stats = %+v", st)
	}

	// A dump that fails is a failure like a lost subscription.
	k.failDumps(errBoom)
	if err := clk.WaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	waitPending(t, clk, 10*time.Millisecond)
	if !fs.isStopped() {
		t.Error("subscription kept after a failed dump")
	}
	k.failDumps(nil)
	clk.Advance(10 * time.Millisecond)
	k.nextStream(t)
	checkChanges(t, "after a failed dump", r.next(t, 1), Change{Kind: Resynced})
	if st := m.Stats(); st.Failures != 1 || st.Resubscriptions != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestMonitorCloseDuringBackoff(t *testing.T) {
	checkGoroutines(t)
	k := newFakeKernel(nil, nil)
	m, clk := startMonitor(t, k, Options{ResyncInterval: -1})
	fs := k.nextStream(t)
	fs.fail(errBoom)
	waitPending(t, clk, 10*time.Millisecond)
	if p := clk.Pending(); len(p) != 1 {
		t.Errorf("pending timers %v, want only the backoff (no periodic resync)", p)
	}
	m.Close()
	if !k.closed {
		t.Error("kernel not closed")
	}
	if p := clk.Pending(); len(p) != 0 {
		t.Errorf("timers left: %v", p)
	}
}

func TestMonitorOpenFails(t *testing.T) {
	checkGoroutines(t)
	k := newFakeKernel(nil, nil)
	k.failSubscribe(errBoom)
	if _, err := newMonitor(k, Options{}); err == nil || err.Error() != "netmon: subscribe: boom" {
		t.Errorf("newMonitor = %v", err)
	}
	if !k.closed {
		t.Error("kernel not closed")
	}

	k = newFakeKernel(nil, nil)
	k.failDumps(errBoom)
	if _, err := newMonitor(k, Options{}); err == nil || err.Error() != "netmon: dump: boom" {
		t.Errorf("newMonitor = %v", err)
	}
	if fs := k.nextStream(t); !fs.isStopped() || !k.closed {
		t.Error("subscription or kernel left open")
	}
}

func TestSubscribeCancel(t *testing.T) {
	k := newFakeKernel([]Link{eth(2, "eth0")}, nil)
	m, _ := startMonitor(t, k, Options{})
	fs := k.nextStream(t)
	var self func()
	var selfCalls int
	self = m.Subscribe(func(Change) {
		selfCalls++
		self() // cancelling from the callback must not deadlock
	})
	first := record(t, m)
	second := &recorder{ch: make(chan Change, 10)}
	cancel := m.Subscribe(func(c Change) { second.ch <- c })

	fs.sendAddr(t, addrEvent{index: 2, prefix: pA})
	first.next(t, 1)
	second.next(t, 1)
	cancel()
	fs.sendAddr(t, addrEvent{index: 2, prefix: p6})
	first.next(t, 1)
	second.none(t)
	m.Close()
	if selfCalls != 1 {
		t.Errorf("the self-cancelling subscriber was called %d times", selfCalls)
	}
}

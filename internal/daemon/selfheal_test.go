package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/clock/clocktest"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/transport/transporttest"
	"github.com/vipd/vipd/internal/vipaddr"
)

// events collects a daemon's events.
type events struct {
	mu  sync.Mutex
	evs []control.Event
}

func collect(t *testing.T, d *Daemon) *events {
	ch, unsub := d.bus.subscribe()
	e := &events{}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case ev := <-ch:
				e.mu.Lock()
				e.evs = append(e.evs, ev)
				e.mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { unsub(); close(done) })
	return e
}

func (e *events) count(typ, msg string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.evs {
		if ev.Type == typ && (msg == "" || strings.HasPrefix(ev.Message, msg)) {
			n++
		}
	}
	return n
}

func (n *node) inst(t *testing.T) control.InstanceStatus {
	st := n.d.Status(context.Background())
	if len(st.Instances) == 0 {
		t.Fatal("no instance")
	}
	return st.Instances[0]
}

// TestVIPDeletedOnMasterIsRestored: an `ip addr del` of a VIP on the master
// is undone at once, reported as an event and counted.
func TestVIPDeletedOnMasterIsRestored(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	env := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	a := startNode(t, env, testConfig(t, 200, true))
	ev := collect(t, a.d)
	waitFor(t, "master with both VIPs", 2*time.Second, func() bool {
		return a.state(t) == "MASTER" && len(env.addrs.Addresses(2)) == 2
	})
	// Let the kernel's report of the adds arrive first.
	waitFor(t, "VIPs held in status", 2*time.Second, func() bool {
		vs := a.inst(t).VIPs
		return len(vs) == 2 && vs[0].Held && vs[1].Held
	})
	env.addrs.Set(2, netip.MustParsePrefix("192.0.2.100/24"))
	waitFor(t, "restored", 5*time.Second, func() bool { return len(env.addrs.Addresses(2)) == 2 })
	waitFor(t, "reported", 5*time.Second, func() bool {
		n, c := ev.count(control.EventAddress, "restored"), a.inst(t).Counters.VIPsRestored
		if n > 1 || c > 1 {
			t.Fatalf("one VIP deleted, %d restored events, counter %d", n, c)
		}
		return n == 1 && c == 1
	})
	// A flush of everything (a network manager's): all back.
	env.addrs.Set(2)
	waitFor(t, "restored after a flush", 5*time.Second, func() bool {
		return len(env.addrs.Addresses(2)) == 2 && a.inst(t).Counters.VIPsRestored == 3
	})
	if a.state(t) != "MASTER" {
		t.Fatalf("state %s", a.state(t))
	}
}

// TestVIPOnBackupIsReportedNotRemoved: an address someone adds on a backup
// is reported once; it is not vipd's, so it is left alone.
func TestVIPOnBackupIsReportedNotRemoved(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	a := startNode(t, newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11"), testConfig(t, 200, true))
	benv := newFakeEnv(seg, 3, "02:00:00:00:00:0b", "192.0.2.12")
	b := startNode(t, benv, testConfig(t, 100, true))
	ev := collect(t, b.d)
	waitFor(t, "a master, b backup", 2*time.Second, func() bool { return a.state(t) == "MASTER" && b.state(t) == "BACKUP" })
	benv.addrs.Set(3, netip.MustParsePrefix("192.0.2.101/24"))
	waitFor(t, "reported", 5*time.Second, func() bool {
		return ev.count(control.EventAddress, "unexpected") == 1 && b.inst(t).Counters.VIPsUnexpected == 1
	})
	time.Sleep(50 * time.Millisecond) // more reconciliations: not reported again, not removed
	if got := benv.addrs.Addresses(3); len(got) != 1 || ev.count(control.EventAddress, "unexpected") != 1 {
		t.Fatalf("b holds %v, %d reports", got, ev.count(control.EventAddress, "unexpected"))
	}
}

// TestReaderSurvivesErrors: the VRRP socket failing (ENETDOWN on a link
// flap) does not leave the instance deaf.
func TestReaderSurvivesErrors(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	a := startNode(t, newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11"), testConfig(t, 200, true))
	benv := newFakeEnv(seg, 3, "02:00:00:00:00:0b", "192.0.2.12")
	b := startNode(t, benv, testConfig(t, 100, true))
	waitFor(t, "b backup", 2*time.Second, func() bool { return a.state(t) == "MASTER" && b.state(t) == "BACKUP" })
	trBefore := b.inst(t).Counters.Transitions
	for range 3 {
		benv.conn.InjectError(syscall.ENETDOWN)
	}
	waitFor(t, "errors counted", 2*time.Second, func() bool { return b.inst(t).Counters.ReadErrors == 3 })
	before := b.inst(t).Counters.AdvertsReceived
	waitFor(t, "b hears a again", 2*time.Second, func() bool { return b.inst(t).Counters.AdvertsReceived > before+5 })
	if tr := b.inst(t).Counters.Transitions - trBefore; b.state(t) != "BACKUP" || tr != 0 {
		t.Fatalf("b %s after %d transitions", b.state(t), tr)
	}
}

// TestReaderBacksOffAndReopens: a socket that keeps failing is retried with
// a doubling backoff and reopened after reopenAfter errors in a row.
func TestReaderBacksOffAndReopens(t *testing.T) {
	clk := clocktest.NewClock(time.Unix(1e9, 0))
	seg := transporttest.NewNetwork(nil)
	first := seg.NewConn(2, net.HardwareAddr{2, 0, 0, 0, 0, 0xa}, false, netip.MustParseAddr("192.0.2.11"))
	second := seg.NewConn(2, net.HardwareAddr{2, 0, 0, 0, 0, 0xa}, false, netip.MustParseAddr("192.0.2.11"))
	reopened := make(chan struct{}, 1)
	l := &link{ifi: &net.Interface{Index: 2, Name: "eth0"}, conn: first, clock: clk, log: slog.New(slog.DiscardHandler),
		byVRID: map[uint8]*instance{}, drops: map[string]uint64{}, publish: func(control.Event) {},
		reopen: func() (transport.PacketConn, error) { reopened <- struct{}{}; return second, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.read(ctx) }()
	defer func() { cancel(); <-done }()
	for range reopenAfter {
		first.InjectError(syscall.EBADF)
	}
	backoff := readBackoff
	for i := 1; i < reopenAfter; i++ {
		if err := clk.WaitTimers(ctxT(t, 2*time.Second), 1); err != nil {
			t.Fatalf("error %d: %v", i, err)
		}
		if got := clk.Pending(); len(got) != 1 || got[0] != backoff {
			t.Fatalf("error %d: backoff %v, want %v", i, got, backoff)
		}
		clk.Advance(backoff)
		backoff = min(2*backoff, readBackoffMax)
	}
	select {
	case <-reopened:
	case <-time.After(2 * time.Second):
		t.Fatal("not reopened")
	}
	waitFor(t, "socket replaced", 2*time.Second, func() bool { return l.socket() == transport.PacketConn(second) })
	if l.readErrors.Load() != reopenAfter || l.socket() != transport.PacketConn(second) {
		t.Fatalf("%d errors, socket replaced: %v", l.readErrors.Load(), l.socket() == transport.PacketConn(second))
	}
}

// TestPreemptionLeavesThirdNodeAlone: a preempted master sends no priority
// 0, so a third node makes no transition.
func TestPreemptionLeavesThirdNodeAlone(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	aenv := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	b := startNode(t, newFakeEnv(seg, 3, "02:00:00:00:00:0b", "192.0.2.12"), testConfigAdvert(t, 150, true, "100ms"))
	c := startNode(t, newFakeEnv(seg, 4, "02:00:00:00:00:0c", "192.0.2.13"), testConfigAdvert(t, 100, true, "100ms"))
	waitFor(t, "b master, c backup", 5*time.Second, func() bool { return b.state(t) == "MASTER" && c.state(t) == "BACKUP" })
	cBefore := c.inst(t).Counters.Transitions
	a := startNode(t, aenv, testConfigAdvert(t, 200, true, "100ms"))
	waitFor(t, "a master, b backup", 5*time.Second, func() bool { return a.state(t) == "MASTER" && b.state(t) == "BACKUP" })
	time.Sleep(500 * time.Millisecond) // five advert intervals for anything late
	if st := c.inst(t); st.Counters.Transitions != cBefore || st.State != "BACKUP" {
		t.Fatalf("c made %d transitions, is %s", st.Counters.Transitions-cBefore, st.State)
	}
	for _, s := range b.env.conn.Sent() {
		if len(s.Payload) > 2 && s.Payload[2] == 0 {
			t.Fatal("the preempted master sent priority 0")
		}
	}
}

// slowAddrs blocks Add until released: netlink stuck behind the kernel's
// RTNL lock.
type slowAddrs struct {
	vipaddr.Addresses
	gate chan struct{}
}

func (s *slowAddrs) Add(ctx context.Context, ifindex int, vips []netip.Prefix) error {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return errors.New("cancelled")
	}
	return s.Addresses.Add(ctx, ifindex, vips)
}

type slowEnv struct {
	*fakeEnv
	addrs *slowAddrs
}

func (e slowEnv) Addresses() vipaddr.Addresses { return e.addrs }

// TestAdvertsKeepCadenceWhileNetlinkIsSlow: the addresses are added off the
// protocol loop, so a master advertises on time and status answers while
// netlink is stuck.
func TestAdvertsKeepCadenceWhileNetlinkIsSlow(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	fe := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	env := slowEnv{fakeEnv: fe, addrs: &slowAddrs{Addresses: fe.addrs, gate: make(chan struct{})}}
	d, err := New(Options{Config: testConfig(t, 200, true), Env: env, NoControl: true})
	if err != nil {
		t.Fatal(err)
	}
	n := runNode(t, fe, d)
	waitFor(t, "master", 2*time.Second, func() bool { return n.state(t) == "MASTER" })
	sent := n.inst(t).Counters.AdvertsSent
	start := time.Now()
	waitFor(t, "adverts while the add hangs", 2*time.Second, func() bool { return n.inst(t).Counters.AdvertsSent >= sent+10 })
	if len(fe.addrs.Addresses(2)) != 0 {
		t.Fatal("added through the gate")
	}
	t.Logf("10 adverts (20 ms interval) in %v while netlink hung", time.Since(start))
	close(env.addrs.gate)
	waitFor(t, "added", 2*time.Second, func() bool { return len(fe.addrs.Addresses(2)) == 2 })
}

// TestSourceAddressGone: the address adverts leave from vanishes (an
// `ip addr flush`): a master that can no longer advertise must not keep
// the VIPs while the others take over. It goes to FAULT (source), lets the
// VIPs go, and comes back when the address returns.
func TestSourceAddressGone(t *testing.T) {
	seg := transporttest.NewNetwork(nil)
	env := newFakeEnv(seg, 2, "02:00:00:00:00:0a", "192.0.2.11")
	src := netip.MustParsePrefix("192.0.2.11/24")
	env.addrs.Insert(2, src)
	a := startNode(t, env, testConfig(t, 200, true))
	waitFor(t, "master with both VIPs", 5*time.Second, func() bool {
		return a.state(t) == "MASTER" && len(env.addrs.Addresses(2)) == 3
	})
	env.addrs.Set(2) // flush: the source and the VIPs
	waitFor(t, "fault (source), VIPs gone", 5*time.Second, func() bool {
		in := a.inst(t)
		return in.State == "FAULT" && slices.Contains(in.FaultReasons, "source") && len(env.addrs.Addresses(2)) == 0
	})
	env.addrs.Insert(2, src)
	waitFor(t, "master again with both VIPs", 5*time.Second, func() bool {
		return a.state(t) == "MASTER" && len(env.addrs.Addresses(2)) == 3
	})
}

package present

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/clock/clocktest"
	"github.com/vipd/vipd/internal/vipaddr/vipaddrtest"
	"github.com/vipd/vipd/internal/watch"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// kernel is a Kernel over a vipaddrtest.Fake: its "events" are immediate,
// unless lagging.
type kernel struct {
	addrs *vipaddrtest.Fake
	mu    sync.Mutex
	down  bool
	// lagging: Addrs shows seen, what deliver set last, not the fake's
	// addresses (the kernel's events are late).
	lagging bool
	seen    []netip.Prefix
}

func (k *kernel) Addrs(ifindex int) []netip.Prefix {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lagging {
		return slices.Clone(k.seen)
	}
	return k.addrs.Addresses(ifindex)
}

// deliver makes a lagging kernel's late events arrive: Addrs shows vips.
func (k *kernel) deliver(vips []netip.Prefix) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lagging, k.seen = true, slices.Clone(vips)
}
func (k *kernel) LinkUp(int) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return !k.down
}

// announcer records what the Presenter asks the pacer.
type announcer struct {
	mu       sync.Mutex
	announce [][]netip.Addr
	sendNow  int
	cancels  int
}

func (a *announcer) Announce(key string, s announce.Sender, mac net.HardwareAddr, vips []netip.Addr, sch announce.Schedule) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.announce = append(a.announce, slices.Clone(vips))
}
func (a *announcer) SendNow(key string, s announce.Sender, pkts ...announce.Packet) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sendNow += len(pkts)
	return nil
}
func (a *announcer) Cancel(string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cancels++
}
func (a *announcer) counts() (announce, sendNow, cancels int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.announce), a.sendNow, a.cancels
}

type ledger struct {
	mu  sync.Mutex
	set map[netip.Prefix]bool
}

func (l *ledger) Record(_, _ string, _ int, vips []netip.Prefix) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range vips {
		l.set[p] = true
	}
	return nil
}
func (l *ledger) Forget(_ string, _ int, vips []netip.Prefix) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range vips {
		delete(l.set, p)
	}
	return nil
}
func (l *ledger) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.set)
}

type fixture struct {
	p       *L2
	k       *kernel
	ann     *announcer
	led     *ledger
	clock   *clocktest.Clock
	reports chan Report
}

var (
	mac  = net.HardwareAddr{2, 0, 0, 0, 0, 0xa}
	vips = pfx("192.0.2.100/24", "192.0.2.101/24", "192.0.2.102/24")
)

func newFixture(t *testing.T) *fixture {
	f := &fixture{
		k:       &kernel{addrs: vipaddrtest.New()},
		ann:     &announcer{},
		led:     &ledger{set: map[netip.Prefix]bool{}},
		clock:   clocktest.NewClock(t0),
		reports: make(chan Report, 100),
	}
	f.p = NewL2(Config{
		Instance:  "web",
		Interface: net.Interface{Index: 2, Name: "eth0", HardwareAddr: mac},
		Primary:   netip.MustParseAddr("192.0.2.11"),
		Settings:  Settings{VIPs: vips},
	}, Deps{
		Kernel: f.k, Addresses: f.k.addrs, Announcer: f.ann, Ledger: f.led, Clock: f.clock,
		Report: func(r Report) {
			select {
			case f.reports <- r:
			default:
				t.Error("reports full")
			}
		},
	})
	// The kernel's events: every change of the fake reaches the Presenter.
	f.k.addrs.OnCall(func(vipaddrtest.Call) { f.p.Reconcile() })
	f.p.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.p.Close(ctx)
	})
	return f
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (f *fixture) held() int { return len(f.k.addrs.Addresses(2)) }

func (f *fixture) report(t *testing.T) Report {
	t.Helper()
	select {
	case r := <-f.reports:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no report")
		return nil
	}
}

func TestL2TakeOverRestoreRelease(t *testing.T) {
	f := newFixture(t)
	f.p.TakeOver(t0)
	waitFor(t, "VIPs added and announced", func() bool { n, _, _ := f.ann.counts(); return f.held() == 3 && n == 1 })
	if f.led.len() != 3 {
		t.Fatalf("ledger has %d VIPs", f.led.len())
	}
	waitFor(t, "the kernel's report taken in", func() bool {
		st := f.p.Status()
		return len(st.VIPs) == 3 && st.VIPs[0].Held && st.VIPs[2].Held
	})

	// An operator deletes one: back at once, reported, announced once.
	f.k.addrs.Set(2, vips[0], vips[2])
	f.p.Reconcile()
	r := f.report(t)
	if rs, ok := r.(Restored); !ok || !slices.Equal(rs.VIPs, vips[1:2]) {
		t.Fatalf("report %#v", r)
	}
	waitFor(t, "restored and announced", func() bool { _, sent, _ := f.ann.counts(); return f.held() == 3 && sent == 2 })
	if n, sent, _ := f.ann.counts(); n != 1 || sent != 2 {
		t.Fatalf("after the restore: %d schedules, %d frames sent at once; want 1 and 2 (gratuitous request and reply)", n, sent)
	}
	if st := f.p.Status(); st.Restored != 1 {
		t.Fatalf("restored counter %d", st.Restored)
	}

	// Release: removed, forgotten, announcements cancelled.
	f.p.Release(watch.Owner{Node: "192.0.2.12"})
	waitFor(t, "released", func() bool { _, _, c := f.ann.counts(); return f.held() == 0 && c == 1 && f.led.len() == 0 })

	// An address someone adds by hand on the backup: reported once, left.
	f.k.addrs.Set(2, vips[0])
	f.p.Reconcile()
	if u, ok := f.report(t).(Unexpected); !ok || !slices.Equal(u.VIPs, vips[:1]) {
		t.Fatalf("want Unexpected %v", vips[0])
	}
	f.p.Reconcile()
	f.clock.Advance(time.Minute)
	f.p.Reconcile()
	if f.held() != 1 || f.p.Status().Unexpected != 1 {
		t.Fatalf("held %d, unexpected %d", f.held(), f.p.Status().Unexpected)
	}
	select {
	case r := <-f.reports:
		t.Fatalf("a second report %#v", r)
	default:
	}
	// A takeover adopts it.
	f.p.TakeOver(t0)
	waitFor(t, "all held", func() bool { return f.held() == 3 && f.led.len() == 3 })
}

func TestL2AddFailureIsReportedOnceAndLeavesNothing(t *testing.T) {
	f := newFixture(t)
	f.k.addrs.Fail(vipaddrtest.OpAdd, vips[2], errors.New("injected"))
	f.p.TakeOver(t0)
	if _, ok := f.report(t).(AddFailed); !ok {
		t.Fatal("want AddFailed")
	}
	f.p.Reconcile()
	f.clock.Advance(time.Minute)
	f.p.Reconcile()
	if f.held() != 0 {
		t.Fatalf("half-configured: %v", f.k.addrs.Addresses(2))
	}
	adds := 0
	for _, c := range f.k.addrs.Calls() {
		if c.Op == vipaddrtest.OpAdd {
			adds++
		}
	}
	if adds != 1 {
		t.Fatalf("%d adds: a failed takeover must wait for the next", adds)
	}
	f.p.Release(watch.Owner{})
	f.k.addrs.ClearFailures()
	f.p.TakeOver(t0)
	waitFor(t, "added on the next takeover", func() bool { return f.held() == 3 })
}

func TestL2NoRestoreWhileTheLinkIsDown(t *testing.T) {
	f := newFixture(t)
	f.p.TakeOver(t0)
	waitFor(t, "held", func() bool { return f.held() == 3 })
	waitFor(t, "confirmed", func() bool { return f.p.Status().VIPs[0].Held })
	f.k.mu.Lock()
	f.k.down = true
	f.k.mu.Unlock()
	f.k.addrs.Set(2) // IPv6 is flushed on admin down; IPv4 here for the test
	f.p.Reconcile()
	f.clock.Advance(time.Minute)
	f.p.Reconcile()
	// The instance goes to Fault: Release.
	f.p.Release(watch.Owner{})
	f.p.Reconcile()
	waitFor(t, "ledger emptied", func() bool { return f.led.len() == 0 })
	for _, c := range f.k.addrs.Calls() {
		if c.Op == vipaddrtest.OpAdd && len(c.VIPs) != 3 {
			t.Fatalf("restored with the link down: %+v", c)
		}
	}
}

func TestL2SetVIPs(t *testing.T) {
	f := newFixture(t)
	f.p.TakeOver(t0)
	waitFor(t, "held", func() bool { return f.held() == 3 })
	next := pfx("192.0.2.100/24", "192.0.2.103/24")
	f.p.SetVIPs(Settings{VIPs: next})
	waitFor(t, "new list", func() bool { return slices.Equal(f.k.addrs.Addresses(2), next) })
	if n, _, _ := f.ann.counts(); n != 2 {
		t.Fatalf("%d schedules, want the takeover's and the reload's", n)
	}
	waitFor(t, "ledger follows", func() bool { return f.led.len() == 2 })
}

// TestL2ReleaseBeforeTheAddIsReported: an instance takes over and gives up
// again before the kernel's events report the VIPs it added (a spurious
// takeover, preempted at once). The VIPs must go; they must not stay on
// the backup as present and "not ours" while the master holds them too
// (seen in TestIntegrationDayInProduction).
func TestL2ReleaseBeforeTheAddIsReported(t *testing.T) {
	f := newFixture(t)
	f.k.deliver(nil)
	f.p.TakeOver(t0)
	waitFor(t, "VIPs added", func() bool { return f.held() == 3 && f.led.len() == 3 })
	f.p.Release(watch.Owner{Node: "192.0.2.12"})
	waitFor(t, "VIPs removed", func() bool { return f.held() == 0 })
	// The late events: the adds, then the removals.
	f.k.deliver(vips)
	f.p.Reconcile()
	time.Sleep(20 * time.Millisecond)
	f.k.deliver(nil)
	f.p.Reconcile()
	f.clock.Advance(time.Minute)
	f.p.Reconcile()
	waitFor(t, "ledger emptied", func() bool { return f.led.len() == 0 })
	if st := f.p.Status(); st.Unexpected != 0 {
		t.Errorf("%d VIPs reported unexpected", st.Unexpected)
	}
	for {
		select {
		case r := <-f.reports:
			if u, ok := r.(Unexpected); ok {
				t.Errorf("report %#v", u)
			}
			continue
		default:
		}
		break
	}
}

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
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/vipaddr/vipaddrtest"
	"github.com/vipd/vipd/internal/watch"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// kernel is a Kernel over a vipaddrtest.Fake: its "events" are immediate,
// unless frozen (the daemon's netmon view lags behind netlink).
type kernel struct {
	addrs  *vipaddrtest.Fake
	mu     sync.Mutex
	down   bool
	frozen bool
	snap   map[int][]netip.Prefix
}

func (k *kernel) Addrs(ifindex int) []netip.Prefix {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.frozen {
		return slices.Clone(k.snap[ifindex])
	}
	return k.addrs.Addresses(ifindex)
}

func (k *kernel) Present(ifindex int, ps []netip.Prefix) []netip.Prefix {
	have := map[netip.Prefix]bool{}
	for _, a := range k.Addrs(ifindex) {
		have[a] = true
	}
	var out []netip.Prefix
	for _, p := range ps {
		if have[p] {
			out = append(out, p)
		}
	}
	return out
}

// freeze makes Addrs report the addresses of ifindex as they are now until
// thaw: the kernel's events are late.
func (k *kernel) freeze(ifindex int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.frozen = true
	k.snap = map[int][]netip.Prefix{ifindex: k.addrs.Addresses(ifindex)}
}

func (k *kernel) thaw() {
	k.mu.Lock()
	k.frozen = false
	k.mu.Unlock()
}

// freezeAs makes Addrs report ps until thaw.
func (k *kernel) freezeAs(ps ...netip.Prefix) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.frozen = true
	k.snap = map[int][]netip.Prefix{2: append([]netip.Prefix{}, ps...)}
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
	// congestion counts Congestion calls; first is the last schedule's
	// FirstRound.
	congestion int
	first      func()
}

func (a *announcer) Announce(key string, s announce.Sender, mac net.HardwareAddr, vips []netip.Addr, sch announce.Schedule) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.announce = append(a.announce, slices.Clone(vips))
	a.first = sch.FirstRound
}
func (a *announcer) Ready(string, []netip.Addr) {}
func (a *announcer) Congestion() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.congestion++
}
func (a *announcer) Delivered() {}

func (a *announcer) Outcome(sent time.Time, lost bool) {
	if lost {
		a.Congestion()
	}
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

// TestL2DeletedBeforeItsAddWasSeen: the kernel's events lag (a busy
// machine): the VIPs were added, and one was deleted by an operator before
// the Presenter read the event of its add. The add events confirm the adds
// even though the snapshot no longer has that VIP: it is restored and
// reported at once, not re-added silently after confirmWait.
func TestL2DeletedBeforeItsAddWasSeen(t *testing.T) {
	f := newFixture(t)
	f.k.freezeAs() // the snapshot shows nothing yet
	f.p.TakeOver(t0)
	waitFor(t, "VIPs added", func() bool { return f.held() == 3 })
	f.k.addrs.Set(2, vips[0], vips[2]) // the operator's del
	f.k.freezeAs(vips[0], vips[2])     // the snapshot catches up ...
	f.p.Reconcile(vips...)             // ... with the three add events
	r := f.report(t)
	if rs, ok := r.(Restored); !ok || !slices.Equal(rs.VIPs, vips[1:2]) {
		t.Fatalf("report %#v, want Restored %v", r, vips[1])
	}
	waitFor(t, "restored", func() bool { return f.held() == 3 })
}

// TestL2StaleIsCongestion: a VIP found stale after its announcement tells
// the pacer, once per incident, and so does each repair found lost (with
// when it left); a stale verdict after repairs leaves that to the repair's
// outcome; and every schedule reports its first round.
func TestL2StaleIsCongestion(t *testing.T) {
	f := newFixture(t)
	f.p.TakeOver(t0)
	waitFor(t, "announced", func() bool { n, _, _ := f.ann.counts(); return n == 1 })
	f.ann.mu.Lock()
	first := f.ann.first
	f.ann.mu.Unlock()
	if first == nil {
		t.Fatal("the takeover's schedule has no FirstRound")
	}
	first() // as the pacer would: wakes the Presenter; must not block or panic
	st := verify.VIPStatus{VIP: vips[0].Addr(), State: verify.Stale}
	f.p.verifyEvent(verify.StateChanged{Status: st, From: verify.Verified})
	f.p.verifyEvent(verify.StateChanged{Status: st, From: verify.Stale})                                          // the same incident
	f.p.verifyEvent(verify.RemediationSent{VIP: vips[0].Addr(), Kind: announce.KindGratuitousRequest, Frames: 2}) // no evidence yet
	f.p.verifyEvent(verify.RungOutcome{VIP: vips[0].Addr(), Sent: t0, Lost: true})                                // still stale after it
	f.p.verifyEvent(verify.RungOutcome{VIP: vips[0].Addr(), Sent: t0, Lost: false})
	repaired := verify.VIPStatus{VIP: vips[0].Addr(), State: verify.Stale, Attempts: 1}
	f.p.verifyEvent(verify.StateChanged{Status: repaired, From: verify.Unverifiable}) // judged by the rung's outcome
	f.ann.mu.Lock()
	n := f.ann.congestion
	f.ann.mu.Unlock()
	if n != 2 { // the first stale verdict, and the lost repair
		t.Fatalf("%d congestion reports, want 2", n)
	}
	for len(f.reports) > 0 {
		<-f.reports
	}
}

// A takeover that is released again before the kernel's events reported
// its addresses (a master for a few milliseconds: a spurious takeover of a
// starved backup, preempted at once) must still remove them. They are
// vipd's: left behind, the backup would answer for the VIPs as a second
// owner, and report them as someone else's (found by the e2e rolling
// tests under CPU stress).
func TestL2ReleaseBeforeTheKernelReportedTheAdd(t *testing.T) {
	f := newFixture(t)
	f.k.freeze(2)
	f.p.TakeOver(t0)
	waitFor(t, "VIPs added", func() bool { return f.held() == 3 })
	f.p.Release(watch.Owner{Node: "192.0.2.12"})
	waitFor(t, "VIPs removed although their add was never reported", func() bool { return f.held() == 0 })
	f.k.thaw()
	f.p.Reconcile()
	waitFor(t, "ledger emptied", func() bool { return f.led.len() == 0 })
	f.clock.Advance(time.Minute)
	f.p.Reconcile()
	if f.held() != 0 {
		t.Fatalf("left on the backup: %v", f.k.addrs.Addresses(2))
	}
	for {
		select {
		case r := <-f.reports:
			if u, ok := r.(Unexpected); ok {
				t.Fatalf("its own VIPs reported as unexpected: %v", u.VIPs)
			}
			continue
		default:
		}
		break
	}
	if st := f.p.Status(); st.Unexpected != 0 {
		t.Fatalf("unexpected counter %d", st.Unexpected)
	}
}

// TestL2ChunkedAddIsAllOrNothing: a takeover adds its VIPs a chunk at a
// time (each chunk announced as soon as it is there); a failure in a later
// chunk removes the chunks added before, so nothing is half-configured.
func TestL2ChunkedAddIsAllOrNothing(t *testing.T) {
	f := newFixture(t)
	var many []netip.Prefix
	for i := range 300 {
		many = append(many, netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(1 + i/256), byte(i % 256)}), 16))
	}
	f.p.SetVIPs(Settings{VIPs: many})
	f.k.addrs.Fail(vipaddrtest.OpAdd, many[260], errors.New("injected")) // in the third chunk
	f.p.TakeOver(t0)
	for {
		if _, ok := f.report(t).(AddFailed); ok {
			break
		}
	}
	if n := len(f.k.addrs.Addresses(2)); n != 0 {
		t.Fatalf("%d VIPs left after a failed chunked add", n)
	}
	f.ann.mu.Lock()
	cancels := f.ann.cancels
	f.ann.mu.Unlock()
	if cancels == 0 {
		t.Fatal("the takeover's announcements were not cancelled")
	}
	f.k.addrs.ClearFailures()
	f.p.TakeOver(t0.Add(time.Minute))
	waitFor(t, "all 300 added on the next takeover", func() bool { return len(f.k.addrs.Addresses(2)) == 300 })
	for len(f.reports) > 0 {
		<-f.reports
	}
}

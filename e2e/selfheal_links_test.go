package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/labnet"
)

// The self-healing tests: what happens behind vipd's back on a node — its
// interface set down and up (`ip link set`), its VIPs deleted or flushed
// (`ip addr del/flush`), a VIP added by hand on a backup — and that the
// daemon, woken by the kernel's link and address events, puts the cluster
// back without help: one holder per VIP, the right master, nobody deaf.

// shAdvert is the advertisement interval of every instance here.
const shAdvert = 100 * time.Millisecond

// shSlack is the scheduling slack of every bound here: the race-built
// daemon on a busy two-CPU CI machine.
const shSlack = time.Second

// shSettle is how long a test watches a pair settle after a disturbance:
// 30 advertisement intervals, more than eight of B's
// Master_Down_Interval, and longer than the Presenter's confirmWait (2 s)
// after which it would redo an unconfirmed add or remove.
const shSettle = 30 * shAdvert

// shPair is a lab with 10 IPv4 VIPs, A (priority 200) master and B (100)
// backup, both with preemption (the default).
type shPair struct {
	lab    *labnet.Lab
	vips   []netip.Addr
	a, b   *labnet.Host
	na, nb relNode
	// evA and evB are the nodes' events from their start on.
	evA, evB *eventLog
	wire     *shWire
	// config renders a node's configuration (its state directory kept,
	// for a reload).
	config func(node string, prio int) string
}

func newSHPair(t *testing.T) shPair {
	t.Helper()
	lab := newLab(t, labnet.Options{})
	vips, err := lab.VIPs4(10)
	if err != nil {
		t.Fatal(err)
	}
	stateDirs := map[string]string{"a": t.TempDir(), "b": t.TempDir()}
	s := shPair{lab: lab, vips: vips, a: lab.Nodes[0], b: lab.Nodes[1]}
	s.config = func(node string, prio int) string {
		return relConfig(node, stateDirs[node], relInstance{name: "v4", vrid: 42, prio: prio,
			advert: shAdvert.String(), vips: relWithBits(vips, lab.LAN4.Bits())})
	}
	s.wire = shCapture(t, lab)
	s.na, s.nb = newRelNode(t, s.a, s.config("a", 200)), newRelNode(t, s.b, s.config("b", 100))
	s.na.start()
	s.na.waitState("v4", "MASTER", 10*time.Second)
	waitFor(t, "the capture on the switch sees A's advertisements", 5*time.Second, func() bool {
		g, _ := s.wire.gap(s.a.Addr4.Addr(), time.Now().Add(-time.Second), time.Now())
		return g < 3*shAdvert
	})
	s.evA = s.na.subscribe(t)
	s.nb.start()
	s.nb.waitState("v4", "BACKUP", 10*time.Second)
	s.evB = s.nb.subscribe(t)
	waitFor(t, "A holds every VIP", 5*time.Second, func() bool { return hasAll(t, s.a, vips) })
	return s
}

// prefix is a VIP as configured (the LAN's prefix length).
func (s shPair) prefix(v netip.Addr) netip.Prefix { return netip.PrefixFrom(v, s.lab.LAN4.Bits()) }

// noTakeoverByB fails the test if B took over from A since an instant,
// and shows what the wire and the CPU pressure say about each takeover.
func (s shPair) noTakeoverByB(t *testing.T, since time.Time, what string) {
	t.Helper()
	if ms := shStateEvents(s.evB, "MASTER", since); len(ms) > 0 {
		t.Errorf("%s: B became master %d times; B's transitions: %v%s", what, len(ms), s.nb.logSummary("v4"),
			s.wire.explainTakeovers(ms, s.a.Addr4.Addr(), masterDown(100, shAdvert)))
	}
}

// prober starts probing every VIP from the client every 10 ms and waits
// until the client reaches all of them.
func (s shPair) prober(t *testing.T) *labnet.Prober {
	t.Helper()
	p, err := s.lab.NewProber(s.vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx)
	t.Cleanup(func() { p.Stop(); cancel() })
	waitFor(t, "client reaches every VIP", 10*time.Second, p.AllReachable)
	return p
}

// shIP runs ip(8) in h's namespace.
func shIP(t *testing.T, h *labnet.Host, args ...string) {
	t.Helper()
	if out, err := h.Run(context.Background(), "ip", args...); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}

// shLinkDown sets h's LAN interface administratively down, inside h.
func shLinkDown(t *testing.T, h *labnet.Host) time.Time {
	t.Helper()
	at := time.Now()
	shIP(t, h, "link", "set", h.Iface, "down")
	return at
}

// shLinkUp sets h's LAN interface up again. Setting an interface down
// deleted the IPv4 routes through it, the default route too, and nothing
// puts that back but the host's network configuration (ifupdown, networkd)
// — which the lab does not run; the test does its part, so that A can
// answer the client behind the router again. vipd does not manage routes.
func shLinkUp(t *testing.T, lab *labnet.Lab, h *labnet.Host) time.Time {
	t.Helper()
	at := time.Now()
	shIP(t, h, "link", "set", h.Iface, "up")
	shIP(t, h, "-4", "route", "replace", "default", "via", lab.Router.Addr4.Addr().String(), "dev", h.Iface)
	return at
}

// shStateEvents returns instance v4's transitions to state (any state for
// "") published at or after since.
func shStateEvents(l *eventLog, to string, since time.Time) []control.Event {
	evs, _ := l.snapshot()
	var out []control.Event
	for _, e := range evs {
		if e.Type == control.EventState && e.Instance == "v4" && e.Fields["to"] != "" &&
			(to == "" || e.Fields["to"] == to) && !e.Time.Before(since) {
			out = append(out, e)
		}
	}
	return out
}

// shAddressEvents returns the "address" events of instance v4 with the
// message published at or after since, by VIP.
func shAddressEvents(l *eventLog, msg string, since time.Time) map[string]int {
	evs, _ := l.snapshot()
	m := map[string]int{}
	for _, e := range evs {
		if e.Type == control.EventAddress && e.Instance == "v4" && e.Message == msg && !e.Time.Before(since) {
			m[e.VIP]++
		}
	}
	return m
}

// shWire records the VRRP advertisements crossing the lab's switch, with
// the kernel's capture timestamps (tcpdump in the switch's namespace): when
// a backup takes over although it should not have, the wire tells whether
// the master was silent (it stalled) or the backup missed advertisements
// that were there.
type shWire struct {
	mu   sync.Mutex // guards seen
	seen []shAdv
}

type shAdv struct {
	at   time.Time
	src  netip.Addr
	prio int
}

func shCapture(t *testing.T, lab *labnet.Lab) *shWire {
	t.Helper()
	w := &shWire{}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := lab.Switch.Command(ctx, "tcpdump", "-i", lab.Switch.Iface, "-n", "-l", "-tt", "--immediate-mode", "-p", "ip proto 112")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(errOut)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "listening on") {
				once = true
				close(listening)
			}
		}
		if !once {
			close(listening)
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			// 1733515000.123456 IP 192.0.2.11 > 224.0.0.18: VRRPv3, Advertisement, vrid 42, prio 200, intvl 10cs, length 48
			f := strings.Fields(strings.ReplaceAll(sc.Text(), ",", ""))
			if len(f) < 3 || f[1] != "IP" {
				continue
			}
			sec, err := strconv.ParseFloat(f[0], 64)
			src, err2 := netip.ParseAddr(f[2])
			if err != nil || err2 != nil {
				continue
			}
			a := shAdv{at: time.Unix(0, int64(sec*1e9)), src: src, prio: -1}
			for i := range f[:len(f)-1] {
				if f[i] == "prio" {
					a.prio, _ = strconv.Atoi(f[i+1])
				}
			}
			w.mu.Lock()
			w.seen = append(w.seen, a)
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); cmd.Wait(); <-done })
	select {
	case <-listening:
	case <-time.After(5 * time.Second):
		t.Fatal("tcpdump did not start listening")
	}
	return w
}

// gap returns the longest time without an advertisement from src (any
// priority but 0) in the window [from, to], and when it began.
func (w *shWire) gap(src netip.Addr, from, to time.Time) (time.Duration, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	last := from
	var longest time.Duration
	var began time.Time
	for _, a := range w.seen {
		if a.src != src || a.prio == 0 || a.at.Before(from) {
			continue
		}
		if a.at.After(to) {
			break
		}
		if d := a.at.Sub(last); d > longest {
			longest, began = d, last
		}
		last = a.at
	}
	if d := to.Sub(last); d > longest {
		longest, began = d, last
	}
	return longest, began
}

// explainTakeovers describes, for each of a node's transitions to MASTER
// since an instant, what the wire showed of the master it replaced (src):
// its longest silence in the Master_Down_Interval (plus slack) before.
func (w *shWire) explainTakeovers(evs []control.Event, src netip.Addr, md time.Duration) string {
	var b strings.Builder
	for _, e := range evs {
		g, began := w.gap(src, e.Time.Add(-md-shSlack), e.Time)
		fmt.Fprintf(&b, "\n  %s at %s (reason %s): %s's longest silence on the wire before it %v (from %s); CPU pressure: %s",
			e.Message, e.Time.Format("15:04:05.000"), e.Fields["reason"], src, g.Round(time.Millisecond),
			began.Format("15:04:05.000"), shPressure())
	}
	return b.String()
}

// shPressure is the kernel's CPU pressure line (PSI), "" without PSI.
func shPressure() string {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return ""
	}
	l, _, _ := strings.Cut(string(b), "\n")
	return l
}

// TestIntegrationLinkFlapBackup sets the backup's own LAN interface down
// for 0.5 s and up again (`ip link set` inside B), once and then three
// times in a row. B must go to FAULT (reason interface) while its link is
// down, come back as BACKUP, hear A's advertisements again — its VRRP
// socket failed with ENETDOWN when the link went down — and never become
// master: a reader that died with the socket would leave B deaf, and B
// would take every VIP over after its Master_Down_Interval while A still
// holds them.
func TestIntegrationLinkFlapBackup(t *testing.T) {
	s := newSHPair(t)
	p := s.prober(t)
	trA := s.na.inst("v4").Counters.Transitions
	const down, upFor = 500 * time.Millisecond, 500 * time.Millisecond

	for _, flaps := range []int{1, 3} {
		t.Logf("%d flap(s) of B's link, %v down", flaps, down)
		start := time.Now()
		nz := watchNoise(netip.Addr{})
		var downs, ups []time.Time
		sawFault := 0 // flaps during which `vipd status` showed FAULT (interface)
		for i := range flaps {
			if i > 0 {
				time.Sleep(upFor)
			}
			downAt := shLinkDown(t, s.b)
			downs = append(downs, downAt)
			if waitUntil(down, func() bool {
				in := s.nb.inst("v4")
				return in.State == "FAULT" && strings.Join(in.FaultReasons, ",") == "interface"
			}) {
				sawFault++
			}
			time.Sleep(time.Until(downAt.Add(down)))
			ups = append(ups, shLinkUp(t, s.lab, s.b))
		}
		rx0 := s.nb.inst("v4").Counters.AdvertsReceived
		lastUp := ups[len(ups)-1]
		time.Sleep(shSettle)

		// While down: FAULT for the interface, once per flap, each before
		// the link came back.
		faults := shStateEvents(s.evB, "FAULT", start)
		if len(faults) != flaps {
			t.Errorf("B went to FAULT %d times during %d flaps, want %d; events:\n%s", len(faults), flaps, flaps, s.evB.dump())
		}
		for i, e := range faults {
			if i >= flaps {
				break
			}
			t.Logf("flap %d: B in FAULT (%s) %v after its link went down", i+1, e.Fields["faults"], e.Time.Sub(downs[i]).Round(time.Millisecond))
			if e.Fields["faults"] != "interface" {
				t.Errorf("flap %d: B in FAULT for %q, want interface", i+1, e.Fields["faults"])
			}
			if e.Time.After(ups[i]) {
				t.Errorf("flap %d: B went to FAULT %v after its link was set up again, want while it was down", i+1, e.Time.Sub(ups[i]))
			}
		}
		t.Logf("`vipd status` showed B in FAULT (interface) during %d of %d flaps", sawFault, flaps)
		// Back: FAULT -> BACKUP after each flap, and never MASTER.
		backs := shStateEvents(s.evB, "BACKUP", start)
		if len(backs) != flaps {
			t.Errorf("B returned to BACKUP %d times after %d flaps, want %d", len(backs), flaps, flaps)
		}
		for i, e := range backs {
			if i < len(ups) {
				t.Logf("flap %d: B %s %v after its link was set up", i+1, e.Message, e.Time.Sub(ups[i]).Round(time.Millisecond))
			}
		}
		s.noTakeoverByB(t, start, fmt.Sprintf("%d flap(s) of B's link", flaps))
		if n := s.nb.logTransitions("v4", "MASTER"); n != 0 {
			t.Errorf("B's log shows it becoming master %d times", n)
		}
		if !s.nb.logHas(" instance=v4 ", "link down") {
			t.Error("B's log does not report its link going down")
		}

		// Settled: A master throughout, B backup and hearing A again.
		sa, sb := s.na.inst("v4"), s.nb.inst("v4")
		if sa.State != "MASTER" || sa.Counters.Transitions != trA {
			t.Errorf("A is %s after %d transitions, want MASTER throughout", sa.State, sa.Counters.Transitions-trA)
		}
		if sb.State != "BACKUP" || len(sb.FaultReasons) != 0 {
			t.Errorf("B is %s (faults %v) %v after its link came back, want BACKUP", sb.State, sb.FaultReasons, shSettle)
		}
		// A advertises every 100 ms: 30 in the settle window; a third of
		// them is plenty to tell a live reader from a dead one.
		heard := sb.Counters.AdvertsReceived - rx0
		t.Logf("B received %d of A's advertisements in the %v after its link came back (read errors so far %d)",
			heard, shSettle, sb.Counters.ReadErrors)
		if want := uint64(shSettle / shAdvert / 3); heard < want {
			t.Errorf("B received %d advertisements in the %v after its link came back, want at least %d: deaf", heard, shSettle, want)
		}
		if sb.Master == nil || sb.Master.Address != s.a.Addr4.Addr().String() {
			t.Errorf("B sees master %+v, want A (%s)", sb.Master, s.a.Addr4.Addr())
		}
		relCheckOneHolder(t, []*labnet.Host{s.a, s.b}, s.vips)
		if !holdsNone(t, s.b, s.vips) {
			t.Error("B holds VIPs")
		}
		assertNoLoss(t, p, nz, start, s.vips, fmt.Sprintf("client during %d flap(s) of B's link", flaps))
		g, _ := s.wire.gap(s.a.Addr4.Addr(), start, time.Now())
		t.Logf("wire: A's longest silence during the flaps and the settle window %v", g.Round(time.Millisecond))
		if time.Since(lastUp) < shSettle {
			t.Fatal("settle window cut short")
		}
	}
}

// TestIntegrationLinkFlapMaster sets the master's own LAN interface down
// for 0.5 s and up again (inside A). A goes to FAULT and releases its
// VIPs; B may take over meanwhile. Once A's link is back, A (higher
// priority, preempting) must be master again, B backup, every VIP on
// exactly one node and reachable from the client. Then nobody may be deaf:
// B, reloaded with priority 250, preempts A — A must hear it and step
// down (a deaf A would stay master next to B); B, back at 100, hands back
// to A; and when A's daemon stops, B takes over within its
// Master_Down_Interval.
func TestIntegrationLinkFlapMaster(t *testing.T) {
	s := newSHPair(t)
	p := s.prober(t)
	const down = 500 * time.Millisecond

	downAt := shLinkDown(t, s.a)
	limitFault := shAdvert + shSlack
	if !waitUntil(limitFault, func() bool { return s.na.state("v4") == "FAULT" }) {
		t.Fatalf("A is %s %v after its link went down, want FAULT", s.na.state("v4"), limitFault)
	}
	if r := s.na.inst("v4").FaultReasons; strings.Join(r, ",") != "interface" {
		t.Errorf("A in FAULT for %v, want [interface]", r)
	}
	time.Sleep(time.Until(downAt.Add(down)))
	bDuring := s.nb.state("v4")
	upAt := shLinkUp(t, s.lab, s.a)
	t.Logf("A's link down for %v; B was %s when it came back", upAt.Sub(downAt).Round(time.Millisecond), bDuring)

	// A listens for a Master_Down_Interval after its link returns, then
	// preempts B (or simply claims, if B had not taken over yet).
	mdA := masterDown(200, shAdvert)
	waitFor(t, "A MASTER and B BACKUP after the flap", mdA+shAdvert+5*time.Second, func() bool {
		return s.na.state("v4") == "MASTER" && s.nb.state("v4") == "BACKUP"
	})
	sa := s.na.inst("v4")
	backAt := sa.Counters.LastTransition
	took := backAt.Sub(upAt)
	t.Logf("A master again %v after its link was set up (Master_Down_Interval %v); A: %v; B: %v",
		took.Round(time.Millisecond), mdA.Round(time.Millisecond), s.na.logSummary("v4"), s.nb.logSummary("v4"))
	if limit := mdA + shSlack; took > limit {
		t.Errorf("A master again %v after its link came back, want within %v", took, limit)
	}
	if fs := shStateEvents(s.evA, "FAULT", downAt); len(fs) != 1 {
		t.Errorf("A went to FAULT %d times, want once", len(fs))
	} else {
		t.Logf("A in FAULT %v after its link went down", fs[0].Time.Sub(downAt).Round(time.Millisecond))
	}
	if ms := shStateEvents(s.evB, "MASTER", downAt); len(ms) > 0 {
		t.Logf("B took over during the flap, %v after A's link went down", ms[0].Time.Sub(downAt).Round(time.Millisecond))
	}
	waitFor(t, "B releases every VIP", 5*time.Second, func() bool { return holdsNone(t, s.b, s.vips) })
	waitFor(t, "A holds every VIP", 5*time.Second, func() bool { return hasAll(t, s.a, s.vips) })
	relCheckOneHolder(t, []*labnet.Host{s.a, s.b}, s.vips)
	rs := waitRecovered(t, p, upAt, 10*time.Second)
	worst, worstGap := time.Duration(0), time.Duration(0)
	for _, r := range p.Results(downAt) {
		worst, worstGap = max(worst, clientOutage(r)), max(worstGap, r.MaxGap)
	}
	t.Logf("client: every VIP reachable at A again; since the link went down longest outage %v, longest gap %v (%d VIPs)",
		worst.Round(time.Millisecond), worstGap.Round(time.Millisecond), len(rs))

	// Nobody is deaf. First a quiet while: A master, B backup.
	time.Sleep(shSettle)
	s.noTakeoverByB(t, backAt.Add(time.Millisecond), "after A took its VIPs back")
	if sa, sb := s.na.inst("v4"), s.nb.inst("v4"); sa.State != "MASTER" || sb.State != "BACKUP" {
		t.Fatalf("%v after the flap A is %s and B %s", shSettle, sa.State, sb.State)
	}
	reload := func(prio int) time.Time {
		t.Helper()
		writeConfig(t, s.nb.vipdNode, s.config("b", prio))
		at := time.Now()
		resp, err := s.nb.call("reload", nil)
		if err == nil {
			err = resp.Err()
		}
		if err != nil {
			t.Fatalf("reload B with priority %d: %v", prio, err)
		}
		return at
	}
	// B at priority 250 preempts A: A must hear B's advertisement.
	at := reload(250)
	mdB250 := masterDown(250, shAdvert)
	waitFor(t, "B (priority 250) preempts A, and A steps down", mdB250+shAdvert+5*time.Second, func() bool {
		return s.nb.state("v4") == "MASTER" && s.na.state("v4") == "BACKUP"
	})
	sa = s.na.inst("v4")
	stepped := sa.Counters.LastTransition.Sub(at)
	t.Logf("A heard B's priority 250 and stepped down %v after B's reload (B's Master_Down_Interval %v; reason %s)",
		stepped.Round(time.Millisecond), mdB250.Round(time.Millisecond), sa.Counters.LastTransitionReason)
	if limit := mdB250 + shAdvert + shSlack; stepped > limit {
		t.Errorf("A stepped down %v after B's reload to priority 250, want within %v", stepped, limit)
	}
	if sa.Master == nil || sa.Master.Address != s.b.Addr4.Addr().String() || sa.Master.Priority != 250 {
		t.Errorf("A sees master %+v, want B (%s) at priority 250", sa.Master, s.b.Addr4.Addr())
	}
	waitFor(t, "A releases every VIP to B", 5*time.Second, func() bool { return holdsNone(t, s.a, s.vips) && hasAll(t, s.b, s.vips) })

	// B back at 100: A preempts, B must hear it.
	reload(100)
	waitFor(t, "A preempts B (priority 100) again", masterDown(200, shAdvert)+shAdvert+5*time.Second, func() bool {
		return s.na.state("v4") == "MASTER" && s.nb.state("v4") == "BACKUP"
	})
	waitFor(t, "B releases every VIP to A", 5*time.Second, func() bool { return holdsNone(t, s.b, s.vips) && hasAll(t, s.a, s.vips) })
	relCheckOneHolder(t, []*labnet.Host{s.a, s.b}, s.vips)
	waitFor(t, "client reaches every VIP at A", 5*time.Second, p.AllReachable)

	// A's daemon stops: it removes its VIPs (every one, also one whose
	// add the kernel has not reported yet), and B takes over.
	stopAt := time.Now()
	s.na.stop()
	if hs := relHolders(t, []*labnet.Host{s.a}, s.vips); len(hs) > 0 {
		t.Errorf("A's graceful stop left VIPs on A: %v", hs)
	}
	mdB := masterDown(100, shAdvert)
	waitFor(t, "B master after A stopped", mdB+shSlack+5*time.Second, func() bool { return s.nb.state("v4") == "MASTER" })
	sb := s.nb.inst("v4")
	tookOver := sb.Counters.LastTransition.Sub(stopAt)
	t.Logf("A stopped: B master %v later (reason %s; Master_Down_Interval %v)",
		tookOver.Round(time.Millisecond), sb.Counters.LastTransitionReason, mdB.Round(time.Millisecond))
	if limit := mdB + shSlack; tookOver > limit {
		t.Errorf("B master %v after A stopped, want within %v", tookOver, limit)
	}
	if !waitUntil(5*time.Second, func() bool { return hasAll(t, s.b, s.vips) && holdsNone(t, s.a, s.vips) }) {
		t.Fatalf("after A stopped: holders %v, want B alone", relHolders(t, []*labnet.Host{s.a, s.b}, s.vips))
	}
	waitFor(t, "client reaches every VIP at B", 5*time.Second, p.AllReachable)
}

// TestIntegrationAddrDelRestored removes VIPs from the master behind
// vipd's back: one with `ip addr del`, then all ten at once (one `ip
// -batch` of ten deletes), then with `ip -4 addr flush dev IFACE
// secondary`. The last is a network manager's flush limited to the
// secondary addresses: the VIPs are in the LAN's prefix, so A's own
// address is that prefix's primary and every VIP a secondary — a bare
// `ip addr flush` would also take A's own address (and, with it, every
// secondary at once), which vipd does not own and must not put back. ip
// repeats a flush while matching addresses remain (up to ten rounds), so
// it also deletes VIPs that vipd has just put back. Each time A must put
// every VIP back within an advertisement interval (plus slack), count it
// (vips_restored), publish an "address"/"restored" event per VIP, stay
// master without a transition, and the client must reach every VIP again.
func TestIntegrationAddrDelRestored(t *testing.T) {
	s := newSHPair(t)
	p := s.prober(t)
	tr0 := s.na.inst("v4").Counters.Transitions
	limit := shAdvert + shSlack

	// restoredWithin waits until A holds every one of vips again, and
	// checks that none was still missing later than limit after since.
	restoredWithin := func(what string, since time.Time, vips []netip.Addr) {
		t.Helper()
		lastMissing := map[netip.Addr]time.Time{}
		for {
			ps, err := s.a.Addrs()
			if err != nil {
				t.Fatal(err)
			}
			now, have := time.Now(), map[netip.Addr]bool{}
			for _, a := range ps {
				have[a.Addr()] = true
			}
			all := true
			for _, v := range vips {
				if !have[v] {
					lastMissing[v], all = now, false
				}
			}
			if all {
				break
			}
			if now.Sub(since) > limit+5*time.Second {
				t.Fatalf("%s: A did not put the VIPs back (holders %v)", what, relHolders(t, []*labnet.Host{s.a, s.b}, vips))
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%s: every VIP back on A %v after the removal started", what, time.Since(since).Round(time.Millisecond))
		var late []string
		restored := shAddressEvents(s.evA, "restored", since)
		for _, v := range vips {
			if d := lastMissing[v].Sub(since); d > limit {
				late = append(late, fmt.Sprintf("%s (missing until %v; %d restored events)", v, d.Round(time.Millisecond), restored[s.prefix(v).String()]))
			}
		}
		if len(late) > 0 {
			t.Errorf("%s: VIPs missing from A longer than %v: %v", what, limit, late)
		}
	}
	counter := func() uint64 { return s.na.inst("v4").Counters.VIPsRestored }
	check := func(what string, since time.Time, vips []netip.Addr, wantAtLeast, wantAtMost uint64, before uint64) {
		t.Helper()
		var got uint64
		if !waitUntil(limit, func() bool { got = counter() - before; return got >= wantAtLeast }) {
			t.Errorf("%s: vips_restored went up by %d, want at least %d", what, got, wantAtLeast)
		}
		if got > wantAtMost {
			t.Errorf("%s: vips_restored went up by %d, want at most %d", what, got, wantAtMost)
		}
		var evs map[string]int
		if !waitUntil(limit, func() bool {
			evs = shAddressEvents(s.evA, "restored", since)
			for _, v := range vips {
				if evs[s.prefix(v).String()] == 0 {
					return false
				}
			}
			return true
		}) {
			t.Errorf("%s: \"restored\" events %v, want one for each of %v", what, evs, vips)
		}
		n := 0
		for _, c := range evs {
			n += c
		}
		t.Logf("%s: vips_restored +%d, %d restored events", what, got, n)
		if in := s.na.inst("v4"); in.State != "MASTER" || in.Counters.Transitions != tr0 {
			t.Errorf("%s: A is %s after %d transitions, want MASTER throughout", what, in.State, in.Counters.Transitions-tr0)
		}
		for _, v := range s.na.inst("v4").VIPs {
			if !v.Held {
				t.Errorf("%s: A's status shows %s not held", what, v.Address)
			}
		}
		s.noTakeoverByB(t, since, what)
		if !holdsNone(t, s.b, s.vips) {
			t.Errorf("%s: B holds VIPs", what)
		}
		relCheckOneHolder(t, []*labnet.Host{s.a, s.b}, s.vips)
		rs := waitRecovered(t, p, since, 5*time.Second)
		worst := time.Duration(0)
		for _, r := range rs {
			worst = max(worst, clientOutage(r))
		}
		t.Logf("%s: client reaches every VIP; longest outage %v", what, worst.Round(time.Millisecond))
		if worst > limit {
			t.Errorf("%s: the client lost a VIP for %v, want at most %v", what, worst, limit)
		}
	}

	// One VIP.
	one := s.vips[3]
	before := counter()
	at := time.Now()
	shIP(t, s.a, "addr", "del", s.prefix(one).String(), "dev", s.a.Iface)
	restoredWithin("ip addr del "+one.String(), at, []netip.Addr{one})
	check("ip addr del "+one.String(), at, []netip.Addr{one}, 1, 1, before)
	if !s.na.logHas(" instance=v4 ", "restored", "vip="+s.prefix(one).String()) {
		t.Errorf("A's log does not report restoring %s", one)
	}

	// All ten in one go: one ip process, one netlink request per VIP.
	var batch strings.Builder
	for _, v := range s.vips {
		fmt.Fprintf(&batch, "addr del %s dev %s\n", s.prefix(v), s.a.Iface)
	}
	before = counter()
	at = time.Now()
	cmd := s.a.Command(context.Background(), "ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -batch (10 addr del): %v: %s", err, out)
	}
	restoredWithin("10 × ip addr del", at, s.vips)
	check("10 × ip addr del", at, s.vips, 10, 10, before)

	// A flush of the secondaries: first check that they are the VIPs.
	out, err := s.a.Run(context.Background(), "ip", "-4", "-o", "addr", "show", "dev", s.a.Iface)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		own := strings.Contains(l, " "+s.a.Addr4.String()+" ")
		if own == strings.Contains(l, " secondary ") {
			t.Fatalf("A's own address is not the LAN prefix's primary, or a VIP not a secondary:\n%s", out)
		}
	}
	before = counter()
	at = time.Now()
	out, err = s.a.Run(context.Background(), "ip", "-4", "addr", "flush", "dev", s.a.Iface, "secondary")
	t.Logf("ip -4 addr flush dev %s secondary: err %v %s", s.a.Iface, err, strings.TrimSpace(string(out)))
	restoredWithin("ip addr flush secondary", at, s.vips)
	check("ip addr flush secondary", at, s.vips, 10, 10*10, before)
	if ok, _ := s.a.HasAddrs(s.a.Addr4.Addr()); !ok {
		t.Errorf("A's own address %s is gone", s.a.Addr4)
	}
}

// TestIntegrationUnexpectedOnBackup adds one of the VIPs by hand on the
// backup (`ip addr add` of the configured prefix). vipd on B did not add
// it: it must report it once (an "address"/"unexpected" event,
// vips_unexpected 1) within an advertisement interval plus slack, and
// leave it alone — still there after a settle window longer than the
// Presenter's confirmWait — without a transition on either node. The test
// removes it by hand afterwards.
func TestIntegrationUnexpectedOnBackup(t *testing.T) {
	s := newSHPair(t)
	v := s.vips[0]
	pfx := s.prefix(v)
	trA, trB := s.na.inst("v4").Counters.Transitions, s.nb.inst("v4").Counters.Transitions
	limit := shAdvert + shSlack

	at := time.Now()
	if err := s.b.AddAddrs(pfx); err != nil {
		t.Fatal(err)
	}
	e := s.evB.wait(t, "B reports "+pfx.String()+" as unexpected", limit+5*time.Second, func(e control.Event) bool {
		return e.Type == control.EventAddress && e.Instance == "v4" && e.Message == "unexpected" && e.VIP == pfx.String()
	})
	took := e.Time.Sub(at)
	t.Logf("B reported %s as unexpected %v after it was added", pfx, took.Round(time.Millisecond))
	if took > limit {
		t.Errorf("B reported the unexpected VIP %v after it was added, want within %v", took, limit)
	}
	waitFor(t, "B's vips_unexpected 1", limit, func() bool { return s.nb.inst("v4").Counters.VIPsUnexpected >= 1 })
	if !s.nb.logHas(" instance=v4 ", "not master", "vip="+pfx.String()) {
		t.Error("B's log does not report the unexpected VIP")
	}

	time.Sleep(shSettle)
	sa, sb := s.na.inst("v4"), s.nb.inst("v4")
	s.noTakeoverByB(t, at, "with the VIP added by hand on B")
	if n := sb.Counters.VIPsUnexpected; n != 1 {
		t.Errorf("B's vips_unexpected is %d %v after the VIP was added, want 1 (reported once)", n, shSettle)
	}
	if evs := shAddressEvents(s.evB, "unexpected", at); len(evs) != 1 || evs[pfx.String()] != 1 {
		t.Errorf("B's unexpected events: %v, want one for %s", evs, pfx)
	}
	if ok, _ := s.b.HasAddrs(v); !ok {
		t.Errorf("B removed %s, which the operator added", pfx)
	}
	if s.nb.logHas(" instance=v4 ", "VIPs removed") {
		t.Error("B's log shows it removing VIPs")
	}
	if sb.State != "BACKUP" || sb.Counters.Transitions != trB {
		t.Errorf("B is %s after %d transitions, want BACKUP throughout", sb.State, sb.Counters.Transitions-trB)
	}
	if sa.State != "MASTER" || sa.Counters.Transitions != trA || !hasAll(t, s.a, s.vips) {
		t.Errorf("A is %s after %d transitions (holds every VIP: %v), want MASTER throughout", sa.State,
			sa.Counters.Transitions-trA, hasAll(t, s.a, s.vips))
	}
	for _, vs := range sa.VIPs {
		if vs.Address == pfx.String() {
			t.Logf("A's view of %s: held %v, conflict MAC %q (B's MAC %s)", vs.Address, vs.Held, vs.ConflictMAC, s.b.MAC)
		}
	}

	// The operator takes it away again.
	if err := s.b.DelAddrs(pfx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the VIP gone from B", 2*time.Second, func() bool { return holdsNone(t, s.b, s.vips) })
	time.Sleep(5 * shAdvert)
	relCheckOneHolder(t, []*labnet.Host{s.a, s.b}, s.vips)
	if sa, sb := s.na.inst("v4"), s.nb.inst("v4"); sa.State != "MASTER" || sb.State != "BACKUP" {
		t.Errorf("after the VIP was removed by hand A is %s and B %s", sa.State, sb.State)
	}
}

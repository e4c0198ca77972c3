package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
//
// The pair advertises every 100 ms, so a daemon starved of CPU for a
// Master_Down_Interval (361 ms for B) on a busy machine makes B take over
// as RFC 5798 says it must. A capture on the switch tells that apart from
// a deaf or impatient B: see shPair.phase.

// lkAdvert is the advertisement interval of every instance here.
const lkAdvert = 100 * time.Millisecond

// shSlack is the scheduling slack of every bound here: the race-built
// daemon on a busy two-CPU CI machine.
const shSlack = time.Second

// shSettle is how long a test watches a pair settle after a disturbance:
// 30 advertisement intervals, more than eight of B's
// Master_Down_Interval, and longer than the Presenter's confirmWait (2 s)
// after which it would redo an unconfirmed add or remove.
const shSettle = 30 * lkAdvert

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
			advert: lkAdvert.String(), vips: relWithBits(vips, lab.LAN4.Bits())})
	}
	s.wire = shCapture(t, lab)
	s.na, s.nb = newRelNode(t, s.a, s.config("a", 200)), newRelNode(t, s.b, s.config("b", 100))
	s.na.start()
	s.na.waitState("v4", "MASTER", 10*time.Second)
	waitFor(t, "the capture on the switch sees A's advertisements", 5*time.Second, func() bool {
		return s.wire.silence(s.a.Addr4.Addr(), time.Now()) < 3*lkAdvert
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
	start time.Time
	mu    sync.Mutex // guards seen
	seen  []shAdv
}

type shAdv struct {
	at   time.Time
	src  netip.Addr
	prio int
}

func shCapture(t *testing.T, lab *labnet.Lab) *shWire {
	t.Helper()
	w := &shWire{start: time.Now()}
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
	var dropped string // tcpdump's last words: "N packets dropped by kernel"
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		sc := bufio.NewScanner(errOut)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "listening on") {
				once = true
				close(listening)
			}
			if strings.Contains(sc.Text(), "dropped by kernel") {
				dropped = sc.Text()
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
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT) // tcpdump then reports what it dropped
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		cancel()
		<-done
		<-stderrDone
		cmd.Wait()
		if dropped != "" && !strings.HasPrefix(dropped, "0 ") {
			t.Logf("capture on the switch: %s (the wire's silences may be overstated)", dropped)
		}
	})
	select {
	case <-listening:
	case <-time.After(5 * time.Second):
		t.Fatal("tcpdump did not start listening")
	}
	return w
}

// silence returns how long before at A's last advertisement (priority
// not 0) from src went out; at minus the start of the capture if none.
func (w *shWire) silence(src netip.Addr, at time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.seen) - 1; i >= 0; i-- {
		if a := w.seen[i]; a.src == src && a.prio != 0 && !a.at.After(at) {
			return at.Sub(a.at)
		}
	}
	return at.Sub(w.start)
}

// gap returns the longest time without an advertisement from src (priority
// not 0) between from and to, and when it began.
func (w *shWire) gap(src netip.Addr, from, to time.Time) (time.Duration, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	last, longest, began := from, time.Duration(0), from
	for _, a := range w.seen {
		if a.src != src || a.prio == 0 || a.at.Before(from) || a.at.After(to) {
			continue
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

// shCheck collects the findings of one attempt at an observation (see
// phase): they become the test's errors unless the attempt was spoiled.
type shCheck struct {
	t    *testing.T
	errs []string
}

func (c *shCheck) Errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// takeovers judges B's transitions to MASTER since an instant. A takeover
// is justified when the wire shows A silent for at least B's
// Master_Down_Interval (less 20 ms of timestamp skew) before it: B did what
// RFC 5798 says. A justified takeover while the machine was measurably
// busy (nz) is environmental — A's daemon starved of CPU — and spoils the
// observation; any other takeover is a finding.
func (s shPair) takeovers(since time.Time, nz noise) (findings, spoiled []string) {
	md := masterDown(100, lkAdvert)
	busy := nz.check(nil, since)
	for _, e := range shStateEvents(s.evB, "MASTER", since) {
		quiet := s.wire.silence(s.a.Addr4.Addr(), e.Time)
		d := fmt.Sprintf("B %s at %s (reason %s); on the wire A had been silent for %v (B's Master_Down_Interval %v)",
			e.Message, e.Time.Format("15:04:05.000"), e.Fields["reason"], quiet.Round(time.Millisecond), md.Round(time.Millisecond))
		if quiet >= md-20*time.Millisecond && busy != "" {
			spoiled = append(spoiled, d+"; machine busy: "+busy)
			continue
		}
		if busy != "" {
			d += "; machine busy: " + busy
		}
		findings = append(findings, d)
	}
	return findings, spoiled
}

// phase runs an observation, up to three attempts. An attempt in which B
// took over only because A, starved of CPU, stopped advertising (see
// takeovers) did not observe what it was meant to: its findings are
// logged, the pair is given time to settle back (A master, B backup) and
// the attempt is repeated. Otherwise its findings are the test's errors,
// and so is any other takeover by B.
func (s shPair) phase(t *testing.T, name string, f func(c *shCheck)) {
	t.Helper()
	const attempts = 3
	for i := 1; ; i++ {
		start := time.Now()
		nz := watchNoise(netip.Addr{})
		c := &shCheck{t: t}
		f(c)
		findings, spoiled := s.takeovers(start, nz)
		if len(spoiled) == 0 || i == attempts {
			for _, e := range append(findings, spoiled...) {
				t.Errorf("%s: unwanted takeover: %s; B's transitions %v", name, e, s.nb.logSummary("v4"))
			}
			for _, e := range c.errs {
				t.Errorf("%s: %s", name, e)
			}
			if len(spoiled) > 0 {
				t.Errorf("%s: every one of %d attempts spoiled by a starved master", name, attempts)
			}
			return
		}
		t.Logf("%s: attempt %d spoiled, repeated: %s", name, i, strings.Join(spoiled, "; "))
		for _, e := range append(findings, c.errs...) {
			t.Logf("%s: attempt %d (not counted): %s", name, i, e)
		}
		s.stable(t)
	}
}

// stable waits until A is master with every VIP and B backup with none.
func (s shPair) stable(t *testing.T) {
	t.Helper()
	waitFor(t, "A master with every VIP, B backup with none", 10*time.Second, func() bool {
		return s.na.state("v4") == "MASTER" && s.nb.state("v4") == "BACKUP" && hasAll(t, s.a, s.vips) && holdsNone(t, s.b, s.vips)
	})
}

// oneHolder records a finding for every VIP not on exactly one node.
func (s shPair) oneHolder(c *shCheck) {
	hs := relHolders(c.t, []*labnet.Host{s.a, s.b}, s.vips)
	for _, v := range s.vips {
		if len(hs[v]) != 1 {
			c.Errorf("%s held by %v, want exactly one node", v, hs[v])
		}
	}
}

// shNoLoss records a finding for every VIP whose probes after since were not
// all answered; with noise (nz), losses are only findings when a VIP went
// dark for longer than noiseGap (see assertNoLoss).
func shNoLoss(c *shCheck, p *labnet.Prober, nz noise, since time.Time, what string) {
	why, sent := nz.check(p, since), 0
	for _, r := range p.Results(since) {
		sent += r.Sent
		if r.Received == r.Sent {
			continue
		}
		msg := fmt.Sprintf("%s: %s: %d/%d probes answered, longest loss %v (gap %v)", what, r.VIP, r.Received, r.Sent,
			r.LongestLoss.Round(time.Millisecond), r.MaxGap.Round(time.Millisecond))
		if why == "" || r.LongestLoss > noiseGap {
			c.Errorf("%s (noise: %q)", msg, why)
		} else {
			c.t.Logf("%s — not counted: %s", msg, why)
		}
	}
	c.t.Logf("%s: %d probes", what, sent)
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
	const down, upFor = 500 * time.Millisecond, 500 * time.Millisecond

	for _, flaps := range []int{1, 3} {
		s.phase(t, fmt.Sprintf("%d flap(s) of B's link", flaps), func(c *shCheck) {
			start := time.Now()
			nz := watchNoise(netip.Addr{})
			trA, masters := s.na.inst("v4").Counters.Transitions, s.nb.logTransitions("v4", "MASTER")
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
			time.Sleep(shSettle)

			// While down: FAULT for the interface, once per flap, each
			// before the link was set up again.
			faults := shStateEvents(s.evB, "FAULT", start)
			if len(faults) != flaps {
				c.Errorf("B went to FAULT %d times during %d flaps, want %d; events:\n%s", len(faults), flaps, flaps, s.evB.dump())
			}
			for i, e := range faults[:min(len(faults), flaps)] {
				t.Logf("flap %d: B in FAULT (%s) %v after its link went down", i+1, e.Fields["faults"], e.Time.Sub(downs[i]).Round(time.Millisecond))
				if e.Fields["faults"] != "interface" {
					c.Errorf("flap %d: B in FAULT for %q, want interface", i+1, e.Fields["faults"])
				}
				if e.Time.After(ups[i]) {
					c.Errorf("flap %d: B went to FAULT %v after its link was set up again, want while it was down", i+1, e.Time.Sub(ups[i]))
				}
			}
			t.Logf("`vipd status` showed B in FAULT (interface) during %d of %d flaps", sawFault, flaps)
			// Back: FAULT -> BACKUP after each flap (a takeover is
			// judged by phase), and the log agrees: never MASTER.
			var backs []control.Event
			for _, e := range shStateEvents(s.evB, "BACKUP", start) {
				if e.Fields["from"] == "FAULT" {
					backs = append(backs, e)
				}
			}
			if len(backs) != flaps {
				c.Errorf("B returned from FAULT to BACKUP %d times after %d flaps, want %d", len(backs), flaps, flaps)
			}
			for i, e := range backs[:min(len(backs), flaps)] {
				t.Logf("flap %d: B %s %v after its link was set up", i+1, e.Message, e.Time.Sub(ups[i]).Round(time.Millisecond))
			}
			if n := s.nb.logTransitions("v4", "MASTER") - masters; n != 0 {
				c.Errorf("B's log shows it becoming master %d times", n)
			}
			if !s.nb.logHas(" instance=v4 ", "link down") {
				c.Errorf("B's log does not report its link going down")
			}

			// Settled: A master throughout, B backup and hearing A again.
			sa, sb := s.na.inst("v4"), s.nb.inst("v4")
			if sa.State != "MASTER" || sa.Counters.Transitions != trA {
				c.Errorf("A is %s after %d transitions, want MASTER throughout", sa.State, sa.Counters.Transitions-trA)
			}
			if sb.State != "BACKUP" || len(sb.FaultReasons) != 0 {
				c.Errorf("B is %s (faults %v) %v after its link came back, want BACKUP", sb.State, sb.FaultReasons, shSettle)
			}
			// A advertises every 100 ms: 30 in the settle window; a third
			// of them is plenty to tell a live reader from a dead one.
			heard := sb.Counters.AdvertsReceived - rx0
			t.Logf("B received %d of A's advertisements in the %v after its link came back (read errors so far %d)",
				heard, shSettle, sb.Counters.ReadErrors)
			if want := uint64(shSettle / lkAdvert / 3); heard < want {
				c.Errorf("B received %d advertisements in the %v after its link came back, want at least %d: deaf", heard, shSettle, want)
			}
			if sb.Master == nil || sb.Master.Address != s.a.Addr4.Addr().String() {
				c.Errorf("B sees master %+v, want A (%s)", sb.Master, s.a.Addr4.Addr())
			}
			s.oneHolder(c)
			if !holdsNone(t, s.b, s.vips) {
				c.Errorf("B holds VIPs")
			}
			shNoLoss(c, p, nz, start, "client")
			g, began := s.wire.gap(s.a.Addr4.Addr(), start, time.Now())
			t.Logf("wire: A's longest silence %v, %v after the first flap began", g.Round(time.Millisecond), began.Sub(start).Round(time.Millisecond))
		})
	}
}

// TestIntegrationLinkFlapMaster sets the master's own LAN interface down
// for 0.5 s and up again (inside A). A goes to FAULT and releases its
// VIPs; B may take over meanwhile. Once A's link is back, A (higher
// priority, preempting) must be master again, B backup, every VIP on
// exactly one node and reachable from the client. Then nobody may be deaf:
// B, reloaded with priority 250, preempts A — A must hear it and step
// down (a deaf A would stay master next to B); B, back at 100, hands back
// to A; and when A's daemon stops, it leaves no VIP behind and B takes
// over within its Master_Down_Interval.
func TestIntegrationLinkFlapMaster(t *testing.T) {
	s := newSHPair(t)
	p := s.prober(t)
	const down = 500 * time.Millisecond

	downAt := shLinkDown(t, s.a)
	limitFault := lkAdvert + shSlack
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
	mdA := masterDown(200, lkAdvert)
	waitFor(t, "A MASTER and B BACKUP after the flap", mdA+lkAdvert+5*time.Second, func() bool {
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

	// A quiet while: A stays master, B backup.
	s.phase(t, "after A took its VIPs back", func(c *shCheck) {
		time.Sleep(shSettle)
		if sa, sb := s.na.inst("v4"), s.nb.inst("v4"); sa.State != "MASTER" || sb.State != "BACKUP" {
			c.Errorf("%v after the flap A is %s and B %s", shSettle, sa.State, sb.State)
		}
	})

	// Nobody is deaf. B at priority 250 preempts A: A must hear B.
	reload := func(prio int) time.Time {
		t.Helper()
		writeConfig(t, s.nb.vipdNode, s.config("b", prio))
		at := time.Now()
		resp, err := s.nb.call(control.CommandReload, nil)
		if err == nil {
			err = resp.Err()
		}
		if err != nil {
			t.Fatalf("reload B with priority %d: %v", prio, err)
		}
		return at
	}
	at := reload(250)
	mdB250 := masterDown(250, lkAdvert)
	waitFor(t, "B (priority 250) preempts A, and A steps down", mdB250+lkAdvert+5*time.Second, func() bool {
		return s.nb.state("v4") == "MASTER" && s.na.state("v4") == "BACKUP"
	})
	sa = s.na.inst("v4")
	stepped := sa.Counters.LastTransition.Sub(at)
	t.Logf("A heard B's priority 250 and stepped down %v after B's reload (B's Master_Down_Interval %v; reason %s)",
		stepped.Round(time.Millisecond), mdB250.Round(time.Millisecond), sa.Counters.LastTransitionReason)
	if limit := mdB250 + lkAdvert + shSlack; stepped > limit {
		t.Errorf("A stepped down %v after B's reload to priority 250, want within %v", stepped, limit)
	}
	if sa.Master == nil || sa.Master.Address != s.b.Addr4.Addr().String() || sa.Master.Priority != 250 {
		t.Errorf("A sees master %+v, want B (%s) at priority 250", sa.Master, s.b.Addr4.Addr())
	}
	waitFor(t, "A releases every VIP to B", 5*time.Second, func() bool { return holdsNone(t, s.a, s.vips) && hasAll(t, s.b, s.vips) })

	// B back at 100: A preempts, and B must hear A.
	reload(100)
	waitFor(t, "A preempts B (priority 100) again", mdA+lkAdvert+5*time.Second, func() bool {
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
	mdB := masterDown(100, lkAdvert)
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
// master without a transition, and the client must reach every VIP again
// within the same bound.
//
// Known failure (not fixed): when a flush round deletes a VIP that vipd
// has just put back, before the kernel's event for that add reached the
// netmon snapshot, the Presenter cannot tell the delete from an add not
// reported yet; the VIP stays missing for confirmWait (2 s) and is then
// added again without a "restored" count. The flush step then reports the
// VIPs "missing until ~2s" (9 of 27 runs here, on a quiet machine too).
func TestIntegrationAddrDelRestored(t *testing.T) {
	s := newSHPair(t)
	p := s.prober(t)
	limit := lkAdvert + shSlack

	// restoredWithin waits until A holds every one of vips again, and
	// checks that none was still missing later than limit after since.
	restoredWithin := func(c *shCheck, what string, since time.Time, vips []netip.Addr) {
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
			c.Errorf("VIPs missing from A longer than %v: %v", limit, late)
		}
	}
	counter := func() uint64 { return s.na.inst("v4").Counters.VIPsRestored }
	// step removes VIPs with remove and checks what vipd did about it.
	step := func(what string, vips []netip.Addr, wantAtLeast, wantAtMost uint64, remove func()) {
		s.phase(t, what, func(c *shCheck) {
			before, tr0 := counter(), s.na.inst("v4").Counters.Transitions
			since := time.Now()
			nz := watchNoise(netip.Addr{})
			remove()
			restoredWithin(c, what, since, vips)
			var got uint64
			if !waitUntil(limit, func() bool { got = counter() - before; return got >= wantAtLeast }) {
				c.Errorf("vips_restored went up by %d, want at least %d", got, wantAtLeast)
			}
			if got > wantAtMost {
				c.Errorf("vips_restored went up by %d, want at most %d", got, wantAtMost)
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
				c.Errorf("\"restored\" events %v, want one for each of %v", evs, vips)
			}
			n := 0
			for _, k := range evs {
				n += k
			}
			t.Logf("%s: vips_restored +%d, %d restored events", what, got, n)
			if in := s.na.inst("v4"); in.State != "MASTER" || in.Counters.Transitions != tr0 {
				c.Errorf("A is %s after %d transitions, want MASTER throughout", in.State, in.Counters.Transitions-tr0)
			}
			for _, v := range s.na.inst("v4").VIPs {
				if !v.Held {
					c.Errorf("A's status shows %s not held", v.Address)
				}
			}
			if !holdsNone(t, s.b, s.vips) {
				c.Errorf("B holds VIPs")
			}
			s.oneHolder(c)
			rs := waitRecovered(t, p, since, 5*time.Second)
			worst := time.Duration(0)
			for _, r := range rs {
				worst = max(worst, clientOutage(r))
			}
			t.Logf("%s: client reaches every VIP; longest outage %v", what, worst.Round(time.Millisecond))
			if worst > limit {
				c.Errorf("the client lost a VIP for %v, want at most %v (noise: %q)", worst, limit, nz.check(p, since))
			}
		})
	}

	// One VIP.
	one := s.vips[3]
	step("ip addr del "+one.String(), []netip.Addr{one}, 1, 1, func() {
		shIP(t, s.a, "addr", "del", s.prefix(one).String(), "dev", s.a.Iface)
	})
	if !s.na.logHas(" instance=v4 ", "restored", "vip="+s.prefix(one).String()) {
		t.Errorf("A's log does not report restoring %s", one)
	}

	// All ten in one go: one ip process, one netlink request per VIP.
	step("10 × ip addr del", s.vips, 10, 10, func() {
		var batch strings.Builder
		for _, v := range s.vips {
			fmt.Fprintf(&batch, "addr del %s dev %s\n", s.prefix(v), s.a.Iface)
		}
		cmd := s.a.Command(context.Background(), "ip", "-batch", "-")
		cmd.Stdin = strings.NewReader(batch.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ip -batch (10 addr del): %v: %s", err, out)
		}
	})

	// A flush of the secondaries; first check that they are the VIPs.
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
	// Each round of the flush may delete VIPs vipd has put back already:
	// each can be restored more than once.
	step("ip -4 addr flush secondary", s.vips, 10, 10*10, func() {
		out, err := s.a.Run(context.Background(), "ip", "-4", "addr", "flush", "dev", s.a.Iface, "secondary")
		t.Logf("ip -4 addr flush dev %s secondary: err %v %s", s.a.Iface, err, strings.TrimSpace(string(out)))
	})
	if ok, _ := s.a.HasAddrs(s.a.Addr4.Addr()); !ok {
		t.Errorf("A's own address %s is gone", s.a.Addr4)
	}
}

// TestIntegrationUnexpectedOnBackup adds one of the VIPs by hand on the
// backup (`ip addr add` of the configured prefix). vipd on B did not add
// it: it must report it once (an "address"/"unexpected" event,
// vips_unexpected +1) within an advertisement interval plus slack, and
// leave it alone — still there after a settle window longer than the
// Presenter's confirmWait — without a transition on either node. The test
// removes it by hand afterwards.
func TestIntegrationUnexpectedOnBackup(t *testing.T) {
	s := newSHPair(t)
	v := s.vips[0]
	pfx := s.prefix(v)
	limit := lkAdvert + shSlack

	s.phase(t, "VIP added by hand on B", func(c *shCheck) {
		st0a, st0b := s.na.inst("v4"), s.nb.inst("v4")
		removed := s.nb.logHas(" instance=v4 ", "VIPs removed")
		at := time.Now()
		if err := s.b.AddAddrs(pfx); err != nil {
			t.Fatal(err)
		}
		// The test removes it, whatever happens.
		defer func() {
			if ok, _ := s.b.HasAddrs(v); ok {
				if err := s.b.DelAddrs(pfx); err != nil {
					t.Fatal(err)
				}
			}
		}()
		var e control.Event
		if !waitUntil(limit+5*time.Second, func() bool {
			for _, x := range shEvents(s.evB) {
				if x.Type == control.EventAddress && x.Instance == "v4" && x.Message == "unexpected" && x.VIP == pfx.String() && !x.Time.Before(at) {
					e = x
					return true
				}
			}
			return false
		}) {
			c.Errorf("no \"unexpected\" event for %s from B; events:\n%s", pfx, s.evB.dump())
		} else {
			took := e.Time.Sub(at)
			t.Logf("B reported %s as unexpected %v after it was added", pfx, took.Round(time.Millisecond))
			if took > limit {
				c.Errorf("B reported the unexpected VIP %v after it was added, want within %v", took, limit)
			}
		}
		if !waitUntil(limit, func() bool { return s.nb.inst("v4").Counters.VIPsUnexpected > st0b.Counters.VIPsUnexpected }) {
			c.Errorf("B's vips_unexpected stayed %d", st0b.Counters.VIPsUnexpected)
		}
		if !s.nb.logHas(" instance=v4 ", "not master", "vip="+pfx.String()) {
			c.Errorf("B's log does not report the unexpected VIP")
		}

		time.Sleep(shSettle)
		sa, sb := s.na.inst("v4"), s.nb.inst("v4")
		if n := sb.Counters.VIPsUnexpected - st0b.Counters.VIPsUnexpected; n != 1 {
			c.Errorf("B's vips_unexpected went up by %d in %v, want 1 (reported once)", n, shSettle)
		}
		if evs := shAddressEvents(s.evB, "unexpected", at); len(evs) != 1 || evs[pfx.String()] != 1 {
			c.Errorf("B's unexpected events: %v, want one for %s", evs, pfx)
		}
		if ok, _ := s.b.HasAddrs(v); !ok {
			c.Errorf("B removed %s, which the operator added", pfx)
		}
		if !removed && s.nb.logHas(" instance=v4 ", "VIPs removed") {
			c.Errorf("B's log shows it removing VIPs")
		}
		if sb.State != "BACKUP" || sb.Counters.Transitions != st0b.Counters.Transitions {
			c.Errorf("B is %s after %d transitions, want BACKUP throughout", sb.State, sb.Counters.Transitions-st0b.Counters.Transitions)
		}
		if sa.State != "MASTER" || sa.Counters.Transitions != st0a.Counters.Transitions || !hasAll(t, s.a, s.vips) {
			c.Errorf("A is %s after %d transitions (holds every VIP: %v), want MASTER throughout", sa.State,
				sa.Counters.Transitions-st0a.Counters.Transitions, hasAll(t, s.a, s.vips))
		}
		for _, vs := range sa.VIPs {
			if vs.Address == pfx.String() {
				t.Logf("A's view of %s: held %v, conflict MAC %q (B's MAC %s)", vs.Address, vs.Held, vs.ConflictMAC, s.b.MAC)
			}
		}
	})

	// The operator took it away again (above): B holds nothing, and
	// nothing changed.
	waitFor(t, "the VIP gone from B", 2*time.Second, func() bool { return holdsNone(t, s.b, s.vips) })
	time.Sleep(5 * lkAdvert)
	relCheckOneHolder(t, []*labnet.Host{s.a, s.b}, s.vips)
	if sa, sb := s.na.inst("v4"), s.nb.inst("v4"); sa.State != "MASTER" || sb.State != "BACKUP" {
		t.Errorf("after the VIP was removed by hand A is %s and B %s", sa.State, sb.State)
	}
}

// shEvents returns the events collected so far.
func shEvents(l *eventLog) []control.Event {
	evs, _ := l.snapshot()
	return evs
}

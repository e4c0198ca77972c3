package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/vipd/vipd/internal/labnet"
)

// The self-healing daemon's operational guarantees, end to end: one daemon
// per state directory, leftovers removed only when a vipd recorded them,
// VIPs an operator put on the node refused, orderly handovers (priority 0
// on shutdown, none on preemption) without false conflict alarms, and the
// preempt delay.

// shAdvert is 100 ms: Master_Down_Interval 3 × 100 ms + Skew_Time.
const shAdvert = 100 * time.Millisecond

// shSkew is RFC 5798's Skew_Time of a priority at shAdvert.
func shSkew(prio int) time.Duration { return time.Duration(256-prio) * shAdvert / 256 }

// shMasterDown is RFC 5798's Master_Down_Interval of a priority at
// shAdvert.
func shMasterDown(prio int) time.Duration { return 3*shAdvert + shSkew(prio) }

// shV4 is an IPv4 instance (VRID 42) with 100 ms adverts.
func shV4(lab *labnet.Lab, prio int, vips []netip.Addr) relInstance {
	return relInstance{name: "v4", vrid: 42, prio: prio, advert: shAdvert.String(), vips: relWithBits(vips, lab.LAN4.Bits())}
}

// shSlowAdvert is the advertisement interval of the tests whose subject is
// not VRRP's timing: with a Master_Down_Interval of 3.6 s, no backup of a
// race-built vipd starved by a busy machine takes over spuriously, so
// their "nothing changed" holds exactly.
const shSlowAdvert = time.Second

// shSlowV4 is shV4 with shSlowAdvert.
func shSlowV4(lab *labnet.Lab, prio int, vips []netip.Addr) relInstance {
	in := shV4(lab, prio, vips)
	in.advert = shSlowAdvert.String()
	return in
}

// shV6 is an IPv6 instance (VRID 43) with 100 ms adverts.
func shV6(lab *labnet.Lab, prio int, vips []netip.Addr) relInstance {
	return relInstance{name: "v6", vrid: 43, prio: prio, advert: shAdvert.String(), vips: relWithBits(vips, lab.LAN6.Bits())}
}

// shLedger is the part of <state_dir>/addresses.json the tests read.
type shLedger struct {
	Entries []struct {
		Instance  string         `json:"instance"`
		Interface string         `json:"interface"`
		Prefixes  []netip.Prefix `json:"prefixes"`
	} `json:"entries"`
}

// shRecorded returns the prefixes the ledger in stateDir records for an
// instance (none when the file does not exist).
func shRecorded(t *testing.T, stateDir, instance string) []netip.Prefix {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, "addresses.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("ledger: %v", err)
	}
	var l shLedger
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("ledger %s: %v", b, err)
	}
	var ps []netip.Prefix
	for _, e := range l.Entries {
		if e.Instance == instance {
			ps = append(ps, e.Prefixes...)
		}
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return ps
}

// shReadFile returns a file's content ("" when it cannot be read).
func shReadFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// shLogLines returns the node's log lines that contain every one of parts.
func shLogLines(n relNode, parts ...string) []string {
	f, err := os.Open(n.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			out = append(out, l)
		}
	}
	return out
}

// shLogTime is the time= field of a slog text line.
func shLogTime(l string) (time.Time, bool) {
	s, ok := strings.CutPrefix(l, "time=")
	if !ok {
		return time.Time{}, false
	}
	s, _, _ = strings.Cut(s, " ")
	at, err := time.Parse(time.RFC3339Nano, s)
	return at, err == nil
}

// shConflicts lists the VIPs the node's status shows with a conflicting
// owner, as "instance/vip=mac" (nil when the daemon does not answer).
func shConflicts(n relNode) []string {
	s, err := n.st()
	if err != nil {
		return nil
	}
	var out []string
	for _, in := range s.Instances {
		for _, v := range in.VIPs {
			if v.ConflictMAC != "" {
				out = append(out, in.Name+"/"+v.Address+"="+v.ConflictMAC)
			}
		}
	}
	return out
}

// shOneLine fails the test unless vipd exited non-zero with exactly one
// line on standard error; it returns that line.
func shOneLine(t *testing.T, code int, stderr string) string {
	t.Helper()
	t.Logf("exit %d, stderr: %q", code, stderr)
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if code == 0 || len(lines) != 1 || lines[0] == "" {
		t.Fatalf("exit code %d with %d lines on stderr: want a failure explained in one line", code, len(lines))
	}
	return lines[0]
}

// shAdvertSeen is one VRRP advertisement seen on the wire.
type shAdvertSeen struct {
	at        time.Time
	src       netip.Addr
	vrid, pri uint8
}

// shSniffer records the IPv4 VRRP advertisements a host's LAN interface
// sees (a packet socket in its namespace): what the nodes really sent,
// independent of any daemon's log.
type shSniffer struct {
	conn *packet.Conn
	done chan struct{}

	mu   sync.Mutex
	seen []shAdvertSeen
}

func shSniff(t *testing.T, h *labnet.Host) *shSniffer {
	t.Helper()
	s := &shSniffer{done: make(chan struct{})}
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.Iface)
		if err != nil {
			return err
		}
		s.conn, err = packet.Listen(ifi, packet.Datagram, unix.ETH_P_IP, nil)
		return err
	})
	if err != nil {
		t.Fatalf("sniffer on %s: %v", h.Name, err)
	}
	go func() {
		defer close(s.done)
		buf := make([]byte, 2048)
		for {
			n, _, err := s.conn.ReadFrom(buf)
			if err != nil {
				return
			}
			at := time.Now()
			ip := buf[:n]
			if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 112 {
				continue
			}
			v := ip[int(ip[0]&0x0f)*4:]
			if len(v) < 8 || v[0] != 0x31 {
				continue
			}
			src, _ := netip.AddrFromSlice(ip[12:16])
			s.mu.Lock()
			s.seen = append(s.seen, shAdvertSeen{at: at, src: src, vrid: v[1], pri: v[2]})
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { s.conn.Close(); <-s.done })
	return s
}

// since returns the advertisements seen at or after t from src with the
// VRID.
func (s *shSniffer) since(t time.Time, src netip.Addr, vrid uint8) []shAdvertSeen {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []shAdvertSeen
	for _, a := range s.seen {
		if !a.at.Before(t) && a.src == src && a.vrid == vrid {
			out = append(out, a)
		}
	}
	return out
}

// priorities counts advertisements by priority.
func shPriorities(as []shAdvertSeen) map[uint8]int {
	m := map[uint8]int{}
	for _, a := range as {
		m[a.pri]++
	}
	return m
}

// TestIntegrationSecondDaemonRefused starts a second `vipd run` with the
// state directory of a running master (another control socket): it must
// exit non-zero with one line naming the running daemon's pid and lock
// file, and change nothing — the first stays master with every VIP, the
// backup sees nothing happen, the ledger and the lock file are as they
// were. A lock file left by a daemon killed with SIGKILL does not block the
// next start.
func TestIntegrationSecondDaemonRefused(t *testing.T) {
	lab := newLab(t, labnet.Options{})
	vips, err := lab.VIPs4(4)
	if err != nil {
		t.Fatal(err)
	}
	a, b := lab.Nodes[0], lab.Nodes[1]
	stateA := t.TempDir()
	cfgA := relConfig("a", stateA, shSlowV4(lab, 200, vips))
	na := newRelNode(t, a, cfgA)
	nb := newRelNode(t, b, relConfig("b", t.TempDir(), shSlowV4(lab, 100, vips)))
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	nb.start()
	nb.waitState("v4", "BACKUP", 10*time.Second)
	waitFor(t, "A holds every VIP", 5*time.Second, func() bool { return hasAll(t, a, vips) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := lab.NewProber(vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	waitFor(t, "client reaches every VIP on A", 10*time.Second, p.AllReachable)

	lockPath := filepath.Join(stateA, "vipd.lock")
	ledgerPath := filepath.Join(stateA, "addresses.json")
	lockBefore, ledgerBefore := shReadFile(lockPath), shReadFile(ledgerPath)
	if got := shRecorded(t, stateA, "v4"); len(got) != len(vips) {
		t.Fatalf("ledger of the running master records %v, want its %d VIPs", got, len(vips))
	}
	sa0, sb0 := na.inst("v4"), nb.inst("v4")
	pid := na.cmd.Process.Pid
	logA := shReadFile(na.log)

	// The same configuration, but its own control socket (relRunOnce
	// fills in @SOCKET@): only the state directory is shared.
	started := time.Now()
	code, stderr, socket2 := relRunOnce(t, a, nil, cfgA)
	took := time.Since(started)
	line := shOneLine(t, code, stderr)
	want := fmt.Sprintf("vipd: another vipd (pid %d) is running: it holds %s", pid, lockPath)
	if line != want {
		t.Errorf("second daemon said\n\t%s\nwant\n\t%s", line, want)
	}
	t.Logf("second vipd refused in %v", took.Round(time.Millisecond))

	// Nothing touched.
	if _, err := os.Stat(socket2); !os.IsNotExist(err) {
		t.Errorf("second daemon left its control socket %s (%v)", socket2, err)
	}
	if got := shReadFile(lockPath); got != lockBefore {
		t.Errorf("lock file changed from %q to %q", lockBefore, got)
	}
	if got := shReadFile(ledgerPath); got != ledgerBefore {
		t.Errorf("ledger changed from %s to %s", ledgerBefore, got)
	}
	// Two advertisement intervals for anything the second daemon might
	// have set off to show.
	time.Sleep(2 * shSlowAdvert)
	sa, sb := na.inst("v4"), nb.inst("v4")
	if sa.State != "MASTER" || sa.Counters.Transitions != sa0.Counters.Transitions {
		t.Errorf("A is %s after %d transitions since the second start, want MASTER throughout", sa.State, sa.Counters.Transitions-sa0.Counters.Transitions)
	}
	if sb.State != "BACKUP" || sb.Counters.Transitions != sb0.Counters.Transitions {
		t.Errorf("B is %s after %d transitions since the second start, want BACKUP throughout", sb.State, sb.Counters.Transitions-sb0.Counters.Transitions)
	}
	if !hasAll(t, a, vips) || !holdsNone(t, b, vips) {
		t.Errorf("VIPs moved: holders %v", relHolders(t, []*labnet.Host{a, b}, vips))
	}
	if c := shConflicts(na); len(c) > 0 {
		t.Errorf("A reports conflicts %v", c)
	}
	if !p.AllReachable() {
		t.Error("client lost VIPs")
	}
	// The VIPs did not move: no gap of an advertisement interval (a
	// busy machine's scheduling delays stay well below that).
	worst, gap, lag := clientView(p, started)
	t.Logf("client: longest loss %v, longest gap %v while the second daemon was refused%s",
		worst.Round(time.Millisecond), gap.Round(time.Millisecond), lag)
	if limit := shSlowAdvert; worst > limit {
		t.Errorf("client lost its probes for %v while the second daemon was refused, want less than %v", worst, limit)
	}
	if got := shReadFile(na.log); !strings.HasPrefix(got, logA) || strings.Contains(got[len(logA):], "level=WARN") ||
		strings.Contains(got[len(logA):], "level=ERROR") {
		t.Errorf("A logged warnings or errors after the second start:\n%s", got[min(len(logA), len(got)):])
	}

	// The kernel releases the flock of a killed daemon: the lock file
	// still names it, and does not block the next start.
	na.kill()
	if got := shReadFile(lockPath); got != lockBefore {
		t.Fatalf("lock file %q after kill -9, want the dead daemon's %q", got, lockBefore)
	}
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	if got, want := strings.TrimSpace(shReadFile(lockPath)), fmt.Sprint(na.cmd.Process.Pid); got != want {
		t.Errorf("lock file names pid %s, want the new daemon's %s", got, want)
	}
	nb.waitState("v4", "BACKUP", 5*time.Second)
	waitFor(t, "B releases every VIP", 5*time.Second, func() bool { return holdsNone(t, b, vips) })
	relCheckOneHolder(t, []*labnet.Host{a, b}, vips)
	waitFor(t, "client reaches every VIP on A", 5*time.Second, p.AllReachable)
}

// TestIntegrationLeftoversAndRefusal: a vipd killed with SIGKILL leaves its
// VIPs on the interface, recorded in <state_dir>/addresses.json. The next
// start removes exactly those — the configured ones as leftovers (logged
// with their count), the ones no longer configured as orphans — and keeps
// an address an operator added. A configured VIP that is on the node but
// was not recorded (an operator's `ip addr add`) refuses the daemon's start
// with one line naming the VIP and the interface, as does one on another
// interface (lo); the daemon then touches nothing. Once the operator
// removed it, vipd starts.
func TestIntegrationLeftoversAndRefusal(t *testing.T) {
	lab := newLab(t, labnet.Options{})
	all, err := lab.VIPs4(8)
	if err != nil {
		t.Fatal(err)
	}
	vips := all[:4]     // configured in both of A's runs and on B
	dropped := all[4:6] // configured in A's first run only
	operator := all[6]  // added by an operator, never configured
	first := all[:6]    // A's first configuration
	a, b := lab.Nodes[0], lab.Nodes[1]
	bits := lab.LAN4.Bits()
	stateA := t.TempDir()

	// A alone: master with every VIP of its first configuration, recorded.
	na1 := newRelNode(t, a, relConfig("a", stateA, shSlowV4(lab, 100, first)))
	na1.start()
	na1.waitState("v4", "MASTER", 10*time.Second)
	waitFor(t, "A holds its VIPs", 5*time.Second, func() bool { return hasAll(t, a, first) })
	if got, want := shRecorded(t, stateA, "v4"), relWithBits(first, bits); !slices.Equal(got, want) {
		t.Fatalf("ledger records %v, want %v", got, want)
	}
	na1.kill()
	if !hasAll(t, a, first) {
		t.Fatal("A lost its VIPs with the process: the crash scenario is not real")
	}
	if got := shRecorded(t, stateA, "v4"); len(got) != len(first) {
		t.Fatalf("ledger after kill -9 records %v, want the %d VIPs", got, len(first))
	}
	opPfx := netip.PrefixFrom(operator, bits)
	if err := a.AddAddrs(opPfx); err != nil {
		t.Fatal(err)
	}

	// B (priority 200) is master when A comes back as backup.
	nb := newRelNode(t, b, relConfig("b", t.TempDir(), shSlowV4(lab, 200, vips)))
	nb.start()
	nb.waitState("v4", "MASTER", 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := lab.NewProber(vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	// The leftovers are real: A's kernel answers for the VIPs B holds.
	waitFor(t, "B reports A's MAC as a duplicate owner of every VIP", 10*time.Second, func() bool {
		s := nb.inst("v4")
		for _, v := range s.VIPs {
			if v.ConflictMAC != a.MAC.String() {
				return false
			}
		}
		return len(s.VIPs) == len(vips)
	})

	t.Run("leftovers removed", func(t *testing.T) {
		na2 := newRelNode(t, a, relConfig("a", stateA, shSlowV4(lab, 100, vips)))
		restarted := time.Now()
		na2.start()
		na2.waitState("v4", "BACKUP", 10*time.Second)
		waitFor(t, "A removes every VIP an earlier run recorded", 5*time.Second, func() bool { return holdsNone(t, a, first) })
		t.Logf("leftovers gone %v after the restart", time.Since(restarted).Round(time.Millisecond))
		if !na2.logHas(`msg="removing VIPs left on the interface by an earlier run"`, " instance=v4 ", fmt.Sprintf("count=%d", len(vips))) {
			t.Errorf("A's log does not report removing %d leftovers: %q", len(vips), shLogLines(na2, "earlier run"))
		}
		if !na2.logHas("removing VIPs an earlier run added and no instance claims now", fmt.Sprintf("count=%d", len(dropped))) {
			t.Errorf("A's log does not report removing the %d VIPs no longer configured: %q", len(dropped), shLogLines(na2, "earlier run"))
		}
		if !hasAll(t, a, []netip.Addr{operator}) {
			t.Errorf("A removed %s, an address an operator added and no vipd recorded", operator)
		}
		waitFor(t, "ledger empty", 5*time.Second, func() bool { return len(shRecorded(t, stateA, "v4")) == 0 })
		if got := shRecorded(t, stateA, "v4"); len(got) > 0 {
			t.Errorf("ledger still records %v", got)
		}
		if s := nb.inst("v4"); s.State != "MASTER" {
			t.Errorf("B is %s", s.State)
		}
		relCheckOneHolder(t, []*labnet.Host{a, b}, vips)
		waitFor(t, "client reaches every VIP on B", 5*time.Second, p.AllReachable)
		// B's status keeps listing the conflict: a confirmed one ends
		// after watch.Config.ConflictForget (10 min) without a claim.
		na2.stop()
		if !hasAll(t, a, []netip.Addr{operator}) {
			t.Errorf("A's graceful stop removed the operator's %s", operator)
		}
	})

	// refused starts vipd on A with A's state directory, expecting the
	// start to be refused because of vip on iface, and checks that the
	// daemon touched nothing.
	refused := func(t *testing.T, vip netip.Addr, iface string) {
		t.Helper()
		addrsBefore, err := a.Addrs()
		if err != nil {
			t.Fatal(err)
		}
		ledgerBefore := shReadFile(filepath.Join(stateA, "addresses.json"))
		trB := nb.inst("v4").Counters.Transitions
		code, stderr, socket := relRunOnce(t, a, nil, relConfig("a", stateA, shSlowV4(lab, 100, vips)))
		line := shOneLine(t, code, stderr)
		// attach.go's checkVIPs: an address vipd did not add, on the
		// instance's interface or another, refuses the instance (and
		// the daemon: nothing starts).
		var want string
		if iface == a.Iface {
			want = fmt.Sprintf("vipd: daemon: instance v4: VIP %s is already on %s and vipd did not add it: this node would answer for it even as backup (remove it: ip addr del %s dev %s)",
				vip, iface, netip.PrefixFrom(vip, bits), iface)
		} else {
			want = fmt.Sprintf("vipd: daemon: instance v4: VIP %s is already on %s: this node would answer for it even as backup (remove it there, or from the configuration)", vip, iface)
		}
		if line != want {
			t.Errorf("refusal says\n\t%s\nwant\n\t%s", line, want)
		}
		if _, err := os.Stat(socket); !os.IsNotExist(err) {
			t.Errorf("control socket left behind (%v)", err)
		}
		addrsAfter, err := a.Addrs()
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(addrsBefore, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
		slices.SortFunc(addrsAfter, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
		if !slices.Equal(addrsBefore, addrsAfter) {
			t.Errorf("A's addresses changed from %v to %v", addrsBefore, addrsAfter)
		}
		if got := shReadFile(filepath.Join(stateA, "addresses.json")); got != ledgerBefore {
			t.Errorf("ledger changed from %s to %s", ledgerBefore, got)
		}
		if s := nb.inst("v4"); s.State != "MASTER" || s.Counters.Transitions != trB {
			t.Errorf("B is %s after %d transitions, want MASTER throughout", s.State, s.Counters.Transitions-trB)
		}
	}

	t.Run("operator's VIP on the interface refused", func(t *testing.T) {
		// The configured prefix exactly, as vipd would have added it:
		// still not vipd's, for it is not recorded.
		pfx := netip.PrefixFrom(vips[1], bits)
		if err := a.AddAddrs(pfx); err != nil {
			t.Fatal(err)
		}
		refused(t, vips[1], a.Iface)
		if !hasAll(t, a, []netip.Addr{vips[1]}) {
			t.Errorf("the operator's %s is gone from %s", pfx, a.Iface)
		}
		if err := a.DelAddrs(pfx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("VIP on lo refused", func(t *testing.T) {
		onLo := netip.PrefixFrom(vips[2], 32)
		if out, err := a.Run(context.Background(), "ip", "addr", "add", onLo.String(), "dev", "lo"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		refused(t, vips[2], "lo")
		out, err := a.Run(context.Background(), "ip", "-br", "addr", "show", "dev", "lo")
		if err != nil || !strings.Contains(string(out), onLo.String()) {
			t.Errorf("the operator's %s on lo is gone: %s %v", onLo, out, err)
		}
		if out, err := a.Run(context.Background(), "ip", "addr", "del", onLo.String(), "dev", "lo"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	})

	t.Run("starts once the operator cleaned up", func(t *testing.T) {
		na3 := newRelNode(t, a, relConfig("a", stateA, shSlowV4(lab, 100, vips)))
		na3.start()
		na3.waitState("v4", "BACKUP", 10*time.Second)
		if na3.logHas("earlier run") {
			t.Errorf("A removed leftovers although none were recorded: %q", shLogLines(na3, "earlier run"))
		}
		if !hasAll(t, a, []netip.Addr{operator}) {
			t.Errorf("A removed the operator's %s", operator)
		}
		relCheckOneHolder(t, []*labnet.Host{a, b}, vips)
		if !p.AllReachable() {
			t.Error("client lost VIPs")
		}
	})
}

// TestIntegrationRollingRestartNoConflict is an operator's rolling restart: B
// (priority 200, the preferred master) is stopped with SIGTERM, A takes
// over after Skew_Time because B resigned with priority 0 (A's log says
// "master resigned", with reason master_resigned, no split brain), and B
// starts again 0.7 s later and preempts. Neither handover is a duplicate
// owner: in the 5 s after B's start neither node logs one nor shows a
// conflicting MAC on any VIP in its status. At the end each VIP has one
// holder and the client reaches every one.
func TestIntegrationRollingRestartNoConflict(t *testing.T) {
	lab := newLab(t, labnet.Options{})
	v4, err := lab.VIPs4(10)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := lab.VIPs6(4)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]netip.Addr{}, v4...), v6...)
	a, b := lab.Nodes[0], lab.Nodes[1]
	insts := []string{"v4", "v6"}
	cfg := func(node string, prio int) string {
		return relConfig(node, t.TempDir(), shV4(lab, prio, v4), shV6(lab, prio, v6))
	}
	na, nb := newRelNode(t, a, cfg("a", 100)), newRelNode(t, b, cfg("b", 200))
	nb.start()
	for _, in := range insts {
		nb.waitState(in, "MASTER", 10*time.Second)
	}
	na.start()
	for _, in := range insts {
		na.waitState(in, "BACKUP", 10*time.Second)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := lab.NewProber(all, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	waitFor(t, "client reaches every VIP on B", 10*time.Second, p.AllReachable)

	// Conflicts are watched from B's stop on: the first handover (B
	// resigns) is as much a handover as the second.
	var (
		mu        sync.Mutex
		conflictA = map[string]time.Time{}
		conflictB = map[string]time.Time{}
	)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for watchCtx.Err() == nil {
			ca, cb := shConflicts(na), shConflicts(nb)
			now := time.Now()
			mu.Lock()
			for _, c := range ca {
				if _, ok := conflictA[c]; !ok {
					conflictA[c] = now
				}
			}
			for _, c := range cb {
				if _, ok := conflictB[c]; !ok {
					conflictB[c] = now
				}
			}
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()

	trA := map[string]uint64{}
	for _, in := range insts {
		trA[in] = na.inst(in).Counters.Transitions
	}
	stopping := time.Now()
	nb.stop()
	stopped := time.Now()
	// Polled over the control socket (no process per call): B's restart
	// is due 0.7 s after its stop.
	waitFor(t, "A master", 5*time.Second, func() bool { return na.state("v4") == "MASTER" && na.state("v6") == "MASTER" })
	for _, in := range insts {
		s := na.inst(in)
		if took := s.Counters.LastTransition.Sub(stopped); took > 700*time.Millisecond {
			t.Errorf("%s: A became master %v after B stopped, more than 10 × its Skew_Time (%v): B's restart comes too early",
				in, took.Round(time.Millisecond), shSkew(100))
		}
		t.Logf("%s: A master %v after SIGTERM to B (reason %s; Skew_Time %v, Master_Down_Interval %v)", in,
			s.Counters.LastTransition.Sub(stopping).Round(time.Millisecond), s.Counters.LastTransitionReason,
			shSkew(100), shMasterDown(100))
		if s.Counters.LastTransitionReason != "master_resigned" {
			t.Errorf("%s: A took over for %q, want master_resigned (B's priority 0)", in, s.Counters.LastTransitionReason)
		}
		resigned := shLogLines(na, `msg="master resigned`, " instance="+in+" ")
		if len(resigned) != 1 {
			t.Errorf("%s: A logged %d \"master resigned\" lines, want 1: %q", in, len(resigned), resigned)
		} else if tr := shLogLines(na, `msg="state change"`, " instance="+in+" ", "to=MASTER"); len(tr) == 1 {
			r, ok1 := shLogTime(resigned[0])
			m, ok2 := shLogTime(tr[0])
			if ok1 && ok2 {
				t.Logf("%s: A's log: resignation heard, master %v later", in, m.Sub(r).Round(time.Millisecond))
			}
		}
	}
	for _, bad := range []string{"split brain", "split-brain"} {
		if l := shLogLines(na, bad); len(l) > 0 {
			t.Errorf("A logged %q: %q", bad, l)
		}
	}
	waitFor(t, "B's stop removed its VIPs", 2*time.Second, func() bool { return holdsNone(t, b, all) })

	// B back 0.7 s after it stopped.
	time.Sleep(time.Until(stopped.Add(700 * time.Millisecond)))
	restarted := time.Now()
	t.Logf("B restarted %v after its stop", restarted.Sub(stopped).Round(time.Millisecond))
	nb.start()
	for _, in := range insts {
		nb.waitState(in, "MASTER", 10*time.Second)
		na.waitState(in, "BACKUP", 5*time.Second)
	}
	for _, in := range insts {
		t.Logf("%s: B master again %v after its start (Master_Down_Interval %v)", in,
			nb.inst(in).Counters.LastTransition.Sub(restarted).Round(time.Millisecond), shMasterDown(200))
	}
	time.Sleep(time.Until(restarted.Add(5 * time.Second)))
	stopWatch()
	<-watched

	mu.Lock()
	for c, at := range conflictA {
		t.Errorf("A's status showed a conflict %s at %v after B's restart", c, at.Sub(restarted).Round(time.Millisecond))
	}
	for c, at := range conflictB {
		t.Errorf("B's status showed a conflict %s at %v after its restart", c, at.Sub(restarted).Round(time.Millisecond))
	}
	mu.Unlock()
	for _, n := range []relNode{na, nb} {
		if l := shLogLines(n, "duplicate owner"); len(l) > 0 {
			t.Errorf("%s logged a duplicate owner during the rolling restart: %q", n.host.Name, l)
		}
	}
	for _, in := range insts {
		sa, sb := na.inst(in), nb.inst(in)
		if sa.State != "BACKUP" || sb.State != "MASTER" {
			t.Errorf("%s: A %s, B %s at the end", in, sa.State, sb.State)
		}
		if sb.Counters.Transitions != 2 {
			t.Errorf("%s: B made %d transitions since its start, want 2 (INIT -> BACKUP -> MASTER): %v",
				in, sb.Counters.Transitions, nb.logSummary(in))
		}
		if sb.Counters.LastTransitionReason != "master_down_timer" {
			t.Errorf("%s: B became master for %q", in, sb.Counters.LastTransitionReason)
		}
		// A: BACKUP -> MASTER (resigned), MASTER -> BACKUP (preempted).
		if n := sa.Counters.Transitions - trA[in]; n != 2 || sa.Counters.LastTransitionReason != "preempted" {
			t.Errorf("%s: A made %d transitions since B's stop, the last for %q; want 2, the last preempted: %v",
				in, n, sa.Counters.LastTransitionReason, na.logSummary(in))
		}
		for _, v := range sb.VIPs {
			if !v.Held {
				t.Errorf("%s: B does not hold %s", in, v.Address)
			}
		}
	}
	relCheckOneHolder(t, []*labnet.Host{a, b}, all)
	waitFor(t, "client reaches every VIP on B", 5*time.Second, p.AllReachable)
	worstStop, worstStart := time.Duration(0), time.Duration(0)
	for _, r := range p.Results(stopping) {
		worstStop = max(worstStop, r.MaxGap)
	}
	for _, r := range p.Results(restarted) {
		worstStart = max(worstStart, r.MaxGap)
	}
	t.Logf("client: longest gap %v from B's stop on, %v from B's restart on", worstStop.Round(time.Millisecond), worstStart.Round(time.Millisecond))
}

// TestIntegrationResignLogged: a master stopped with SIGTERM sends
// priority 0 (seen on the wire); the backup logs "master resigned" (no
// split brain, no duplicate owner) and takes over for that reason, its
// Skew_Time after it heard the resignation.
func TestIntegrationResignLogged(t *testing.T) {
	lab := newLab(t, labnet.Options{})
	vips, err := lab.VIPs4(4)
	if err != nil {
		t.Fatal(err)
	}
	a, b := lab.Nodes[0], lab.Nodes[1]
	na := newRelNode(t, a, relConfig("a", t.TempDir(), shV4(lab, 200, vips)))
	nb := newRelNode(t, b, relConfig("b", t.TempDir(), shV4(lab, 100, vips)))
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	nb.start()
	nb.waitState("v4", "BACKUP", 10*time.Second)
	sniff := shSniff(t, b)
	time.Sleep(3 * shAdvert)

	stopping := time.Now()
	na.stop()
	nb.waitState("v4", "MASTER", 5*time.Second)
	if got := shPriorities(sniff.since(stopping, a.Addr4.Addr(), 42)); got[0] != 1 {
		t.Errorf("A's adverts on the wire after SIGTERM by priority %v, want one with priority 0", got)
	}
	s := nb.inst("v4")
	if s.Counters.LastTransitionReason != "master_resigned" {
		t.Errorf("B took over for %q, want master_resigned", s.Counters.LastTransitionReason)
	}
	resigned := shLogLines(nb, `msg="master resigned`, " instance=v4 ")
	if len(resigned) != 1 {
		t.Fatalf("B logged %d \"master resigned\" lines, want 1: %q", len(resigned), resigned)
	}
	tr := shLogLines(nb, `msg="state change"`, " instance=v4 ", "to=MASTER")
	if len(tr) != 1 {
		t.Fatalf("B logged %d changes to MASTER, want 1", len(tr))
	}
	heard, ok1 := shLogTime(resigned[0])
	became, ok2 := shLogTime(tr[0])
	if !ok1 || !ok2 {
		t.Fatalf("no times in %q, %q", resigned[0], tr[0])
	}
	gap := became.Sub(heard)
	t.Logf("B: resignation heard, master %v later (Skew_Time %v, Master_Down_Interval %v); %v after SIGTERM to A",
		gap.Round(time.Millisecond), shSkew(100), shMasterDown(100), s.Counters.LastTransition.Sub(stopping).Round(time.Millisecond))
	// Not the Master_Down_Timer: the Skew_Time of a resignation (the log's
	// times are in milliseconds). The slack for a busy machine, three
	// advertisement intervals, keeps it within the Master_Down_Interval
	// that a crash would cost from the same instant.
	if gap < shSkew(100)-5*time.Millisecond {
		t.Errorf("B took over %v after hearing priority 0, before its Skew_Time %v", gap, shSkew(100))
	}
	if limit := shSkew(100) + 3*shAdvert; gap > limit {
		t.Errorf("B took over %v after hearing priority 0, want about its Skew_Time %v (at most %v)", gap, shSkew(100), limit)
	}
	for _, bad := range []string{"split brain", "split-brain", "duplicate owner"} {
		if l := shLogLines(nb, bad); len(l) > 0 {
			t.Errorf("B logged %q: %q", bad, l)
		}
	}
	waitFor(t, "A's VIPs gone, B holds them", 5*time.Second, func() bool { return holdsNone(t, a, vips) && hasAll(t, b, vips) })
}

// TestIntegrationThreeNodePreemption: A 200, B 150, C 100. A stops: B takes
// over (A's priority 0, B's shorter Skew_Time), C stays backup. A returns
// and preempts B: B goes straight to backup without priority 0 (checked on
// the wire at C, and in C's log: no "master resigned"), and C, which only
// follows the master, makes no transition at all.
func TestIntegrationThreeNodePreemption(t *testing.T) {
	lab := newLab(t, labnet.Options{Nodes: 3})
	vips, err := lab.VIPs4(10)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := lab.Nodes[0], lab.Nodes[1], lab.Nodes[2]
	hosts := []*labnet.Host{a, b, c}
	na := newRelNode(t, a, relConfig("a", t.TempDir(), shV4(lab, 200, vips)))
	nb := newRelNode(t, b, relConfig("b", t.TempDir(), shV4(lab, 150, vips)))
	nc := newRelNode(t, c, relConfig("c", t.TempDir(), shV4(lab, 100, vips)))
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	nb.start()
	nc.start()
	nb.waitState("v4", "BACKUP", 10*time.Second)
	nc.waitState("v4", "BACKUP", 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := lab.NewProber(vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	waitFor(t, "client reaches every VIP on A", 10*time.Second, p.AllReachable)
	sniff := shSniff(t, c)
	if n := nc.inst("v4").Counters.Transitions; n != 1 {
		t.Fatalf("C made %d transitions at start, want 1 (INIT -> BACKUP): %v", n, nc.logSummary("v4"))
	}
	cStateLines := func() []string { return shLogLines(nc, `msg="state change"`, " instance=v4 ") }
	cResigned := func() []string { return shLogLines(nc, `msg="master resigned`, " instance=v4 ") }

	// A stops: B (Skew_Time 41 ms) takes over before C (61 ms).
	stopping := time.Now()
	na.stop()
	nb.waitState("v4", "MASTER", 5*time.Second)
	waitFor(t, "B holds every VIP", 5*time.Second, func() bool { return hasAll(t, b, vips) })
	time.Sleep(10 * shAdvert) // C has heard B for a while
	if got := shPriorities(sniff.since(stopping, a.Addr4.Addr(), 42)); got[0] != 1 {
		t.Errorf("A's adverts seen at C after its SIGTERM by priority %v, want one with priority 0", got)
	}
	if r := nb.inst("v4").Counters.LastTransitionReason; r != "master_resigned" {
		t.Errorf("B took over for %q, want master_resigned", r)
	}
	if n := len(cResigned()); n != 1 {
		t.Errorf("C logged %d \"master resigned\" lines when A stopped, want 1", n)
	}
	sc := nc.inst("v4")
	if sc.State != "BACKUP" || sc.Counters.Transitions != 1 || sc.Master == nil || sc.Master.Address != b.Addr4.Addr().String() {
		t.Errorf("after A's stop C is %s after %d transitions (%v), following %+v; want BACKUP throughout, following B",
			sc.State, sc.Counters.Transitions, nc.logSummary("v4"), sc.Master)
	}
	relCheckOneHolder(t, hosts, vips)

	// A returns and preempts B.
	trB := nb.inst("v4").Counters.Transitions
	cStates, cRes := len(cStateLines()), len(cResigned())
	trC := nc.inst("v4").Counters.Transitions
	returned := time.Now()
	var cWrong []string
	watchC := func() {
		if s := nc.state("v4"); s != "BACKUP" {
			cWrong = append(cWrong, fmt.Sprintf("%q at %v", s, time.Since(returned).Round(time.Millisecond)))
		}
	}
	na.start()
	waitFor(t, "A master again", 10*time.Second, func() bool { watchC(); return na.state("v4") == "MASTER" })
	preempted := time.Now()
	waitFor(t, "B backup", 5*time.Second, func() bool { watchC(); return nb.state("v4") == "BACKUP" })
	t.Logf("A master again %v after its start (Master_Down_Interval %v)",
		na.inst("v4").Counters.LastTransition.Sub(returned).Round(time.Millisecond), shMasterDown(200))
	// Watch C for 5 s after A's start.
	for time.Since(returned) < 5*time.Second {
		watchC()
		time.Sleep(50 * time.Millisecond)
	}
	if len(cWrong) > 0 {
		t.Errorf("C left BACKUP while A returned: %v", cWrong)
	}
	sc = nc.inst("v4")
	if sc.Counters.Transitions != trC {
		t.Errorf("C made %d transitions while A returned, want none: %v", sc.Counters.Transitions-trC, nc.logSummary("v4"))
	}
	if l := cStateLines(); len(l) != cStates {
		t.Errorf("C logged state changes while A returned: %q", l[cStates:])
	}
	if l := cResigned(); len(l) != cRes {
		t.Errorf("C logged \"master resigned\" while A preempted B (B sent priority 0?): %q", l[cRes:])
	}
	if sc.Master == nil || sc.Master.Address != a.Addr4.Addr().String() {
		t.Errorf("C follows %+v, want A (%s)", sc.Master, a.Addr4.Addr())
	}
	// On the wire: B never sent priority 0 after A came back.
	fromB := sniff.since(returned, b.Addr4.Addr(), 42)
	prios := shPriorities(fromB)
	t.Logf("B's adverts seen at C since A's start, by priority: %v", prios)
	if prios[0] != 0 {
		t.Errorf("B sent %d adverts with priority 0 when preempted, want none (RFC 5798 §6.4.3)", prios[0])
	}
	if prios[150] == 0 {
		t.Error("C saw no advert of B since A's start: the capture is not working")
	}
	// B went straight to BACKUP, for the preemption.
	sb := nb.inst("v4")
	if sb.State != "BACKUP" || sb.Counters.Transitions != trB+1 || sb.Counters.LastTransitionReason != "preempted" {
		t.Errorf("B is %s after %d transitions, the last for %q; want one, MASTER -> BACKUP (preempted): %v",
			sb.State, sb.Counters.Transitions-trB, sb.Counters.LastTransitionReason, nb.logSummary("v4"))
	}
	for _, n := range []relNode{na, nb, nc} {
		if l := shLogLines(n, "duplicate owner"); len(l) > 0 {
			t.Errorf("%s logged a duplicate owner: %q", n.host.Name, l)
		}
	}
	waitFor(t, "B and C hold no VIP", 5*time.Second, func() bool { return holdsNone(t, b, vips) && holdsNone(t, c, vips) })
	relCheckOneHolder(t, hosts, vips)
	waitFor(t, "client reaches every VIP on A", 5*time.Second, p.AllReachable)
	worst := time.Duration(0)
	for _, r := range p.Results(preempted.Add(-time.Second)) {
		worst = max(worst, r.MaxGap)
	}
	t.Logf("client: longest gap around the preemption %v", worst.Round(time.Millisecond))
}

// TestIntegrationPreemptDelay: A (priority 200, preempt_delay 3 s) starts
// while B (100) is master. A follows B for the preempt delay — B stays
// master with every VIP and the client reaches them — and then takes
// over, once, without flapping.
func TestIntegrationPreemptDelay(t *testing.T) {
	const delay = 3 * time.Second
	lab := newLab(t, labnet.Options{})
	vips, err := lab.VIPs4(10)
	if err != nil {
		t.Fatal(err)
	}
	a, b := lab.Nodes[0], lab.Nodes[1]
	ia := shV4(lab, 200, vips)
	ia.preemptDelay = delay.String()
	na := newRelNode(t, a, relConfig("a", t.TempDir(), ia))
	nb := newRelNode(t, b, relConfig("b", t.TempDir(), shV4(lab, 100, vips)))
	nb.start()
	nb.waitState("v4", "MASTER", 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := lab.NewProber(vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	waitFor(t, "client reaches every VIP on B", 10*time.Second, p.AllReachable)
	trB := nb.inst("v4").Counters.Transitions

	startedA := time.Now()
	na.start()
	na.waitState("v4", "BACKUP", 10*time.Second)
	backupAt := na.inst("v4").Counters.LastTransition
	// Until A is master, B must be master with every VIP, A with none.
	var violations []string
	var lastB time.Time // last poll that saw B master and A backup
	waitFor(t, "A master after its preempt delay", delay+10*time.Second, func() bool {
		// In this order: B leaves MASTER only after A became master,
		// and A adds VIPs only as master, so a handover between the
		// reads cannot look like a violation.
		none := holdsNone(t, a, vips)
		sb := nb.state("v4")
		sa := na.state("v4")
		if sa == "MASTER" {
			return true
		}
		now := time.Now()
		switch {
		case sb != "MASTER" || sa != "BACKUP":
			violations = append(violations, fmt.Sprintf("%v: A %q, B %q", now.Sub(backupAt).Round(time.Millisecond), sa, sb))
		case !none:
			violations = append(violations, fmt.Sprintf("%v: A holds VIPs as backup", now.Sub(backupAt).Round(time.Millisecond)))
		default:
			lastB = now
		}
		time.Sleep(30 * time.Millisecond)
		return false
	})
	sa := na.inst("v4")
	masterAt := sa.Counters.LastTransition
	held := masterAt.Sub(backupAt)
	t.Logf("A: backup %v after its start, master %v after that (preempt_delay %v, Master_Down_Interval %v); last poll with B master %v after A's backup",
		backupAt.Sub(startedA).Round(time.Millisecond), held.Round(time.Millisecond), delay, shMasterDown(200),
		lastB.Sub(backupAt).Round(time.Millisecond))
	if len(violations) > 0 {
		t.Errorf("during A's preempt delay: %v", violations)
	}
	// The delay counts from the first advert of B that A heard, after it
	// became backup; then Master_Down_Interval runs out. The lower bound
	// is exact, the upper one has slack for a busy machine.
	if held < delay {
		t.Errorf("A took over %v after it became backup, before its preempt delay of %v", held, delay)
	}
	if limit := delay + shMasterDown(200) + 2*time.Second; held > limit {
		t.Errorf("A took over %v after it became backup, want within %v", held, limit)
	}
	if sa.Counters.Transitions != 2 || sa.Counters.LastTransitionReason != "master_down_timer" {
		t.Errorf("A made %d transitions, the last for %q; want 2 (INIT -> BACKUP -> MASTER by Master_Down_Timer): %v",
			sa.Counters.Transitions, sa.Counters.LastTransitionReason, na.logSummary("v4"))
	}
	nb.waitState("v4", "BACKUP", 5*time.Second)
	sb := nb.inst("v4")
	if d := sb.Counters.LastTransition.Sub(backupAt); d < delay {
		t.Errorf("B left MASTER %v after A became backup, before A's preempt delay of %v", d, delay)
	}
	if sb.Counters.Transitions != trB+1 || sb.Counters.LastTransitionReason != "preempted" {
		t.Errorf("B made %d transitions, the last for %q; want one, preempted: %v",
			sb.Counters.Transitions-trB, sb.Counters.LastTransitionReason, nb.logSummary("v4"))
	}
	// B answers every probe sent before A took over (less 100 ms for
	// the reply of a busy machine).
	for _, r := range p.Results(startedA) {
		if !r.FirstLoss.IsZero() && r.FirstLoss.Before(masterAt.Add(-100*time.Millisecond)) {
			t.Errorf("client lost %s at %v after A's start, before A took over", r.VIP, r.FirstLoss.Sub(startedA).Round(time.Millisecond))
		}
	}

	// No flapping: a quiet period of 20 advertisement intervals.
	time.Sleep(20 * shAdvert)
	if sa, sb := na.inst("v4"), nb.inst("v4"); sa.State != "MASTER" || sa.Counters.Transitions != 2 ||
		sb.State != "BACKUP" || sb.Counters.Transitions != trB+1 {
		t.Errorf("after the quiet period A is %s (%d transitions), B %s (%d since A's start)",
			sa.State, sa.Counters.Transitions, sb.State, sb.Counters.Transitions-trB)
	}
	waitFor(t, "B released every VIP", 5*time.Second, func() bool { return holdsNone(t, b, vips) })
	relCheckOneHolder(t, []*labnet.Host{a, b}, vips)
	waitFor(t, "client reaches every VIP on A", 5*time.Second, p.AllReachable)
	worst := time.Duration(0)
	for _, r := range p.Results(masterAt.Add(-time.Second)) {
		worst = max(worst, r.MaxGap)
	}
	t.Logf("client: longest gap around the takeover %v", worst.Round(time.Millisecond))
}

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// TestIntegrationDayInProduction is a day in production, randomized: two
// nodes (A priority 200, B 100, 100 ms adverts) hold 10 IPv4 VIPs (one
// more comes and goes with reloads) and 4 IPv6 VIPs while a client probes
// every VIP through the router. For VIPD_DAY_DURATION (default 1m, 3m
// with CI=true) a seeded sequence of everyday events hits a random node:
// link and switch port flaps, a silent VRRP drop, VIPs deleted behind the
// master's back, SIGHUP with the same and with a changed configuration,
// SIGTERM and kill -9 with a restart, maintenance on and off, a CPU
// burst. After each event the pair must settle, within Master_Down_Interval
// and a few seconds, back to A master and B backup, and then every VIP is
// on exactly one node, the client reaches every VIP, both daemons run,
// neither status names a duplicate owner, and neither log has a
// "duplicate owner" line since the last check, except after the events
// that make a real one: kill -9 of a node that held VIPs (its kernel
// keeps them until the restart) and the silent drop (both nodes master,
// both holding the VIPs). Nor may a log report a VIP present on a backup
// that vipd did not add: nobody adds VIPs by hand here. At the end both daemons are back near their
// starting goroutine and file descriptor counts. VIPD_DAY_SEED replays a
// sequence of events (not the timing of the machine). A broken invariant
// fails the test and the day goes on; a pair that does not settle ends
// it.
func TestIntegrationDayInProduction(t *testing.T) {
	seed := time.Now().UnixNano()
	if s := os.Getenv("VIPD_DAY_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("VIPD_DAY_SEED=%q: want an integer", s)
		}
		seed = n
	}
	dur := time.Minute
	if os.Getenv("CI") == "true" {
		dur = 3 * time.Minute
	}
	if s := os.Getenv("VIPD_DAY_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("VIPD_DAY_DURATION=%q: want a positive Go duration such as 90s", s)
		}
		dur = d
	}
	replay := fmt.Sprintf("VIPD_DAY_SEED=%d go test -run TestIntegrationDayInProduction ./e2e/", seed)
	t.Logf("seed %d, duration %v; replay with: %s", seed, dur, replay)

	lab := newLab(t, labnet.Options{})
	v4, err := lab.VIPs4(11)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := lab.VIPs6(4)
	if err != nil {
		t.Fatal(err)
	}
	d := &day{t: t, lab: lab, rng: rand.New(rand.NewPCG(uint64(seed), 0x76697064646179)),
		v4: v4[:10], extra: v4[10], v6: v6, logOff: map[string]int64{}, conflictSince: map[string]int{}}
	d.a = &dayNode{name: "a", prio: 200, advert: dayAdvert, stateDir: t.TempDir()}
	d.b = &dayNode{name: "b", prio: 100, advert: dayAdvert, stateDir: t.TempDir()}
	d.a.relNode = newRelNode(t, lab.Nodes[0], d.config(d.a))
	d.b.relNode = newRelNode(t, lab.Nodes[1], d.config(d.b))
	// Registered after the nodes: runs before their cleanup prints the
	// logs.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FAILED with seed %d; replay with: %s\nevents so far:\n%s", seed, replay, d.table())
		}
	})
	stress, err := exec.LookPath("stress-ng")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("stress-ng is not installed (.ci/run installs it)")
		}
		t.Logf("stress-ng not found: no cpu-burst events")
	}
	d.stress = stress

	d.a.start()
	d.b.start()
	for _, in := range dayInstances {
		d.a.waitState(in, "MASTER", 10*time.Second)
		d.b.waitState(in, "BACKUP", 10*time.Second)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.p, err = lab.NewProber(append(slices.Clone(v4), v6...), 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	d.p.Start(ctx)
	defer d.p.Stop()
	d.start = time.Now()
	if conv, err := d.settle(10 * time.Second); err != nil {
		t.Fatalf("the pair did not settle at the start: %v", err)
	} else {
		t.Logf("start: settled after %v", conv.Round(time.Millisecond))
	}
	// The baseline: A's takeover done (VIPs verified, probes over), B
	// backup.
	waitFor(t, "A's VIPs verified", 10*time.Second, func() bool {
		st, err := d.a.st()
		if err != nil {
			return false
		}
		for _, in := range st.Instances {
			for _, v := range in.VIPs {
				if v.Verification != "verified" {
					return false
				}
			}
		}
		return true
	})
	time.Sleep(dayQuiet)
	baseA, baseB := d.usage(d.a), d.usage(d.b)
	t.Logf("baseline: A %d goroutines, %d fds; B %d goroutines, %d fds", baseA.goroutines, baseA.fds, baseB.goroutines, baseB.fds)
	d.checkInvariants(dayEvent{kind: "start"})

	kinds := dayKinds
	if d.stress == "" {
		kinds = slices.DeleteFunc(slices.Clone(kinds), func(k string) bool { return k == "cpu-burst" })
	}
	end := d.start.Add(dur)
	for time.Now().Before(end) {
		kind := kinds[d.rng.IntN(len(kinds))]
		n := []*dayNode{d.a, d.b}[d.rng.IntN(2)]
		ev := dayEvent{n: len(d.events) + 1, kind: kind, node: n.name, at: time.Since(d.start)}
		d.p.Trim(time.Now().Add(-time.Minute))
		violationsBefore := d.violations
		ev.detail, ev.exempt = d.do(kind, n)
		took := time.Since(d.start) - ev.at
		conv, err := d.settle(masterDown(100, d.maxAdvert()) + daySlack)
		ev.took, ev.converge = took, conv
		if err != nil {
			ev.outcome = "DID NOT SETTLE: " + err.Error()
			d.events = append(d.events, ev)
			t.Logf("%s", ev)
			t.Fatalf("event #%d %s on %s (%s): the pair did not settle within %v: %v",
				ev.n, kind, n.name, ev.detail, masterDown(100, d.maxAdvert())+daySlack, err)
		}
		// A violated invariant fails the test but the day goes on, so
		// that one run shows every kind of trouble; a pair that does not
		// settle ends it.
		ev.outcome = d.checkInvariants(ev)
		ev.violations = d.violations - violationsBefore
		d.events = append(d.events, ev)
		t.Logf("%s", ev)
	}

	// Evening: back to the morning's configuration, then a quiet period.
	if d.extraOn || d.a.advert != dayAdvert || d.b.advert != dayAdvert {
		d.extraOn, d.a.advert, d.b.advert = false, dayAdvert, dayAdvert
		for _, n := range []*dayNode{d.a, d.b} {
			d.reload(n, true)
		}
		if _, err := d.settle(masterDown(100, 2*dayAdvert) + daySlack); err != nil {
			t.Fatalf("the pair did not settle after restoring the configuration: %v", err)
		}
	}
	time.Sleep(dayQuiet)
	for _, c := range []struct {
		n    *dayNode
		base dayUsage
	}{{d.a, baseA}, {d.b, baseB}} {
		var now dayUsage
		ok := waitUntil(15*time.Second, func() bool {
			now = d.usage(c.n)
			return now.goroutines <= c.base.goroutines+5 && now.fds <= c.base.fds+3
		})
		t.Logf("%s: goroutines %d -> %d, open fds %d -> %d (restarted %d times, this process since event #%d)", c.n.name,
			c.base.goroutines, now.goroutines, c.base.fds, now.fds, c.n.restarts, c.n.since)
		if !ok {
			t.Errorf("%s leaks after the day: goroutines %d -> %d (allowed +5), open fds %d -> %d (allowed +3)",
				c.n.name, c.base.goroutines, now.goroutines, c.base.fds, now.fds)
		}
	}
	// And the pair is still where it belongs after the quiet period.
	if _, err := d.settle(masterDown(100, dayAdvert) + daySlack); err != nil {
		t.Errorf("the pair did not stay settled through the evening: %v", err)
	}
	d.checkInvariants(dayEvent{n: len(d.events) + 1, kind: "evening"})
	t.Logf("a day of %v (%d events, seed %d):\n%s", time.Since(d.start).Round(time.Second), len(d.events), seed, d.summary())
}

const (
	dayAdvert = 100 * time.Millisecond
	// daySlack is the settling time allowed beyond Master_Down_Interval
	// after an event's last action: a race-built vipd's start, A's
	// preemption, the router learning the VIPs again.
	daySlack = 5 * time.Second
	// dayHold is how long the pair must stay settled to count as settled.
	dayHold = 500 * time.Millisecond
	// dayQuiet is the quiet period before measuring goroutines and fds.
	dayQuiet = 3 * time.Second
)

var (
	dayInstances = []string{"v4", "v6"}
	dayKinds     = []string{"link-flap", "port-flap", "silent-drop", "vip-del", "vip-del-all", "sighup-same",
		"sighup-changed", "sigterm-restart", "kill9-restart", "maintenance", "cpu-burst"}
)

type day struct {
	t      *testing.T
	lab    *labnet.Lab
	rng    *rand.Rand
	a, b   *dayNode
	v4     []netip.Addr // always configured
	extra  netip.Addr   // an IPv4 VIP that reloads add and remove
	v6     []netip.Addr
	p      *labnet.Prober
	stress string // stress-ng's path, "" when missing

	extraOn    bool
	start      time.Time
	violations int // invariants found broken so far
	events     []dayEvent
	logOff     map[string]int64 // node → log bytes already looked at
	// conflictSince: "node MAC" → the event after which the node's
	// status first named MAC as a duplicate owner.
	conflictSince map[string]int
}

// macName names a lab MAC address.
func (d *day) macName(mac string) string {
	for _, h := range d.lab.Hosts() {
		if h.MAC.String() == mac {
			return h.Name
		}
	}
	return "unknown host"
}

type dayNode struct {
	relNode
	name     string
	prio     int
	advert   time.Duration
	stateDir string
	restarts int
	since    int // the event that started the running process, 0: the first
}

type dayEvent struct {
	n                  int
	at, took, converge time.Duration
	kind, node         string
	detail, outcome    string
	violations         int
	// exempt: the event made a real duplicate owner (kill -9 of a node
	// holding VIPs, whose kernel keeps them until the restart; a split
	// brain), so "duplicate owner" log lines are expected.
	exempt bool
}

func (e dayEvent) String() string {
	return fmt.Sprintf("#%-3d +%6.1fs %-15s on %s  %-34s took %5.1fs, settled %5.2fs later: %s",
		e.n, e.at.Seconds(), e.kind, e.node, e.detail, e.took.Seconds(), e.converge.Seconds(), e.outcome)
}

func (d *day) table() string {
	var b strings.Builder
	for _, e := range d.events {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// summary is the compact table: event kind → count survived, slowest
// settling.
func (d *day) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s %4s %8s %8s %14s\n", "event", "runs", "survived", "violated", "slowest settle")
	var runs, ok int
	for _, k := range dayKinds {
		r, n, worst := 0, 0, time.Duration(0)
		for _, e := range d.events {
			if e.kind == k {
				r++
				if e.violations == 0 && !strings.HasPrefix(e.outcome, "DID NOT SETTLE") {
					n++
				}
				worst = max(worst, e.converge)
			}
		}
		runs, ok = runs+r, ok+n
		fmt.Fprintf(&b, "%-16s %4d %8d %8d %14v\n", k, r, n, r-n, worst.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "%-16s %4d %8d %8d\n", "total", runs, ok, runs-ok)
	return b.String()
}

// config renders n's configuration as it stands.
func (d *day) config(n *dayNode) string {
	v4 := slices.Clone(d.v4)
	if d.extraOn {
		v4 = append(v4, d.extra)
	}
	return relConfig(n.name, n.stateDir,
		relInstance{name: "v4", vrid: 42, prio: n.prio, advert: n.advert.String(), vips: relWithBits(v4, d.lab.LAN4.Bits())},
		relInstance{name: "v6", vrid: 43, prio: n.prio, advert: n.advert.String(), vips: relWithBits(d.v6, d.lab.LAN6.Bits())})
}

// configured is every VIP of the current configuration.
func (d *day) configured() []netip.Addr {
	all := slices.Clone(d.v4)
	if d.extraOn {
		all = append(all, d.extra)
	}
	return append(all, d.v6...)
}

func (d *day) maxAdvert() time.Duration { return max(d.a.advert, d.b.advert) }

func (d *day) prefix(v netip.Addr) netip.Prefix {
	if v.Is4() {
		return netip.PrefixFrom(v, d.lab.LAN4.Bits())
	}
	return netip.PrefixFrom(v, d.lab.LAN6.Bits())
}

// between draws a duration in [lo, hi], in milliseconds.
func (d *day) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(d.rng.Int64N(int64((hi-lo)/time.Millisecond)+1))*time.Millisecond
}

// do runs one event on n. Every random draw comes from the seeded
// generator and depends on nothing the machine decides, so that a seed
// replays the same sequence.
func (d *day) do(kind string, n *dayNode) (detail string, exempt bool) {
	t := d.t
	t.Helper()
	h := n.host
	run := func(args ...string) {
		t.Helper()
		if out, err := h.Run(context.Background(), args[0], args[1:]...); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	switch kind {
	case "link-flap":
		x := d.between(100*time.Millisecond, 3*time.Second)
		run("ip", "link", "set", h.Iface, "down")
		time.Sleep(x)
		run("ip", "link", "set", h.Iface, "up")
		return fmt.Sprintf("%s down %v; nm: %s", h.Iface, x, d.networkManager(h)), false
	case "port-flap":
		x := d.between(100*time.Millisecond, 3*time.Second)
		if err := d.lab.PortDown(h); err != nil {
			t.Fatal(err)
		}
		time.Sleep(x)
		if err := d.lab.PortUp(h); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s down %v; nm: %s", h.Port, x, d.networkManager(h)), false
	case "silent-drop":
		// Both nodes are master for a while and both hold the VIPs: a
		// real duplicate owner, which the daemons should report.
		heal := relPartition(t, h)
		time.Sleep(2 * time.Second)
		heal()
		return "VRRP dropped 2s", true
	case "vip-del", "vip-del-all":
		// On the master, whoever the node drawn: A after settling.
		all := d.configured()
		vs := all
		if kind == "vip-del" {
			vs = []netip.Addr{all[d.rng.IntN(len(all))]}
		}
		m := d.a
		if s := m.state("v4"); s != "MASTER" {
			t.Fatalf("%s: A is %s, want MASTER", kind, s)
		}
		before := d.restored(m)
		var script strings.Builder
		for _, v := range vs {
			fmt.Fprintf(&script, "address del %s dev %s\n", d.prefix(v), m.host.Iface)
		}
		cmd := m.host.Command(context.Background(), "ip", "-batch", "-")
		cmd.Stdin = strings.NewReader(script.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ip -batch on %s: %v: %s", m.host.Name, err, out)
		}
		// The daemon puts them back (checked with the other invariants:
		// the pair settles with A holding every VIP); its counter says so.
		if !waitUntil(masterDown(100, d.maxAdvert())+daySlack, func() bool { return d.restored(m) >= before+uint64(len(vs)) }) {
			d.violations++
			t.Errorf("%s: A's vips_restored went from %d to %d after deleting %d VIPs", kind, before, d.restored(m), len(vs))
		}
		if kind == "vip-del" {
			return fmt.Sprintf("deleted %s on a", vs[0]), false
		}
		return fmt.Sprintf("deleted all %d VIPs on a", len(vs)), false
	case "sighup-same":
		d.reload(n, false)
		return "SIGHUP, same file", false
	case "sighup-changed":
		// A configuration push: either the extra VIP comes or goes on
		// both nodes (n first), or n's advert interval changes.
		if d.rng.IntN(2) == 0 {
			d.extraOn = !d.extraOn
			other := map[*dayNode]*dayNode{d.a: d.b, d.b: d.a}[n]
			d.reload(n, true)
			d.reload(other, true)
			return fmt.Sprintf("%s extra VIP %s (both)", map[bool]string{true: "added", false: "removed"}[d.extraOn], d.extra), false
		}
		n.advert = map[bool]time.Duration{true: 2 * dayAdvert, false: dayAdvert}[n.advert == dayAdvert]
		d.reload(n, true)
		return fmt.Sprintf("advert_interval %v", n.advert), false
	case "sigterm-restart":
		x := d.between(200*time.Millisecond, 2*time.Second)
		n.stop()
		time.Sleep(x)
		n.start()
		n.restarts, n.since = n.restarts+1, len(d.events)+1
		return fmt.Sprintf("SIGTERM, restart after %v", x), false
	case "kill9-restart":
		x := d.between(200*time.Millisecond, 2*time.Second)
		held := !holdsNone(t, h, d.configured())
		n.kill()
		time.Sleep(x)
		n.start()
		n.restarts, n.since = n.restarts+1, len(d.events)+1
		return fmt.Sprintf("kill -9 (held VIPs: %v), restart after %v", held, x), held
	case "maintenance":
		x := d.between(500*time.Millisecond, 2500*time.Millisecond)
		n.maintenance(true)
		time.Sleep(x)
		n.maintenance(false)
		return fmt.Sprintf("on for %v", x), false
	case "cpu-burst":
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		// Outside the namespaces: the whole machine is busy.
		if out, err := exec.CommandContext(ctx, d.stress, "--cpu", "2", "--timeout", "3s", "--quiet").CombinedOutput(); err != nil {
			t.Fatalf("stress-ng: %v: %s", err, out)
		}
		return "stress-ng --cpu 2 --timeout 3s", false
	}
	t.Fatalf("unknown event %q", kind)
	return "", false
}

// reload rewrites n's configuration file (when write) and sends SIGHUP; it
// waits for the daemon to log the reload.
func (d *day) reload(n *dayNode, write bool) {
	t := d.t
	t.Helper()
	if write {
		writeConfig(t, n.vipdNode, d.config(n))
	}
	before := dayCount(n, `msg="configuration reloaded"`)
	if err := n.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP to %s: %v", n.name, err)
	}
	if !waitUntil(5*time.Second, func() bool { return dayCount(n, `msg="configuration reloaded"`) > before }) {
		t.Fatalf("%s did not log a reload within 5 s of SIGHUP", n.name)
	}
}

// dayCount counts the log lines of n that contain s.
func dayCount(n *dayNode, s string) int {
	b, _ := os.ReadFile(n.log)
	return bytes.Count(b, []byte(s))
}

// networkManager puts back what the kernel dropped with the link, as a
// network manager would: the node's own addresses (IPv6 ones go on link
// down) and the default routes. It returns what it restored.
func (d *day) networkManager(h *labnet.Host) string {
	t := d.t
	t.Helper()
	var did []string
	deadline := time.Now().Add(5 * time.Second)
	try := func(what string, args ...string) {
		for {
			out, err := h.Run(context.Background(), args[0], args[1:]...)
			if err == nil {
				did = append(did, what)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("network manager on %s: %v: %s", h.Name, err, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, p := range []netip.Prefix{h.Addr4, h.Addr6} {
		if !hasAll(t, h, []netip.Addr{p.Addr()}) {
			if err := h.AddAddrs(p); err != nil {
				t.Fatalf("network manager on %s: %v", h.Name, err)
			}
			did = append(did, "addr"+map[bool]string{true: "4", false: "6"}[p.Addr().Is4()])
		}
	}
	for _, gw := range []netip.Addr{d.lab.Router.Addr4.Addr(), d.lab.Router.Addr6.Addr()} {
		fam := map[bool]string{true: "-4", false: "-6"}[gw.Is4()]
		out, err := h.Run(context.Background(), "ip", fam, "route", "show", "default")
		if err != nil {
			t.Fatalf("network manager on %s: %v", h.Name, err)
		}
		if len(bytes.TrimSpace(out)) == 0 {
			try("route"+fam[1:], "ip", fam, "route", "replace", "default", "via", gw.String(), "dev", h.Iface)
		}
	}
	if len(did) == 0 {
		return "nothing lost"
	}
	return "restored " + strings.Join(did, ",")
}

func (d *day) restored(n *dayNode) uint64 {
	st, err := n.st()
	if err != nil {
		return 0
	}
	var r uint64
	for _, in := range st.Instances {
		r += in.Counters.VIPsRestored
	}
	return r
}

// settled reports whether the pair is where it belongs, and if not why:
// both daemons up, A master and B backup of every instance, every VIP of
// the configuration on A and none on B, the extra VIP nowhere when it is
// not configured, and the client reaching every VIP.
func (d *day) settled() (bool, string) {
	for _, n := range []*dayNode{d.a, d.b} {
		if !n.running() {
			return false, n.name + "'s vipd is not running"
		}
	}
	for _, c := range []struct {
		n    *dayNode
		want string
	}{{d.a, "MASTER"}, {d.b, "BACKUP"}} {
		st, err := c.n.st()
		if err != nil {
			return false, fmt.Sprintf("status of %s: %v", c.n.name, err)
		}
		for _, in := range st.Instances {
			if in.State != c.want {
				return false, fmt.Sprintf("%s/%s is %s %v", c.n.name, in.Name, in.State, in.FaultReasons)
			}
		}
		if len(st.Instances) != len(dayInstances) {
			return false, fmt.Sprintf("%s has %d instances", c.n.name, len(st.Instances))
		}
	}
	all := d.configured()
	hs := relHolders(d.t, []*labnet.Host{d.a.host, d.b.host}, append(slices.Clone(all), d.extra))
	for _, v := range all {
		if !slices.Equal(hs[v], []string{"a"}) {
			return false, fmt.Sprintf("%s held by %v", v, hs[v])
		}
	}
	if !d.extraOn && len(hs[d.extra]) > 0 {
		return false, fmt.Sprintf("unconfigured %s held by %v", d.extra, hs[d.extra])
	}
	for _, v := range all {
		if !d.p.Reachable(v) {
			return false, fmt.Sprintf("client does not reach %s", v)
		}
	}
	return true, ""
}

// settle waits until the pair is settled and stays so for dayHold; it
// returns how long that took from the call (without the hold).
func (d *day) settle(within time.Duration) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(within)
	var since time.Time // settled since, zero when not
	for {
		ok, why := d.settled()
		now := time.Now()
		switch {
		case ok && since.IsZero():
			since = now
		case ok && now.Sub(since) >= dayHold:
			return since.Sub(start), nil
		case !ok:
			since = time.Time{}
			if now.After(deadline) {
				return now.Sub(start), fmt.Errorf("%s (holders %v)", why,
					relHolders(d.t, []*labnet.Host{d.a.host, d.b.host}, append(d.configured(), d.extra)))
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkInvariants checks, on a settled pair, what must hold after every
// event, reporting violations with t.Errorf; it returns the outcome.
func (d *day) checkInvariants(ev dayEvent) string {
	t := d.t
	t.Helper()
	before := d.violations
	fail := func(format string, args ...any) {
		t.Helper()
		d.violations++
		t.Errorf("after #%d %s: "+format, append([]any{ev.n, ev.kind}, args...)...)
	}
	hosts := []*labnet.Host{d.a.host, d.b.host}
	all := d.configured()
	hs := relHolders(t, hosts, all)
	for _, v := range all {
		if len(hs[v]) != 1 {
			fail("%s held by %v, want exactly one node", v, hs[v])
		}
	}
	for _, v := range all {
		if !d.p.Reachable(v) {
			fail("the client does not reach %s", v)
		}
	}
	if ev.exempt {
		// Both nodes really held the VIPs during the event (a split, a
		// killed master's kernel): the conflict is real, and the winner
		// keeps it listed until its recheck finds the other MAC silent
		// (watch: ConflictRecheck 3 s + a probe run of 4 s).
		waitUntil(dayConflictClear, func() bool { return !d.anyConflict() })
	}
	var notes []string
	for _, n := range []*dayNode{d.a, d.b} {
		if !n.running() {
			fail("%s's vipd is not running", n.name)
			continue
		}
		st, err := n.st()
		if err != nil {
			fail("status of %s: %v", n.name, err)
			continue
		}
		// Settled, nobody else answers for a VIP: no conflict in the
		// status, whatever happened before.
		var trans uint64
		conflicts := map[string][]string{} // MAC → VIPs
		for _, in := range st.Instances {
			trans += in.Counters.Transitions
			for _, v := range in.VIPs {
				if v.ConflictMAC != "" {
					conflicts[v.ConflictMAC] = append(conflicts[v.ConflictMAC], v.Address)
				}
			}
		}
		// A conflict that stays is a failure of the event after which it
		// was first seen; later events only note it.
		var still []string
		for mac, vs := range conflicts {
			if first, ok := d.conflictSince[n.name+" "+mac]; ok {
				still = append(still, fmt.Sprintf("still names %s as duplicate owner of %d VIPs (since #%d)", d.macName(mac), len(vs), first))
				continue
			}
			d.conflictSince[n.name+" "+mac] = ev.n
			fail("%s's status names %s (%s) as a duplicate owner of %d VIPs held by %v: %v",
				n.name, mac, d.macName(mac), len(vs), relHolders(t, hosts, []netip.Addr{netip.MustParsePrefix(vs[0]).Addr()}), vs)
		}
		for k := range d.conflictSince {
			if mac, ok := strings.CutPrefix(k, n.name+" "); ok && conflicts[mac] == nil {
				delete(d.conflictSince, k)
			}
		}
		// The log written since the last check.
		lines := d.newLogLines(n)
		dup, errs := 0, 0
		for _, l := range lines {
			switch {
			case strings.Contains(l, "WARNING: DATA RACE"), strings.HasPrefix(l, "panic:"), strings.HasPrefix(l, "fatal error:"):
				fail("%s's vipd: %s", n.name, l)
			case strings.Contains(l, "duplicate owner"):
				dup++
				if !ev.exempt {
					fail("%s logged: %s", n.name, l)
				}
			case strings.Contains(l, "VIP present on a node that is not master"):
				// Nobody adds VIPs by hand in this test: the daemon
				// left them there itself.
				fail("%s logged: %s", n.name, l)
			case strings.Contains(l, "level=ERROR"):
				errs++
			}
		}
		note := fmt.Sprintf("%s %d trans", n.name, trans)
		if dup > 0 {
			note += fmt.Sprintf(", %d dup-owner lines (expected)", dup)
		}
		if errs > 0 {
			note += fmt.Sprintf(", %d ERROR lines", errs)
		}
		for _, x := range still {
			note += ", " + x
		}
		notes = append(notes, note)
	}
	if v := d.violations - before; v > 0 {
		return fmt.Sprintf("FAILED (%d); ", v) + strings.Join(notes, "; ")
	}
	return "ok; " + strings.Join(notes, "; ")
}

// newLogLines returns the complete lines n's log gained since the last
// call.
func (d *day) newLogLines(n *dayNode) []string {
	f, err := os.Open(n.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(d.logOff[n.name], io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(f)
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		return nil
	}
	d.logOff[n.name] += int64(i + 1)
	return strings.Split(string(b[:i]), "\n")
}

type dayUsage struct{ goroutines, fds int }

func (d *day) usage(n *dayNode) dayUsage {
	st, err := n.st()
	if err != nil {
		d.t.Fatalf("status of %s: %v", n.name, err)
	}
	return dayUsage{st.Goroutines, st.OpenFDs}
}

// dayConflictClear bounds how long a real conflict (during a split or
// after a kill -9) may stay listed once the pair settled.
const dayConflictClear = 10 * time.Second

// anyConflict reports whether either node's status lists a conflict.
func (d *day) anyConflict() bool {
	for _, n := range []*dayNode{d.a, d.b} {
		st, err := n.st()
		if err != nil {
			continue
		}
		for _, in := range st.Instances {
			for _, v := range in.VIPs {
				if v.ConflictMAC != "" {
					return true
				}
			}
		}
	}
	return false
}

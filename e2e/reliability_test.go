package e2e

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// TestIntegrationPartitionHeal drops VRRP between the nodes (nftables in
// A's namespace) while the client still reaches both: both become master.
// On heal exactly one master remains within one advertisement interval,
// the loser removes its VIPs, and the client reaches every VIP at the
// winner within 1 s of the heal, although the router learnt the loser's
// MAC during the split. Behind a sticky router, which ignores gratuitous
// ARP and unsolicited NA, only the verifiers move the router's entries:
// B's during the split, A's after the heal.
func TestIntegrationPartitionHeal(t *testing.T) {
	for _, sticky := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain router", true: "sticky router"}[sticky], func(t *testing.T) {
			partitionHeal(t, sticky)
		})
	}
}

func partitionHeal(t *testing.T, sticky bool) {
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
	if sticky {
		if err := lab.SetRouterBehaviour(labnet.Sticky, all, 0); err != nil {
			t.Fatal(err)
		}
	}
	a, b := lab.Nodes[0], lab.Nodes[1]
	const advert = 100 * time.Millisecond
	cfg := func(node string, prio int) string {
		return relConfig(node, t.TempDir(),
			relInstance{name: "v4", vrid: 42, prio: prio, advert: "100ms", vips: relWithBits(v4, lab.LAN4.Bits())},
			relInstance{name: "v6", vrid: 43, prio: prio, advert: "100ms", vips: relWithBits(v6, lab.LAN6.Bits())})
	}
	na, nb := newRelNode(t, a, cfg("a", 200)), newRelNode(t, b, cfg("b", 100))
	na.start()
	nb.start()
	for _, in := range []string{"v4", "v6"} {
		na.waitState(in, "MASTER", 10*time.Second)
		nb.waitState(in, "BACKUP", 10*time.Second)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := lab.NewProber(all, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	waitFor(t, "client reaches every VIP on A", 10*time.Second, p.AllReachable)

	heal := relPartition(t, a)
	for _, in := range []string{"v4", "v6"} {
		nb.waitState(in, "MASTER", 5*time.Second)
		if s := na.state(in); s != "MASTER" {
			t.Fatalf("during the split A/%s is %s, want MASTER", in, s)
		}
	}
	waitFor(t, "both nodes hold every VIP", 5*time.Second, func() bool { return hasAll(t, a, all) && hasAll(t, b, all) })
	// B announced last: the router sends the IPv4 VIPs' traffic to B (for
	// IPv6 it depends on who answered the router's last probe).
	waitFor(t, "router learns B's MAC for the IPv4 VIPs", 5*time.Second, func() bool { return relRouterPointsAt(t, lab, v4, b) })
	atB := relRouterCount(t, lab, all, b)
	t.Logf("split: router has %d of %d VIPs at B's MAC", atB, len(all))
	waitFor(t, "client reaches every VIP during the split", 5*time.Second, p.AllReachable)
	trA, trB := map[string]uint64{}, map[string]uint64{}
	for _, in := range []string{"v4", "v6"} {
		trA[in], trB[in] = na.inst(in).Counters.Transitions, nb.inst(in).Counters.Transitions
	}

	t.Logf("before heal: router has %d of %d VIPs at B's MAC", relRouterCount(t, lab, all, b), len(all))
	healed := time.Now()
	heal()
	waitFor(t, "B back to backup", 5*time.Second, func() bool { return nb.state("v4") == "BACKUP" && nb.state("v6") == "BACKUP" })
	for _, in := range []string{"v4", "v6"} {
		sb := nb.inst(in)
		took := sb.Counters.LastTransition.Sub(healed)
		t.Logf("%s: B left MASTER %v after the heal (reason %s)", in, took.Round(time.Millisecond), sb.Counters.LastTransitionReason)
		// One advertisement interval, plus A's timer phase is already
		// part of it; the tolerance covers scheduling of the race build.
		if limit := advert + 100*time.Millisecond; took > limit {
			t.Errorf("%s: one master again after %v, want within %v", in, took, limit)
		}
		if sb.Counters.Transitions != trB[in]+1 {
			t.Errorf("%s: B made %d transitions on heal, want 1 (MASTER -> BACKUP)", in, sb.Counters.Transitions-trB[in])
		}
		if sa := na.inst(in); sa.State != "MASTER" || sa.Counters.Transitions != trA[in] {
			t.Errorf("%s: A is %s after %d transitions on heal, want MASTER throughout", in, sa.State, sa.Counters.Transitions-trA[in])
		}
	}
	waitFor(t, "B removed its VIPs", 2*time.Second, func() bool { return holdsNone(t, b, all) })

	// Every VIP must answer at the winner within 1 s of the heal; look at
	// the probes of 1.5 s.
	waitFor(t, "1.5 s of probes after the heal", 5*time.Second, func() bool {
		return time.Since(healed) > 1500*time.Millisecond && p.AllReachable()
	})
	worst := time.Duration(0)
	var late []string
	for _, r := range p.Results(healed) {
		worst = max(worst, r.Outage)
		if !r.Recovered || r.Outage > time.Second {
			late = append(late, r.VIP.String()+" ("+r.Outage.Round(time.Millisecond).String()+")")
		}
	}
	neigh, _ := lab.RouterNeigh()
	t.Logf("heal: worst outage %v; router: %v is-at %v", worst.Round(time.Millisecond), v4[0], neigh[v4[0]])
	if len(late) > 0 {
		t.Errorf("%d VIPs not reachable at the winner within 1 s of the heal: %v", len(late), late)
	}
	relCheckOneHolder(t, []*labnet.Host{a, b}, all)
	if sticky {
		// The router ignored A's announcements: A's verifier found the
		// VIPs stale and repaired them.
		for _, in := range []string{"v4", "v6"} {
			fixed := 0
			for _, v := range na.inst(in).VIPs {
				if v.Verification != "verified" {
					t.Errorf("%s: %s", v.Address, v.Verification)
				}
				for _, tg := range v.Targets {
					if tg.FixedBy != "" {
						fixed++
					}
				}
			}
			t.Logf("%s: A's verifier repaired %d VIPs after the heal", in, fixed)
			if fixed == 0 {
				t.Errorf("%s: no VIP needed a repair: the sticky scenario is not real", in)
			}
		}
	}
	// How: the winner heard the other master and reasserted itself
	// (advertised at once, announced and verified again).
	for _, in := range []string{"v4", "v6"} {
		if !na.logHas(" instance="+in+" ", "reasserting") {
			t.Errorf("%s: A's log does not show it reasserting after the heal", in)
		}
	}
}

// relRouterCount counts the VIPs whose router neighbour entry holds h's
// MAC.
func relRouterCount(t *testing.T, lab *labnet.Lab, vips []netip.Addr, h *labnet.Host) int {
	m, err := lab.RouterNeigh()
	if err != nil {
		t.Fatalf("router neighbours: %v", err)
	}
	n := 0
	for _, v := range vips {
		if m[v].String() == h.MAC.String() {
			n++
		}
	}
	return n
}

// relRouterPointsAt reports whether the router's neighbour entry of every
// VIP holds h's MAC.
func relRouterPointsAt(t *testing.T, lab *labnet.Lab, vips []netip.Addr, h *labnet.Host) bool {
	m, err := lab.RouterNeigh()
	if err != nil {
		t.Logf("router neighbours: %v", err)
		return false
	}
	for _, v := range vips {
		if m[v].String() != h.MAC.String() {
			return false
		}
	}
	return true
}

// TestIntegrationMasterCrash kills vipd on the master with SIGKILL while
// the node stays up: the backup takes over and reports the addresses the
// dead process left behind as a conflict; vipd restarted on A removes them
// and preempts once, without flapping.
func TestIntegrationMasterCrash(t *testing.T) {
	lab := newLab(t, labnet.Options{})
	vips, err := lab.VIPs4(10)
	if err != nil {
		t.Fatal(err)
	}
	a, b := lab.Nodes[0], lab.Nodes[1]
	cfg := func(node string, prio int) string {
		return relConfig(node, t.TempDir(),
			relInstance{name: "v4", vrid: 42, prio: prio, advert: "100ms", vips: relWithBits(vips, lab.LAN4.Bits())})
	}
	na, nb := newRelNode(t, a, cfg("a", 200)), newRelNode(t, b, cfg("b", 100))
	na.start()
	nb.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	nb.waitState("v4", "BACKUP", 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := lab.NewProber(vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	waitFor(t, "client reaches every VIP on A", 10*time.Second, p.AllReachable)

	na.kill()
	killed := time.Now()
	nb.waitState("v4", "MASTER", 5*time.Second)
	tookOver := time.Since(killed)
	waitFor(t, "B holds every VIP", 5*time.Second, func() bool { return hasAll(t, b, vips) })
	if !hasAll(t, a, vips) {
		t.Fatal("A lost its VIPs with the process: the crash scenario is not real")
	}
	// B sees A's kernel answer for the VIPs it now holds: a duplicate
	// owner, shown by `vipd status --json`.
	waitFor(t, "B reports A's MAC as a conflicting owner of every VIP", 5*time.Second, func() bool {
		st, err := nb.status()
		if err != nil || len(st.Instances) != 1 {
			return false
		}
		for _, v := range st.Instances[0].VIPs {
			if v.ConflictMAC != a.MAC.String() {
				return false
			}
		}
		return true
	})
	if !nb.logHas("duplicate owner", a.MAC.String()) {
		t.Error("B's log does not name the duplicate owner")
	}
	t.Logf("kill -9: B master after %v, conflict on every VIP reported after %v",
		tookOver.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))

	trB := nb.inst("v4").Counters.Transitions
	restarted := time.Now()
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	nb.waitState("v4", "BACKUP", 5*time.Second)
	waitFor(t, "B released every VIP", 5*time.Second, func() bool { return holdsNone(t, b, vips) })
	waitFor(t, "client reaches every VIP on A", 5*time.Second, p.AllReachable)
	t.Logf("restart: A master and every VIP reachable on A %v after the restart", time.Since(restarted).Round(time.Millisecond))
	if !na.logHas("removing VIPs left on the interface by an earlier run", "count=10") {
		t.Error("restarted A did not report removing the 10 leftover VIPs")
	}
	// No flapping: watch a quiet period of 20 advertisement intervals.
	trA := na.inst("v4").Counters.Transitions
	time.Sleep(2 * time.Second)
	sa, sb := na.inst("v4"), nb.inst("v4")
	if sa.State != "MASTER" || sb.State != "BACKUP" {
		t.Errorf("after the quiet period A is %s and B %s", sa.State, sb.State)
	}
	// A: INIT -> BACKUP -> MASTER; B: MASTER -> BACKUP.
	if sa.Counters.Transitions != 2 || trA != 2 || sb.Counters.Transitions != trB+1 {
		t.Errorf("transitions: A %d (want 2), B %d since A's restart (want 1)", sa.Counters.Transitions, sb.Counters.Transitions-trB)
	}
	for _, v := range sa.VIPs {
		if v.ConflictMAC != "" || !v.Held {
			t.Errorf("A: %s held=%v conflict=%q after the restart", v.Address, v.Held, v.ConflictMAC)
		}
	}
	relCheckOneHolder(t, []*labnet.Host{a, b}, vips)
	if !p.AllReachable() {
		t.Error("client lost VIPs during the quiet period")
	}
}

// TestIntegrationFlapping takes node A's switch port down and up every
// 2 s. A's own link loses carrier each time (FAULT: interface), so A never
// becomes master on its island; with a preempt delay longer than the up
// periods the VIPs stay on B and the client sees no outage at all; without
// one every transition leaves every VIP reachable. At the end each VIP is
// on exactly one node.
func TestIntegrationFlapping(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
		flap  time.Duration
	}{
		{"preempt_delay", 5 * time.Second, 30 * time.Second},
		{"no_delay", 0, 20 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) { flapping(t, tc.delay, tc.flap) })
	}
}

func flapping(t *testing.T, delay, flapFor time.Duration) {
	const half = 2 * time.Second
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
	cfg := func(node string, prio int, delay time.Duration) string {
		d := ""
		if delay > 0 {
			d = delay.String()
		}
		return relConfig(node, t.TempDir(),
			relInstance{name: "v4", vrid: 42, prio: prio, advert: "100ms", preemptDelay: d, vips: relWithBits(v4, lab.LAN4.Bits())},
			relInstance{name: "v6", vrid: 43, prio: prio, advert: "100ms", preemptDelay: d, vips: relWithBits(v6, lab.LAN6.Bits())})
	}
	na, nb := newRelNode(t, a, cfg("a", 200, delay)), newRelNode(t, b, cfg("b", 100, 0))
	insts := []string{"v4", "v6"}
	nb.start()
	for _, in := range insts {
		nb.waitState(in, "MASTER", 10*time.Second)
	}
	na.start()
	want := map[bool]string{true: "BACKUP", false: "MASTER"}[delay > 0]
	for _, in := range insts {
		na.waitState(in, want, 10*time.Second)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := lab.NewProber(all, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	waitFor(t, "client reaches every VIP", 10*time.Second, p.AllReachable)
	trB := map[string]uint64{}
	for _, in := range insts {
		trB[in] = nb.inst(in).Counters.Transitions
	}

	start := time.Now()
	cycles := 0
	for k := 0; time.Since(start) < flapFor; k++ {
		down := k%2 == 0
		if down {
			err = lab.PortDown(a)
			cycles++
		} else {
			err = lab.PortUp(a)
		}
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(start.Add(time.Duration(k+1) * half)))
		// The client's view at the end of each half period: whoever
		// holds the VIPs now, the router delivers every one of them.
		if !p.AllReachable() {
			var lost []string
			for _, v := range all {
				if !p.Reachable(v) {
					lost = append(lost, v.String())
				}
			}
			neigh, _ := lab.RouterNeigh()
			t.Errorf("%v after the port went %s: unreachable %v; holders %v; router %v is-at %v (A %v, B %v)",
				time.Since(start).Round(time.Second), map[bool]string{true: "down", false: "up"}[down], lost,
				relHolders(t, []*labnet.Host{a, b}, all), lost[0], neigh[netip.MustParseAddr(lost[0])], a.MAC, b.MAC)
		}
	}
	if err := lab.PortUp(a); err != nil {
		t.Fatal(err)
	}
	stable := time.Now()
	t.Logf("%d down/up cycles in %v", cycles, stable.Sub(start).Round(time.Millisecond))

	if delay > 0 {
		// VIPs stayed on B: A never became master, B never left, and the
		// client saw no outage.
		for _, in := range insts {
			if n := na.logTransitions(in, "MASTER"); n != 0 {
				t.Errorf("%s: A became master %d times while its link flapped", in, n)
			}
			if sb := nb.inst(in); sb.State != "MASTER" || sb.Counters.Transitions != trB[in] {
				t.Errorf("%s: B is %s after %d transitions, want MASTER throughout", in, sb.State, sb.Counters.Transitions-trB[in])
			}
		}
		worst, gap, lag := clientView(p, start)
		t.Logf("client while A flapped: longest loss %v, longest gap between replies %v%s",
			worst.Round(time.Millisecond), gap.Round(time.Millisecond), lag)
		if worst > 200*time.Millisecond {
			t.Errorf("client lost its probes for %v while the VIPs should have stayed on B", worst)
		}
		// Once A's link is stable for the preempt delay, A takes over,
		// once.
		for _, in := range insts {
			na.waitState(in, "MASTER", delay+5*time.Second)
			if took := time.Since(stable); took < delay {
				t.Errorf("%s: A preempted %v after its link settled, before the %v delay", in, took, delay)
			}
			if n := na.logTransitions(in, "MASTER"); n != 1 {
				t.Errorf("%s: A became master %d times, want once", in, n)
			}
		}
	} else {
		for _, in := range insts {
			na.waitState(in, "MASTER", 5*time.Second)
			nb.waitState(in, "BACKUP", 5*time.Second)
		}
	}
	waitFor(t, "B released every VIP", 5*time.Second, func() bool { return holdsNone(t, b, all) })
	waitFor(t, "client reaches every VIP on A", 5*time.Second, p.AllReachable)
	relCheckOneHolder(t, []*labnet.Host{a, b}, all)
	// Nothing beyond what the link changes force. A: INIT -> BACKUP
	// (-> MASTER at once without a delay); per cycle BACKUP or MASTER ->
	// FAULT -> BACKUP (-> MASTER without a delay); with a delay the final
	// preemption. B: INIT -> BACKUP -> MASTER; without a delay preempted
	// at A's start and then per cycle MASTER and back; with a delay
	// preempted once at the end.
	wantA, wantB := uint64(2+2*cycles), uint64(3)
	if delay == 0 {
		wantA, wantB = uint64(2+3*cycles), uint64(3+2*cycles)
	}
	for _, in := range insts {
		ta, tb := na.inst(in).Counters.Transitions, nb.inst(in).Counters.Transitions
		t.Logf("%s: A made %d transitions, B %d", in, ta, tb)
		if ta != wantA || tb != wantB {
			t.Errorf("%s: A made %d transitions (want %d): %v; B %d (want %d): %v", in, ta, wantA, na.logSummary(in), tb, wantB, nb.logSummary(in))
		}
	}
}

// TestIntegrationHostilePackets injects broken and hostile VRRP packets
// from a third host on the LAN. Each is dropped and counted under its
// reason in `vipd status --json`; the master does not change state and
// accepts nothing.
func TestIntegrationHostilePackets(t *testing.T) {
	lab := newLab(t, labnet.Options{Extra: []string{"injector"}})
	vips, err := lab.VIPs4(3)
	if err != nil {
		t.Fatal(err)
	}
	a, b, inj := lab.Nodes[0], lab.Nodes[1], lab.Extra[0]
	// B is the only configured peer (and runs no vipd): A is master alone.
	na := newRelNode(t, a, relConfig("a", t.TempDir(), relInstance{name: "v4", vrid: 42, prio: 100, advert: "100ms",
		peers: []netip.Addr{b.Addr4.Addr()}, vips: relWithBits(vips, lab.LAN4.Bits())}))
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)

	// A real switch forwards a malformed IP packet; the lab's Linux bridge
	// drops it when br_netfilter is loaded, unless told not to look.
	if err := lab.Switch.Do(func() error {
		err := os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-iptables", []byte("0"), 0o644)
		if errors.Is(err, os.ErrNotExist) {
			return nil // br_netfilter is not loaded
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	src, dst := inj.Addr4.Addr(), a.Addr4.Addr()
	valid := func(vrid, prio uint8) []byte { return relVRRP(src, dst, vrid, prio, 100, vips...) }
	// mutate changes a valid advertisement and fixes its checksum, so that
	// exactly one thing is wrong with it.
	mutate := func(f func(b []byte)) []byte {
		b := valid(42, 100)
		f(b)
		relSetChecksum(b, src, dst)
		return b
	}
	adv := valid(42, 100)
	cases := []struct {
		name    string
		payload []byte // sent by a raw IP socket, TTL ttl
		ttl     int
		frame   []byte // or: an IP packet sent as a raw Ethernet frame
		reason  string // in status counters.drops
	}{
		{name: "truncated VRRP header", payload: adv[:6], ttl: 255, reason: "too_short"},
		{name: "truncated to one byte", payload: adv[:1], ttl: 255, reason: "link_too_short"},
		{name: "truncated IP packet", frame: append(relIPv4Header(src, dst, 20+len(adv)), adv[:4]...), reason: "link_malformed_ip"},
		{name: "bad checksum", payload: func() []byte { b := valid(42, 100); b[7] ^= 0xff; return b }(), ttl: 255, reason: "checksum"},
		{name: "TTL 64", payload: adv, ttl: 64, reason: "ttl"},
		{name: "version 2 on a VRRPv3 instance", payload: mutate(func(b []byte) { b[0] = 0x21 }), ttl: 255, reason: "version_mismatch"},
		{name: "version 4", payload: mutate(func(b []byte) { b[0] = 0x41 }), ttl: 255, reason: "version"},
		{name: "type 2", payload: mutate(func(b []byte) { b[0] = 0x32 }), ttl: 255, reason: "type"},
		{name: "count/length mismatch", payload: mutate(func(b []byte) { b[3]++ }), ttl: 255, reason: "length"},
		{name: "interval 0", payload: mutate(func(b []byte) { b[4], b[5] = 0, 0 }), ttl: 255, reason: "interval"},
		{name: "unknown VRID", payload: valid(99, 100), ttl: 255, reason: "link_unknown_vrid"},
		{name: "priority 255 from a host that is not a peer", payload: valid(42, 255), ttl: 255, reason: "not_peer"},
	}
	const copies = 3
	before := na.inst("v4")
	for _, tc := range cases {
		base := na.inst("v4").Counters.Drops
		if tc.frame != nil {
			err = relInjectFrame(inj, a.MAC, tc.frame, copies)
		} else {
			err = relInjectIPv4(inj, dst, tc.ttl, tc.payload, copies)
		}
		if err != nil {
			t.Fatalf("%s: inject: %v", tc.name, err)
		}
		var got map[string]uint64
		if !waitUntil(3*time.Second, func() bool {
			got = na.inst("v4").Counters.Drops
			return got[tc.reason] >= base[tc.reason]+copies
		}) {
			t.Errorf("%s: drops[%s] went from %d to %d, want +%d (all drops: %v)", tc.name, tc.reason, base[tc.reason], got[tc.reason], copies, got)
			continue
		}
		for k, v := range got {
			if want := base[k] + map[bool]uint64{true: copies}[k == tc.reason]; v != want {
				t.Errorf("%s: drops[%s] = %d, want %d", tc.name, k, v, want)
			}
		}
		t.Logf("%-45s dropped as %s", tc.name, tc.reason)
	}
	after := na.inst("v4")
	if !na.running() {
		t.Fatal("vipd exited")
	}
	if after.State != "MASTER" || after.Counters.Transitions != before.Counters.Transitions ||
		after.Counters.AdvertsReceived != before.Counters.AdvertsReceived {
		t.Errorf("state %s, transitions %d -> %d, adverts received %d -> %d: want MASTER and nothing accepted",
			after.State, before.Counters.Transitions, after.Counters.Transitions,
			before.Counters.AdvertsReceived, after.Counters.AdvertsReceived)
	}
	if !hasAll(t, a, vips) {
		t.Error("A lost VIPs")
	}
}

// TestIntegrationSoak hands 100 VIPs over and back VIPD_SOAK_CYCLES times
// (default 200) with `vipd maintenance on/off` on A: every cycle runs the
// whole takeover path on both daemons (addresses, announcements,
// verification, watchers) without restarting either. Each handover must
// leave every VIP on exactly one node; at the end the client reaches every
// VIP and both daemons are back to their starting goroutine and file
// descriptor counts.
func TestIntegrationSoak(t *testing.T) {
	cycles := 200
	if s := os.Getenv("VIPD_SOAK_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("VIPD_SOAK_CYCLES=%q: want a positive number", s)
		}
		cycles = n
	}
	lab := newLab(t, labnet.Options{})
	vips, err := lab.VIPs4(100)
	if err != nil {
		t.Fatal(err)
	}
	a, b := lab.Nodes[0], lab.Nodes[1]
	// 100 ms adverts: B's Master_Down_Interval is 360 ms. With 50 ms
	// (180 ms) a busy two-CPU CI machine starved the race-built master
	// long enough for a spurious takeover now and then.
	cfg := func(node string, prio int) string {
		return relConfig(node, t.TempDir(),
			relInstance{name: "v4", vrid: 42, prio: prio, advert: "100ms", vips: relWithBits(vips, lab.LAN4.Bits())})
	}
	na, nb := newRelNode(t, a, cfg("a", 200)), newRelNode(t, b, cfg("b", 100))
	na.start()
	nb.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	nb.waitState("v4", "BACKUP", 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The router has an entry for every VIP throughout, so that each
	// handover has to move it.
	p, err := lab.NewProber(vips, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	waitFor(t, "client reaches every VIP on A", 10*time.Second, p.AllReachable)

	// holding waits until h (and not the other node) holds every VIP.
	holding := func(state string, h, other *labnet.Host, nh, no relNode, otherState string) bool {
		return nh.state("v4") == state && no.state("v4") == otherState && hasAll(t, h, vips) && holdsNone(t, other, vips)
	}
	type usage struct{ goroutines, fds int }
	use := func(n relNode) usage {
		s, err := n.st()
		if err != nil {
			t.Fatalf("status of %s: %v", n.host.Name, err)
		}
		return usage{s.Goroutines, s.OpenFDs}
	}
	// The starting point: A master with its verifier done, B backup.
	waitFor(t, "A's VIPs verified", 10*time.Second, func() bool {
		for _, v := range na.inst("v4").VIPs {
			if v.Verification != "verified" {
				return false
			}
		}
		return true
	})
	startA, startB := use(na), use(nb)
	trA, trB := na.inst("v4").Counters.Transitions, nb.inst("v4").Counters.Transitions
	downB := nb.logSummary("v4")["BACKUP->MASTER (master_down_timer)"]

	start := time.Now()
	var worstOver, worstBack time.Duration
	for i := range cycles {
		t0 := time.Now()
		na.maintenance(true)
		if !waitUntil(5*time.Second, func() bool { return holding("MASTER", b, a, nb, na, "FAULT") }) {
			t.Fatalf("cycle %d: B did not take every VIP over (A %s, B %s)", i, na.state("v4"), nb.state("v4"))
		}
		t1 := time.Now()
		na.maintenance(false)
		if !waitUntil(5*time.Second, func() bool { return holding("MASTER", a, b, na, nb, "BACKUP") }) {
			t.Fatalf("cycle %d: A did not take every VIP back (A %s, B %s)", i, na.state("v4"), nb.state("v4"))
		}
		worstOver, worstBack = max(worstOver, t1.Sub(t0)), max(worstBack, time.Since(t1))
	}
	took := time.Since(start)
	t.Logf("%d cycles of 100 VIPs in %v (%v per cycle); slowest handover %v, slowest failback %v",
		cycles, took.Round(time.Millisecond), (took / time.Duration(cycles)).Round(time.Millisecond),
		worstOver.Round(time.Millisecond), worstBack.Round(time.Millisecond))

	waitFor(t, "client reaches every VIP on A", 10*time.Second, p.AllReachable)
	relCheckOneHolder(t, []*labnet.Host{a, b}, vips)
	// Per cycle A goes MASTER -> FAULT -> BACKUP -> MASTER and B BACKUP ->
	// MASTER -> BACKUP. Anything more is flapping.
	ta, tb := na.inst("v4").Counters.Transitions-trA, nb.inst("v4").Counters.Transitions-trB
	// A race-built master starved of CPU for a Master_Down_Interval (361
	// ms) on a loaded CI machine lets B take over by its timer, as the
	// protocol wants, and take it back at once: such a pair (B:
	// master_down_timer, then preempted) is counted and allowed twice in
	// the whole soak; anything else is flapping.
	starved := nb.logSummary("v4")["BACKUP->MASTER (master_down_timer)"] - downB
	if starved > 0 && starved <= 2 {
		t.Logf("B took over %d times by its Master_Down_Timer (A starved on a busy machine) and was preempted back", starved)
		tb -= uint64(2 * starved)
	}
	if ta != uint64(3*cycles) || tb != uint64(2*cycles) {
		t.Errorf("transitions during the cycles: A %d (want %d), B %d (want %d); since start A %v, B %v",
			ta, 3*cycles, tb, 2*cycles, na.logSummary("v4"), nb.logSummary("v4"))
	}
	for _, n := range []struct {
		node  relNode
		start usage
	}{{na, startA}, {nb, startB}} {
		var now usage
		ok := waitUntil(15*time.Second, func() bool { now = use(n.node); return now == n.start })
		t.Logf("%s: goroutines %d -> %d, open fds %d -> %d", n.node.host.Name, n.start.goroutines, now.goroutines, n.start.fds, now.fds)
		if !ok {
			t.Errorf("%s leaks: goroutines %d -> %d, open fds %d -> %d", n.node.host.Name, n.start.goroutines, now.goroutines, n.start.fds, now.fds)
		}
	}
}

// TestIntegrationBadConditions starts vipd where it cannot work, or takes
// its interface away, and checks that it says so in one clear line and
// leaves nothing half-applied, or recovers by itself.
func TestIntegrationBadConditions(t *testing.T) {
	lab := newLab(t, labnet.Options{})
	a, b := lab.Nodes[0], lab.Nodes[1]
	vips, err := lab.VIPs4(3)
	if err != nil {
		t.Fatal(err)
	}
	lan := relInstance{name: "v4", vrid: 42, prio: 100, advert: "100ms", vips: relWithBits(vips, lab.LAN4.Bits())}
	// nothingLeft checks what a failed start must not leave behind.
	nothingLeft := func(t *testing.T, socket string) {
		t.Helper()
		if !holdsNone(t, a, vips) {
			t.Error("VIPs left on the interface")
		}
		if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("control socket left behind (%v)", err)
		}
	}
	// oneLine checks that vipd explained itself in one line that names
	// every one of want.
	oneLine := func(t *testing.T, code int, stderr string, want ...string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		t.Logf("exit %d: %s", code, strings.TrimSpace(stderr))
		if code == 0 || len(lines) != 1 {
			t.Fatalf("exit code %d, %d lines on stderr: want a failure explained in one line", code, len(lines))
		}
		for _, w := range want {
			if !strings.Contains(lines[0], w) {
				t.Errorf("message does not name %q", w)
			}
		}
	}

	t.Run("interface missing at start", func(t *testing.T) {
		// The first instance is fine: nothing of it may stay when the
		// second cannot start.
		gone := relInstance{name: "gone", iface: "nosuch0", vrid: 43, prio: 100, advert: "100ms",
			vips: []netip.Prefix{netip.MustParsePrefix("192.0.2.200/24")}}
		code, stderr, socket := relRunOnce(t, a, nil, relConfig("a", "@STATE@", lan, gone))
		oneLine(t, code, stderr, "nosuch0")
		nothingLeft(t, socket)
	})

	t.Run("missing capabilities", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			pre  []string
			want []string
		}{
			{"no capabilities", []string{"setpriv", "--inh-caps=-all", "--bounding-set=-all"}, []string{"CAP_NET_RAW", "CAP_NET_ADMIN"}},
			{"no CAP_NET_RAW", []string{"setpriv", "--inh-caps=-all", "--bounding-set=-net_raw"}, []string{"CAP_NET_RAW"}},
			{"no CAP_NET_ADMIN", []string{"setpriv", "--inh-caps=-all", "--bounding-set=-net_admin"}, []string{"CAP_NET_ADMIN"}},
			{"user nobody", []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"}, []string{"CAP_NET_RAW", "CAP_NET_ADMIN"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, stderr, socket := relRunOnce(t, a, tc.pre, relConfig("a", "@STATE@", lan))
				oneLine(t, code, stderr, tc.want...)
				nothingLeft(t, socket)
			})
		}
	})

	t.Run("wait for interface, deleted and recreated", func(t *testing.T) {
		// vip0 is a veth pair inside A: a link with carrier, off the LAN.
		const ifname = "vip0"
		vip0 := []netip.Prefix{netip.MustParsePrefix("198.51.100.150/25"), netip.MustParsePrefix("198.51.100.151/25")}
		create := func() {
			for _, args := range [][]string{
				{"link", "add", ifname, "type", "veth", "peer", "name", ifname + "p"},
				{"addr", "add", "198.51.100.129/25", "dev", ifname},
				{"link", "set", ifname + "p", "up"},
				{"link", "set", ifname, "up"},
			} {
				if out, err := a.Run(context.Background(), "ip", args...); err != nil {
					t.Fatalf("%v: %s", err, out)
				}
			}
		}
		holds := func() bool {
			out, err := a.Run(context.Background(), "ip", "-br", "addr", "show", "dev", ifname)
			if err != nil {
				return false
			}
			for _, p := range vip0 {
				if !strings.Contains(string(out), p.String()) {
					return false
				}
			}
			return true
		}
		n := newRelNode(t, a, relConfig("a", t.TempDir(),
			relInstance{name: "late", iface: ifname, vrid: 44, prio: 100, advert: "100ms", waitIface: true, vips: vip0}))
		n.start()
		waitFor(t, "vipd answers while it waits", 10*time.Second, func() bool { _, err := n.st(); return err == nil })
		time.Sleep(500 * time.Millisecond)             // a few link polls: it must neither exit nor start
		if !n.running() || n.state("late") != "INIT" { // shown, with fault_reasons ["waiting for interface"]
			t.Fatalf("running %v, instance %q: want vipd waiting for %s", n.running(), n.state("late"), ifname)
		}
		create()
		n.waitState("late", "MASTER", 5*time.Second)
		waitFor(t, "VIPs on "+ifname, 2*time.Second, holds)

		if out, err := a.Run(context.Background(), "ip", "link", "del", ifname); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		waitFor(t, "instance stopped with its interface", 2*time.Second, func() bool { return n.state("late") == "INIT" })
		create()
		n.waitState("late", "MASTER", 5*time.Second)
		waitFor(t, "VIPs restored on the recreated "+ifname, 2*time.Second, holds)
		if !n.running() {
			t.Fatal("vipd exited")
		}
		n.stop()
		if holds() {
			t.Error("VIPs left on " + ifname + " after a graceful stop")
		}
	})

	t.Run("VIP already on another interface", func(t *testing.T) {
		// A load-balancer real server's way: the VIP on lo. A's kernel
		// would then answer ARP for it on eth0 too, whoever is master:
		// vipd refuses the instance with one line naming the VIP and
		// the interface, and touches nothing (finding 3).
		onLo := netip.PrefixFrom(vips[0], 32)
		if out, err := a.Run(context.Background(), "ip", "addr", "add", onLo.String(), "dev", "lo"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		defer a.Run(context.Background(), "ip", "addr", "del", onLo.String(), "dev", "lo")
		bcfg := lan
		bcfg.prio = 200
		nb := newRelNode(t, b, relConfig("b", t.TempDir(), bcfg))
		nb.start()
		nb.waitState("v4", "MASTER", 10*time.Second)
		code, stderr, _ := relRunOnce(t, a, nil, relConfig("a", "@STATE@", lan))
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code == 0 || len(lines) != 1 || !strings.Contains(lines[0], vips[0].String()) || !strings.Contains(lines[0], " lo") {
			t.Fatalf("exit %d, stderr %q: want non-zero and one line naming %s and lo", code, stderr, vips[0])
		}
		t.Logf("refused: %s", lines[0])
		out, err := a.Run(context.Background(), "ip", "-br", "addr", "show", "dev", "lo")
		if err != nil || !strings.Contains(string(out), onLo.String()) {
			t.Errorf("the operator's %s on lo is gone: %s %v", onLo, out, err)
		}
		if out, _ := a.Run(context.Background(), "ip", "-br", "addr", "show", "dev", a.Iface); strings.Contains(string(out), vips[0].String()+"/") {
			t.Errorf("the refused instance left %s on %s: %s", vips[0], a.Iface, out)
		}
		if nb.state("v4") != "MASTER" {
			t.Errorf("B is %s after A's refusal", nb.state("v4"))
		}
	})
}

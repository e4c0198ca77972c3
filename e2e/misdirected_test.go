package e2e

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/doctor"
	"github.com/vipd/vipd/internal/labnet"
)

// watchEvents runs `vipd events --json` against n (eventsCLI) and returns
// once the stream is known to be open: a `vipd reload` of the unchanged
// configuration, which changes nothing, has come through it.
func watchEvents(t *testing.T, n *vipdNode) *eventLog {
	t.Helper()
	l := n.eventsCLI(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n.mustCLI("reload")
		until := time.Now().Add(500 * time.Millisecond)
		for time.Now().Before(until) {
			evs, _ := l.snapshot()
			if slices.ContainsFunc(evs, func(e control.Event) bool { return e.Type == control.EventReload }) {
				return l
			}
			time.Sleep(20 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatalf("vipd events on %s: no reload event came through\n%s", n.host.Name, l.dump())
		}
	}
}

// vipStatus returns instance v4 of n and the status of one of its VIPs.
func vipStatus(n *vipdNode, vip netip.Addr) (control.InstanceStatus, control.VIPStatus, bool) {
	in, ok := n.instanceStatus("v4")
	if !ok {
		return in, control.VIPStatus{}, false
	}
	for _, v := range in.VIPs {
		if p, err := netip.ParsePrefix(v.Address); err == nil && p.Addr() == vip {
			return in, v, true
		}
	}
	return in, control.VIPStatus{}, false
}

// TestIntegrationMisdirectedReportedByReturningBackup is the story's
// tcpdump on node A, automated: A fails, B takes over and proves every
// VIP; the router is then made stale again for two VIPs (one whose
// gratuitous ARP it drops, one it would accept) towards A's MAC, and A
// comes back as backup (preempt: false). A's watcher must report the
// router's MAC sending those VIPs to A, and repair the router's entries in
// B's name, so that the client reaches the VIPs on B again; B's own
// verification only runs after its takeover (period 0s) so the repair is
// A's.
func TestIntegrationMisdirectedReportedByReturningBackup(t *testing.T) {
	lab, vips := stickyLab(t, false)
	a, b := lab.Nodes[0], lab.Nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfgA := strings.Replace(vipConfig("a", 200, "100ms", vips, nil, lab.LAN4, lab.LAN6),
		"    vips:\n", "    preempt: false\n    vips:\n", 1)
	cfgB := strings.Replace(vipConfig("b", 100, "100ms", vips, nil, lab.LAN4, lab.LAN6),
		"    vips:\n", "    verify:\n      period: 0s\n    vips:\n", 1)
	na, nb := newVipdNode(t, a, cfgA), newVipdNode(t, b, cfgB)
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	nb.start()
	nb.waitState("v4", "BACKUP", 10*time.Second)

	p, err := lab.NewProber(vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	waitFor(t, "client reaches every VIP on A", 10*time.Second, p.AllReachable)

	// A powers off: its port goes down, its vipd stops (and removes the
	// VIPs, as a node that boots again has none). B takes over and proves
	// every VIP, the sticky half by repair.
	if err := lab.PortDown(a); err != nil {
		t.Fatal(err)
	}
	na.stop()
	nb.waitState("v4", "MASTER", 5*time.Second)
	waitFor(t, "B verifies every VIP", 10*time.Second, func() bool {
		st, err := nb.status()
		if err != nil || len(st.Instances) == 0 {
			return false
		}
		for _, v := range st.Instances[0].VIPs {
			if v.Verification != "verified" {
				return false
			}
		}
		return true
	})
	waitFor(t, "client reaches every VIP on B", 5*time.Second, p.AllReachable)
	// B announces twice, 1.1 s apart: its second round would quietly fix
	// what the test makes stale below. Let it pass first.
	time.Sleep(1500 * time.Millisecond)

	// A comes back, as backup.
	if err := lab.PortUp(a); err != nil {
		t.Fatal(err)
	}
	na.start()
	na.waitState("v4", "BACKUP", 10*time.Second)
	events := watchEvents(t, na)
	waitFor(t, "A knows B as master", 5*time.Second, func() bool {
		in, _, _ := vipStatus(na, vips[0])
		return in.Master != nil && in.Master.MAC == b.MAC.String()
	})
	bIn, _, _ := vipStatus(nb, vips[0])

	// The router forgets the failover for two VIPs: its entries point at
	// A's MAC again, valid for hours.
	stale := []netip.Addr{vips[0], vips[1]}
	injected := time.Now()
	for _, v := range stale {
		if out, err := lab.Router.Run(ctx, "ip", "neigh", "replace", v.String(), "lladdr", a.MAC.String(),
			"dev", lab.Router.Iface, "nud", "reachable"); err != nil {
			t.Fatalf("make the router stale: %v\n%s", err, out)
		}
	}

	for _, v := range stale {
		ev := events.wait(t, "A reports misdirected traffic for "+v.String(), 10*time.Second, func(e control.Event) bool {
			return e.Type == control.EventMisdirected && e.VIP == v.String() && e.Fields["src_mac"] == lab.Router.MAC.String()
		})
		t.Logf("A, %v after the router went stale: %s %s %v", ev.Time.Sub(injected).Round(time.Millisecond), ev.VIP, ev.Message, ev.Fields)
		if !strings.Contains(ev.Message, "upstream "+lab.Router.MAC.String()+" still sends "+v.String()+" here") {
			t.Errorf("event message %q", ev.Message)
		}
		if ev.Fields["repairs"] == "0" || ev.Fields["repairs"] == "" {
			t.Errorf("A reported without repairing: %v", ev.Fields)
		}
	}
	for _, v := range stale {
		waitFor(t, "router's entry for "+v.String()+" back at B's MAC", 5*time.Second, func() bool {
			neigh, err := lab.RouterNeigh()
			return err == nil && bytes.Equal(neigh[v], b.MAC)
		})
		t.Logf("router repaired for %v within %v of going stale", v, time.Since(injected).Round(time.Millisecond))
		waitFor(t, "client reaches "+v.String(), 3*time.Second, func() bool { return p.Reachable(v) })
	}
	for _, v := range stale {
		_, vs, ok := vipStatus(na, v)
		if !ok || vs.Misdirected == 0 || vs.Held {
			t.Errorf("A's status for %v: %+v", v, vs)
		}
	}
	// Nobody moved: A backup, B master, B's transitions unchanged.
	if s := na.states()["v4"]; s != "BACKUP" {
		t.Errorf("A is %s", s)
	}
	if in, _, _ := vipStatus(nb, vips[0]); in.State != "MASTER" || in.Counters.Transitions != bIn.Counters.Transitions {
		t.Errorf("B: %s, transitions %d → %d", in.State, bIn.Counters.Transitions, in.Counters.Transitions)
	}
	waitFor(t, "client reaches every VIP", 3*time.Second, p.AllReachable)
}

// TestIntegrationDuplicateOwner: vipd on A is killed with -9, so A stays
// up holding the VIPs and answering ARP for them; B takes over. B must
// report A's MAC as a duplicate owner of every VIP, in its status and as
// "conflict" events, stay master without flapping, and `vipd doctor` on B
// must say conflict, naming A's MAC.
func TestIntegrationDuplicateOwner(t *testing.T) {
	lab := newLab(t, labnet.Options{})
	a, b := lab.Nodes[0], lab.Nodes[1]
	vips, err := lab.VIPs4(4)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	na := newVipdNode(t, a, vipConfig("a", 200, "100ms", vips, nil, lab.LAN4, lab.LAN6))
	nb := newVipdNode(t, b, vipConfig("b", 100, "100ms", vips, nil, lab.LAN4, lab.LAN6))
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	nb.start()
	nb.waitState("v4", "BACKUP", 10*time.Second)
	events := watchEvents(t, nb)

	killed := time.Now()
	na.kill()
	if !hasAll(t, a, vips) {
		t.Fatal("A lost its VIPs on kill -9")
	}
	nb.waitState("v4", "MASTER", 5*time.Second)
	for _, v := range vips {
		waitFor(t, "B reports A as duplicate owner of "+v.String(), 10*time.Second, func() bool {
			_, vs, ok := vipStatus(nb, v)
			return ok && vs.ConflictMAC == a.MAC.String()
		})
		ev := events.wait(t, "conflict event for "+v.String(), 2*time.Second, func(e control.Event) bool {
			return e.Type == control.EventConflict && e.VIP == v.String() && e.Fields["mac"] == a.MAC.String()
		})
		t.Logf("B, %v after the kill: %s %s", ev.Time.Sub(killed).Round(time.Millisecond), ev.VIP, ev.Message)
	}

	// No flapping: B stays master and makes no transition while the
	// conflict lasts (watched for 3 s, 30 advertisement intervals).
	in, _, _ := vipStatus(nb, vips[0])
	if in.State != "MASTER" {
		t.Fatalf("B is %s", in.State)
	}
	until := time.Now().Add(3 * time.Second)
	for time.Now().Before(until) {
		now, _, ok := vipStatus(nb, vips[0])
		if !ok || now.State != "MASTER" || now.Counters.Transitions != in.Counters.Transitions {
			t.Fatalf("B flaps: %s, transitions %d → %d", now.State, in.Counters.Transitions, now.Counters.Transitions)
		}
		time.Sleep(100 * time.Millisecond)
	}
	evs, _ := events.snapshot()
	if n := len(slices.DeleteFunc(evs, func(e control.Event) bool { return e.Type != control.EventState })); n != 1 {
		t.Errorf("B made %d state transitions after the kill, want 1 (BACKUP → MASTER):\n%s", n, events.dump())
	}

	// The operator's view.
	rep, code := doctorJSON(t, ctx, b, "--config", nb.config)
	if code != 1 || !rep.Daemon.Running {
		t.Errorf("doctor on B: exit %d, daemon %+v", code, rep.Daemon)
	}
	for _, f := range rep.VIPs {
		if f.Verdict != doctor.Conflict || !f.Held || len(f.AnsweredBy) != 1 || f.AnsweredBy[0] != a.MAC.String() ||
			f.Daemon == nil || f.Daemon.ConflictMAC != a.MAC.String() || f.Daemon.State != "MASTER" {
			t.Errorf("doctor on B, %s: %v held %v answered by %v, daemon %+v: %s", f.VIP, f.Verdict, f.Held, f.AnsweredBy, f.Daemon, f.Reason)
		}
	}
	if len(rep.VIPs) > 0 {
		t.Logf("doctor on B: %s: %s\n  fix: %s", rep.VIPs[0].VIP, rep.VIPs[0].Reason, rep.VIPs[0].Fix)
	}
}

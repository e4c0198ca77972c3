package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/doctor"
	"github.com/vipd/vipd/internal/labnet"
)

// runVipd runs the vipd binary with args in h's namespace and returns its
// stdout and exit code; stderr goes to the test log.
func runVipd(t *testing.T, ctx context.Context, h *labnet.Host, args ...string) ([]byte, int) {
	t.Helper()
	cmd := h.Command(ctx, vipdBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if errb.Len() > 0 {
		t.Logf("vipd %s on %s, stderr:\n%s", strings.Join(args, " "), h.Name, errb.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.Bytes(), 0
	case errors.As(err, &ee):
		return out.Bytes(), ee.ExitCode()
	}
	t.Fatalf("vipd %s on %s: %v", strings.Join(args, " "), h.Name, err)
	return nil, -1
}

// doctorJSON runs `vipd doctor --json` in h's namespace.
func doctorJSON(t *testing.T, ctx context.Context, h *labnet.Host, args ...string) (doctor.ReportJSON, int) {
	t.Helper()
	out, code := runVipd(t, ctx, h, append([]string{"doctor", "--json"}, args...)...)
	var rep doctor.ReportJSON
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("doctor --json on %s (exit %d): %v\n%s", h.Name, code, err, out)
	}
	return rep, code
}

// TestIntegrationDoctorSticky is the story seen by `vipd doctor`: 20 VIPs
// learnt by the sticky router at node A are moved to node B by hand, the
// way a failover tool without verification does it (addresses, then
// gratuitous ARP in both forms). Doctor, run on B without any daemon, must
// exit non-zero and name exactly the 10 VIPs whose gratuitous ARP the
// router drops as stale; `vipd nudge` must repair them all; doctor must
// then find every VIP ok and exit 0. The same for IPv6, with unsolicited
// NAs.
func TestIntegrationDoctorSticky(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "ipv4"
		if v6 {
			name = "ipv6"
		}
		t.Run(name, func(t *testing.T) { testDoctorSticky(t, v6) })
	}
}

func testDoctorSticky(t *testing.T, v6 bool) {
	lab, vips := stickyLab(t, v6)
	a, b := lab.Nodes[0], lab.Nodes[1]
	lan, router, fix := lab.LAN4, lab.Router.Addr4.Addr(), "directed_request"
	if v6 {
		lan, router, fix = lab.LAN6, lab.Router.Addr6.Addr(), "neighbor_solicit"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sticky := map[netip.Addr]bool{}
	var prefixes []netip.Prefix
	var list []string
	for i, v := range vips {
		sticky[v] = i%2 == 1
		prefixes = append(prefixes, netip.PrefixFrom(v, lan.Bits()))
		list = append(list, v.String())
	}

	// The VIPs on A; the client's traffic makes the router learn A's MAC.
	if err := a.AddAddrs(prefixes...); err != nil {
		t.Fatal(err)
	}
	p, err := lab.NewProber(vips, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx)
	defer p.Stop()
	waitFor(t, "client reaches every VIP on A", 10*time.Second, p.AllReachable)
	routerHas(t, lab, vips, func(netip.Addr) []byte { return a.MAC }, "after the client's traffic")

	// B knows the router from its own address, as a node that has been up
	// does: otherwise B's kernel would resolve the router with a VIP as
	// sender the first time an echo leaves from that VIP, a directed
	// request that repairs the VIP by accident.
	if out, err := b.Run(ctx, "ping", "-c", "1", "-W", "2", router.String()); err != nil {
		t.Fatalf("B ping router: %v\n%s", err, out)
	}

	// The move by hand.
	if err := a.DelAddrs(prefixes...); err != nil {
		t.Fatal(err)
	}
	if err := b.AddAddrs(prefixes...); err != nil {
		t.Fatal(err)
	}
	if v6 {
		if err := b.UnsolicitedNA(true, 1, vips...); err != nil {
			t.Fatal(err)
		}
	} else {
		for _, reply := range []bool{false, true} {
			if err := b.GratuitousARP(reply, 1, vips...); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The scenario is real: the router moved the plain VIPs only.
	routerHas(t, lab, vips, func(v netip.Addr) []byte {
		if sticky[v] {
			return a.MAC
		}
		return b.MAC
	}, "after the move")

	// B's configuration, with no daemon behind its socket.
	cfg := vipConfig("b", 100, "100ms", vips, nil, lab.LAN4, lab.LAN6)
	if v6 {
		cfg = vipConfig("b", 100, "100ms", vips, nil, lab.LAN6, lab.LAN6)
	}
	nb := newVipdNode(t, b, cfg)

	start := time.Now()
	rep, code := doctorJSON(t, ctx, b, "--config", nb.config)
	t.Logf("doctor before the repair: exit %d in %v (%s)", code, time.Since(start), rep.Summary.Elapsed)
	if code != 1 {
		t.Errorf("doctor exit status %d, want 1", code)
	}
	if rep.Daemon.Running {
		t.Errorf("doctor found a daemon: %+v", rep.Daemon)
	}
	var stale []string
	for _, f := range rep.VIPs {
		if f.Verdict == doctor.Stale {
			stale = append(stale, f.VIP)
		}
		want := doctor.OK
		if sticky[netip.MustParseAddr(f.VIP)] {
			want = doctor.Stale
		}
		if f.Verdict != want || !f.Held || len(f.AnsweredBy) != 0 {
			t.Errorf("%s: %v (held %v, answered by %v): %s; want %v", f.VIP, f.Verdict, f.Held, f.AnsweredBy, f.Reason, want)
		}
		if want == doctor.Stale && !strings.Contains(f.Fix, "vipd nudge --interface "+b.Iface+" --vip "+f.VIP) {
			t.Errorf("%s: fix %q", f.VIP, f.Fix)
		}
	}
	t.Logf("doctor names as stale: %v", stale)
	if rep.Summary.Verdicts["stale"] != 10 || rep.Summary.Unreachable != 10 || len(rep.VIPs) != 20 {
		t.Errorf("summary %+v", rep.Summary)
	}

	// The one-shot repair.
	start = time.Now()
	out, code := runVipd(t, ctx, b, "nudge", "--interface", b.Iface, "--vip", strings.Join(list, ","), "--json")
	took := time.Since(start)
	var nj doctor.NudgeJSON
	if err := json.Unmarshal(out, &nj); err != nil {
		t.Fatalf("nudge --json: %v\n%s", err, out)
	}
	t.Logf("nudge: exit %d in %v (process included; nudge itself %s): %+v", code, took, nj.Summary.Elapsed, nj.Summary)
	if code != 0 || !nj.OK || nj.Summary.Verified != 20 || nj.Summary.Repaired != 10 {
		t.Errorf("nudge: exit %d, %+v", code, nj.Summary)
	}
	for _, tg := range nj.Targets {
		want := ""
		if sticky[netip.MustParseAddr(tg.VIP)] {
			want = fix
		}
		if tg.FixedBy != want || tg.Target != router.String() || tg.State != "verified" {
			t.Errorf("nudge: %s → %s %s, fixed by %q after %d attempts", tg.VIP, tg.Target, tg.State, tg.FixedBy, tg.Attempts)
		}
	}
	routerHas(t, lab, vips, func(netip.Addr) []byte { return b.MAC }, "after nudge")
	waitFor(t, "client reaches every VIP on B", 5*time.Second, p.AllReachable)

	// Doctor again, in its human form: nothing left to fix.
	out, code = runVipd(t, ctx, b, "doctor", "--config", nb.config)
	t.Logf("doctor after the repair: exit %d\n%s", code, out)
	if code != 0 || !bytes.Contains(out, []byte("20 VIPs: 20 ok; none unreachable")) {
		t.Errorf("doctor after nudge: exit %d", code)
	}
}

// routerHas asserts the router's entry for each VIP.
func routerHas(t *testing.T, lab *labnet.Lab, vips []netip.Addr, want func(netip.Addr) []byte, when string) {
	t.Helper()
	neigh, err := lab.RouterNeigh()
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, v := range vips {
		if !bytes.Equal(neigh[v], want(v)) {
			bad = append(bad, v.String()+" at "+neigh[v].String())
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		t.Fatalf("router %s: %d entries not as expected: %v", when, len(bad), bad)
	}
}

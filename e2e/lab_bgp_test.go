package e2e

import (
	"testing"
	"time"

	"github.com/vipd/vipd/internal/lab"
	"github.com/vipd/vipd/internal/present"
)

// TestIntegrationLabBGP is `vipd lab --mode bgp`: vipd in routed mode on
// both nodes, BIRD 2 on the router. Powered off right after one of its
// keepalives, A is noticed when the router's hold timer expires, not
// before the earliest it can (BIRD starts its hold timer at 75 to 100 %
// of the hold time, RFC 4271 §10's jitter): every VIP is back through B
// within the hold time + 1 s. SIGTERM on A withdraws
// its routes first: every IPv6 VIP back within 1 s; so does a failing
// health check, within 1 s of being seen. Each run leaves no
// namespace behind (runLab checks), and B ends up verifying every VIP as
// best here.
func TestIntegrationLabBGP(t *testing.T) {
	check := func(rep *lab.Report, n int, bound time.Duration) lab.RunResult {
		t.Helper()
		v := rep.Impl(lab.Vipd)
		if rep.Mode != lab.ModeBGP || len(rep.Impls) != 1 || v == nil || len(v.Runs) != 1 {
			t.Fatalf("mode %q, implementations %+v: want one run of vipd in mode bgp", rep.Mode, rep.Impls)
		}
		r := v.Runs[0]
		t.Logf("%s fault: %s; routes via B after %.0fms, fault %.0fms after A's last BGP message",
			rep.Fault, v.SummaryLine(), r.TakeoverMS, r.FaultAfterKeepaliveMS)
		if r.Total != n || r.Recovered != n {
			t.Errorf("recovered %d/%d, want %d/%d", r.Recovered, r.Total, n, n)
		}
		if r.TakeoverMS < 0 || r.TakeoverMS > msOf(bound) {
			t.Errorf("the router's routes via B after %.0fms, want within %v", r.TakeoverMS, bound)
		}
		for _, x := range r.VIPs {
			// Back within the bound: a VIP that was not is dark from the
			// fault on, which makes both its outage (to its last lost
			// probe) and its longest dark stretch (from the fault) longer
			// than the bound. Either alone is not: now and then, on a busy
			// machine, every VIP loses a probe or a few at once seconds
			// after the takeover (no route change: RouteChanges shows
			// none), or the lab's client stalls and hears no replies for
			// a while (without a lost probe). Both are logged.
			bad := x.OutageMS > msOf(bound) && x.MaxGapMS > msOf(bound)
			switch {
			case !x.Recovered || bad:
				t.Errorf("VIP %s: recovered %v, outage %.0fms, longest dark %.0fms: want back within %v",
					x.VIP, x.Recovered, x.OutageMS, x.MaxGapMS, bound)
			case x.OutageMS > msOf(bound):
				t.Logf("VIP %s: back within %v, then lost probes again: outage %.0fms, longest dark %.0fms",
					x.VIP, bound, x.OutageMS, x.MaxGapMS)
			case x.MaxGapMS > msOf(bound):
				t.Logf("VIP %s: no lost probe beyond %v, yet no reply for %.0fms (the client stalled?)", x.VIP, bound, x.MaxGapMS)
			}
			if x.Verification != present.RouteBestHere {
				t.Errorf("VIP %s: B says %q at the end, want %q", x.VIP, x.Verification, present.RouteBestHere)
			}
		}
		return r
	}

	rep := runLab(t, 2*time.Minute, "--mode", "bgp", "--vips", "4", "--hold-time", "3s")
	hold := time.Duration(rep.HoldTimeMS * float64(time.Millisecond))
	if hold != 3*time.Second || rep.Fault != lab.PowerOff {
		t.Fatalf("hold time %v, fault %q: want 3s, power-off", hold, rep.Fault)
	}
	r := check(rep, 4, hold+time.Second)
	// The router noticed by its hold timer, not earlier: BIRD logged its
	// expiry no sooner than 75 % of the hold time after A's last message.
	if r.HoldExpiredMS == nil {
		t.Error("no hold timer expiry in BIRD's log after the power off")
	} else if earliest := 0.75*msOf(hold) - r.FaultAfterKeepaliveMS; *r.HoldExpiredMS < earliest || r.TakeoverMS < earliest {
		t.Errorf("hold timer expired after %.0fms, routes via B after %.0fms: before the router's hold timer can expire (%.0fms)",
			*r.HoldExpiredMS, r.TakeoverMS, earliest)
	}
	if r.RouteChanges != 4 {
		t.Errorf("%d route changes at the router after the fault, want 4 (each VIP once to B)", r.RouteChanges)
	}

	rep = runLab(t, 2*time.Minute, "--mode", "bgp", "--vips", "3", "--ipv6", "--fault", "sigterm")
	if !rep.IPv6 || rep.Fault != lab.SIGTERM {
		t.Fatalf("IPv6 %v, fault %q: want IPv6, sigterm", rep.IPv6, rep.Fault)
	}
	check(rep, 3, time.Second)

	// A's health check failing (fault: true, every 300 ms) withdraws too.
	rep = runLab(t, 2*time.Minute, "--mode", "bgp", "--vips", "2", "--fault", "check")
	if rep.Fault != lab.CheckFails {
		t.Fatalf("fault %q: want check", rep.Fault)
	}
	check(rep, 2, time.Second+300*time.Millisecond)
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

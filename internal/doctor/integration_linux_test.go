//go:build linux

package doctor_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/doctor"
	"github.com/vipd/vipd/internal/labnet"
	"github.com/vipd/vipd/internal/testutil"
)

// Run opens its sockets from several goroutines, and a goroutine does not
// inherit a namespace entered with setns: so the test binary runs itself
// inside the node's namespace (ip netns exec) as the helper below, as
// `vipd doctor` runs there as a process.
const (
	helperEnv    = "VIPD_DOCTOR_HELPER"     // file with the []doctor.Instance to examine
	helperOutEnv = "VIPD_DOCTOR_HELPER_OUT" // file the helper writes the ReportJSON to
)

func TestDoctorHelperProcess(t *testing.T) {
	in := os.Getenv(helperEnv)
	if in == "" {
		return // only a helper process of TestIntegrationRun (not a skip: CI counts skips)
	}
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var insts []doctor.Instance
	if err := json.Unmarshal(b, &insts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := doctor.Run(ctx, doctor.Options{Node: "helper", Instances: insts})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv(helperOutEnv), out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runIn runs doctor in h's namespace.
func runIn(t *testing.T, ctx context.Context, h *labnet.Host, insts []doctor.Instance) (doctor.ReportJSON, time.Duration) {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "instances.json"), filepath.Join(dir, "report.json")
	b, err := json.Marshal(insts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := h.Command(ctx, os.Args[0], "-test.run=^TestDoctorHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+in, helperOutEnv+"="+out)
	start := time.Now()
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("doctor in %s: %v\n%s", h.Name, err, o)
	}
	took := time.Since(start)
	b, err = os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep doctor.ReportJSON
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep, took
}

// TestIntegrationRun: four VIPs per family on a plain router's LAN: on a
// only, on both a and b, on nobody, on b only. Seen from b, doctor must
// name a as the owner of the first, a conflict with a's MAC for the
// second, nobody for the third and b itself, verified by the router, for
// the fourth; seen from a, the mirror image.
func TestIntegrationRun(t *testing.T) {
	testutil.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lab, err := labnet.New(ctx, labnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("close lab: %v", err)
		}
	})
	a, b := lab.Nodes[0], lab.Nodes[1]
	v4, err := lab.VIPs4(4)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := lab.VIPs6(4)
	if err != nil {
		t.Fatal(err)
	}
	pfx := func(v netip.Addr) netip.Prefix {
		if v.Is4() {
			return netip.PrefixFrom(v, lab.LAN4.Bits())
		}
		return netip.PrefixFrom(v, lab.LAN6.Bits())
	}
	insts := []doctor.Instance{{Name: "v4", Interface: a.Iface}, {Name: "v6", Interface: a.Iface}}
	for i := range 4 {
		insts[0].VIPs = append(insts[0].VIPs, pfx(v4[i]))
		insts[1].VIPs = append(insts[1].VIPs, pfx(v6[i]))
	}
	onA := []netip.Prefix{pfx(v4[0]), pfx(v4[1]), pfx(v6[0]), pfx(v6[1])}
	onB := []netip.Prefix{pfx(v4[1]), pfx(v4[3]), pfx(v6[1]), pfx(v6[3])}
	if err := a.AddAddrs(onA...); err != nil {
		t.Fatal(err)
	}
	if err := b.AddAddrs(onB...); err != nil {
		t.Fatal(err)
	}

	type want struct {
		verdict doctor.Verdict
		held    bool
		answers string // the one other MAC expected, "" for none
	}
	for _, side := range []struct {
		host, other *labnet.Host
	}{{b, a}, {a, b}} {
		t.Run("from "+side.host.Name, func(t *testing.T) {
			rep, took := runIn(t, ctx, side.host, insts)
			t.Logf("doctor in %s took %v (process included)", side.host.Name, took)
			if len(rep.VIPs) != 8 {
				t.Fatalf("%d findings: %+v", len(rep.VIPs), rep.VIPs)
			}
			other := side.other.MAC.String()
			// Index in the family's VIP list → expectation, seen from b;
			// from a, the first and last swap.
			exp := map[int]want{
				0: {doctor.OK, false, other},
				1: {doctor.Conflict, true, other},
				2: {doctor.NobodyAnswers, false, ""},
				3: {doctor.OK, true, ""},
			}
			if side.host == a {
				exp[0], exp[3] = exp[3], exp[0]
			}
			for i, f := range rep.VIPs {
				w := exp[i%4]
				var ans string
				if len(f.AnsweredBy) == 1 {
					ans = f.AnsweredBy[0]
				}
				if f.Verdict != w.verdict || f.Held != w.held || ans != w.answers || len(f.AnsweredBy) > 1 || f.AnswerError != "" {
					t.Errorf("%s: verdict %v held %v answered by %v (%s), want %v held %v answered by %q\n  reason: %s",
						f.VIP, f.Verdict, f.Held, f.AnsweredBy, f.AnswerError, w.verdict, w.held, w.answers, f.Reason)
				}
				if w.verdict == doctor.OK && w.held {
					if len(f.Targets) != 1 || f.Targets[0].State != "verified" || f.Targets[0].TargetMAC != lab.Router.MAC.String() {
						t.Errorf("%s: targets %+v, want the router, verified", f.VIP, f.Targets)
					}
				}
			}
			if rep.Summary.Unreachable != 4 {
				t.Errorf("unreachable %d, want 4 (2 conflicts, 2 nobody)", rep.Summary.Unreachable)
			}
		})
	}
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/lab"
	"github.com/vipd/vipd/internal/testutil"
)

// runLab runs `vipd lab ARGS --json` and returns its report. It fails the
// test when the command fails or leaves any of its namespaces behind.
func runLab(t *testing.T, timeout time.Duration, args ...string) *lab.Report {
	t.Helper()
	return runLabWith(t, vipdBin, timeout, args...)
}

// releaseBin is vipd built without the race detector, for comparisons of
// speed with keepalived; built once, on first use.
var releaseBin = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(vipdBin), "vipd-release")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/vipd").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build vipd without -race: %v\n%s", err, out)
	}
	return bin, nil
})

func runLabWith(t *testing.T, bin string, timeout time.Duration, args ...string) *lab.Report {
	t.Helper()
	rep, err := tryLab(t, bin, timeout, args...)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// errNoSteadyState is in the lab's error when the network never settled
// before the fault: the scenario's precondition, not its result.
const errNoSteadyState = "no steady state before the fault"

// tryLab runs vipd lab ARGS --json and returns its report, or an error
// that includes its stderr.
func tryLab(t *testing.T, bin string, timeout time.Duration, args ...string) (*lab.Report, error) {
	t.Helper()
	testutil.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(append([]string{"lab"}, args...), "--json")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if stderr.Len() > 0 {
		t.Logf("vipd lab stderr:\n%s", stderr.String())
	}
	if err != nil {
		var why []string // the lab's own error lines; the daemons' logs are above
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.HasPrefix(l, "vipd:") {
				why = append(why, l)
			}
		}
		return nil, fmt.Errorf("vipd lab %s: %w %s", strings.Join(args, " "), err, strings.Join(why, "; "))
	}
	var rep lab.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("vipd lab --json: %w\n%s", err, stdout.String())
	}
	checkGone(t, labNamespaces(&rep))
	return &rep, nil
}

// labNamespaces lists every namespace the report's runs used.
func labNamespaces(rep *lab.Report) []string {
	var ns []string
	for _, ir := range rep.Impls {
		for _, r := range ir.Runs {
			ns = append(ns, r.Namespaces...)
		}
	}
	return ns
}

// netnsList is `ip netns list`, names only.
func netnsList(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	m := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			m[f[0]] = true
		}
	}
	return m
}

// checkGone fails the test if any of names is in `ip netns list`.
func checkGone(t *testing.T, names []string) {
	t.Helper()
	have := netnsList(t)
	for _, n := range names {
		if have[n] {
			t.Errorf("namespace %s still exists after vipd lab", n)
		}
	}
}

// TestIntegrationLabStickyCompare is the seed's network in one command: a
// router that keeps its neighbour entries for hours and ignores gratuitous
// ARP for half of 20 VIPs. keepalived loses those VIPs (the scenario is
// real); vipd recovers all 20 (once verification and repair run in the
// daemon).
func TestIntegrationLabStickyCompare(t *testing.T) {
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed")
	}
	rep := runLab(t, 3*time.Minute, "--router", "sticky", "--vips", "20", "--compare", "keepalived")
	k, v := rep.Impl(lab.Keepalived), rep.Impl(lab.Vipd)
	if k == nil || v == nil || len(k.Runs) != 1 || len(v.Runs) != 1 {
		t.Fatalf("report without one run of each: %+v", rep.Impls)
	}
	kr, vr := k.Runs[0], v.Runs[0]
	t.Log(k.SummaryLine())
	t.Log(v.SummaryLine())
	if kr.Total != 20 || vr.Total != 20 {
		t.Fatalf("totals %d and %d, want 20", kr.Total, vr.Total)
	}
	if kr.Recovered >= 20 {
		t.Errorf("keepalived recovered %d/20 behind the sticky router: the scenario is not real", kr.Recovered)
	}
	affected := 0
	for i, r := range kr.VIPs {
		if r.Affected {
			affected++
			if r.Recovered {
				t.Errorf("keepalived: sticky VIP %s recovered", r.VIP)
			}
		} else if !r.Recovered {
			t.Errorf("keepalived: VIP %s (not sticky) did not recover", r.VIP)
		}
		if vr.VIPs[i].VIP != r.VIP || vr.VIPs[i].Affected != r.Affected {
			t.Errorf("VIP %d differs between the runs: %+v vs %+v", i, vr.VIPs[i], r)
		}
	}
	if affected != 10 {
		t.Errorf("%d sticky VIPs, want 10", affected)
	}
	if kr.RouterDrops <= 0 {
		t.Errorf("the router dropped %d gratuitous ARP for keepalived", kr.RouterDrops)
	}
	if vr.Recovered != 20 {
		for _, r := range vr.VIPs {
			if !r.Recovered {
				t.Errorf("vipd: %s not recovered (sticky=%v, verification %q)", r.VIP, r.Affected, r.Verification)
			}
		}
		t.Errorf("vipd recovered %d/20, want 20/20", vr.Recovered)
	}
}

// TestIntegrationLabPolicer fails over 100 VIPs behind a router whose ARP
// policer lets 200 frames per second through, vipd and keepalived in the
// same run. The takeover's burst mostly dies at the policer; vipd's pacer
// slows down on the verifier's evidence and its repairs, spaced by the
// pacer's queue instead of a growing backoff, bring every VIP back within
// a small multiple of what the policer's rate allows at best (one frame
// per VIP). keepalived, which only announces, gets some of them.
func TestIntegrationLabPolicer(t *testing.T) {
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Fatal("keepalived is not installed (.ci/run installs it): the comparison needs it")
	}
	bin, err := releaseBin()
	if err != nil {
		t.Fatal(err)
	}
	// 100 VIPs at 200/s: with 200 at 100/s the router's own re-checks of
	// its entries, policed too, kept the lab from a steady state before
	// the fault in 3 tries of 3 in one CI run.
	const vips, rate = 100, 200
	// Before the fault the router re-checks its entries through the same
	// policer as the client's traffic makes them go stale: now and then
	// A's (keepalived's, mostly) never all settle, and the lab refuses to
	// measure. That is the scenario's precondition failing: run it again.
	var rep *lab.Report
	for try := 1; ; try++ {
		rep, err = tryLab(t, bin, 4*time.Minute, "--router", "policer", "--policer-rate", fmt.Sprint(rate),
			"--vips", fmt.Sprint(vips), "--watch", "20s", "--compare", "keepalived")
		if err == nil {
			break
		}
		if try == 3 || !strings.Contains(err.Error(), errNoSteadyState) {
			t.Fatal(err)
		}
		t.Logf("try %d: %s; trying again", try, errNoSteadyState)
	}
	v, k := rep.Impl(lab.Vipd), rep.Impl(lab.Keepalived)
	if v == nil || len(v.Runs) != 1 || k == nil || len(k.Runs) != 1 {
		t.Fatalf("want one run of each: %+v", rep.Impls)
	}
	vr, kr := v.Runs[0], k.Runs[0]
	t.Log(v.SummaryLine())
	t.Log(k.SummaryLine())
	if vr.TakeoverMS < 0 {
		t.Fatal("B never became master")
	}
	if vr.Total != vips || vr.Recovered != vips {
		for _, r := range vr.VIPs {
			if !r.Recovered {
				t.Errorf("vipd: %s not recovered (verification %q)", r.VIP, r.Verification)
			}
		}
		t.Fatalf("vipd recovered %d/%d behind the policer, want all", vr.Recovered, vr.Total)
	}
	if kr.Recovered > vr.Recovered {
		t.Errorf("keepalived recovered %d, vipd %d", kr.Recovered, vr.Recovered)
	}
	// At best one frame per VIP gets through: vips/rate seconds. The
	// pacer starts far above the policer's rate and has to find it.
	_, worst := afterTakeover(vr)
	best := 1000 * float64(vips) / rate
	t.Logf("vipd's worst VIP %.0fms after the takeover; the policer allows all %d at best in %.0fms", worst, vips, best)
	// The tail is VIPs whose router entry went stale again and was
	// re-checked through the policer (docs/benchmarks.md): allow 4× the
	// best case plus 3 s (one run here: 2.5 s against 0.5 s at best).
	if limit := 4*best + 3000; worst > limit {
		t.Errorf("vipd's worst VIP %.0fms after the takeover, want within %.0fms (4×%.0fms + 3s)", worst, limit, best)
	}
}

// TestIntegrationLabScale fails over 4096 VIPs with 1 s advertisements
// behind a plain router, vipd and keepalived in the same run: every VIP
// answers vipd's client again, and vipd's median and worst outage after
// the takeover are within keepalived's, with slack for a busy CI machine
// (the median a quarter more, the worst half more, and three client probe
// intervals: the last chunks of 4096 adds are where a loaded machine
// shows). The lab's sweep holds
// vipd to keepalived's + 5 % on a quiet machine (docs/benchmarks.md).
func TestIntegrationLabScale(t *testing.T) {
	if testing.Short() {
		t.Skip("4096 VIPs: not in -short")
	}
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Fatal("keepalived is not installed (.ci/run installs it): the comparison needs it")
	}
	// The race detector slows vipd several times over: compare the
	// binary an operator runs.
	bin, err := releaseBin()
	if err != nil {
		t.Fatal(err)
	}
	rep := runLabWith(t, bin, 8*time.Minute, "--router", "plain", "--vips", "4096", "--advert", "1s", "--watch", "20s", "--compare", "keepalived")
	v, k := rep.Impl(lab.Vipd), rep.Impl(lab.Keepalived)
	if v == nil || len(v.Runs) != 1 || k == nil || len(k.Runs) != 1 {
		t.Fatalf("want one run of each: %+v", rep.Impls)
	}
	vr, kr := v.Runs[0], k.Runs[0]
	t.Logf("%s; takeover %.0fms, probe interval %.1fms", v.SummaryLine(), vr.TakeoverMS, vr.ProbeIntervalMS)
	t.Logf("%s; takeover %.0fms", k.SummaryLine(), kr.TakeoverMS)
	if vr.Total != 4096 || vr.Recovered != 4096 {
		t.Errorf("vipd recovered %d/%d, want 4096/4096", vr.Recovered, vr.Total)
	}
	if vr.TakeoverMS < 0 || kr.TakeoverMS < 0 {
		t.Fatal("B never became master")
	}
	vm, vw := afterTakeover(vr)
	km, kw := afterTakeover(kr)
	slack := 3 * vr.ProbeIntervalMS
	t.Logf("after the takeover: vipd median %.0fms, worst %.0fms; keepalived median %.0fms, worst %.0fms", vm, vw, km, kw)
	if kr.Recovered != kr.Total {
		t.Logf("keepalived recovered %d/%d: its figures are over those that did", kr.Recovered, kr.Total)
	}
	if vm > 1.25*km+slack {
		t.Errorf("vipd's median %.0fms after the takeover, keepalived's %.0fms: want at most %.0fms", vm, km, 1.25*km+slack)
	}
	if vw > 1.5*kw+slack {
		t.Errorf("vipd's worst %.0fms after the takeover, keepalived's %.0fms: want at most %.0fms", vw, kw, 1.5*kw+slack)
	}
}

// afterTakeover returns the median and the worst outage after the
// takeover over the VIPs of r that came back.
func afterTakeover(r lab.RunResult) (median, worst float64) {
	var xs []float64
	for _, x := range r.VIPs {
		if x.Recovered && x.AfterTakeoverMS != nil {
			xs = append(xs, max(0, *x.AfterTakeoverMS))
		}
	}
	if len(xs) == 0 {
		return 0, 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2], xs[len(xs)-1]
}

// TestIntegrationLabKilledRun kills `vipd lab` while it watches: its
// namespaces stay behind (a crash cannot clean up), its daemons die with
// it, and the next `vipd lab` removes the stale namespaces at its start.
func TestIntegrationLabKilledRun(t *testing.T) {
	testutil.RequireRoot(t)
	cmd := exec.Command(vipdBin, "lab", "--router", "sticky", "--vips", "4", "--watch", "60s")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout // progress lines
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	// "vipd lab: [vipd 1/1] electing: namespaces vl-1b3-0-*"
	prefixRE := regexp.MustCompile(`namespaces (\S+)-\*`)
	var prefix string
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(2 * time.Minute)
	for watching := false; !watching; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("vipd lab ended before watching")
			}
			t.Log(line)
			if m := prefixRE.FindStringSubmatch(line); m != nil {
				prefix = m[1]
			}
			watching = strings.Contains(line, "] watching")
		case <-deadline:
			t.Fatal("vipd lab did not reach the watching phase")
		}
	}
	if prefix == "" {
		t.Fatal("no namespace prefix in the progress output")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed = true
	go func() {
		for range lines {
		}
	}()

	var stale []string
	for n := range netnsList(t) {
		if strings.HasPrefix(n, prefix+"-") {
			stale = append(stale, n)
		}
	}
	if len(stale) != 5 {
		t.Fatalf("after the kill: namespaces %v, want the 5 of %s (client, router, switch, a, b)", stale, prefix)
	}
	// The daemons died with the lab (parent-death signal).
	waitFor(t, "no process left in the stale namespaces", 5*time.Second, func() bool {
		for _, n := range stale {
			out, err := exec.Command("ip", "netns", "pids", n).Output()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				return false
			}
		}
		return true
	})

	rep := runLab(t, 2*time.Minute, "--vips", "2")
	checkGone(t, stale)
	if rep.StaleRemoved < len(stale) {
		t.Errorf("report says %d stale namespaces removed, want at least %d", rep.StaleRemoved, len(stale))
	}
	if _, err := os.Stat("/run/netns/" + stale[0]); err == nil {
		t.Errorf("%s still exists", stale[0])
	}
}

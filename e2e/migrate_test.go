package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// importConfig runs `vipd import` on a keepalived configuration and
// returns vipd's configuration for a lab node (control socket and state
// directory of the test).
func importConfig(t *testing.T, node, keepalivedConf string) string {
	t.Helper()
	cmd := exec.Command(vipdBin, "import", keepalivedConf)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vipd import %s: %v\n%s", keepalivedConf, err, stderr.String())
	}
	t.Logf("vipd import %s:\n%s%s", keepalivedConf, out, stderr.String())
	return "node: " + node + "\ncontrol_socket: @SOCKET@\nstate_dir: @STATEDIR@\n" + string(out)
}

// TestIntegrationMigrateFromKeepalived follows README's "Migrating from
// keepalived" in the lab: two keepalived nodes with keepalived's default
// VRRP version and auth_type PASS; B is converted with `vipd import` and
// runs vipd under keepalived's master; keepalived on A stops (priority 0)
// and vipd on B takes over within Skew_Time; A is converted too, and its
// higher priority takes the VIPs back. Every VIP is reachable after each
// step and no advertisement is dropped.
func TestIntegrationMigrateFromKeepalived(t *testing.T) {
	lab, v4 := newLab4(t, 4)
	a, b := lab.Nodes[0], lab.Nodes[1]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kA := startKeepalivedV2(t, ctx, a, 200, v4, "s3cret")
	kB := startKeepalivedV2(t, ctx, b, 100, v4, "s3cret")
	waitFor(t, "keepalived A master", 3*v2Down, keepalivedState(kA, "MASTER"))
	waitFor(t, "keepalived B backup", 3*v2Down, keepalivedState(kB, "BACKUP"))
	p := startProber(t, lab, v4)
	waitFor(t, "client reaches VIPs on A (keepalived)", 10*time.Second, p.AllReachable)

	// B: keepalived out, vipd in, under keepalived's master.
	cfgB := importConfig(t, "b", kB.ConfigFile)
	for _, want := range []string{"version: 2", "auth_pass: s3cret", "priority: 100"} {
		if !strings.Contains(cfgB, want) {
			t.Fatalf("imported configuration lacks %q", want)
		}
	}
	kB.Stop()
	nb := newVipdNode(t, b, cfgB)
	nb.start()
	nb.waitState("VI_1", "BACKUP", 3*v2Down)
	time.Sleep(v2Down + v2Advert)
	st, err := nb.status()
	if err != nil {
		t.Fatal(err)
	}
	checkBackupUnder(t, st.Instances[0], a, 200)
	checkNoDrops(t, nb)
	if !holdsNone(t, b, v4) {
		t.Fatal("B holds VIPs while keepalived on A is master")
	}

	// A: keepalived stops (priority 0): vipd on B takes over after its
	// Skew_Time, well before a Master_Down_Interval.
	stopped := time.Now()
	kA.Stop()
	nb.waitState("VI_1", "MASTER", v2Down)
	took := time.Since(stopped)
	t.Logf("vipd on B master %v after keepalived on A stopped (Skew_Time of priority 100: %v; Master_Down_Interval: %v)",
		took.Round(time.Millisecond), 156*time.Second/256, 3*v2Advert+156*time.Second/256)
	st, err = nb.status()
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Instances[0].Counters.LastTransitionReason; r != "master_resigned" {
		t.Errorf("vipd on B became master for %q after %v, want master_resigned (keepalived's priority 0)", r, took)
	}
	waitFor(t, "client reaches VIPs on B (vipd)", 15*time.Second, p.AllReachable)
	checkKeepalivedLog(t, kA)

	// A converted too: its priority 200 takes the VIPs back from B.
	na := newVipdNode(t, a, importConfig(t, "a", kA.ConfigFile))
	na.start()
	na.waitState("VI_1", "MASTER", 3*v2Down)
	nb.waitState("VI_1", "BACKUP", 3*v2Down)
	waitFor(t, "B released the VIPs", 10*time.Second, func() bool { return holdsNone(t, b, v4) })
	waitFor(t, "client reaches VIPs on A (vipd)", 15*time.Second, p.AllReachable)
	checkNoDrops(t, na)
	checkNoDrops(t, nb)
	for _, h := range []*labnet.Host{a} {
		if !hasAll(t, h, v4) {
			t.Errorf("%s lacks VIPs", h.Name)
		}
	}
}

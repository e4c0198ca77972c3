package e2e

import (
	"context"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/labnet"
)

// keepalivedComplaints matches what keepalived logs about packets it
// rejects (bad checksum, version, address count, TTL, length...).
var keepalivedComplaints = regexp.MustCompile(`(?i)(checksum|invalid|bogus|version|mismatch|ttl|wrong|malformed)`)

func checkKeepalivedLog(t *testing.T, k *labnet.Keepalived) {
	t.Helper()
	for _, line := range strings.Split(k.Output(), "\n") {
		if keepalivedComplaints.MatchString(line) && !strings.Contains(line, "vrrp_version") {
			t.Errorf("keepalived complains: %s", line)
		}
	}
}

func keepalivedState(k *labnet.Keepalived, state string) func() bool {
	// keepalived logs "(VI_1) Entering MASTER STATE" on each transition.
	return func() bool {
		out := k.Output()
		i := strings.LastIndex(out, "Entering ")
		return i >= 0 && strings.HasPrefix(out[i:], "Entering "+state)
	}
}

// startKeepalived starts keepalived on h until ctx ends or the test does;
// its log is shown when the test failed (or VIPD_E2E_SHOWLOG is set).
func startKeepalived(t *testing.T, ctx context.Context, h *labnet.Host, c labnet.KeepalivedConfig) *labnet.Keepalived {
	t.Helper()
	k, err := h.StartKeepalived(ctx, t.TempDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		k.Stop()
		if t.Failed() || os.Getenv("VIPD_E2E_SHOWLOG") != "" {
			t.Logf("keepalived log on %s:\n%s", h.Name, k.Output())
		}
	})
	return k
}

// checkBackupUnder fails the test unless in is a backup that knows master
// (priority prio) as its master.
func checkBackupUnder(t *testing.T, in control.InstanceStatus, master *labnet.Host, prio uint8) {
	t.Helper()
	if in.State != "BACKUP" || in.Master == nil || in.Master.Priority != prio || in.Master.MAC != master.MAC.String() {
		t.Fatalf("%s: state %s master %+v, want BACKUP under %s (%s, priority %d)", in.Name, in.State, in.Master, master.Name, master.MAC, prio)
	}
}

func interopVIPs(t *testing.T, lab *labnet.Lab) (v4, v6 []netip.Addr) {
	v4, err := lab.VIPs4(20)
	if err != nil {
		t.Fatal(err)
	}
	v6, err = lab.VIPs6(2)
	if err != nil {
		t.Fatal(err)
	}
	return v4, v6
}

// TestIntegrationInteropVipdMasterKeepalivedBackup: vipd on A (priority
// 200) and keepalived on B (100). keepalived sees vipd's adverts and stays
// backup; A dies → keepalived takes over; A returns → vipd preempts.
func TestIntegrationInteropVipdMasterKeepalivedBackup(t *testing.T) {
	lab := newLab(t, labnet.Options{})
	v4, _ := interopVIPs(t, lab)
	a, b := lab.Nodes[0], lab.Nodes[1]
	na := newVipdNode(t, a, vipConfig("a", 200, "100ms", v4, nil, lab.LAN4, lab.LAN6))
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k := startKeepalived(t, ctx, b, labnet.KeepalivedConfig{VRID: 42, Priority: 100, AdvertInt: 100 * time.Millisecond, VIPs: v4})
	waitFor(t, "keepalived backup", 10*time.Second, keepalivedState(k, "BACKUP"))
	// keepalived stays backup for a while: it hears vipd.
	time.Sleep(1500 * time.Millisecond)
	if !keepalivedState(k, "BACKUP")() || !holdsNone(t, b, v4) {
		t.Fatalf("keepalived left BACKUP while vipd was master")
	}
	vipdMasterFailover(t, lab, na, k, v4, 10*time.Second, 5*time.Second)
	checkNoDrops(t, na)
	checkKeepalivedLog(t, k)
}

// vipdMasterFailover is the story of vipd na, master on A, with keepalived
// k as backup on B: the client reaches vips on A; A dies and keepalived
// takes over; A returns and vipd preempts it. elect bounds vipd's way back
// to master, change keepalived's state changes.
func vipdMasterFailover(t *testing.T, lab *labnet.Lab, na *vipdNode, k *labnet.Keepalived, vips []netip.Addr, elect, change time.Duration) {
	t.Helper()
	a, b := lab.Nodes[0], lab.Nodes[1]
	p := startProber(t, lab, vips)
	waitFor(t, "client reaches VIPs on A (vipd)", 10*time.Second, p.AllReachable)

	if err := lab.PortDown(a); err != nil {
		t.Fatal(err)
	}
	na.kill()
	waitFor(t, "keepalived master", change, keepalivedState(k, "MASTER"))
	waitFor(t, "client reaches VIPs on B (keepalived)", 15*time.Second, p.AllReachable)

	if err := lab.PortUp(a); err != nil {
		t.Fatal(err)
	}
	na.start()
	na.waitState("v4", "MASTER", elect)
	waitFor(t, "keepalived back to backup", change, keepalivedState(k, "BACKUP"))
	waitFor(t, "keepalived released VIPs", change, func() bool { return holdsNone(t, b, vips) })
	waitFor(t, "client reaches VIPs on A again", 15*time.Second, p.AllReachable)
}

// TestIntegrationInteropKeepalivedMasterVipdBackup: keepalived on A (200)
// and vipd on B (100), IPv4 and IPv6. vipd follows keepalived, takes over
// when A dies, yields when A returns.
func TestIntegrationInteropKeepalivedMasterVipdBackup(t *testing.T) {
	lab := newLab(t, labnet.Options{})
	v4, v6 := interopVIPs(t, lab)
	a, b := lab.Nodes[0], lab.Nodes[1]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kcfg := labnet.KeepalivedConfig{VRID: 42, Priority: 200, AdvertInt: 100 * time.Millisecond, VIPs: append(append([]netip.Addr{}, v4...), v6...)}
	k := startKeepalived(t, ctx, a, kcfg)
	waitFor(t, "keepalived master", 10*time.Second, keepalivedState(k, "MASTER"))

	// keepalived uses one VRID for both families (two instances in a sync group).
	cfg := strings.Replace(vipConfig("b", 100, "100ms", v4, v6, lab.LAN4, lab.LAN6), "vrid: 43", "vrid: 42", 1)
	nb := newVipdNode(t, b, cfg)
	nb.start()
	for _, in := range []string{"v4", "v6"} {
		nb.waitState(in, "BACKUP", 10*time.Second)
	}
	// vipd stays backup and knows who the master is.
	time.Sleep(1500 * time.Millisecond)
	st, err := nb.status()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range st.Instances {
		checkBackupUnder(t, in, a, 200)
		if len(nonZero(in.Counters.Drops)) > 0 {
			t.Errorf("%s: vipd dropped keepalived's packets: %v", in.Name, in.Counters.Drops)
		}
		if in.Counters.AdvertsReceived == 0 {
			t.Errorf("%s: no adverts received", in.Name)
		}
	}
	all := append(append([]netip.Addr{}, v4...), v6...)
	p := startProber(t, lab, all)
	waitFor(t, "client reaches VIPs on A (keepalived)", 10*time.Second, p.AllReachable)

	if err := lab.PortDown(a); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"v4", "v6"} {
		nb.waitState(in, "MASTER", 5*time.Second)
	}
	waitFor(t, "client reaches VIPs on B (vipd)", 10*time.Second, p.AllReachable)

	if err := lab.PortUp(a); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"v4", "v6"} {
		nb.waitState(in, "BACKUP", 10*time.Second)
	}
	waitFor(t, "vipd released VIPs", 5*time.Second, func() bool { return holdsNone(t, b, all) })
	waitFor(t, "client reaches VIPs on A again", 15*time.Second, p.AllReachable)
	checkKeepalivedLog(t, k)
}

// nonZero keeps the counters that counted something: status lists every
// drop reason, at 0 until it happens.
func nonZero(m map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

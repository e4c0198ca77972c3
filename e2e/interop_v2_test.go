package e2e

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// VRRPv2 runs on whole seconds: with a 1 s interval Master_Down_Interval is
// 3 s plus at most 1 s of skew. The waits below are multiples of it.
const (
	v2Advert = time.Second
	v2Down   = 3*v2Advert + time.Second
)

// v2VipdConfig is vipConfig's IPv4 instance as VRRPv2, with auth_pass when
// pass is set.
func v2VipdConfig(node string, prio int, v4 []netip.Addr, lab *labnet.Lab, pass string) string {
	extra := "    version: 2\n"
	if pass != "" {
		extra += "    auth_pass: " + pass + "\n"
	}
	return strings.Replace(vipConfig(node, prio, "1s", v4, nil, lab.LAN4, lab.LAN6), "    vips:\n", extra+"    vips:\n", 1)
}

func startKeepalivedV2(t *testing.T, ctx context.Context, h *labnet.Host, prio int, vips []netip.Addr, pass string) *labnet.Keepalived {
	t.Helper()
	return startKeepalived(t, ctx, h, labnet.KeepalivedConfig{
		VRID: 42, Priority: prio, AdvertInt: v2Advert, VIPs: vips, Version: 2, AuthPass: pass})
}

func v2Cases() []struct{ name, pass string } {
	return []struct{ name, pass string }{{"no-auth", ""}, {"auth-pass", "s3cret"}}
}

// checkNoDrops fails if vipd dropped any advertisement.
func checkNoDrops(t *testing.T, n *vipdNode) {
	t.Helper()
	st, err := n.status()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range st.Instances {
		if len(nonZero(in.Counters.Drops)) > 0 {
			t.Errorf("%s: vipd dropped keepalived's packets: %v", in.Name, in.Counters.Drops)
		}
	}
}

// TestIntegrationInteropV2VipdMasterKeepalivedBackup: vipd (version: 2,
// priority 200) on A and keepalived with its default VRRP version (2) on B
// (100), without and with auth_type PASS. keepalived follows vipd; A dies →
// keepalived takes over; A returns → vipd hears keepalived's VRRPv2 and
// preempts it.
func TestIntegrationInteropV2VipdMasterKeepalivedBackup(t *testing.T) {
	for _, tc := range v2Cases() {
		t.Run(tc.name, func(t *testing.T) {
			lab, v4 := newLab4(t, 4)
			a, b := lab.Nodes[0], lab.Nodes[1]
			na := newVipdNode(t, a, v2VipdConfig("a", 200, v4, lab, tc.pass))
			na.start()
			na.waitState("v4", "MASTER", 3*v2Down)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			k := startKeepalivedV2(t, ctx, b, 100, v4, tc.pass)
			waitFor(t, "keepalived backup", 3*v2Down, keepalivedState(k, "BACKUP"))
			// Longer than keepalived's Master_Down_Interval: it hears vipd.
			time.Sleep(v2Down + v2Advert)
			if !keepalivedState(k, "BACKUP")() || !holdsNone(t, b, v4) {
				t.Fatalf("keepalived left BACKUP while vipd was master")
			}
			vipdMasterFailover(t, lab, na, k, v4, 3*v2Down, 3*v2Down)
			st, err := na.status()
			if err != nil {
				t.Fatal(err)
			}
			// vipd came back as a backup under keepalived and heard it
			// before it preempted.
			if in := st.Instances[0]; in.Counters.AdvertsReceived == 0 {
				t.Errorf("vipd received no advert from keepalived (counters %+v)", in.Counters)
			}
			checkNoDrops(t, na)
			checkKeepalivedLog(t, k)
		})
	}
}

// TestIntegrationInteropV2KeepalivedMasterVipdBackup: keepalived (default
// VRRPv2, priority 200) on A, vipd (version: 2, 100) on B, without and with
// auth_type PASS. vipd follows keepalived, takes over when A dies, and
// yields when A returns.
func TestIntegrationInteropV2KeepalivedMasterVipdBackup(t *testing.T) {
	for _, tc := range v2Cases() {
		t.Run(tc.name, func(t *testing.T) {
			lab, v4 := newLab4(t, 4)
			a, b := lab.Nodes[0], lab.Nodes[1]
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			k := startKeepalivedV2(t, ctx, a, 200, v4, tc.pass)
			waitFor(t, "keepalived master", 3*v2Down, keepalivedState(k, "MASTER"))

			nb := newVipdNode(t, b, v2VipdConfig("b", 100, v4, lab, tc.pass))
			nb.start()
			nb.waitState("v4", "BACKUP", 3*v2Down)
			// Longer than vipd's Master_Down_Interval: it hears keepalived.
			time.Sleep(v2Down + v2Advert)
			st, err := nb.status()
			if err != nil {
				t.Fatal(err)
			}
			in := st.Instances[0]
			checkBackupUnder(t, in, a, 200)
			if in.Counters.AdvertsReceived == 0 {
				t.Errorf("no adverts received")
			}
			checkNoDrops(t, nb)
			p := startProber(t, lab, v4)
			waitFor(t, "client reaches VIPs on A (keepalived)", 10*time.Second, p.AllReachable)

			if err := lab.PortDown(a); err != nil {
				t.Fatal(err)
			}
			nb.waitState("v4", "MASTER", 3*v2Down)
			waitFor(t, "client reaches VIPs on B (vipd)", 10*time.Second, p.AllReachable)

			if err := lab.PortUp(a); err != nil {
				t.Fatal(err)
			}
			nb.waitState("v4", "BACKUP", 3*v2Down)
			waitFor(t, "vipd released VIPs", 10*time.Second, func() bool { return holdsNone(t, b, v4) })
			waitFor(t, "client reaches VIPs on A again", 15*time.Second, p.AllReachable)
			checkNoDrops(t, nb)
			checkKeepalivedLog(t, k)
		})
	}
}

// TestIntegrationInteropV2Mismatch: vipd speaks VRRPv3 on B while
// keepalived speaks its default VRRPv2 on A, then vipd speaks VRRPv2 with
// another password: each time vipd counts the advertisements under their
// drop reason and says so in its log.
func TestIntegrationInteropV2Mismatch(t *testing.T) {
	lab, v4 := newLab4(t, 2)
	a, b := lab.Nodes[0], lab.Nodes[1]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k := startKeepalivedV2(t, ctx, a, 200, v4, "s3cret")
	waitFor(t, "keepalived master", 3*v2Down, keepalivedState(k, "MASTER"))
	for _, tc := range []struct {
		name, config, reason, log string
	}{
		{"v3", vipConfig("b", 100, "1s", v4, nil, lab.LAN4, lab.LAN6), "version_mismatch",
			"advertisement of another VRRP version dropped: set version: 2"},
		{"password", v2VipdConfig("b", 100, v4, lab, "other"), "auth", "VRRPv2 advertisement with another password dropped"},
	} {
		nb := newVipdNode(t, b, tc.config)
		nb.start()
		waitFor(t, tc.name+": drops counted", 3*v2Down, func() bool {
			st, err := nb.status()
			return err == nil && st.Instances[0].Counters.Drops[tc.reason] >= 2
		})
		nb.stop()
		log, err := os.ReadFile(nb.log)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(log), tc.log); n != 1 {
			t.Errorf("%s: log has %q %d times, want once:\n%s", tc.name, tc.log, n, log)
		}
	}
}

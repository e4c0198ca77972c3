package e2e

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// TestIntegrationUnicastPeers: with unicast_peers the adverts go to the
// peer only (no multicast); vipd with vipd and vipd with keepalived fail
// over and back.
func TestIntegrationUnicastPeers(t *testing.T) {
	lab := newLab(t, labnet.Options{})
	v4, err := lab.VIPs4(4)
	if err != nil {
		t.Fatal(err)
	}
	a, b := lab.Nodes[0], lab.Nodes[1]
	peer := func(cfg, ip string) string {
		return strings.Replace(cfg, "    vips:\n", "    unicast_peers: ["+ip+"]\n    vips:\n", 1)
	}
	na := newVipdNode(t, a, peer(vipConfig("a", 200, "100ms", v4, nil, lab.LAN4, lab.LAN6), b.Addr4.Addr().String()))
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)

	// keepalived as the unicast peer on B.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k, err := b.StartKeepalived(ctx, t.TempDir(), labnet.KeepalivedConfig{VRID: 42, Priority: 100,
		AdvertInt: 100 * time.Millisecond, VIPs: v4, UnicastPeers: []netip.Addr{a.Addr4.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	waitFor(t, "keepalived backup", 10*time.Second, keepalivedState(k, "BACKUP"))
	time.Sleep(time.Second)
	if !keepalivedState(k, "BACKUP")() {
		t.Fatal("keepalived does not hear vipd's unicast adverts")
	}
	if err := lab.PortDown(a); err != nil {
		t.Fatal(err)
	}
	na.kill()
	waitFor(t, "keepalived master", 5*time.Second, keepalivedState(k, "MASTER"))
	if err := lab.PortUp(a); err != nil {
		t.Fatal(err)
	}
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	waitFor(t, "keepalived backup again", 5*time.Second, keepalivedState(k, "BACKUP"))
	// vipd started as backup under keepalived and heard its unicast
	// adverts before it preempted.
	st, err := na.status()
	if err != nil {
		t.Fatal(err)
	}
	if in := st.Instances[0]; in.Counters.AdvertsReceived == 0 || len(nonZero(in.Counters.Drops)) > 0 {
		t.Fatalf("vipd: received %d adverts from keepalived, drops %v", in.Counters.AdvertsReceived, in.Counters.Drops)
	}
	checkKeepalivedLog(t, k)
}

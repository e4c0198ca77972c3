package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/doctor"
	"github.com/vipd/vipd/internal/lab"
	"github.com/vipd/vipd/internal/labnet"
	"github.com/vipd/vipd/internal/vmac"
)

// pinnedLab is a lab whose router pins its neighbour entries for the VIPs
// once learnt (labnet.Pinned), in namespaces named vmx-….
func pinnedLab(t *testing.T, v6 bool, n int) (*labnet.Lab, []netip.Addr) {
	t.Helper()
	b := make([]byte, 3)
	rand.Read(b)
	lab := newLab(t, labnet.Options{Prefix: "vmx-" + hex.EncodeToString(b)})
	vips, err := lab.VIPs4(n)
	if v6 {
		vips, err = lab.VIPs6(n)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.SetRouterBehaviour(labnet.Pinned, vips, 0); err != nil {
		t.Fatal(err)
	}
	return lab, vips
}

// vmacConfig is vipConfig with virtual_mac on every instance.
func vmacConfig(c string) string {
	return strings.ReplaceAll(c, "    vips:\n", "    virtual_mac: true\n    vips:\n")
}

// linkState returns whether h has the interface name, and whether it is
// administratively up.
func linkState(t *testing.T, h *labnet.Host, name string) (exists, up bool) {
	t.Helper()
	out, err := h.Run(context.Background(), "ip", "-j", "link", "show", "dev", name)
	if err != nil {
		return false, false
	}
	var links []struct {
		Flags   []string `json:"flags"`
		Address string   `json:"address"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j link show %s: %v: %s", name, err, out)
	}
	for _, f := range links[0].Flags {
		if f == "UP" {
			return true, true
		}
	}
	return true, false
}

func sysctlOf(t *testing.T, h *labnet.Host, path string) string {
	t.Helper()
	out, err := h.Run(context.Background(), "cat", "/proc/sys/"+path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// failoverPinned starts vipd on A (master) and B and runs pinnedFailover.
func failoverPinned(t *testing.T, lab *labnet.Lab, vips []netip.Addr, v6, virtualMAC bool) ([]labnet.VIPResult, map[netip.Addr]net.HardwareAddr, *vipdNode) {
	t.Helper()
	cfg := func(node string, prio int) string {
		c := vipConfig(node, prio, "100ms", vips, nil, lab.LAN4, lab.LAN6)
		if v6 {
			c = vipConfig(node, prio, "100ms", vips, nil, lab.LAN6, lab.LAN6)
		}
		if virtualMAC {
			c = vmacConfig(c)
		}
		return c
	}
	na, nb := startPair(t, lab, cfg)
	check := func() {}
	if virtualMAC {
		check = func() {
			// The backup holds its virtual MAC interface down: it never
			// answers for the VIPs.
			name := vmac.Name(42, v6)
			if ex, up := linkState(t, lab.Nodes[1], name); !ex || up {
				t.Fatalf("backup's %s: exists %v, up %v; want it there and down", name, ex, up)
			}
			if ex, up := linkState(t, lab.Nodes[0], name); !ex || !up {
				t.Fatalf("master's %s: exists %v, up %v; want it up", name, ex, up)
			}
			// Adverts leave from the virtual MAC (RFC 5798 §7.2): the
			// backup sees the master's adverts come from it.
			want := vmac.MAC(42, v6).String()
			waitFor(t, "B hears A's adverts from the virtual MAC", 2*time.Second, func() bool {
				st, err := nb.status()
				return err == nil && len(st.Instances) == 1 && st.Instances[0].Master != nil && st.Instances[0].Master.MAC == want
			})
		}
	}
	rs, pinned := pinnedFailover(t, lab, vips, check, na.kill, func() { nb.waitState("v4", "MASTER", 10*time.Second) })
	return rs, pinned, nb
}

// pinnedFailover lets the client reach every VIP on A, pins the router's
// entries, runs check, powers A off (kill stops its VRRP process), waits
// for B (bMaster) and returns the per-VIP results and the MACs pinned.
func pinnedFailover(t *testing.T, lab *labnet.Lab, vips []netip.Addr, check, kill, bMaster func()) ([]labnet.VIPResult, map[netip.Addr]net.HardwareAddr) {
	t.Helper()
	p := startProber(t, lab, vips)
	waitFor(t, "client reaches every VIP on A", 10*time.Second, p.AllReachable)
	pinned, err := lab.PinRouterNeigh(vips)
	if err != nil {
		t.Fatal(err)
	}
	check()
	fault := time.Now()
	if err := lab.PortDown(lab.Nodes[0]); err != nil {
		t.Fatal(err)
	}
	kill()
	bMaster()
	// Reachable means "answered in the last ~100 ms": give the takeover,
	// its announcements and the remediation ladder (which cannot move a
	// pinned entry) time: 30 advert intervals.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && !p.AllReachable() {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // replies must continue
	p.Stop()
	return p.Results(fault), pinned
}

// checkPinnedAt fails the test unless the router pinned every VIP at mac
// (what names it).
func checkPinnedAt(t *testing.T, pinned map[netip.Addr]net.HardwareAddr, mac net.HardwareAddr, what string) {
	t.Helper()
	for v, got := range pinned {
		if got.String() != mac.String() {
			t.Errorf("router learnt %s at %s, want %s %s", v, got, what, mac)
		}
	}
}

// checkAllRecovered logs the failover's results and fails the test unless
// every VIP came back behind the pinned router.
func checkAllRecovered(t *testing.T, what string, rs []labnet.VIPResult) {
	t.Helper()
	rec, worst, lost := summarize(rs)
	t.Logf("%s: recovered %d/%d, worst outage %v; lost %v", what, rec, len(rs), worst, lost)
	if rec != len(rs) {
		t.Fatalf("%s: recovered %d/%d behind a pinned router", what, rec, len(rs))
	}
}

// TestIntegrationVirtualMACPinnedUpstream: behind a router whose entries
// for the VIPs are static once learnt, every VIP comes back after a
// failover with virtual_mac (the MAC never changes), and none does with
// the nodes' own MACs, whatever vipd sends.
func TestIntegrationVirtualMACPinnedUpstream(t *testing.T) {
	const n = 10
	t.Run("virtual_mac", func(t *testing.T) {
		lab, vips := pinnedLab(t, false, n)
		parentIgnore := sysctlOf(t, lab.Nodes[1], "net/ipv4/conf/eth0/arp_ignore")
		rs, pinned, nb := failoverPinned(t, lab, vips, false, true)
		checkPinnedAt(t, pinned, vmac.MAC(42, false), "the virtual MAC (only the virtual MAC answers ARP)")
		checkAllRecovered(t, "virtual_mac", rs)
		if got := sysctlOf(t, lab.Nodes[1], "net/ipv4/conf/eth0/arp_ignore"); got != "1" {
			t.Errorf("B's eth0 arp_ignore %s while running, want 1", got)
		}
		// A graceful stop removes the interface and restores the parent.
		nb.stop()
		if ex, _ := linkState(t, lab.Nodes[1], vmac.Name(42, false)); ex {
			t.Error("virtual MAC interface left after vipd stopped")
		}
		if got := sysctlOf(t, lab.Nodes[1], "net/ipv4/conf/eth0/arp_ignore"); got != parentIgnore {
			t.Errorf("B's eth0 arp_ignore %s after vipd stopped, want %s as before", got, parentIgnore)
		}
	})
	t.Run("virtual_mac/ipv6", func(t *testing.T) {
		lab, vips := pinnedLab(t, true, n)
		rs, pinned, _ := failoverPinned(t, lab, vips, true, true)
		checkPinnedAt(t, pinned, vmac.MAC(42, true), "the virtual MAC")
		checkAllRecovered(t, "virtual_mac, IPv6", rs)
	})
	t.Run("physical", func(t *testing.T) {
		lab, vips := pinnedLab(t, false, n)
		rs, pinned, _ := failoverPinned(t, lab, vips, false, false)
		checkPinnedAt(t, pinned, lab.Nodes[0].MAC, "A's")
		rec, _, _ := summarize(rs)
		t.Logf("physical MACs: recovered %d/%d", rec, n)
		if rec != 0 {
			t.Fatalf("physical MACs: %d/%d VIPs came back although the router's entries are pinned to A's MAC: the pinned router is not real", rec, n)
		}
	})
}

// TestIntegrationVirtualMACKeepalived: vipd's virtual_mac and keepalived's
// use_vmac are the same RFC 5798 virtual MAC, so behind the pinned router
// a failover between them in either direction keeps every VIP.
func TestIntegrationVirtualMACKeepalived(t *testing.T) {
	const n = 10
	kcfg := func(prio int, vips []netip.Addr) labnet.KeepalivedConfig {
		return labnet.KeepalivedConfig{VRID: 42, Priority: prio, AdvertInt: 100 * time.Millisecond, VIPs: vips,
			InstanceExtra: []string{"use_vmac"}}
	}
	t.Run("keepalived_to_vipd", func(t *testing.T) {
		lab, vips := pinnedLab(t, false, n)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// keepalived 2.2.7 raises the parent's arp_ignore for use_vmac but
		// leaves arp_announce at 0: A's ARP request for the gateway, sent
		// for a reply from a VIP, then names the VIP at the parent's MAC,
		// and the router learns that. vipd sets arp_announce=2; a site
		// running keepalived must do it by hand (see docs/virtual-mac.md).
		if _, err := lab.Nodes[0].Run(ctx, "sysctl", "-qw", "net.ipv4.conf.eth0.arp_announce=2"); err != nil {
			t.Fatal(err)
		}
		ka := startKeepalived(t, ctx, lab.Nodes[0], kcfg(200, vips))
		waitFor(t, "keepalived A master", 10*time.Second, keepalivedState(ka, "MASTER"))
		nb := newVipdNode(t, lab.Nodes[1], vmacConfig(vipConfig("b", 100, "100ms", vips, nil, lab.LAN4, lab.LAN6)))
		nb.start()
		nb.waitState("v4", "BACKUP", 10*time.Second)
		rs, pinned := pinnedFailover(t, lab, vips, func() {}, func() { ka.Stop() },
			func() { nb.waitState("v4", "MASTER", 10*time.Second) })
		checkPinnedAt(t, pinned, vmac.MAC(42, false), "the virtual MAC")
		checkAllRecovered(t, "keepalived use_vmac -> vipd virtual_mac", rs)
	})
	t.Run("vipd_to_keepalived", func(t *testing.T) {
		lab, vips := pinnedLab(t, false, n)
		na := newVipdNode(t, lab.Nodes[0], vmacConfig(vipConfig("a", 200, "100ms", vips, nil, lab.LAN4, lab.LAN6)))
		na.start()
		na.waitState("v4", "MASTER", 10*time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		kb := startKeepalived(t, ctx, lab.Nodes[1], kcfg(100, vips))
		waitFor(t, "keepalived B backup", 10*time.Second, keepalivedState(kb, "BACKUP"))
		rs, pinned := pinnedFailover(t, lab, vips, func() {}, na.kill,
			func() { waitFor(t, "keepalived B master", 10*time.Second, keepalivedState(kb, "MASTER")) })
		checkPinnedAt(t, pinned, vmac.MAC(42, false), "the virtual MAC")
		checkAllRecovered(t, "vipd virtual_mac -> keepalived use_vmac", rs)
	})
}

// TestIntegrationVirtualMACSelfHeal: the virtual MAC interface is vipd's
// own. Deleted by hand on the master it comes back with the VIPs; left by
// a vipd killed with SIGKILL it is deleted at the next start (and created
// afresh).
func TestIntegrationVirtualMACSelfHeal(t *testing.T) {
	lab, vips := pinnedLab(t, false, 4)
	name := vmac.Name(42, false)
	announce0 := sysctlOf(t, lab.Nodes[0], "net/ipv4/conf/eth0/arp_announce")
	na := newRelNode(t, lab.Nodes[0], vmacConfig(vipConfig("a", 200, "100ms", vips, nil, lab.LAN4, lab.LAN6)))
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	onLink := func() bool {
		out, err := lab.Nodes[0].Run(context.Background(), "ip", "-br", "addr", "show", "dev", name)
		if err != nil {
			return false
		}
		for _, v := range vips {
			if !strings.Contains(string(out), v.String()+"/") {
				return false
			}
		}
		return true
	}
	waitFor(t, "VIPs on "+name, 5*time.Second, onLink)

	if _, err := lab.Nodes[0].Run(context.Background(), "ip", "link", "del", name); err != nil {
		t.Fatal(err)
	}
	waitFor(t, name+" created again with the VIPs", 5*time.Second, func() bool {
		ex, up := linkState(t, lab.Nodes[0], name)
		return ex && up && onLink()
	})
	if !na.logHas("virtual MAC interface deleted behind vipd's back; created again") {
		t.Error("no warning about the deleted interface")
	}

	na.kill()
	if ex, _ := linkState(t, lab.Nodes[0], name); !ex {
		t.Fatal("a killed vipd's interface is gone: nothing to clean up")
	}
	na.start()
	na.waitState("v4", "MASTER", 10*time.Second)
	waitFor(t, "VIPs on "+name+" after the restart", 5*time.Second, onLink)
	if !na.logHas("deleted a virtual MAC interface left by an earlier run", name) {
		t.Error("the leftover was not deleted at start")
	}
	if !na.logHas("restored the sysctls an earlier run changed") {
		t.Error("the sysctls the killed vipd changed were not restored at start")
	}
	na.stop()
	if ex, _ := linkState(t, lab.Nodes[0], name); ex {
		t.Error(name + " left after a graceful stop")
	}
	// Through a kill -9 and a restart, the parent's arp_announce is back
	// to what it was before the first start.
	if got := sysctlOf(t, lab.Nodes[0], "net/ipv4/conf/eth0/arp_announce"); got != announce0 {
		t.Errorf("eth0 arp_announce %s after the stop, want %s as before vipd ever ran", got, announce0)
	}
}

// TestIntegrationVirtualMACDoctor: doctor proves the VIPs held on the
// virtual MAC interface, finds the backup's answered by the virtual MAC,
// and explains the traps of a virtual MAC.
func TestIntegrationVirtualMACDoctor(t *testing.T) {
	lab, vips := pinnedLab(t, false, 4)
	cfg := func(node string, prio int) string {
		return vmacConfig(vipConfig(node, prio, "100ms", vips, nil, lab.LAN4, lab.LAN6))
	}
	na, nb := startPair(t, lab, cfg)
	for _, n := range []*vipdNode{na, nb} {
		out, code := runVipd(t, context.Background(), n.host, "doctor", "--config", n.config, "--json")
		var rep doctor.ReportJSON
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("doctor on %s: %v\n%s", n.host.Name, err, out)
		}
		if len(rep.VIPs) != len(vips) {
			t.Fatalf("doctor on %s: %d VIPs, want %d", n.host.Name, len(rep.VIPs), len(vips))
		}
		if code != 0 || rep.Summary.Unreachable != 0 {
			t.Errorf("doctor on %s: exit %d, %d unreachable:\n%s", n.host.Name, code, rep.Summary.Unreachable, out)
		}
		for _, v := range rep.VIPs {
			if v.Held != (n == na) {
				t.Errorf("doctor on %s: %s held=%v", n.host.Name, v.VIP, v.Held)
			}
			if n == nb && (len(v.AnsweredBy) != 1 || v.AnsweredBy[0] != vmac.MAC(42, false).String()) {
				t.Errorf("doctor on the backup: %s answered by %v, want the virtual MAC only", v.VIP, v.AnsweredBy)
			}
		}
		if len(rep.Advice) != 2 || !strings.Contains(rep.Advice[0], "Forged transmits") {
			t.Errorf("doctor on %s: advice %q, want the two traps and nothing wrong", n.host.Name, rep.Advice)
		}
	}
}

// TestIntegrationLabPinned: `vipd lab --router pinned` shows the virtual
// MAC: every VIP back with it, for vipd and for keepalived's use_vmac, and
// none for vipd on the nodes' own MACs.
func TestIntegrationLabPinned(t *testing.T) {
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Fatal("keepalived is not installed (apt-get install keepalived)")
	}
	rep := runLab(t, 3*time.Minute, "--router", "pinned", "--vips", "6", "--watch", "3s", "--compare", "keepalived")
	for _, im := range []lab.Impl{lab.Vipd, lab.Keepalived} {
		ir := rep.Impl(im)
		if ir == nil || len(ir.Runs) != 1 {
			t.Fatalf("%s: no run in %+v", im, rep.Impls)
		}
		t.Log(ir.SummaryLine())
		if r := ir.Runs[0]; r.Total != 6 || r.Recovered != 6 {
			t.Errorf("%s with the virtual MAC: recovered %d/%d behind the pinned router", im, r.Recovered, r.Total)
		}
	}
	rep = runLab(t, 3*time.Minute, "--router", "pinned", "--virtual-mac=false", "--vips", "6", "--watch", "3s")
	ir := rep.Impl(lab.Vipd)
	if ir == nil || len(ir.Runs) != 1 {
		t.Fatalf("no vipd run in %+v", rep.Impls)
	}
	t.Log(ir.SummaryLine())
	if r := ir.Runs[0]; r.Total != 6 || r.Recovered != 0 {
		t.Errorf("vipd on the nodes' MACs: recovered %d/%d although the router's entries are pinned", r.Recovered, r.Total)
	}
}

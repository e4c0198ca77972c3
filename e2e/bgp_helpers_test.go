package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/labnet"
)

// Routed mode's lab: the lab's router runs BIRD 2 as the nodes' BGP peer,
// in AS 65000; the nodes are in AS 65001; the VIPs are host routes outside
// the LAN, which the router only knows from BGP.
const (
	bgpRouterAS = 65000
	bgpNodeAS   = 65001
	bgpHold     = 3 * time.Second
	// bgpCheckInterval is the health check's interval and timeout: a
	// shorter timeout fails now and then on a busy machine (a race-built
	// vipd forking /bin/sh), which withdraws A for a moment.
	bgpCheckInterval = 300 * time.Millisecond
)

var (
	bgpVIPs = []netip.Prefix{
		netip.MustParsePrefix("198.18.1.1/32"),
		netip.MustParsePrefix("198.18.1.2/32"),
		netip.MustParsePrefix("2001:db8:ff::1/128"),
	}
	bgpLabSeq atomic.Uint64
)

// newBGPLab builds a lab whose namespaces are named bgx-<pid>-<n>-<role>.
func newBGPLab(t *testing.T) *labnet.Lab {
	t.Helper()
	prefix := "bgx-" + strconv.FormatInt(int64(os.Getpid()), 36) + "-" + strconv.FormatUint(bgpLabSeq.Add(1), 36)
	return newLab(t, labnet.Options{Prefix: prefix})
}

// birdConfig is the router's configuration as a network team writes it
// (labnet.BirdConfig): defaults everywhere, one neighbour per node and
// family, and an import filter that takes host routes from the VIP ranges
// and nothing else (BIRD 2 refuses to run eBGP without filters, RFC
// 8212). One exception: after a session
// error (a dead node's hold timer expiring) BIRD waits "error wait time"
// before it accepts the neighbour again, 60 s by default; the test
// shortens it to 1 s so that a node powered back on rejoins in seconds.
// (With the default, the node simply stays standby for that minute: its
// peer serves the VIPs, nothing is dark.)
func birdConfig(t *testing.T, lab *labnet.Lab) string {
	t.Helper()
	c := labnet.BirdConfig{RouterID: lab.Router.Addr4.Addr(), ASN: bgpRouterAS, ErrorWait: 1,
		Import4: netip.MustParsePrefix("198.18.1.0/24"), Import6: netip.MustParsePrefix("2001:db8:ff::/48")}
	for _, n := range lab.Nodes {
		c.Neighbors = append(c.Neighbors,
			labnet.BirdNeighbor{Name: "node_" + n.Name + "4", Local: lab.Router.Addr4.Addr(), Address: n.Addr4.Addr(), ASN: bgpNodeAS},
			labnet.BirdNeighbor{Name: "node_" + n.Name + "6", Local: lab.Router.Addr6.Addr(), Address: n.Addr6.Addr(), ASN: bgpNodeAS})
	}
	text, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// startBird runs BIRD in the router's namespace until the test ends.
func startBird(t *testing.T, lab *labnet.Lab) (socket string) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "bird.conf")
	socket = filepath.Join(dir, "bird.ctl")
	logf := filepath.Join(dir, "bird.log")
	if err := os.WriteFile(conf, []byte(birdConfig(t, lab)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := lab.Router.Command(context.Background(), "bird", "-f", "-c", conf, "-s", socket)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start bird: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			b, _ := os.ReadFile(logf)
			t.Logf("bird log:\n%s", tail(string(b), 60))
		}
	})
	waitFor(t, "bird's control socket", 5*time.Second, func() bool {
		_, err := os.Stat(socket)
		return err == nil
	})
	return socket
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// bgpNodeConfig is a routed node's configuration; check, when not empty,
// is an exec health check with fault: true.
func bgpNodeConfig(lab *labnet.Lab, name string, prio int, check string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "node: %s\ncontrol_socket: @SOCKET@\nstate_dir: @STATEDIR@\nbgp:\n  asn: %d\n  peers:\n", name, bgpNodeAS)
	for _, a := range []netip.Addr{lab.Router.Addr4.Addr(), lab.Router.Addr6.Addr()} {
		fmt.Fprintf(&b, "    - {address: %s, asn: %d, hold_time: %s}\n", a, bgpRouterAS, bgpHold)
	}
	fmt.Fprintf(&b, "instances:\n  - name: web\n    mode: bgp\n    interface: @IFACE@\n    priority: %d\n    vips:\n", prio)
	for _, v := range bgpVIPs {
		fmt.Fprintf(&b, "      - %s\n", v)
	}
	if check != "" {
		fmt.Fprintf(&b, "    checks:\n      - {name: app, type: exec, target: %q, interval: %s, timeout: %s, rise: 1, fall: 1, fault: true}\n",
			check, bgpCheckInterval, bgpCheckInterval)
	}
	return b.String()
}

// routerVia reports the node each VIP's route on the router points at
// (its address), from the router's kernel table ("" without a route).
func routerVia(t *testing.T, lab *labnet.Lab) map[netip.Addr]string {
	t.Helper()
	out := map[netip.Addr]string{}
	for _, v := range bgpVIPs {
		fam := "-4"
		if v.Addr().Is6() {
			fam = "-6"
		}
		b, err := lab.Router.Run(context.Background(), "ip", fam, "route", "show", v.String())
		if err != nil {
			t.Fatalf("router route: %v", err)
		}
		f := strings.Fields(string(b))
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "via" {
				out[v.Addr()] = f[i+1]
			}
		}
	}
	return out
}

// viaNode reports whether every VIP's route on the router points at h.
func viaNode(t *testing.T, lab *labnet.Lab, h *labnet.Host) bool {
	for a, via := range routerVia(t, lab) {
		want := h.Addr4.Addr().String()
		if a.Is6() {
			want = h.Addr6.Addr().String()
		}
		if via != want {
			return false
		}
	}
	return len(routerVia(t, lab)) == len(bgpVIPs)
}

// routes reports each VIP's route state in a node's status.
func routes(st control.Status) map[string]string {
	out := map[string]string{}
	for _, in := range st.Instances {
		for _, v := range in.VIPs {
			out[v.Address] = v.Route
		}
	}
	return out
}

// allRoutes reports whether a node's status shows every VIP as want.
func allRoutes(n relNode, want string) bool {
	st, err := n.st()
	if err != nil {
		return false
	}
	r := routes(st)
	for _, v := range bgpVIPs {
		if r[v.String()] != want {
			return false
		}
	}
	return true
}

// sessionsUp reports whether every BGP session of a node is established.
func sessionsUp(n relNode) bool {
	st, err := n.st()
	if err != nil || st.BGP == nil || len(st.BGP.Peers) == 0 {
		return false
	}
	for _, p := range st.BGP.Peers {
		if !p.Established() {
			return false
		}
	}
	return true
}

func vipAddrs() []netip.Addr {
	out := make([]netip.Addr, len(bgpVIPs))
	for i, v := range bgpVIPs {
		out[i] = v.Addr()
	}
	return out
}

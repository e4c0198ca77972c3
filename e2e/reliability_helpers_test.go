package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/labnet"
)

// relNode is a vipd node with the reliability tests' helpers (a type of
// its own, so that its method names cannot clash with other tests').
type relNode struct{ *vipdNode }

func newRelNode(t *testing.T, h *labnet.Host, config string) relNode {
	n := relNode{newVipdNode(t, h, config)}
	// vipd is a race-detector build: a data race it reports fails the
	// test, even though the daemon goes on running.
	t.Cleanup(func() {
		if n.logHas("WARNING: DATA RACE") {
			t.Errorf("vipd on %s reported a data race (see its log)", h.Name)
		}
	})
	return n
}

// relInstance is one instance of a reliability test's configuration.
type relInstance struct {
	name         string
	iface        string // "" means @IFACE@, the host's LAN interface
	vrid, prio   int
	advert       string
	preemptDelay string // "" leaves the default (0s)
	peers        []netip.Addr
	waitIface    bool
	vips         []netip.Prefix
}

// relConfig renders a configuration whose maintenance state lives in
// stateDir (never the machine's /var/lib/vipd).
func relConfig(node, stateDir string, ins ...relInstance) string {
	var b strings.Builder
	fmt.Fprintf(&b, "node: %s\ncontrol_socket: @SOCKET@\nstate_dir: %s\ninstances:\n", node, stateDir)
	for _, in := range ins {
		iface := in.iface
		if iface == "" {
			iface = "@IFACE@"
		}
		fmt.Fprintf(&b, "  - name: %s\n    interface: %s\n    vrid: %d\n    priority: %d\n    advert_interval: %s\n",
			in.name, iface, in.vrid, in.prio, in.advert)
		if in.preemptDelay != "" {
			fmt.Fprintf(&b, "    preempt_delay: %s\n", in.preemptDelay)
		}
		if len(in.peers) > 0 {
			ps := make([]string, len(in.peers))
			for i, p := range in.peers {
				ps[i] = p.String()
			}
			fmt.Fprintf(&b, "    unicast_peers: [%s]\n", strings.Join(ps, ", "))
		}
		if in.waitIface {
			b.WriteString("    wait_for_interface: true\n")
		}
		b.WriteString("    vips:\n")
		for _, p := range in.vips {
			fmt.Fprintf(&b, "      - %s\n", p)
		}
	}
	return b.String()
}

// relWithBits turns addresses into VIP prefixes of the given length.
func relWithBits(addrs []netip.Addr, bits int) []netip.Prefix {
	ps := make([]netip.Prefix, len(addrs))
	for i, a := range addrs {
		ps[i] = netip.PrefixFrom(a, bits)
	}
	return ps
}

// call sends one control command straight to the socket (no vipd process
// per call: the soak test asks thousands of times).
func (n relNode) call(command string, args any) (control.Response, error) {
	req, err := control.NewRequest(command, args)
	if err != nil {
		return control.Response{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return control.Call(ctx, n.socket, req)
}

// st is the daemon's status over the control socket.
func (n relNode) st() (control.Status, error) {
	resp, err := n.call(control.CommandStatus, nil)
	if err != nil {
		return control.Status{}, err
	}
	var s control.Status
	return s, resp.Decode(&s)
}

// inst returns one instance's status; it fails the test when the daemon
// does not answer or has no such instance.
func (n relNode) inst(name string) control.InstanceStatus {
	n.t.Helper()
	s, err := n.st()
	if err != nil {
		n.t.Fatalf("status of %s: %v", n.host.Name, err)
	}
	for _, in := range s.Instances {
		if in.Name == name {
			return in
		}
	}
	n.t.Fatalf("status of %s: no instance %q", n.host.Name, name)
	return control.InstanceStatus{}
}

// state is an instance's state, "" when the daemon does not answer.
func (n relNode) state(name string) string {
	s, err := n.st()
	if err != nil {
		return ""
	}
	for _, in := range s.Instances {
		if in.Name == name {
			return in.State
		}
	}
	return ""
}

// maintenance turns maintenance mode on or off for every instance.
func (n relNode) maintenance(on bool) {
	n.t.Helper()
	resp, err := n.call(control.CommandMaintenance, map[string]bool{"on": on})
	if err == nil {
		err = resp.Err()
	}
	if err != nil {
		n.t.Fatalf("maintenance %v on %s: %v", on, n.host.Name, err)
	}
}

// running reports whether the vipd process is still alive.
func (n relNode) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.waited:
		return false
	default:
		return true
	}
}

// logTransitions counts the "state change" lines of the node's log (every
// run since the test started) for an instance into a state.
func (n relNode) logTransitions(instance, to string) int {
	f, err := os.Open(n.log)
	if err != nil {
		return 0
	}
	defer f.Close()
	c := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, `msg="state change"`) && strings.Contains(l, " instance="+instance+" ") &&
			strings.Contains(l, " to="+to+" ") {
			c++
		}
	}
	return c
}

// logSummary counts the node's "state change" log lines of an instance by
// "FROM->TO (reason)", for failure messages.
func (n relNode) logSummary(instance string) map[string]int {
	m := map[string]int{}
	b, _ := os.ReadFile(n.log)
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, `msg="state change"`) || !strings.Contains(l, " instance="+instance+" ") {
			continue
		}
		f := map[string]string{}
		for _, kv := range strings.Fields(l) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f[k] = v
			}
		}
		m[f["from"]+"->"+f["to"]+" ("+f["reason"]+")"]++
	}
	return m
}

// logHas reports whether a line of the node's log contains every one of
// the strings.
func (n relNode) logHas(parts ...string) bool {
	b, err := os.ReadFile(n.log)
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return true
		}
	}
	return false
}

// relHolders returns, per VIP, the hosts that hold it.
func relHolders(t *testing.T, hosts []*labnet.Host, vips []netip.Addr) map[netip.Addr][]string {
	t.Helper()
	want := map[netip.Addr]bool{}
	for _, v := range vips {
		want[v] = true
	}
	m := map[netip.Addr][]string{}
	for _, h := range hosts {
		ps, err := h.Addrs()
		if err != nil {
			t.Fatalf("addresses of %s: %v", h.Name, err)
		}
		for _, p := range ps {
			if want[p.Addr()] {
				m[p.Addr()] = append(m[p.Addr()], h.Name)
			}
		}
	}
	return m
}

// relCheckOneHolder fails the test unless every VIP is on exactly one host.
func relCheckOneHolder(t *testing.T, hosts []*labnet.Host, vips []netip.Addr) {
	t.Helper()
	hs := relHolders(t, hosts, vips)
	for _, v := range vips {
		if len(hs[v]) != 1 {
			t.Errorf("%s held by %v, want exactly one node", v, hs[v])
		}
	}
}

// relPartition makes h deaf and mute for VRRP (IP protocol 112, both
// families) with nftables in h's namespace; everything else still flows.
// vipd reads VRRP from a packet socket, below the IP layer's input hook, so
// the receive side is dropped at the interface's ingress hook. The
// returned function heals the partition.
func relPartition(t *testing.T, h *labnet.Host) (heal func()) {
	t.Helper()
	const table = "vipd_partition"
	script := fmt.Sprintf(`table netdev %[1]s {
	chain in {
		type filter hook ingress device %[2]q priority 0; policy accept;
		ip protocol 112 counter drop
		ip6 nexthdr 112 counter drop
	}
	chain out {
		type filter hook egress device %[2]q priority 0; policy accept;
		ip protocol 112 counter drop
		ip6 nexthdr 112 counter drop
	}
}
`, table, h.Iface)
	cmd := h.Command(context.Background(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("partition %s: nft: %v: %s", h.Name, err, out)
	}
	return func() {
		t.Helper()
		if out, err := h.Run(context.Background(), "nft", "delete", "table", "netdev", table); err != nil {
			t.Fatalf("heal %s: %v: %s", h.Name, err, out)
		}
	}
}

// relVRRP is an IPv4 VRRPv3 advertisement, checksummed for src → dst.
func relVRRP(src, dst netip.Addr, vrid, prio uint8, centis uint16, addrs ...netip.Addr) []byte {
	b := []byte{0x31, vrid, prio, byte(len(addrs)), byte(centis >> 8), byte(centis), 0, 0}
	for _, a := range addrs {
		b = append(b, a.AsSlice()...)
	}
	relSetChecksum(b, src, dst)
	return b
}

// relSetChecksum writes the RFC 5798 §5.2.8 checksum: over the IPv4
// pseudo-header (RFC 768 style) and the message.
func relSetChecksum(b []byte, src, dst netip.Addr) {
	b[6], b[7] = 0, 0
	ph := append(append(src.AsSlice(), dst.AsSlice()...), 0, 112, byte(len(b)>>8), byte(len(b)))
	binary.BigEndian.PutUint16(b[6:], relInetSum(append(ph, b...)))
}

func relInetSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// relInjectIPv4 sends count IPv4 packets of protocol 112 carrying payload
// from h's LAN address to dst, with the given TTL, through a raw socket
// opened in h's namespace (the kernel fills in the IP header checksum).
func relInjectIPv4(h *labnet.Host, dst netip.Addr, ttl int, payload []byte, count int) error {
	return h.Do(func() error {
		c, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		defer c.Close()
		rc, err := ipv4.NewRawConn(c)
		if err != nil {
			return err
		}
		hdr := &ipv4.Header{Version: ipv4.Version, Len: ipv4.HeaderLen, TOS: 0xc0,
			TotalLen: ipv4.HeaderLen + len(payload), TTL: ttl, Protocol: 112,
			Src: h.Addr4.Addr().AsSlice(), Dst: dst.AsSlice()}
		for range count {
			if err := rc.WriteTo(hdr, payload, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// relInjectFrame sends count raw Ethernet frames (type IPv4) to dstMAC from
// h's LAN interface: for IP headers no socket above layer 2 would send.
func relInjectFrame(h *labnet.Host, dstMAC net.HardwareAddr, ip []byte, count int) error {
	return h.Do(func() error {
		ifi, err := net.InterfaceByName(h.Iface)
		if err != nil {
			return err
		}
		c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_IP, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		frame := append(append(append([]byte{}, dstMAC...), ifi.HardwareAddr...), 0x08, 0x00)
		frame = append(frame, ip...)
		for range count {
			if _, err := c.WriteTo(frame, &packet.Addr{HardwareAddr: dstMAC}); err != nil {
				return err
			}
		}
		return nil
	})
}

// relIPv4Header builds a 20-byte IPv4 header (protocol 112, TTL 255) with a
// correct header checksum and the given total length.
func relIPv4Header(src, dst netip.Addr, total int) []byte {
	h := []byte{0x45, 0xc0, byte(total >> 8), byte(total), 0, 0, 0, 0, 255, 112, 0, 0}
	h = append(append(h, src.AsSlice()...), dst.AsSlice()...)
	binary.BigEndian.PutUint16(h[10:], relInetSum(h))
	return h
}

// relOpenFile writes a file readable by everyone in a directory everyone
// may enter (t.TempDir's parent is private), for vipd run as another user.
func relOpenFile(t *testing.T, name, content string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vipd-rel-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// relRunOnce runs `vipd run` (behind the wrapper command pre, if any) in h
// with the configuration text, expecting it to fail at start. It returns
// the exit code and standard error, and fails the test if vipd still runs
// after 10 s. @SOCKET@ and @STATE@ become a socket path and a state
// directory next to the configuration; @IFACE@ the host's LAN interface.
func relRunOnce(t *testing.T, h *labnet.Host, pre []string, config string) (code int, stderr, socket string) {
	t.Helper()
	path := relOpenFile(t, "vipd.yaml", "")
	socket = filepath.Join(filepath.Dir(path), "vipd.sock")
	config = strings.NewReplacer("@SOCKET@", socket, "@STATE@", filepath.Join(filepath.Dir(path), "state"),
		"@IFACE@", h.Iface).Replace(config)
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := append(append([]string{}, pre...), vipdBin, "run", "--config", path)
	cmd := h.Command(ctx, args[0], args[1:]...)
	var out strings.Builder
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("vipd %v still running after 10 s; output:\n%s", pre, out.String())
	}
	code = 0
	if err != nil {
		code = cmd.ProcessState.ExitCode()
	}
	return code, out.String(), socket
}

// waitUntil polls cond until it holds (true) or the time is up (false).
func waitUntil(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

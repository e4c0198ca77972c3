package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"github.com/vipd/vipd/internal/testutil"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// peer is one end of the test link: a namespace, its veth and two Conns.
type peer struct {
	ns         string
	ifi        *net.Interface
	mac        net.HardwareAddr
	c4, c6     *Conn
	src4, src6 netip.Addr // what PrimaryAddr returned
	global6    netip.Addr
}

// newNS creates a namespace of the test's own with IPv6 duplicate address
// detection off, so addresses are usable at once.
func newNS(t *testing.T) string {
	t.Helper()
	ns := testutil.NewNS(t, "transport")
	testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-qw",
		"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	return ns
}

// newLink creates two namespaces joined by a veth pair:
//
//	A: va 02:00:00:00:00:11 192.0.2.11/24 2001:db8::11/64
//	B: vb 02:00:00:00:00:12 192.0.2.12/24 2001:db8::12/64
func newLink(t *testing.T) (a, b *peer) {
	t.Helper()
	a = &peer{ns: newNS(t), mac: net.HardwareAddr{2, 0, 0, 0, 0, 0x11}, global6: netip.MustParseAddr("2001:db8::11")}
	b = &peer{ns: newNS(t), mac: net.HardwareAddr{2, 0, 0, 0, 0, 0x12}, global6: netip.MustParseAddr("2001:db8::12")}
	testutil.AddVeth(t, testutil.Veth{NS: a.ns, Name: "va", MAC: a.mac}, testutil.Veth{NS: b.ns, Name: "vb", MAC: b.mac})
	for _, p := range []struct {
		ns, dev, v4, v6 string
	}{{a.ns, "va", "192.0.2.11/24", "2001:db8::11/64"}, {b.ns, "vb", "192.0.2.12/24", "2001:db8::12/64"}} {
		testutil.Run(t, "ip", "-n", p.ns, "addr", "add", p.v4, "dev", p.dev)
		testutil.Run(t, "ip", "-n", p.ns, "addr", "add", p.v6, "dev", p.dev, "nodad")
		testutil.Run(t, "ip", "-n", p.ns, "link", "set", p.dev, "up")
	}
	return a, b
}

// open opens both Conns of p inside its namespace and finds its source
// addresses.
func (p *peer) open(t *testing.T, dev string) {
	t.Helper()
	err := testutil.InNS(p.ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		p.ifi = ifi
		if p.c4, err = Listen(ifi, false); err != nil {
			return err
		}
		if p.c6, err = Listen(ifi, true); err != nil {
			p.c4.Close()
			return err
		}
		if p.src4, err = PrimaryAddr(ifi, false); err != nil {
			return err
		}
		// The link-local address appears when the kernel sees the carrier,
		// which linkwatch reports asynchronously.
		deadline := time.Now().Add(10 * time.Second)
		for {
			p.src6, err = PrimaryAddr(ifi, true)
			if !errors.Is(err, ErrNoAddress) || time.Now().After(deadline) {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	if p.c4 != nil {
		t.Cleanup(func() { p.c4.Close(); p.c6.Close() })
	}
	if err != nil {
		t.Fatalf("open in %s: %v", p.ns, err)
	}
}

func (p *peer) conn(ipv6 bool) *Conn {
	if ipv6 {
		return p.c6
	}
	return p.c4
}

func (p *peer) src(ipv6 bool) netip.Addr {
	if ipv6 {
		return p.src6
	}
	return p.src4
}

func readWithin(t *testing.T, c *Conn, d time.Duration) Packet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	p, err := c.ReadPacket(ctx)
	if err != nil {
		t.Fatalf("ReadPacket: %v", err)
	}
	return p
}

func TestIntegrationSendReceive(t *testing.T) {
	testutil.RequireRoot(t)
	a, b := newLink(t)
	a.open(t, "va")
	b.open(t, "vb")
	if a.src4 != netip.MustParseAddr("192.0.2.11") || !a.src6.IsLinkLocalUnicast() {
		t.Fatalf("A's source addresses = %v, %v", a.src4, a.src6)
	}
	t.Logf("A: %v %v, B: %v %v", a.src4, a.src6, b.src4, b.src6)

	tests := []struct {
		name string
		ipv6 bool
		// Destinations from A to B and back.
		toB, toA netip.Addr
	}{
		{"ipv4 multicast", false, IPv4Group, IPv4Group},
		{"ipv4 unicast", false, b.src4, a.src4},
		{"ipv6 multicast", true, IPv6Group, IPv6Group},
		{"ipv6 unicast global", true, b.global6, a.global6},
		{"ipv6 unicast link-local", true, b.src6, a.src6},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, cb := a.conn(tt.ipv6), b.conn(tt.ipv6)
			ping := fmt.Appendf(nil, "ping %d: arbitrary VRRP payload bytes", i)
			pong := fmt.Appendf(nil, "pong %d", i)

			if err := ca.WriteTo(ping, a.src(tt.ipv6), tt.toB); err != nil {
				t.Fatalf("A WriteTo: %v", err)
			}
			got := readWithin(t, cb, 5*time.Second)
			check(t, got, a, tt.ipv6, tt.toB, ping, b.ifi.Index)

			// The answer must be the first thing A reads: had A captured its
			// own packet, that would come first.
			if err := cb.WriteTo(pong, b.src(tt.ipv6), tt.toA); err != nil {
				t.Fatalf("B WriteTo: %v", err)
			}
			got = readWithin(t, ca, 5*time.Second)
			check(t, got, b, tt.ipv6, tt.toA, pong, a.ifi.Index)
		})
	}

	// Every frame each side read was the other's: none of its own, no
	// duplicates, nothing dropped.
	for _, p := range []*peer{a, b} {
		for _, v6 := range []bool{false, true} {
			s := p.conn(v6).Stats()
			want := uint64(2)
			if v6 {
				want = 3
			}
			if s.FramesRead != want || s.Packets != want || s.ParseFailures != 0 || s.Sent != want || s.SendErrors != 0 || s.KernelDrops != 0 {
				t.Errorf("%s ipv6=%v stats = %+v, want %d read and sent", p.ns, v6, s, want)
			}
		}
	}
}

func check(t *testing.T, got Packet, from *peer, ipv6 bool, dst netip.Addr, payload []byte, ifIndex int) {
	t.Helper()
	if !bytes.Equal(got.Payload, payload) {
		t.Fatalf("payload = %q, want %q (packet %+v)", got.Payload, payload, got)
	}
	if got.Src != from.src(ipv6) || got.Dst != dst {
		t.Errorf("src, dst = %v, %v; want %v, %v", got.Src, got.Dst, from.src(ipv6), dst)
	}
	if got.TTL != 255 {
		t.Errorf("TTL = %d, want 255", got.TTL)
	}
	if got.SrcMAC.String() != from.mac.String() {
		t.Errorf("SrcMAC = %v, want %v", got.SrcMAC, from.mac)
	}
	if got.IfIndex != ifIndex || time.Since(got.Received) > time.Minute {
		t.Errorf("IfIndex, Received = %d, %v", got.IfIndex, got.Received)
	}
}

// TestIntegrationFilterOutgoing checks the PACKET_OUTGOING test of the
// filter in the kernel. A packet socket bound to ETH_P_IP, as Listen's is,
// never sees outgoing frames (the kernel passes transmitted frames only to
// ETH_P_ALL taps), so this test binds ETH_P_ALL, where the filter is what
// keeps our own adverts out; the same socket without that test does see them.
func TestIntegrationFilterOutgoing(t *testing.T) {
	testutil.RequireRoot(t)
	a, b := newLink(t)
	a.open(t, "va")
	b.open(t, "vb")

	withoutOutgoingCheck := append([]bpf.Instruction(nil), filter(false)...)
	if j, ok := withoutOutgoingCheck[5].(bpf.JumpIf); !ok || j.Val != packetOutgoing {
		t.Fatalf("instruction 5 of the filter is %v, not the PACKET_OUTGOING test", withoutOutgoingCheck[5])
	}
	withoutOutgoingCheck[5] = bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0xffff, SkipTrue: 1}
	tests := []struct {
		name    string
		prog    []bpf.Instruction
		wantOwn bool
	}{
		{"filter", filter(false), false},
		{"filter without the outgoing test", withoutOutgoingCheck, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := bpf.Assemble(tt.prog)
			if err != nil {
				t.Fatal(err)
			}
			var tap *packet.Conn
			err = testutil.InNS(a.ns, func() (err error) {
				tap, err = packet.Listen(a.ifi, packet.Raw, unix.ETH_P_ALL, &packet.Config{Filter: raw})
				return err
			})
			if err != nil {
				t.Fatalf("packet.Listen: %v", err)
			}
			defer tap.Close()

			ping, pong := fmt.Appendf(nil, "ping %d", i), fmt.Appendf(nil, "pong %d", i)
			if err := a.c4.WriteTo(ping, a.src4, IPv4Group); err != nil {
				t.Fatal(err)
			}
			readWithin(t, b.c4, 5*time.Second)
			if err := b.c4.WriteTo(pong, b.src4, IPv4Group); err != nil {
				t.Fatal(err)
			}
			readWithin(t, a.c4, 5*time.Second)

			tap.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, maxFrame)
			n, _, err := tap.ReadFrom(buf)
			if err != nil {
				t.Fatalf("tap read: %v", err)
			}
			p, err := ParseFrame(buf[:n], false)
			if err != nil {
				t.Fatalf("ParseFrame: %v", err)
			}
			want := pong
			if tt.wantOwn {
				want = ping
			}
			if !bytes.Equal(p.Payload, want) {
				t.Errorf("first frame on the tap carries %q, want %q", p.Payload, want)
			}
		})
	}
}

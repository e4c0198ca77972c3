package watch

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// Test frames are built with the mdlayher packages, independently of the
// watcher's own builders and parser.

var (
	ourMAC      = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a} // node A, the watcher
	ownerMAC    = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b} // node B, the owner
	routerMAC   = net.HardwareAddr{0x0a, 0, 0, 0, 0, 0x01} // the stale upstream
	otherMAC    = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0c}
	vip4        = netip.MustParseAddr("192.0.2.101")
	vip4b       = netip.MustParseAddr("192.0.2.102")
	vip6        = netip.MustParseAddr("2001:db8:1::101")
	clientIP    = netip.MustParseAddr("198.51.100.10")
	client2IP   = netip.MustParseAddr("198.51.100.20")
	client6IP   = netip.MustParseAddr("2001:db8:2::10")
	routerIP    = netip.MustParseAddr("192.0.2.1")
	routerIP6   = netip.MustParseAddr("2001:db8:1::1")
	ourIP       = netip.MustParseAddr("192.0.2.11")
	ethBcast    = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
)

func mustMAC(t testing.TB, hw net.HardwareAddr) mac {
	t.Helper()
	m, ok := macOf(hw)
	if !ok {
		t.Fatalf("bad MAC %v", hw)
	}
	return m
}

func ethFrame(t testing.TB, dst, src net.HardwareAddr, et ethernet.EtherType, payload []byte) []byte {
	t.Helper()
	f := ethernet.Frame{Destination: dst, Source: src, EtherType: et, Payload: payload}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatalf("ethernet: %v", err)
	}
	return b
}

// ipFrame is an ICMP echo request (IPv4) or ICMPv6 echo request from src
// to dst in a frame from srcMAC to dstMAC.
func ipFrame(t testing.TB, dstMAC, srcMAC net.HardwareAddr, src, dst netip.Addr) []byte {
	t.Helper()
	if src.Is4() {
		ip := make([]byte, 28)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:4], 28)
		ip[8], ip[9] = 64, 1
		s, d := src.As4(), dst.As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		ip[20] = 8 // echo request
		return ethFrame(t, dstMAC, srcMAC, ethernet.EtherTypeIPv4, ip)
	}
	ip := make([]byte, 48)
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:6], 8)
	ip[6], ip[7] = protoICMPv6, 64
	s, d := src.As16(), dst.As16()
	copy(ip[8:24], s[:])
	copy(ip[24:40], d[:])
	ip[40] = 128 // echo request
	return ethFrame(t, dstMAC, srcMAC, ethernet.EtherTypeIPv6, ip)
}

func arpFrame(t testing.TB, dstMAC, srcMAC net.HardwareAddr, op arp.Operation, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr) []byte {
	t.Helper()
	p, err := arp.NewPacket(op, sha, spa, tha, tpa)
	if err != nil {
		t.Fatalf("arp: %v", err)
	}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatalf("arp: %v", err)
	}
	return ethFrame(t, dstMAC, srcMAC, ethernet.EtherTypeARP, b)
}

// ndFrame wraps an NDP message in IPv6 (hop limit 255) and Ethernet.
func ndFrame(t testing.TB, dstMAC, srcMAC net.HardwareAddr, src, dst netip.Addr, m ndp.Message) []byte {
	t.Helper()
	msg, err := ndp.MarshalMessageChecksum(m, src, dst)
	if err != nil {
		t.Fatalf("ndp: %v", err)
	}
	ip := make([]byte, 40+len(msg))
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(msg)))
	ip[6], ip[7] = protoICMPv6, 255
	s, d := src.As16(), dst.As16()
	copy(ip[8:24], s[:])
	copy(ip[24:40], d[:])
	copy(ip[40:], msg)
	return ethFrame(t, dstMAC, srcMAC, ethernet.EtherTypeIPv6, ip)
}

func naFrame(t testing.TB, dstMAC, srcMAC net.HardwareAddr, src, dst, target netip.Addr, solicited bool, tlla net.HardwareAddr) []byte {
	t.Helper()
	na := &ndp.NeighborAdvertisement{Solicited: solicited, Override: true, TargetAddress: target}
	if tlla != nil {
		na.Options = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: tlla}}
	}
	return ndFrame(t, dstMAC, srcMAC, src, dst, na)
}

func nsFrame(t testing.TB, dstMAC, srcMAC net.HardwareAddr, src, dst, target netip.Addr, slla net.HardwareAddr) []byte {
	t.Helper()
	ns := &ndp.NeighborSolicitation{TargetAddress: target}
	if slla != nil {
		ns.Options = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: slla}}
	}
	return ndFrame(t, dstMAC, srcMAC, src, dst, ns)
}

// timeZero is the start of every test timeline.
var timeZero = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

package vrrp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ipPacket is the part of a captured IP packet the tests need.
type ipPacket struct {
	src, dst netip.Addr
	ttl      uint8 // IPv4 TTL or IPv6 hop limit
	proto    uint8 // IPv4 protocol or IPv6 next header
	payload  []byte
}

// parseIPPacket splits a raw IPv4 (no fragments) or IPv6 (no extension
// headers) packet.
func parseIPPacket(t testing.TB, b []byte) ipPacket {
	t.Helper()
	if len(b) < 1 {
		t.Fatal("empty IP packet")
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			t.Fatalf("IPv4 packet of %d bytes", len(b))
		}
		ihl := int(b[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(b[2:4]))
		if ihl < 20 || total < ihl || total > len(b) {
			t.Fatalf("IPv4 header: ihl %d, total length %d, have %d bytes", ihl, total, len(b))
		}
		return ipPacket{
			src:     netip.AddrFrom4([4]byte(b[12:16])),
			dst:     netip.AddrFrom4([4]byte(b[16:20])),
			ttl:     b[8],
			proto:   b[9],
			payload: b[ihl:total],
		}
	case 6:
		if len(b) < 40 {
			t.Fatalf("IPv6 packet of %d bytes", len(b))
		}
		plen := int(binary.BigEndian.Uint16(b[4:6]))
		if 40+plen > len(b) {
			t.Fatalf("IPv6 payload length %d, have %d bytes", plen, len(b)-40)
		}
		return ipPacket{
			src:     netip.AddrFrom16([16]byte(b[8:24])),
			dst:     netip.AddrFrom16([16]byte(b[24:40])),
			ttl:     b[7],
			proto:   b[6],
			payload: b[40 : 40+plen],
		}
	}
	t.Fatalf("IP version %d", b[0]>>4)
	return ipPacket{}
}

// readHex reads a testdata .hex file: lines starting with '#' are comments,
// the rest is hex with any white space.
func readHex(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var digits strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// readPcapIP returns the IP packets of all Ethernet frames carrying IPv4 or
// IPv6 in a classic (microsecond, little- or big-endian) pcap file.
func readPcapIP(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 {
		t.Fatalf("%s: short pcap header", name)
	}
	var bo binary.ByteOrder
	switch {
	case bytes.Equal(b[:4], []byte{0xd4, 0xc3, 0xb2, 0xa1}):
		bo = binary.LittleEndian
	case bytes.Equal(b[:4], []byte{0xa1, 0xb2, 0xc3, 0xd4}):
		bo = binary.BigEndian
	default:
		t.Fatalf("%s: not a microsecond pcap file (magic % x)", name, b[:4])
	}
	if lt := bo.Uint32(b[20:24]); lt != 1 {
		t.Fatalf("%s: link type %d, want 1 (Ethernet)", name, lt)
	}
	var pkts [][]byte
	for p := b[24:]; len(p) > 0; {
		if len(p) < 16 {
			t.Fatalf("%s: truncated record header", name)
		}
		incl := int(bo.Uint32(p[8:12]))
		orig := int(bo.Uint32(p[12:16]))
		if incl != orig || 16+incl > len(p) {
			t.Fatalf("%s: record of %d/%d bytes, %d left", name, incl, orig, len(p)-16)
		}
		frame := p[16 : 16+incl]
		p = p[16+incl:]
		if len(frame) < 14 {
			continue
		}
		switch binary.BigEndian.Uint16(frame[12:14]) {
		case 0x0800, 0x86dd:
			pkts = append(pkts, frame[14:])
		}
	}
	return pkts
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// addrRange returns n consecutive addresses from first.
func addrRange(first string, n int) []netip.Addr {
	out := make([]netip.Addr, n)
	ip := netip.MustParseAddr(first)
	for i := range out {
		out[i] = ip
		ip = ip.Next()
	}
	return out
}

// capturedCases are the keepalived packets in testdata (see README.md).
var capturedCases = []struct {
	file     string
	src, dst string
	want     Advertisement
}{{
	file: "keepalived-ipv4.hex",
	src:  "192.0.2.11", dst: "224.0.0.18",
	want: Advertisement{Version: 3, VRID: 51, Priority: 150, MaxAdvertInterval: 100,
		Addresses: addrs("192.0.2.100", "192.0.2.101", "192.0.2.102")},
}, {
	file: "keepalived-ipv4-prio0.hex",
	src:  "192.0.2.11", dst: "224.0.0.18",
	want: Advertisement{Version: 3, VRID: 51, Priority: 0, MaxAdvertInterval: 100,
		Addresses: addrs("192.0.2.100", "192.0.2.101", "192.0.2.102")},
}, {
	file: "keepalived-ipv4-unicast.hex",
	src:  "192.0.2.11", dst: "192.0.2.12",
	want: Advertisement{Version: 3, VRID: 53, Priority: 254, MaxAdvertInterval: 123,
		Addresses: addrs("192.0.2.110")},
}, {
	file: "keepalived-ipv4-20addrs.hex",
	src:  "192.0.2.11", dst: "224.0.0.18",
	want: Advertisement{Version: 3, VRID: 54, Priority: 100, MaxAdvertInterval: 300,
		Addresses: addrRange("192.0.2.120", 20)},
}, {
	file: "keepalived-ipv6.hex",
	src:  "fe80::5eff:fe00:a", dst: "ff02::12",
	want: Advertisement{Version: 3, VRID: 52, Priority: 120, MaxAdvertInterval: 50,
		Addresses: addrs("2001:db8::100", "2001:db8::101")},
}, {
	file: "keepalived-ipv6-prio0.hex",
	src:  "fe80::5eff:fe00:a", dst: "ff02::12",
	want: Advertisement{Version: 3, VRID: 52, Priority: 0, MaxAdvertInterval: 50,
		Addresses: addrs("2001:db8::100", "2001:db8::101")},
}}

package vrrp

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// capturedV2Cases are keepalived's VRRPv2 packets in testdata
// (capture-v2.sh): keepalived's default version, with and without
// "auth_type PASS".
var capturedV2Cases = []struct {
	file     string
	src, dst string
	want     Advertisement
}{{
	file: "keepalived-v2-ipv4.hex",
	src:  "192.0.2.11", dst: "224.0.0.18",
	want: Advertisement{Version: 2, VRID: 61, Priority: 150, MaxAdvertInterval: 100,
		Addresses: addrs("192.0.2.100", "192.0.2.101", "192.0.2.102")},
}, {
	file: "keepalived-v2-ipv4-prio0.hex",
	src:  "192.0.2.11", dst: "224.0.0.18",
	want: Advertisement{Version: 2, VRID: 61, Priority: 0, MaxAdvertInterval: 100,
		Addresses: addrs("192.0.2.100", "192.0.2.101", "192.0.2.102")},
}, {
	file: "keepalived-v2-pass-unicast.hex",
	src:  "192.0.2.11", dst: "192.0.2.12",
	want: Advertisement{Version: 2, VRID: 62, Priority: 254, MaxAdvertInterval: 200,
		Addresses: addrs("192.0.2.110"), AuthType: AuthSimple, AuthData: AuthPassword("s3cret")},
}, {
	file: "keepalived-v2-pass8.hex",
	src:  "192.0.2.11", dst: "224.0.0.18",
	want: Advertisement{Version: 2, VRID: 63, Priority: 100, MaxAdvertInterval: 300,
		Addresses: addrs("192.0.2.120", "192.0.2.121"), AuthType: AuthSimple, AuthData: AuthPassword("12345678")},
}}

// TestKeepalivedV2Captures: Parse and Marshal against keepalived's own
// VRRPv2 packets, byte for byte.
func TestKeepalivedV2Captures(t *testing.T) {
	for _, tc := range capturedV2Cases {
		t.Run(tc.file, func(t *testing.T) {
			pkt := parseIPPacket(t, readHex(t, tc.file))
			if pkt.proto != ProtocolNumber || pkt.ttl != RequiredTTL {
				t.Errorf("protocol %d TTL %d, want %d and %d", pkt.proto, pkt.ttl, ProtocolNumber, RequiredTTL)
			}
			if pkt.src != netip.MustParseAddr(tc.src) || pkt.dst != netip.MustParseAddr(tc.dst) {
				t.Errorf("%v -> %v, want %s -> %s", pkt.src, pkt.dst, tc.src, tc.dst)
			}
			got, err := Parse(pkt.payload, pkt.src, pkt.dst)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("Parse = %+v, want %+v", got, &tc.want)
			}
			b, err := tc.want.Marshal(pkt.src, pkt.dst)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(b, pkt.payload) {
				t.Errorf("Marshal =\n% x\nkeepalived sent\n% x", b, pkt.payload)
			}
			if len(b) != tc.want.Len() {
				t.Errorf("Len() = %d, encoded %d bytes", tc.want.Len(), len(b))
			}
			// The VRRPv2 checksum has no pseudo-header: the same bytes
			// are valid from any source.
			if _, err := Parse(pkt.payload, netip.MustParseAddr("198.51.100.7"), pkt.dst); err != nil {
				t.Errorf("Parse from another source: %v", err)
			}
		})
	}
}

// TestKeepalivedV2Pcap parses and re-encodes every packet of the capture.
func TestKeepalivedV2Pcap(t *testing.T) {
	var n, nAuth, nZero int
	for i, raw := range readPcapIP(t, "keepalived-v2.pcap") {
		pkt := parseIPPacket(t, raw)
		if pkt.proto != ProtocolNumber {
			continue
		}
		a, err := Parse(pkt.payload, pkt.src, pkt.dst)
		if err != nil {
			t.Errorf("packet %d: Parse: %v", i, err)
			continue
		}
		if a.Version != Version2 {
			t.Errorf("packet %d: version %d", i, a.Version)
		}
		b, err := a.Marshal(pkt.src, pkt.dst)
		if err != nil || !bytes.Equal(b, pkt.payload) {
			t.Errorf("packet %d (%v): Marshal = % x, %v; want % x", i, a, b, err, pkt.payload)
		}
		n++
		if a.AuthType == AuthSimple {
			nAuth++
		}
		if a.Priority == 0 {
			nZero++
		}
	}
	if n < 10 || nAuth < 4 || nZero < 3 {
		t.Errorf("pcap had %d VRRPv2 packets, %d with a password, %d priority 0; want >= 10, >= 4, >= 3", n, nAuth, nZero)
	}
}

// TestV2Golden pins the encoding of a VRRPv2 advertisement vipd builds.
func TestV2Golden(t *testing.T) {
	a := Advertisement{Version: 2, VRID: 42, Priority: 200, MaxAdvertInterval: 100,
		Addresses: addrs("192.0.2.100", "192.0.2.101"), AuthType: AuthSimple, AuthData: AuthPassword("vipd")}
	b, err := a.Marshal(src4, IPv4Group)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x21, 42, 200, 2, // version 2, type 1, VRID, priority, count
		1, 1, 0x26, 0x77, // auth type 1, 1 s, checksum
		192, 0, 2, 100, 192, 0, 2, 101,
		'v', 'i', 'p', 'd', 0, 0, 0, 0,
	}
	// The checksum is the Internet checksum of the rest.
	want[6], want[7] = 0, 0
	c := ^fold(sumWords(0, want))
	want[6], want[7] = byte(c>>8), byte(c)
	if !bytes.Equal(b, want) {
		t.Fatalf("Marshal =\n% x\nwant\n% x", b, want)
	}
	if got := a.String(); got != "v2 vrid=42 prio=200 interval=1s addrs=[192.0.2.100 192.0.2.101] auth=1" {
		t.Errorf("String() = %q", got)
	}
}

func TestV2Errors(t *testing.T) {
	good := func() []byte {
		a := Advertisement{Version: 2, VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addresses: addrs("192.0.2.100")}
		b, err := a.Marshal(src4, IPv4Group)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	resum := func(b []byte) []byte {
		c := checksumV2(b)
		b[6], b[7] = byte(c>>8), byte(c)
		return b
	}
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		want     DropReason
	}{
		{"valid", good(), src4, IPv4Group, DropNone},
		{"over IPv6", good(), src6, IPv6Group, DropVersion},
		{"no auth data", resum(good()[:12]), src4, IPv4Group, DropLength},
		{"trailing byte", resum(append(good(), 0)), src4, IPv4Group, DropLength},
		{"bad checksum", func() []byte { b := good(); b[7]++; return b }(), src4, IPv4Group, DropChecksum},
		{"interval 0", resum(func() []byte { b := good(); b[5] = 0; return b }()), src4, IPv4Group, DropInterval},
		{"type 2", resum(func() []byte { b := good(); b[0] = 0x22; return b }()), src4, IPv4Group, DropType},
		{"version 1", resum(func() []byte { b := good(); b[0] = 0x11; return b }()), src4, IPv4Group, DropVersion},
	}
	for _, tc := range tests {
		_, err := Parse(tc.b, tc.src, tc.dst)
		if got := ReasonOf(err); got != tc.want {
			t.Errorf("%s: Parse = %v (%v), want %v", tc.name, got, err, tc.want)
		}
	}

	marshal := []struct {
		name string
		a    Advertisement
		src  netip.Addr
		dst  netip.Addr
		want error
	}{
		{"ipv6", Advertisement{Version: 2, VRID: 1, MaxAdvertInterval: 100, Addresses: addrs("2001:db8::1")}, src6, IPv6Group, ErrFamilyMismatch},
		{"half second", Advertisement{Version: 2, VRID: 1, MaxAdvertInterval: 50}, src4, IPv4Group, ErrBadInterval},
		{"256 s", Advertisement{Version: 2, VRID: 1, MaxAdvertInterval: 25600}, src4, IPv4Group, ErrBadInterval},
		{"version 4", Advertisement{Version: 4, VRID: 1, MaxAdvertInterval: 100}, src4, IPv4Group, ErrBadVersion},
		{"v3 with auth", Advertisement{Version: 3, VRID: 1, MaxAdvertInterval: 100, AuthType: 1}, src4, IPv4Group, ErrBadVersion},
	}
	for _, tc := range marshal {
		if _, err := tc.a.Marshal(tc.src, tc.dst); !errors.Is(err, tc.want) {
			t.Errorf("%s: Marshal = %v, want %v", tc.name, err, tc.want)
		}
	}
	// 255 s, the largest VRRPv2 interval, is beyond VRRPv3's 40.95 s.
	a := Advertisement{Version: 2, VRID: 1, MaxAdvertInterval: 25500}
	b, err := a.Marshal(src4, IPv4Group)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Parse(b, src4, IPv4Group); err != nil || got.Interval() != 255*time.Second {
		t.Fatalf("Parse(255 s) = %v, %v", got, err)
	}
}

func TestIntervalCentisVersion(t *testing.T) {
	for _, tc := range []struct {
		v    uint8
		d    time.Duration
		want uint16
		ok   bool
	}{
		{2, time.Second, 100, true},
		{2, 255 * time.Second, 25500, true},
		{2, 1500 * time.Millisecond, 0, false},
		{2, 256 * time.Second, 0, false},
		{2, 0, 0, false},
		{3, 1500 * time.Millisecond, 150, true},
		{3, 60 * time.Second, 0, false},
	} {
		got, err := IntervalCentisVersion(tc.v, tc.d)
		if (err == nil) != tc.ok || got != tc.want || (err != nil && !errors.Is(err, ErrBadInterval)) {
			t.Errorf("IntervalCentisVersion(%d, %v) = %d, %v", tc.v, tc.d, got, err)
		}
	}
	if VersionOf(nil) != 0 || VersionOf([]byte{0x21}) != 2 {
		t.Error("VersionOf")
	}
	if AuthPassword("123456789") != AuthPassword("12345678") {
		t.Error("AuthPassword does not truncate to 8 bytes")
	}
}

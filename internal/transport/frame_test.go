package transport

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// Hand-built frames for the parser and filter tests.

var (
	testDstMAC = net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}
	testSrcMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}
	testSrc4   = netip.MustParseAddr("192.0.2.11")
	testDst4   = netip.MustParseAddr("224.0.0.18")
	testSrc6   = netip.MustParseAddr("fe80::11")
	testDst6   = netip.MustParseAddr("ff02::12")
	// A VRRPv3 advert for VRID 51 (content is irrelevant to this package).
	testPayload = []byte{0x31, 51, 100, 1, 0x00, 0x64, 0xab, 0xcd, 192, 0, 2, 100}
)

// ipv4Spec describes an IPv4 packet; zero fields get sensible defaults.
type ipv4Spec struct {
	etherType uint16 // default IPv4
	version   uint8  // default 4
	options   []byte // appended after the fixed header (length a multiple of 4)
	ihl       int    // override IHL (in 32-bit words) when non-zero
	totalLen  int    // override total length when non-zero
	ttl       uint8  // default 255
	proto     uint8  // default 112
	fragment  uint16 // flags+offset word
	badSum    bool
	payload   []byte
	pad       int // Ethernet padding bytes after the IP packet
}

func ipv4Frame(s ipv4Spec) []byte {
	if s.etherType == 0 {
		s.etherType = etherTypeIPv4
	}
	if s.version == 0 {
		s.version = 4
	}
	if s.ttl == 0 {
		s.ttl = 255
	}
	if s.proto == 0 {
		s.proto = ProtocolVRRP
	}
	hlen := ipv4HeaderLen + len(s.options)
	ihl := hlen / 4
	if s.ihl != 0 {
		ihl = s.ihl
	}
	total := hlen + len(s.payload)
	if s.totalLen != 0 {
		total = s.totalLen
	}
	b := ethHeader(s.etherType)
	ip := make([]byte, hlen)
	ip[0] = s.version<<4 | uint8(ihl)
	ip[1] = 0xc0
	binary.BigEndian.PutUint16(ip[2:], uint16(total))
	binary.BigEndian.PutUint16(ip[4:], 0x1234)
	binary.BigEndian.PutUint16(ip[6:], s.fragment)
	ip[8] = s.ttl
	ip[9] = s.proto
	copy(ip[12:], testSrc4.AsSlice())
	copy(ip[16:], testDst4.AsSlice())
	copy(ip[20:], s.options)
	sum := checksum(ip)
	if s.badSum {
		sum++
	}
	binary.BigEndian.PutUint16(ip[10:], sum)
	b = append(b, ip...)
	b = append(b, s.payload...)
	return append(b, make([]byte, s.pad)...)
}

type ipv6Spec struct {
	etherType  uint16
	version    uint8
	payloadLen int // override when non-zero
	hopLimit   uint8
	nextHeader uint8
	payload    []byte
	pad        int
}

func ipv6Frame(s ipv6Spec) []byte {
	if s.etherType == 0 {
		s.etherType = etherTypeIPv6
	}
	if s.version == 0 {
		s.version = 6
	}
	if s.hopLimit == 0 {
		s.hopLimit = 255
	}
	if s.nextHeader == 0 {
		s.nextHeader = ProtocolVRRP
	}
	plen := len(s.payload)
	if s.payloadLen != 0 {
		plen = s.payloadLen
	}
	b := ethHeader(s.etherType)
	ip := make([]byte, ipv6HeaderLen)
	ip[0] = s.version << 4
	binary.BigEndian.PutUint16(ip[4:], uint16(plen))
	ip[6] = s.nextHeader
	ip[7] = s.hopLimit
	copy(ip[8:], testSrc6.AsSlice())
	copy(ip[24:], testDst6.AsSlice())
	b = append(b, ip...)
	b = append(b, s.payload...)
	return append(b, make([]byte, s.pad)...)
}

func ethHeader(etherType uint16) []byte {
	b := make([]byte, ethHeaderLen)
	copy(b[0:6], testDstMAC)
	copy(b[6:12], testSrcMAC)
	binary.BigEndian.PutUint16(b[12:], etherType)
	return b
}

package watch

import (
	"encoding/binary"
	"net"
	"net/netip"
)

const (
	ethHeaderLen = 14
	minFrameLen  = 60 // IEEE 802.3 minimum without FCS
	arpLen       = 28
	ipv4MinLen   = 20
	ipv6HdrLen   = 40
	ndMinLen     = 24 // ICMPv6 type, code, checksum, flags/reserved, target
	lladdrOptLen = 8

	etherTypeARP  = 0x0806
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd

	arpRequest = 1
	arpReply   = 2

	protoICMPv6  = 58
	ndHopLimit   = 255
	icmpNS       = 135
	icmpNA       = 136
	naFlagS      = 0x40
	naFlagO      = 0x20
	optSourceLLA = 1
	optTargetLLA = 2
)

// mac is a hardware address as a comparable value.
type mac [6]byte

func macOf(hw net.HardwareAddr) (m mac, ok bool) {
	if len(hw) != 6 {
		return m, false
	}
	return mac(hw), true
}

func (m mac) hw() net.HardwareAddr { return net.HardwareAddr(append([]byte(nil), m[:]...)) }

func (m mac) String() string { return net.HardwareAddr(m[:]).String() }

func (m mac) isZero() bool { return m == mac{} }

// frameKind says what parseFrame found.
type frameKind uint8

const (
	_ frameKind = iota
	// kindIP: an IPv4 or IPv6 packet other than NS/NA; src and dst set.
	kindIP
	// kindARP: an ARP packet for IPv4 over Ethernet; op, sha, spa, tpa set.
	kindARP
	// kindNS: a Neighbor Solicitation; src, dst, target set, lla is the
	// Source Link-Layer Address option (zero when absent).
	kindNS
	// kindNA: a Neighbor Advertisement; src, dst, target, flags set, lla
	// is the Target Link-Layer Address option (zero when absent).
	kindNA
)

// frame is the part of a received frame the watcher looks at. It holds no
// reference to the read buffer.
type frame struct {
	kind           frameKind
	ethDst, ethSrc mac
	src, dst       netip.Addr // IP source and destination
	op             uint16     // ARP operation
	sha            mac        // ARP sender hardware address
	spa, tpa       netip.Addr // ARP sender and target protocol addresses
	target         netip.Addr // NS/NA target
	flags          byte       // NA flags
	lla            mac        // NS source / NA target link-layer address
	hasLLA         bool
}

// parseFrame decodes the Ethernet, IP, ARP and NDP headers of b. It does
// not judge the frame beyond well-formedness: that is the detectors' job.
// The reason is zero when f is usable.
func parseFrame(b []byte) (f frame, reason DropReason) {
	if len(b) < ethHeaderLen {
		return f, DropShortFrame
	}
	f.ethDst, f.ethSrc = mac(b[0:6]), mac(b[6:12])
	p := b[ethHeaderLen:]
	switch binary.BigEndian.Uint16(b[12:14]) {
	case etherTypeARP:
		return f, f.parseARP(p)
	case etherTypeIPv4:
		return f, f.parseIPv4(p)
	case etherTypeIPv6:
		return f, f.parseIPv6(p)
	}
	return f, DropEtherType
}

func (f *frame) parseARP(p []byte) DropReason {
	if len(p) < arpLen {
		return DropMalformed
	}
	// Ethernet (1) / IPv4, 6-byte and 4-byte addresses.
	if binary.BigEndian.Uint16(p[0:2]) != 1 || binary.BigEndian.Uint16(p[2:4]) != etherTypeIPv4 || p[4] != 6 || p[5] != 4 {
		return DropMalformed
	}
	f.kind = kindARP
	f.op = binary.BigEndian.Uint16(p[6:8])
	f.sha = mac(p[8:14])
	f.spa = netip.AddrFrom4([4]byte(p[14:18]))
	f.tpa = netip.AddrFrom4([4]byte(p[24:28]))
	return 0
}

func (f *frame) parseIPv4(p []byte) DropReason {
	if len(p) < ipv4MinLen || p[0]>>4 != 4 || p[0]&0x0f < 5 {
		return DropMalformed
	}
	f.kind = kindIP
	f.src = netip.AddrFrom4([4]byte(p[12:16]))
	f.dst = netip.AddrFrom4([4]byte(p[16:20]))
	return 0
}

func (f *frame) parseIPv6(p []byte) DropReason {
	if len(p) < ipv6HdrLen || p[0]>>4 != 6 {
		return DropMalformed
	}
	f.kind = kindIP
	f.src = netip.AddrFrom16([16]byte(p[8:24]))
	f.dst = netip.AddrFrom16([16]byte(p[24:40]))
	if p[6] != protoICMPv6 || len(p) < ipv6HdrLen+1 {
		return 0
	}
	m := p[ipv6HdrLen:]
	if m[0] != icmpNS && m[0] != icmpNA {
		return 0
	}
	// RFC 4861 §7.1.1 and §7.1.2: hop limit 255, code 0, at least 24
	// bytes, options of non-zero length. The checksum is not verified:
	// the kernel does not verify it on a packet socket either, and a
	// corrupt frame can at worst cause a report.
	if p[7] != ndHopLimit || len(m) < ndMinLen || m[1] != 0 {
		return DropMalformed
	}
	plen := int(binary.BigEndian.Uint16(p[4:6]))
	if plen < ndMinLen || plen > len(m) {
		return DropMalformed
	}
	m = m[:plen] // trim Ethernet padding
	f.kind = kindNS
	want := byte(optSourceLLA)
	if m[0] == icmpNA {
		f.kind, want = kindNA, optTargetLLA
		f.flags = m[4]
	}
	f.target = netip.AddrFrom16([16]byte(m[8:24]))
	for opts := m[ndMinLen:]; len(opts) > 0; {
		if len(opts) < 2 || opts[1] == 0 || int(opts[1])*8 > len(opts) {
			return DropMalformed
		}
		n := int(opts[1]) * 8
		if opts[0] == want && n == lladdrOptLen {
			f.lla, f.hasLLA = mac(opts[2:8]), true
		}
		opts = opts[n:]
	}
	return 0
}

// claimMAC is the hardware address an NDP message binds its address to:
// the link-layer address option, or the Ethernet source without one.
func (f *frame) claimMAC() mac {
	if f.hasLLA {
		return f.lla
	}
	return f.ethSrc
}

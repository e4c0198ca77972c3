package announce

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Packet is one Ethernet frame to write, with what it is for.
type Packet struct {
	Kind Kind
	// VIP is the virtual address the packet speaks for: the ARP sender
	// protocol address, the NA target, the NS source.
	VIP netip.Addr
	// DstMAC is the Ethernet destination. It aliases Frame[0:6].
	DstMAC net.HardwareAddr
	// Target is the peer of a directed packet (ARP target protocol address,
	// IPv6 destination of a unicast NA, target of an NS); the zero Addr for
	// the gratuitous kinds.
	Target netip.Addr
	// Frame is the complete Ethernet frame without FCS, zero-padded to the
	// 60-byte minimum.
	Frame []byte
}

var (
	// ErrHardwareAddr: a MAC address is not 6 bytes, or our source MAC is
	// zero or multicast, or a destination MAC is zero.
	ErrHardwareAddr = errors.New("invalid hardware address")
	// ErrAddr: an address is invalid, of the wrong family, unspecified,
	// loopback, multicast or the IPv4 limited broadcast.
	ErrAddr = errors.New("invalid address")
)

const (
	ethHeaderLen = 14
	minFrameLen  = 60 // IEEE 802.3 minimum without FCS
	arpFrameLen  = minFrameLen
	arpLen       = 28

	ipv6HeaderLen = 40
	ndMsgLen      = 24 // ICMPv6 header, flags/reserved, target address
	lladdrOptLen  = 8  // type, length, 6-byte MAC
	ndFrameLen    = ethHeaderLen + ipv6HeaderLen + ndMsgLen + lladdrOptLen

	etherTypeARP  = 0x0806
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd

	arpRequest = 1
	arpReply   = 2

	protoICMPv6  = 58
	ndHopLimit   = 255
	icmpNS       = 135
	icmpNA       = 136
	naFlagR      = 0x80 // Router
	naFlagS      = 0x40 // Solicited
	naFlagO      = 0x20 // Override
	optSourceLLA = 1
	optTargetLLA = 2
)

var (
	broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	zeroMAC      = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	allNodes     = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x01})
)

// Src is whom a frame comes from: Eth is its Ethernet source address, HW
// the hardware address it gives for the VIP (the ARP sender hardware
// address, the NDP link-layer address option). They differ when a node
// speaks for a virtual MAC (RFC 5798 §7.3) it sends from its own port, or
// for another owner (a repair): switches learn Eth, neighbours HW.
type Src struct {
	Eth, HW net.HardwareAddr
	// Router sets the Router flag of Neighbor Advertisements: the VIP is
	// a router's address (hosts drop a router from their default list
	// when an advertisement for its address clears the flag, RFC 4861
	// §7.2.5).
	Router bool
}

// From is the Src of a node that speaks for itself: mac in both places.
func From(mac net.HardwareAddr) Src { return Src{Eth: mac, HW: mac} }

// GratuitousARP is From(src).GratuitousARP.
func GratuitousARP(src net.HardwareAddr, vip netip.Addr) (request, reply Packet, err error) {
	return From(src).GratuitousARP(vip)
}

// UnsolicitedNA is From(src).UnsolicitedNA.
func UnsolicitedNA(src net.HardwareAddr, vip netip.Addr) (Packet, error) {
	return From(src).UnsolicitedNA(vip)
}

// DirectedARPRequest is From(src).DirectedARPRequest.
func DirectedARPRequest(src net.HardwareAddr, vip netip.Addr, dstMAC net.HardwareAddr, target netip.Addr) (Packet, error) {
	return From(src).DirectedARPRequest(vip, dstMAC, target)
}

// UnicastARPReply is From(src).UnicastARPReply.
func UnicastARPReply(src net.HardwareAddr, vip netip.Addr, dstMAC net.HardwareAddr, target netip.Addr) (Packet, error) {
	return From(src).UnicastARPReply(vip, dstMAC, target)
}

// UnicastNA is From(src).UnicastNA.
func UnicastNA(src net.HardwareAddr, vip netip.Addr, dstMAC net.HardwareAddr, target netip.Addr) (Packet, error) {
	return From(src).UnicastNA(vip, dstMAC, target)
}

// NeighborSolicitation is From(src).NeighborSolicitation.
func NeighborSolicitation(src net.HardwareAddr, vip netip.Addr, dstMAC net.HardwareAddr, target netip.Addr) (Packet, error) {
	return From(src).NeighborSolicitation(vip, dstMAC, target)
}

// Announcements is From(src).Announcements.
func Announcements(src net.HardwareAddr, vips []netip.Addr) ([]Packet, error) {
	return From(src).Announcements(vips)
}

// GratuitousARP returns the two IPv4 announcements for vip: an ARP request
// (op 1, sender vip/HW, target vip with hardware address zero, as RFC 5227
// §2.3 and the Linux kernel's own gratuitous ARP) and an ARP reply (op 2,
// sender vip/HW, target vip/HW, as `arping -A` sends it: Linux treats a
// reply as gratuitous only when its target hardware address equals the
// sender's). Both go to the Ethernet broadcast address.
func (s Src) GratuitousARP(vip netip.Addr) (request, reply Packet, err error) {
	vip, err = checkARP(KindGratuitousRequest, s, vip, nil, vip)
	if err != nil {
		return Packet{}, Packet{}, err
	}
	b := make([]byte, 2*arpFrameLen)
	request = putARP(b[:arpFrameLen:arpFrameLen], KindGratuitousRequest, s, vip, broadcastMAC, zeroMAC, vip)
	reply = putARP(b[arpFrameLen:], KindGratuitousReply, s, vip, broadcastMAC, s.HW, vip)
	return request, reply, nil
}

// UnsolicitedNA returns the unsolicited Neighbor Advertisement of RFC 4861
// §7.2.6 for vip: Override set, Solicited clear, Router as s says, target
// vip, Target Link-Layer Address HW, from vip to all-nodes ff02::1
// (Ethernet 33:33:00:00:00:01), hop limit 255. vip must be assigned with
// NODAD or have completed DAD, since it is the IPv6 source.
func (s Src) UnsolicitedNA(vip netip.Addr) (Packet, error) {
	vip, _, err := checkND(KindUnsolicitedNA, s, vip, nil, allNodes)
	if err != nil {
		return Packet{}, err
	}
	return putNA(make([]byte, ndFrameLen), KindUnsolicitedNA, s, vip, MulticastMAC(allNodes), allNodes, false), nil
}

// DirectedARPRequest returns "who-has target tell vip" (at HW) to dstMAC
// only, target hardware address zero. A Linux peer that owns target
// creates or overrides its entry for vip whatever its arp_accept,
// drop_gratuitous_arp and locktime settings.
func (s Src) DirectedARPRequest(vip netip.Addr, dstMAC net.HardwareAddr, target netip.Addr) (Packet, error) {
	vip, err := checkARP(KindDirectedRequest, s, vip, dstMAC, target)
	if err != nil {
		return Packet{}, err
	}
	return putARP(make([]byte, arpFrameLen), KindDirectedRequest, s, vip, dstMAC, zeroMAC, target.Unmap()), nil
}

// UnicastARPReply returns "vip is-at HW" sent to dstMAC/target only
// (Linux does not look at the target protocol address of a reply).
func (s Src) UnicastARPReply(vip netip.Addr, dstMAC net.HardwareAddr, target netip.Addr) (Packet, error) {
	vip, err := checkARP(KindUnicastReply, s, vip, dstMAC, target)
	if err != nil {
		return Packet{}, err
	}
	return putARP(make([]byte, arpFrameLen), KindUnicastReply, s, vip, dstMAC, dstMAC, target.Unmap()), nil
}

// UnicastNA returns the unsolicited Neighbor Advertisement for vip (Override
// set, Solicited clear, Target Link-Layer Address HW) sent from vip to
// target at dstMAC only.
func (s Src) UnicastNA(vip netip.Addr, dstMAC net.HardwareAddr, target netip.Addr) (Packet, error) {
	vip, target, err := checkND(KindUnicastNA, s, vip, dstMAC, target)
	if err != nil {
		return Packet{}, err
	}
	return putNA(make([]byte, ndFrameLen), KindUnicastNA, s, vip, dstMAC, target, false), nil
}

// NeighborSolicitation returns a Neighbor Solicitation from vip for target
// with Source Link-Layer Address HW. With dstMAC it is unicast to target
// at dstMAC (as in Neighbor Unreachability Detection); with a nil dstMAC it
// goes to target's solicited-node multicast group. A Linux peer that owns
// target creates or overrides its entry for vip from it.
func (s Src) NeighborSolicitation(vip netip.Addr, dstMAC net.HardwareAddr, target netip.Addr) (Packet, error) {
	vip, target, err := checkND(KindNeighborSolicit, s, vip, dstMAC, target)
	if err != nil {
		return Packet{}, err
	}
	dst := target
	if dstMAC == nil {
		dst = SolicitedNode(target)
		dstMAC = MulticastMAC(dst)
	}
	return putNS(make([]byte, ndFrameLen), s, vip, dstMAC, dst, target), nil
}

// Announcements returns what a new master sends for each VIP, in the order
// of vips: for an IPv4 VIP the gratuitous request then the gratuitous reply,
// for an IPv6 VIP the unsolicited NA. All frames share one allocation.
func (s Src) Announcements(vips []netip.Addr) ([]Packet, error) {
	n, size := 0, 0
	for _, vip := range vips {
		if err := checkAnnouncement(s, vip); err != nil {
			return nil, err
		}
		if vip.Unmap().Is4() {
			n, size = n+2, size+2*arpFrameLen
		} else {
			n, size = n+1, size+ndFrameLen
		}
	}
	pkts := make([]Packet, 0, n)
	buf := make([]byte, size)
	take := func(n int) []byte {
		b := buf[:n:n]
		buf = buf[n:]
		return b
	}
	allNodesMAC := MulticastMAC(allNodes)
	for _, vip := range vips {
		if v4 := vip.Unmap(); v4.Is4() {
			pkts = append(pkts,
				putARP(take(arpFrameLen), KindGratuitousRequest, s, v4, broadcastMAC, zeroMAC, v4),
				putARP(take(arpFrameLen), KindGratuitousReply, s, v4, broadcastMAC, s.HW, v4))
			continue
		}
		pkts = append(pkts, putNA(take(ndFrameLen), KindUnsolicitedNA, s, vip.WithZone(""), allNodesMAC, allNodes, false))
	}
	return pkts, nil
}

// checkAnnouncement validates src and vip for Announcements.
func checkAnnouncement(src Src, vip netip.Addr) error {
	if vip.Unmap().Is4() {
		_, err := checkARP(KindGratuitousRequest, src, vip, nil, vip)
		return err
	}
	_, _, err := checkND(KindUnsolicitedNA, src, vip, nil, allNodes)
	return err
}

// checkARP validates the inputs of an ARP builder and returns vip unmapped.
// dstMAC nil means broadcast.
func checkARP(k Kind, src Src, vip netip.Addr, dstMAC net.HardwareAddr, target netip.Addr) (netip.Addr, error) {
	if err := checkMACs(src, dstMAC); err != nil {
		return netip.Addr{}, fmt.Errorf("announce: %s for %s: %w", k, vip, err)
	}
	vip = vip.Unmap()
	if !usable4(vip) {
		return netip.Addr{}, fmt.Errorf("announce: %s: VIP %s: %w", k, vip, ErrAddr)
	}
	if !usable4(target.Unmap()) {
		return netip.Addr{}, fmt.Errorf("announce: %s for %s: target %s: %w", k, vip, target, ErrAddr)
	}
	return vip, nil
}

// checkND validates the inputs of an NDP builder and returns vip and
// target without zones. dstMAC nil means multicast.
func checkND(k Kind, src Src, vip netip.Addr, dstMAC net.HardwareAddr, target netip.Addr) (netip.Addr, netip.Addr, error) {
	if err := checkMACs(src, dstMAC); err != nil {
		return vip, target, fmt.Errorf("announce: %s for %s: %w", k, vip, err)
	}
	if !usable6(vip) {
		return vip, target, fmt.Errorf("announce: %s: VIP %s: %w", k, vip, ErrAddr)
	}
	if target != allNodes && !usable6(target) {
		return vip, target, fmt.Errorf("announce: %s for %s: target %s: %w", k, vip, target, ErrAddr)
	}
	return vip.WithZone(""), target.WithZone(""), nil
}

func checkMACs(src Src, dst net.HardwareAddr) error {
	if !unicastMAC(src.Eth) {
		return fmt.Errorf("source %v: %w", src.Eth, ErrHardwareAddr)
	}
	if !unicastMAC(src.HW) {
		return fmt.Errorf("sender hardware address %v: %w", src.HW, ErrHardwareAddr)
	}
	if dst != nil && (len(dst) != 6 || isZero(dst)) {
		return fmt.Errorf("destination %v: %w", dst, ErrHardwareAddr)
	}
	return nil
}

func unicastMAC(m net.HardwareAddr) bool { return len(m) == 6 && m[0]&1 == 0 && !isZero(m) }

func isZero(mac net.HardwareAddr) bool {
	for _, b := range mac {
		if b != 0 {
			return false
		}
	}
	return true
}

func usable4(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

func usable6(a netip.Addr) bool {
	return a.Is6() && !a.Is4In6() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast()
}

// putEthernet writes the Ethernet header into b and returns the payload.
func putEthernet(b []byte, dst, src net.HardwareAddr, etherType uint16) []byte {
	copy(b[0:6], dst)
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:14], etherType)
	return b[ethHeaderLen:]
}

// putARP fills the zeroed 60-byte b with an ARP packet in an Ethernet frame.
func putARP(b []byte, k Kind, src Src, spa netip.Addr, dstMAC, tha net.HardwareAddr, tpa netip.Addr) Packet {
	op := uint16(arpRequest)
	if k == KindGratuitousReply || k == KindUnicastReply {
		op = arpReply
	}
	a := putEthernet(b, dstMAC, src.Eth, etherTypeARP)
	binary.BigEndian.PutUint16(a[0:2], 1) // hardware type Ethernet
	binary.BigEndian.PutUint16(a[2:4], etherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], op)
	copy(a[8:14], src.HW)
	s4 := spa.As4()
	copy(a[14:18], s4[:])
	copy(a[18:24], tha)
	t4 := tpa.As4()
	copy(a[24:28], t4[:])
	p := Packet{Kind: k, VIP: spa, DstMAC: net.HardwareAddr(b[0:6:6]), Frame: b}
	if k == KindDirectedRequest || k == KindUnicastReply {
		p.Target = tpa
	}
	return p
}

// putNA fills the zeroed b (ndFrameLen bytes) with a Neighbor Advertisement
// for vip with the Override flag (Router as src says, Solicited if
// solicited), from vip to dst.
func putNA(b []byte, k Kind, src Src, vip netip.Addr, dstMAC net.HardwareAddr, dst netip.Addr, solicited bool) Packet {
	flags := byte(naFlagO)
	if src.Router {
		flags |= naFlagR
	}
	if solicited {
		flags |= naFlagS
	}
	putND(b, icmpNA, flags, src, vip, dstMAC, dst, vip, optTargetLLA)
	p := Packet{Kind: k, VIP: vip, DstMAC: net.HardwareAddr(b[0:6:6]), Frame: b}
	if k == KindUnicastNA {
		p.Target = dst
	}
	return p
}

// putNS fills the zeroed b with a Neighbor Solicitation for target from vip
// to dst.
func putNS(b []byte, src Src, vip netip.Addr, dstMAC net.HardwareAddr, dst, target netip.Addr) Packet {
	putND(b, icmpNS, 0, src, vip, dstMAC, dst, target, optSourceLLA)
	return Packet{Kind: KindNeighborSolicit, VIP: vip, DstMAC: net.HardwareAddr(b[0:6:6]), Target: target, Frame: b}
}

// putND writes Ethernet, IPv6 and an NS/NA with one link-layer address
// option into the zeroed b, then the ICMPv6 checksum.
func putND(b []byte, typ, flags byte, src Src, from netip.Addr, dstMAC net.HardwareAddr, to, target netip.Addr, opt byte) {
	ip := putEthernet(b, dstMAC, src.Eth, etherTypeIPv6)
	putIPv6(ip, from, to, ndMsgLen+lladdrOptLen)
	s16, d16 := from.As16(), to.As16()
	m := ip[ipv6HeaderLen:]
	m[0] = typ // code and checksum stay zero for now
	m[4] = flags
	t16 := target.As16()
	copy(m[8:24], t16[:])
	m[24], m[25] = opt, 1 // length in units of 8 octets
	copy(m[26:32], src.HW)
	binary.BigEndian.PutUint16(m[2:4], ICMPv6Checksum(s16, d16, m[:ndMsgLen+lladdrOptLen]))
}

// ICMPv6Checksum returns the Internet checksum of the ICMPv6 message msg
// sent from src to dst: the one's complement sum over the IPv6
// pseudo-header (RFC 8200 §8.1, next header 58) and msg, whose checksum
// field (msg[2:4]) must be zero.
func ICMPv6Checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	for i := 0; i < 16; i += 2 {
		sum += uint32(src[i])<<8 | uint32(src[i+1])
		sum += uint32(dst[i])<<8 | uint32(dst[i+1])
	}
	sum += uint32(len(msg)>>16) + uint32(len(msg)&0xffff)
	sum += protoICMPv6
	for i := 0; i+1 < len(msg); i += 2 {
		sum += uint32(msg[i])<<8 | uint32(msg[i+1])
	}
	if len(msg)%2 == 1 {
		sum += uint32(msg[len(msg)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// SolicitedNode returns the solicited-node multicast address of the IPv6
// address a, ff02::1:ffXX:XXXX with a's low 24 bits (RFC 4291 §2.7.1).
func SolicitedNode(a netip.Addr) netip.Addr {
	s := a.As16()
	return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 11: 0x01, 12: 0xff, 13: s[13], 14: s[14], 15: s[15]})
}

// MulticastMAC returns the Ethernet group address of the IPv6 multicast
// address a, 33:33 and a's low 32 bits (RFC 2464 §7).
func MulticastMAC(a netip.Addr) net.HardwareAddr {
	s := a.As16()
	return net.HardwareAddr{0x33, 0x33, s[12], s[13], s[14], s[15]}
}

package announce

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// The frames that do not claim a VIP for the sender, or claim it for
// another owner: conflict probes (package watch) and repairs of an
// upstream that still sends a VIP to a node that no longer holds it.
//
//   - ARPProbe and DADProbe ask whether anyone else uses the VIP without
//     claiming it: sender IP 0.0.0.0 (RFC 5227 §2.1.1) or IPv6 source ::
//     (RFC 4862 §5.4.2). They carry the Kind that is closest, so that the
//     pacer counts them: KindDirectedRequest (an ARP request naming one
//     target) and KindNeighborSolicit.
//   - A repair speaks for the VIP's owner: Src{Eth: ours, HW: owner's},
//     so that switches keep learning our MAC on our port and the stale
//     upstream learns the owner's. UnicastARPReply is the IPv4 one;
//     RepairNA the IPv6 one.

// nsDADLen is a Neighbor Solicitation without an option.
const nsDADLen = ethHeaderLen + ipv6HeaderLen + ndMsgLen

// ARPProbe returns the RFC 5227 §2.1.1 ARP probe for vip: a broadcast
// request with sender hardware address HW, sender IP 0.0.0.0, target
// hardware address zero and target IP vip.
func (s Src) ARPProbe(vip netip.Addr) (Packet, error) {
	const k = KindDirectedRequest
	if err := checkMACs(s, nil); err != nil {
		return Packet{}, fmt.Errorf("announce: ARP probe for %s: %w", vip, err)
	}
	vip = vip.Unmap()
	if !usable4(vip) {
		return Packet{}, fmt.Errorf("announce: ARP probe: VIP %s: %w", vip, ErrAddr)
	}
	p := putARP(make([]byte, arpFrameLen), k, s, netip.IPv4Unspecified(), broadcastMAC, zeroMAC, vip)
	p.VIP, p.Target = vip, vip
	return p, nil
}

// DADProbe returns the Duplicate Address Detection probe of RFC 4862
// §5.4.2 for vip: a Neighbor Solicitation from :: to vip's solicited-node
// group, target vip, without a Source Link-Layer Address option (RFC 4861
// §7.1.1 forbids one with an unspecified source).
func (s Src) DADProbe(vip netip.Addr) (Packet, error) {
	if err := checkMACs(s, nil); err != nil {
		return Packet{}, fmt.Errorf("announce: DAD probe for %s: %w", vip, err)
	}
	if !usable6(vip) {
		return Packet{}, fmt.Errorf("announce: DAD probe: VIP %s: %w", vip, ErrAddr)
	}
	vip = vip.WithZone("")
	dst := SolicitedNode(vip)
	dstMAC := MulticastMAC(dst)
	b := make([]byte, nsDADLen)
	ip := putEthernet(b, dstMAC, s.Eth, etherTypeIPv6)
	putIPv6(ip, netip.IPv6Unspecified(), dst, ndMsgLen)
	m := ip[ipv6HeaderLen:]
	m[0] = icmpNS
	t := vip.As16()
	copy(m[8:24], t[:])
	binary.BigEndian.PutUint16(m[2:4], ICMPv6Checksum(netip.IPv6Unspecified().As16(), dst.As16(), m))
	return Packet{Kind: KindNeighborSolicit, VIP: vip, DstMAC: net.HardwareAddr(b[0:6:6]), Target: vip, Frame: b}, nil
}

// RepairNA returns a Neighbor Advertisement for vip with the Override flag
// and Target Link-Layer Address HW, from vip to dst at dstMAC only. dst is
// the upstream's own IPv6 address when known, else all-nodes ff02::1
// (still in a frame to dstMAC only): a router would forward, not read, an
// NA sent to an address that is not its own. To a unicast dst the
// Solicited flag is set, as in the answer to the upstream's own
// reachability probes (which it sends to the stale MAC): upstreams that
// drop unsolicited advertisements, as sticky load balancers do, still take
// it. To all-nodes it must stay clear (RFC 4861 §7.1.2). Its Kind is
// KindUnicastNA.
func (s Src) RepairNA(vip netip.Addr, dstMAC net.HardwareAddr, dst netip.Addr) (Packet, error) {
	if dstMAC == nil {
		return Packet{}, fmt.Errorf("announce: %s for %s: no destination: %w", KindUnicastNA, vip, ErrHardwareAddr)
	}
	vip, dst, err := checkND(KindUnicastNA, s, vip, dstMAC, dst)
	if err != nil {
		return Packet{}, err
	}
	return putNA(make([]byte, ndFrameLen), KindUnicastNA, s, vip, dstMAC, dst, !dst.IsMulticast()), nil
}

// putIPv6 writes an IPv6 header with hop limit 255 and next header ICMPv6
// for plen bytes of payload into the zeroed ip.
func putIPv6(ip []byte, from, to netip.Addr, plen int) {
	ip[0] = 0x60 // version 6, traffic class 0, flow label 0
	binary.BigEndian.PutUint16(ip[4:6], uint16(plen))
	ip[6] = protoICMPv6
	ip[7] = ndHopLimit
	s16, d16 := from.As16(), to.As16()
	copy(ip[8:24], s16[:])
	copy(ip[24:40], d16[:])
}

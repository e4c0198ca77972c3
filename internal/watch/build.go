package watch

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/vipd/vipd/internal/announce"
)

// The frames the watcher sends. Package announce's builders put our MAC
// both in the Ethernet source and in the ARP sender / NDP link-layer
// address, and have no probe forms, so the watcher builds its own:
//
//   - repairARP and repairNA speak for the VIP's owner: the ARP sender
//     hardware address (the NA's Target Link-Layer Address) is the owner's
//     MAC while the Ethernet source stays ours, so that switches keep
//     learning our MAC on our port and the stale upstream learns the
//     owner's.
//   - arpProbe and dadNS ask whether anyone else uses the VIP without
//     claiming it: sender IP 0.0.0.0 (RFC 5227 §2.1.1) or IPv6 source ::
//     (RFC 4862 §5.4.2).
//
// They carry the announce Kind that is closest, so that the pacer counts
// them: a repair is a KindUnicastReply / KindUnicastNA, an ARP probe a
// KindDirectedRequest (an ARP request naming one target), a DAD probe a
// KindNeighborSolicit.

const (
	arpFrameLen = minFrameLen
	naFrameLen  = ethHeaderLen + ipv6HdrLen + ndMinLen + lladdrOptLen // 86
	nsDADLen    = ethHeaderLen + ipv6HdrLen + ndMinLen                // 78, no option
)

var (
	broadcastMAC = mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	allNodes     = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x01})
)

// repairARP returns the unicast ARP reply "vip is-at owner" from our MAC
// to dst, with target protocol address tpa (the upstream's own IPv4
// address when known; Linux does not look at it in a reply).
func repairARP(our, owner mac, vip netip.Addr, dst mac, tpa netip.Addr) announce.Packet {
	b := make([]byte, arpFrameLen)
	putARP(b, dst, our, arpReply, owner, vip, dst, tpa)
	return announce.Packet{Kind: announce.KindUnicastReply, VIP: vip, DstMAC: net.HardwareAddr(b[0:6:6]), Target: tpa, Frame: b}
}

// arpProbe returns the RFC 5227 §2.1.1 ARP probe for vip: a broadcast
// request with sender hardware address ours, sender IP 0.0.0.0, target
// hardware address zero and target IP vip.
func arpProbe(our mac, vip netip.Addr) announce.Packet {
	b := make([]byte, arpFrameLen)
	putARP(b, broadcastMAC, our, arpRequest, our, netip.IPv4Unspecified(), mac{}, vip)
	return announce.Packet{Kind: announce.KindDirectedRequest, VIP: vip, DstMAC: net.HardwareAddr(b[0:6:6]), Target: vip, Frame: b}
}

// repairNA returns a Neighbor Advertisement for vip with the Override
// flag and Target Link-Layer Address owner, from vip to dst at dstMAC.
// dst is the upstream's own IPv6 address when known, else all-nodes
// ff02::1 (still in a frame to dstMAC only): a router would forward, not
// read, an NA sent to an address that is not its own. To a unicast dst the
// Solicited flag is set, as in the answer to the upstream's own
// reachability probes (which it sends to our MAC while its entry is
// stale): upstreams that drop unsolicited advertisements, as sticky load
// balancers do, still take it. To all-nodes it must stay clear (RFC 4861
// §7.1.2).
func repairNA(our, owner mac, vip netip.Addr, dstMAC mac, dst netip.Addr) announce.Packet {
	b := make([]byte, naFrameLen)
	m := putIPv6(b, dstMAC, our, vip, dst, ndMinLen+lladdrOptLen)
	m[0] = icmpNA
	m[4] = naFlagO // Router clear
	if !dst.IsMulticast() {
		m[4] |= naFlagS
	}
	t := vip.As16()
	copy(m[8:24], t[:])
	m[24], m[25] = optTargetLLA, 1
	copy(m[26:32], owner[:])
	binary.BigEndian.PutUint16(m[2:4], announce.ICMPv6Checksum(vip.As16(), dst.As16(), m))
	return announce.Packet{Kind: announce.KindUnicastNA, VIP: vip, DstMAC: net.HardwareAddr(b[0:6:6]), Target: dst, Frame: b}
}

// dadNS returns the Duplicate Address Detection probe of RFC 4862 §5.4.2
// for vip: a Neighbor Solicitation from :: to vip's solicited-node group,
// target vip, without a Source Link-Layer Address option (RFC 4861
// §7.1.1 forbids one with an unspecified source).
func dadNS(our mac, vip netip.Addr) announce.Packet {
	dst := announce.SolicitedNode(vip)
	dstMAC := mac(announce.MulticastMAC(dst))
	b := make([]byte, nsDADLen)
	m := putIPv6(b, dstMAC, our, netip.IPv6Unspecified(), dst, ndMinLen)
	m[0] = icmpNS
	t := vip.As16()
	copy(m[8:24], t[:])
	binary.BigEndian.PutUint16(m[2:4], announce.ICMPv6Checksum(netip.IPv6Unspecified().As16(), dst.As16(), m))
	return announce.Packet{Kind: announce.KindNeighborSolicit, VIP: vip, DstMAC: net.HardwareAddr(b[0:6:6]), Target: vip, Frame: b}
}

// putARP writes an Ethernet frame with an ARP packet into the zeroed b.
func putARP(b []byte, dst, src mac, op uint16, sha mac, spa netip.Addr, tha mac, tpa netip.Addr) {
	a := putEthernet(b, dst, src, etherTypeARP)
	binary.BigEndian.PutUint16(a[0:2], 1) // Ethernet
	binary.BigEndian.PutUint16(a[2:4], etherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], op)
	copy(a[8:14], sha[:])
	s := spa.Unmap().As4()
	copy(a[14:18], s[:])
	copy(a[18:24], tha[:])
	t := tpa.Unmap().As4()
	copy(a[24:28], t[:])
}

// putIPv6 writes Ethernet and an IPv6 header with hop limit 255 and next
// header ICMPv6 into the zeroed b and returns the payload of plen bytes.
func putIPv6(b []byte, dstMAC, srcMAC mac, src, dst netip.Addr, plen int) []byte {
	ip := putEthernet(b, dstMAC, srcMAC, etherTypeIPv6)
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:6], uint16(plen))
	ip[6] = protoICMPv6
	ip[7] = ndHopLimit
	s, d := src.As16(), dst.As16()
	copy(ip[8:24], s[:])
	copy(ip[24:40], d[:])
	return ip[ipv6HdrLen : ipv6HdrLen+plen]
}

func putEthernet(b []byte, dst, src mac, etherType uint16) []byte {
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	binary.BigEndian.PutUint16(b[12:14], etherType)
	return b[ethHeaderLen:]
}

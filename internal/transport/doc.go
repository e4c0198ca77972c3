// Package transport sends and receives VRRP packets (IP protocol 112, RFC 5798
// section 5) on one Linux interface, for IPv4 or IPv6.
//
// A [Conn] owns two sockets:
//
//   - Receive: an AF_PACKET socket (packet(7)) bound to the interface and to
//     ETH_P_IP or ETH_P_IPV6, with a classic BPF filter that lets through only
//     IPv4 protocol 112 (IPv6 next header 112) frames that were not sent by
//     this host (SKF_AD_PKTTYPE != PACKET_OUTGOING). The socket joins the
//     link-layer group of 224.0.0.18 (01:00:5e:00:00:12) or ff02::12
//     (33:33:00:00:00:12) so that NICs with a multicast filter deliver the
//     adverts. Frames are read below the IP layer, so the IPv4 TTL / IPv6 hop
//     limit arrive exactly as sent (RFC 5798 §7.1 requires 255) and no
//     firewall or rp_filter decision hides an advert.
//   - Send: a raw IP socket for protocol 112 ("ip4:112" / "ip6:112") bound to
//     the device (SO_BINDTODEVICE), with TTL / hop limit 255 for unicast and
//     multicast, multicast loopback off and the multicast interface set. The
//     source address travels in an IP_PKTINFO / IPV6_PKTINFO control message
//     with each packet, because the VRRP checksum covers a pseudo-header built
//     from it (RFC 5798 §5.2.8): the caller checksums with the same source it
//     passes to [Conn.WriteTo]. The send socket also joins the IP multicast
//     group so that the kernel sends IGMP/MLD reports and snooping switches
//     forward the group to this port; it never reads (a drop-all BPF filter
//     keeps its receive queue empty).
//
// The frame parser ([ParseFrame]) is pure: it checks the Ethernet and IP
// headers (IPv4 version, IHL, total length, header checksum, no fragments;
// IPv6 version, payload length, next header 112 directly, no extension
// headers) and returns a [Packet] whose Payload is exactly the IP payload, with
// Ethernet padding trimmed. A rejected frame yields a [*DropError] carrying a
// [DropReason]; [Conn.ReadPacket] returns it so the caller can count it (the
// daemon counts all of them as vrrp.DropMalformedIP) and read on. TTL,
// addresses and the VRRP message itself are the caller's to check.
//
// [Listen] needs CAP_NET_RAW. Sockets stay in the network namespace they were
// created in, so a caller that wants a Conn in another namespace calls Listen
// (and [PrimaryAddr]) from an OS thread that has entered it.
//
// Package transporttest has an in-memory [PacketConn] for tests of the daemon.
package transport

// Package announce tells the upstream network (a router, a load balancer)
// that virtual addresses now live at this node's MAC, at a pace the
// upstream can take.
//
// A VRRP master sends, on becoming master, a gratuitous ARP for each IPv4
// address and an unsolicited Neighbor Advertisement for each IPv6 address
// (RFC 5798 §6.4.2). Devices accept one form or another, so for each IPv4
// VIP both forms go out:
//
//	kind                 op   Eth dst            sender       target
//	gratuitous_request   1    ff:ff:ff:ff:ff:ff  VIP/ourMAC   VIP/00:00:00:00:00:00
//	gratuitous_reply     2    ff:ff:ff:ff:ff:ff  VIP/ourMAC   VIP/ourMAC
//
// The request is the ARP Announcement of RFC 5227 §2.3 (and what the Linux
// kernel sends itself). The reply is the `arping -A` form of iputils, with
// the target hardware address equal to the sender's: Linux counts a reply
// as gratuitous only then (arp_is_garp). keepalived sends only the request,
// with target ff:ff:ff:ff:ff:ff; Habets' arping (`-U -P`) sends the reply
// with target ff:ff:ff:ff:ff:ff, which Linux treats as an ordinary reply
// (see below).
//
// For each IPv6 VIP, the unsolicited Neighbor Advertisement of RFC 4861
// §7.2.6: ICMPv6 type 136, Override set, Solicited and Router clear,
// target the VIP, Target Link-Layer Address option ourMAC, from the VIP
// (which must be assigned with NODAD) to ff02::1 / 33:33:00:00:00:01, hop
// limit 255. keepalived sets the Router flag when the interface forwards;
// vipd's VIPs are service addresses, so it is clear (a host that used the
// VIP as its default router would drop it from its router list, RFC 4861
// §7.2.5).
//
// The builders for the directed forms (DirectedARPRequest, UnicastARPReply,
// UnicastNA, NeighborSolicitation) serve the remediation steps taken when
// the upstream does not follow. Every builder returns a Packet whose Kind
// names what it is; Announcements builds all frames of a round in one
// allocation.
//
// # Pacing
//
// All packets of the daemon go through one Pacer: a token bucket (default
// 500 packets/s, bursts of 50) so that thousands of VIPs changing owner do
// not trip the upstream's ARP/ND policer. A Schedule repeats the round
// (default Count 2, Interval 1.1 s, no Refresh). Each VIP has at most one
// pending round, due Interval after its previous round ended, so a VIP
// never hears from us twice within Linux's 1 s neighbour locktime, and
// rounds that take longer than Interval or Refresh delay the next instead
// of piling up. Schedules of different instances take turns, a fresh
// master's rounds go before refresh rounds, and SendNow packets before
// both. Cancel drops an instance's pending packets and returns only when
// none of them can still be written.
//
// Time comes from an injected Clock; Poll runs the pacer at a given time,
// so tests replay whole timelines without sleeping. OpenSender (Linux)
// writes frames through an AF_PACKET socket.
//
// # What a Linux router accepts
//
// Measured on Linux 6.18 by TestIntegrationLinuxRouterAccepts, a router in
// a namespace with an existing stale entry for the VIP pointing elsewhere
// (the failover case: it talked to the old master):
//
//   - The gratuitous request alone, and the gratuitous reply (target MAC
//     ours) alone, each move the entry, even within locktime: Linux
//     overrides for gratuitous packets.
//   - The reply with target MAC ff:ff:ff:ff:ff:ff is not gratuitous for
//     Linux; like a unicast reply to the router, it moves the entry only
//     once locktime (default 1 s) has passed since the entry last changed.
//     This is why the second round comes 1.1 s after the first: it lands
//     after the locktime of an update the old master may have made, for
//     any device that applies such a hold-down to what it takes as an
//     ordinary reply.
//   - With no entry, nothing is created unless net.ipv4.conf.*.arp_accept
//     is 1; the tests set it only in the router namespace and only for that
//     case, because arp_accept does not matter for an existing entry.
//   - With net.ipv4.conf.*.drop_gratuitous_arp=1 both gratuitous forms are
//     dropped; a DirectedARPRequest for the router's own address still
//     creates or overrides the entry (the router learns the asker), also
//     with no entry and within locktime.
//   - The unsolicited NA, to all nodes or unicast to the router, moves the
//     entry; the same NA without Override does not. With no entry it creates one only with
//     net.ipv6.conf.*.accept_untracked_na=1 on a forwarding interface (RFC
//     9131). net.ipv6.conf.*.drop_unsolicited_na=1 drops the unsolicited NA,
//     multicast and unicast; a NeighborSolicitation for the router's
//     address (unicast or to its solicited-node group) still creates or
//     overrides the entry.
package announce

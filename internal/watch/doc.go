// Package watch runs two detectors on a vipd node's interface, next to
// the VRRP (RFC 5798) instances that own the virtual IPs.
//
// # Misdirected traffic
//
// After a failover an upstream device may keep a stale neighbour entry and
// go on sending a VIP's traffic to the old master's MAC: the new master
// never sees it, and the old one drops it. Only the old node can see it
// happen. A node that does not hold a VIP therefore watches, on an
// AF_PACKET socket, for unicast IPv4/IPv6 frames to its own MAC whose IP
// destination is such a VIP ([Watcher.SetWatched]). Traffic is counted
// per (VIP, upstream MAC, source IP); once one upstream's frames for a VIP
// persist ([Config.MinPackets] over [Config.MinDuration], by default 3
// packets over 1 s) the episode is reported once:
//
//	upstream 0a:00:00:00:00:01 still sends 192.0.2.101 here; owner is node b (02:00:00:00:00:0b)
//
// and, when the owner's MAC is known (the daemon learns it from the
// master's advertisements), the watcher sends the stale upstream a
// directed repair that speaks for the owner: a unicast ARP reply (RFC 826)
// "VIP is-at owner's MAC", or for IPv6 a unicast Neighbor Advertisement
// with the Override flag and the owner's MAC as Target Link-Layer Address
// (RFC 4861 §7.2.6). The Ethernet source stays this node's MAC, so that
// switches do not move the owner's MAC to this port. Repairs go through
// the daemon's pacer, at least [Config.RepairInterval] (1 s, Linux's
// neighbour locktime) apart per (VIP, upstream), doubling up to
// [Config.MaxRepairInterval] while the traffic persists. An episode ends
// [Config.EpisodeGap] after its last packet.
//
// The target of the repair is the upstream's own address when the watcher
// has seen it in the upstream's ARP or NDP (a router resolving the VIP
// reveals it); otherwise the ARP reply names the packet's source (Linux
// ignores the target of a reply) and the NA goes to all-nodes ff02::1 in
// a frame to the upstream's MAC only, because a router forwards rather
// than reads an NA for an address that is not its own.
//
// # Conflicts
//
// A hung ex-master that still answers for the addresses is a duplicate
// owner. [Watcher.Probe] sends RFC 5227 §2.1.1 ARP probes (sender IP
// 0.0.0.0, target the VIP, broadcast) and RFC 4862 §5.4.2 DAD Neighbor
// Solicitations (from ::, to the VIP's solicited-node group):
// [Config.ProbeCount] per VIP, [Config.ProbeInterval] apart, before and
// after a takeover. Any ARP packet whose sender IP is a VIP held
// ([Watcher.SetHeld]) or being probed and whose sender MAC is not ours,
// and any NA for such a VIP (or NS from it) binding another MAC, is a
// claim. [Config.ConflictClaims] claims spanning [Config.ConflictSpan]
// confirm a conflict, so that one stray answer of an ex-master releasing
// the address is not reported. A confirmed conflict is logged as an
// error and listed by [Watcher.Conflicts]; the watcher never changes VRRP
// state because of it.
//
// # Shape
//
// The detectors are a pure core (a detector fed with parsed frames and
// the time) wrapped by [Watcher], which owns the socket. [Open] opens the
// AF_PACKET socket on Linux with a classic BPF filter that passes ARP,
// NS/NA and unicast frames to our MAC for the watched VIPs only (the list
// is compiled into the filter and replaced when it changes, so this
// node's own traffic stays in the kernel); [New] takes any [Conn] so that
// tests run without root. Frames the watcher has no use for are counted
// by [DropReason].
package watch

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
// The target of the repair is the upstream's own address: seen in its ARP
// or NDP (a router resolving the VIP reveals it), or else found in this
// node's own neighbour table ([Deps.Neighbors]; [Open] asks the kernel
// over netlink), since the node has usually talked to its router. To that
// address the NA carries the Solicited flag, like the answer to the
// upstream's own reachability probe, so that upstreams which drop
// unsolicited advertisements (sticky load balancers) still take it. When
// the address is unknown, the ARP reply names the packet's source (Linux
// ignores the target of a reply) and the NA goes to all-nodes ff02::1,
// unsolicited, in a frame to the upstream's MAC only: a router forwards
// rather than reads an NA for an address that is not its own.
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
//
// Package announce has no builder whose ARP sender hardware address
// differs from the Ethernet source, and no probe forms, so the frames are
// built here; they carry the nearest announce Kind for the pacer's
// counters (repairs: unicast_reply / unicast_na; probes: directed_request
// / neighbor_solicit).
//
// # Measured
//
// In a labnet namespace lab (Linux 6.18; client, router, bridge, nodes a
// and b), with the router's entry for the VIP stale at a's MAC and b's
// announcements dropped by a sticky neighbour table, the client pinging
// every 100 ms: a reports the router's MAC and the client's address 1.0 s
// after the first misdirected packet, sends one repair at that moment, and
// the router's entry holds b's MAC within 1.05 s, for IPv4 and IPv6
// (TestIntegrationMisdirectedRepair). With both nodes holding the VIPs,
// b's second probe round confirms the conflict 1.0 s after Probe
// (TestIntegrationConflict). 1,000 pings to and from a node's own
// addresses bring no frame of that traffic to the watcher: the kernel
// filter drops it (TestIntegrationFilterKeepsOwnTraffic). A frame that
// does reach the watcher costs 100–130 ns and no allocation
// (BenchmarkHandleFrame).
package watch

// Package doctor is `vipd doctor`: for every virtual IP of a VRRP (RFC
// 5798) configuration it finds out, from one node, whether the VIP is
// reachable, and if not why and what to do. It automates what an
// administrator does by hand with ping, traceroute, tcpdump and nmap when
// half of ~20 VIPs did not follow a failover behind a sticky upstream.
//
// # What it looks at, per VIP
//
//  1. Who answers for it: an ARP request (RFC 826) "who-has VIP, tell
//     <this node's primary address>", broadcast, or a Neighbor
//     Solicitation (RFC 4861 §7.2.2) for the VIP to its solicited-node
//     group from this node's link-local address; every answer within about
//     one second is collected. Nobody, this node, another MAC, or several
//     MACs (a duplicate owner).
//  2. For a VIP held here: whether each upstream target (the gateways of
//     the VIP's subnet plus verify.targets) returns the VIP's traffic to
//     this node. This is package verify's proof, [verify.Check]: an echo
//     from the VIP, told apart from a dead target by an echo from the
//     node's primary address. It sends nothing else.
//  3. From the running daemon, when its control socket answers (doctor
//     works without one): the instance's VRRP state and master, the
//     conflict the daemon's watcher confirmed, and the misdirected
//     packets it counts for a VIP this node does not hold, read before and
//     after the probes so that traffic arriving now is told apart from an
//     old episode.
//
// # Verdicts
//
// [Judge] is a pure function from an [Observation] to a [Finding]: a
// [Verdict] with its reason and the suggested fix (for a stale VIP: "run:
// vipd nudge --interface eth0 --vip 192.0.2.101" on the owner; for a
// duplicate owner: "check the host with MAC …: it still answers for the
// VIP"). The verdicts Stale, NobodyAnswers, Conflict and MisdirectedHere
// mean the VIP is unreachable, at least through one upstream device, and
// make `vipd doctor` exit non-zero ([Verdict.Unreachable]).
//
// # What it sends
//
// ARP requests from the primary address (other hosts may refresh their
// entry for that address), neighbor solicitations from the link-local
// address, ICMP echoes: nothing that moves a VIP's entry anywhere, with one
// exception it cannot rule out. When this node's own neighbour entry for a
// target has expired, its kernel resolves the target again before the
// first echo from a VIP leaves, and may send that ARP request with the VIP
// as sender: a directed request, which repairs the target's entry for the
// VIP by accident (see package verify, rung 2). Doctor then reports what
// it sees afterwards.
//
// # Measured
//
// In the namespace lab (e2e TestIntegrationDoctorSticky): 20 VIPs moved by
// hand from node A to node B behind the sticky router, doctor on B takes
// 1.26 s and names exactly the 10 VIPs whose gratuitous ARP (IPv6:
// unsolicited NA) the router drops; `vipd nudge` repairs them in about
// 280 ms (IPv4 by directed_request, IPv6 by neighbor_solicit), after which
// doctor finds 20/20 ok. With a vipd killed by -9 on A, doctor on B names
// A's MAC as a duplicate owner of every VIP (TestIntegrationDuplicateOwner).
//
// # Shape
//
// Judge, the report and its rendering are pure and build everywhere;
// [Run], which opens the sockets, is Linux-only (run_linux.go,
// probe_linux.go).
package doctor

// Package verify proves, for each virtual IP a VRRP (RFC 5798) master
// holds, that the upstream devices deliver the VIP's traffic to this node,
// and repairs their neighbour entries when they do not.
//
// # Why
//
// A new master announces its VIPs with gratuitous ARP (RFC 5227 §3) and
// unsolicited Neighbor Advertisements (RFC 4861 §7.2.6). Some upstream
// devices ignore them, for some or all addresses: Linux routers with
// arp_accept=0 and drop_gratuitous_arp, nftables or ACLs dropping them,
// load balancers with a sticky MAC table. Their entry for the VIP keeps
// the old master's MAC for as long as it stays REACHABLE (hours, on such
// devices), and the VIP is dead although every local check is green.
//
// # Proof: an echo from the VIP
//
// The verifier sends an ICMP echo request (RFC 792, RFC 4443) from the VIP
// (IP_PKTINFO / IPV6_PKTINFO set the source) to each target. The target
// answers to the VIP, and to put the reply on the wire it looks the VIP up
// in its own neighbour table. The reply is an IP packet for a local
// address, so this node's kernel only takes it when its destination MAC is
// ours (frames for the old owner's MAC that a switch floods are dropped as
// PACKET_OTHERHOST). So a reply that arrives here proves that the target's
// entry for the VIP holds our MAC at that moment, which is exactly what
// matters for the VIP's traffic from or through that target.
//
// A missing reply has two explanations: the entry points elsewhere, or the
// target answers no echo at all (down, busy, ICMP filtered). The verifier
// tells them apart with a second echo, from the node's primary address,
// whose neighbour entry never moved. Primary answered, VIP not: Stale.
// Neither answered: Unverifiable. One missed echo of a VIP that was
// verified is not evidence; two in a row are. Replies are matched by ICMP
// identifier, a 64-bit token in the payload and both addresses, and count
// even when late (ReplyWindow).
//
// # Targets
//
// The targets of an instance are the gateways its routing table gives in
// the VIPs' prefixes on the VIPs' interface (the default route's gateway
// among them, and for IPv6 the link-local gateway a router advertises)
// plus configured ones, which must be on-link (Targets, SelectTargets,
// CheckTargets). Each VIP is paired with every target of its family; each
// pair has its own state.
//
// # Repair: the ladder
//
// A stale pair climbs a ladder, one rung at a time, each rung handed to the
// daemon-wide paced sender (announce.Pacer) and followed, once the pacer
// has written it, by another echo:
//
//  1. gratuitous: ARP request and reply for the VIP, broadcast
//     (IPv6: unsolicited NA with Override to all-nodes);
//  2. directed: an ARP request "who-has target, tell VIP" from our MAC to
//     the target's MAC (IPv6: a Neighbor Solicitation for the target from
//     the VIP, with our MAC as source link-layer address);
//  3. unicast: an ARP reply "VIP is-at our MAC" to the target only (IPv6:
//     unsolicited NA with Override to the target only).
//
// Rung 2 is the one that works on a Linux router whose entry is STALE or
// REACHABLE and that ignores gratuitous ARP: a host asked about its own
// address creates or overrides its entry for the asker (RFC 826's merge;
// Linux neigh_event_ns, whatever arp_accept, drop_gratuitous_arp and
// locktime say; RFC 4861 §7.2.3 for a solicitation). This is what
// traffic from the new MAC to a sticky upstream ("nmap --spoof-mac") does
// by accident, done on purpose. Rung 3 helps devices that ignore requests but accept replies.
// The ladder reaches rung 2 within a few probe timeouts of the takeover:
// in the namespace lab a stale VIP is verified about 270 ms after a Nudge
// starts.
//
// # Locktime and backoff
//
// Linux ignores an ARP update of an entry within locktime (1 s) of its last
// change, unless the update is gratuitous or a request for the router
// itself. The verifier never sends two rungs for one (VIP, target) within
// Locktime of each other unless an echo sent after the first one went out
// came back unanswered: that miss shows the first rung did not change the
// entry, so no locktime was started by it and the next rung can go at once.
// Without such proof it probes again first. After the third rung the pair
// waits, probes, and climbs again, with a backoff from Locktime doubling up
// to BackoffMax; it stops as soon as a reply verifies the VIP, and starts
// over on a new takeover (Start). A rung still in the pacer holds back the
// next one, and a rung counts from when the pacer wrote it.
//
// # On a lossy path
//
// A climb that failed while a rung fixed another VIP at the same target
// was most likely lost on the way (half the ARP or ND of a congested
// segment, say), not ignored: the target follows the ladder. It does not
// double the backoff either; the pair climbs again after Locktime, up to
// LossyClimbs times per incident, so that a VIP the target pins (a static
// entry) still backs off while the others are repaired (ladder.go,
// lossyClimb). In the simulator, 200 VIPs behind a path losing 70 % of the
// frames are all verified 4.4 s after the takeover instead of 5.4 s.
//
// # Behind a policer
//
// A rung that waited in the pacer longer than HeldBack was held back by
// the pacer's rate (slowed down on a policer's evidence, or fixed). A climb
// with such a rung that goes unanswered is not a failed climb: its frames
// most likely died at the policer, and the queue already spaced them. It
// does not double the backoff, and the pair climbs again after at most the
// time the pacer took to get its rungs out (at least Locktime). So a
// thousand stale VIPs behind a policer keep one rung each in the pacer,
// which sends as fast as its rate allows, instead of backing off for tens
// of seconds (ladder.go, climbWait). Such a climb also puts the unicast
// reply before the directed request (LadderHeld): a Linux upstream takes a
// reply sent to it as proof of reachability, while any other update leaves
// its entry STALE, to be probed a few seconds later, and behind a policer
// the node's answer to that probe often loses to the repairs. For the same
// reason a VIP fixed by a held-back rung other than the unicast reply gets
// one unicast reply a Locktime later (confirmLater). Each rung's outcome, judged by the
// probe after it, goes to the adaptive pacer with the time the rung left
// (RungOutcome): the evidence it finds the policer's rate on.
//
// That confirming reply can meet the policer too, and so can the node's
// answers to the upstream's probes of the entries fixed by the first
// round: a thousand of them come in one burst five seconds after the
// takeover. So every pair that becomes verified is probed once more
// SecondLook (10 s) after its initial probes, when such a re-confirmation
// has failed or succeeded, and repaired then if it went dark, instead of a
// Period later. In the lab, 1000 VIPs behind a 100/s policer: 971 and 991
// of 1000 back within 30 s without the second look, 1000/1000 (worst 25 s)
// with it.
//
// # Shape
//
// The policy (core) is a pure state machine driven by events and an
// injected time, tested over a simulated router and pacer. Verifier is its
// goroutine: one per instance, fed by the Prober (one raw ICMP socket per
// address family for the whole daemon, ICMP) and by the pacer through an
// inbox. Nudge and Check run it once without a daemon, for `vipd nudge` and
// `vipd doctor`.
//
// Wiring in the daemon, per interface and instance:
//
//	prober, _ := verify.ListenICMP(0, log)               // once per daemon
//	neigh, _ := verify.OpenNeighbors()                   // once per daemon
//	targets, _ := verify.Targets(ifi.Index, vipPrefixes, configured)
//	v := verify.New(verify.Config{Instance: name, Interface: ifi.Name, IfIndex: ifi.Index,
//		MAC: ifi.HardwareAddr, Primary4: p4, Primary6: p6, VIPs: vips, Targets: targets},
//		verify.Deps{Prober: prober, Pacer: pacer, Sender: sender, Neighbors: neigh, Logger: log})
//	v.Start(ctx) // on becoming master, after pacer.Announce
//	v.Stop()     // on leaving master
package verify

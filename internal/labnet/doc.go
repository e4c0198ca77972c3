// Package labnet builds a small test and lab network out of Linux network
// namespaces, veth pairs and a Linux bridge, and probes it from a client.
//
// The topology is a client, a router, a "switch" (a namespace holding the
// bridge br0) and two or more LAN hosts, the nodes, plus optional extra LAN
// hosts such as an injector:
//
//	client  198.51.100.10/24, 2001:db8:2::10/64     (eth0)
//	   |
//	router  198.51.100.1/24, 2001:db8:2::1/64       (wan0)
//	        192.0.2.1/24,    2001:db8:1::1/64       (lan0)
//	   |
//	switch  br0 with one port per LAN host           (p-router, p-a, p-b, ...)
//	   |           |
//	node a  .11    node b  .12    extras .50, .51, ...  (eth0)
//
// The LAN prefixes are configurable (198.18.0.0/16 from RFC 2544's benchmark
// range for thousands of virtual IPs); the client side always uses the
// documentation ranges of RFC 5737 and RFC 3849. Nothing is ever created in
// or sent from the host's own network namespace.
//
// The router can imitate upstream devices that are hard on VRRP (RFC 5798)
// failover: a sticky neighbour table that ignores gratuitous ARP
// (RFC 5227 section 3) and unsolicited Neighbor Advertisements (RFC 4861
// section 7.2.6) for chosen addresses, one that honours only the reply form
// of gratuitous ARP, an ARP policer, a lossy ARP path, and one whose entries
// for the VIPs become static once learnt (Pinned, Lab.PinRouterNeigh). See
// Behaviour.
//
// The Prober pings many virtual IPs from the client (ICMP echo, RFC 792 and
// RFC 4443) and tells per address when it was lost and when it recovered.
// KeepalivedConfig starts keepalived, the reference VRRP implementation,
// inside the lab.
//
// Namespaces are named Prefix + "-" + role. An automatic prefix encodes the
// creating process's pid ("vl-<pid base 36>-<n>"), so that CleanupStale can
// remove what a crashed run left behind.
package labnet

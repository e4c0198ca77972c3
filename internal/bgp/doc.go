// Package bgp announces an instance's VIPs as host routes to upstream
// routers (BGP-4, RFC 4271, with multiprotocol extensions for IPv6, RFC
// 4760): vipd's routed mode, for sites whose nodes do not share one L2
// segment. The router's route to a VIP points at a node's own address,
// which never moves, so nothing sticky is left behind on a failover.
//
// # Engine
//
// The speaker is GoBGP (github.com/osrg/gobgp) used as a library, v3.37.0:
// the v3 line's library API (pkg/server with the protobuf request types of
// package api, documented in GoBGP's docs/sources/lib.md) is the one other
// Go projects that embed GoBGP for the same job (kube-vip) build on, and it
// is all this package needs. v4 reworks that API; nothing it adds (this
// package uses neither BFD, which neither line has, nor the new path
// types) would change what vipd can do, so v3 is the smaller risk. Only
// [Speaker] touches GoBGP: moving to v4 is a change of this package alone.
//
// vipd's speaker only connects (it listens on no port): the router is
// configured with the nodes as neighbours, as for any BGP-speaking server.
// IPv4 VIPs are announced to IPv4 peers and IPv6 VIPs to IPv6 peers (the
// session's own family), with the node's address on the session as next
// hop (eBGP's next-hop-self).
//
// # Preference
//
// Every healthy node announces every VIP; the router picks. The priority
// reaches the router as AS-path prepending, with MED as a tie-break (see
// [PreferenceFor]):
//
//   - AS-path length is compared by every router with default settings,
//     whatever AS the paths come from, so it works when each node (rack)
//     has its own ASN as well as when they share one;
//   - MED is compared by default only between paths from the same
//     neighbouring AS (RFC 4271 §9.1.2.2 c; BIRD, FRR, Cisco, Junos all
//     default to that), so on its own it would fail for nodes with their
//     own ASNs. It is used only to order priorities that fall in the same
//     prepend band when the nodes share an ASN.
//
// One prepend per 10 points below 255 keeps paths short (26 extra ASNs at
// priority 1, 11 at 150, 16 at the default 100) while priorities that
// differ by 10 or more order themselves everywhere.
//
// # Failure detection
//
// GoBGP has no BFD. A node that dies without a word (power off, kernel
// panic, cable pulled) is noticed by the router when the BGP hold timer
// expires: failover takes at most the negotiated hold time (the smaller of
// the node's hold_time and the router's; 3 s is the RFC 4271 minimum),
// plus the router's route recomputation. A node that stops cleanly
// (SIGTERM, maintenance, a failing health check) withdraws its routes
// first, which the router applies at once; [Speaker.Stop] then closes the
// sessions with a Cease NOTIFICATION (RFC 4486: peer de-configured).
package bgp

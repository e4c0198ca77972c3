// Package netmon knows the kernel's links and addresses, learned as
// rtnetlink events (RTM_NEWLINK/RTM_DELLINK, RTM_NEWADDR/RTM_DELADDR; the
// RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR groups of
// rtnetlink(7)) rather than by polling. It is the "actual state" side of the
// daemon's reconcile loops: each instance compares the VIPs it wants on an
// interface with what [Source] says is there, and re-reads it whenever a
// [Change] arrives.
//
// # The snapshot
//
// [Snapshot] is the pure core: links by index and by name (index, name,
// MAC, MTU, IFF_UP, IFF_RUNNING, IFF_LOWER_UP, RFC 2863 operational state)
// and, per interface index, the set of addresses as netip.Prefix (address
// and prefix length, IPv4 and IPv6, on every interface including lo).
// Applying an event or a full dump returns the [Change]s it made, and only
// those: an event that repeats what the snapshot holds changes nothing.
//
// # The monitor (Linux)
//
// [Open] subscribes to link and address events with vishvananda/netlink
// (LinkSubscribeWithOptions and AddrSubscribeWithOptions, ListExisting set,
// an ErrorCallback, a large receive buffer), then dumps links and addresses
// on a netlink socket of its own and loads the snapshot from the dump; it
// returns once the snapshot is complete, so callers can rely on it at once
// (there is no Ready channel). One goroutine then applies events in the
// order the kernel sent them (per socket: links and addresses come on two
// sockets, so their relative order is not known) until [Monitor.Close].
//
// Failures are survived, not returned:
//
//   - A subscription that fails — ENOBUFS when events come faster than they
//     are read (a flush of thousands of addresses), or any other receive
//     error — is torn down and resubscribed with backoff (10 ms doubling to
//     1 s). Each resubscription is followed by a full dump that corrects
//     the snapshot: links and addresses that vanished while nobody listened
//     vanish from it, with a Change for every difference and then
//     [Resynced]. An episode is logged twice, when it starts and once the
//     subscription has stayed healthy for a second; the failures in
//     between are only counted ([Stats]).
//   - Every [Options.ResyncInterval] (default 30 s) a dump is compared with
//     the snapshot the same way; differences (events the kernel never sent)
//     are corrected, counted and followed by Resynced.
//   - Non-fatal errors the subscriptions report (an interrupted dump, an
//     unparsable message) are counted and trigger such a resync at once.
//
// The library's listing (ListExisting) arrives on the event sockets with no
// end marker for addresses, so it cannot tell what vanished; that is what
// the monitor's own dump is for. Events queued before a dump may be applied
// after it: the snapshot can then replay a state the kernel had a moment
// earlier, and converges once the queue is read.
//
// # Changes
//
// [Source.Subscribe] registers a callback that receives every Change, in
// event order, from the monitor's goroutine, after the snapshot reflects it.
// A Change only says what to look at again — subscribers treat it like a
// controller's enqueue and re-read the snapshot — so callbacks must return
// at once: a blocked callback stalls the monitor, its socket overflows, and
// a resubscription and resync follow.
//
// Package netmontest has an in-memory Source for tests without root, tied
// to vipaddrtest.Fake.
package netmon

// Package vipaddr adds and removes the virtual addresses (VIPs) of a VRRP
// router on one interface: the "add/delete the IP address(es) associated
// with the virtual router" actions of RFC 5798 section 6.4.
//
// [Addresses] is the narrow interface the daemon uses; [Netlink] implements
// it on Linux with rtnetlink (RTM_NEWADDR / RTM_DELADDR, up to 128 requests
// in one write, each acknowledged on its own), and vipaddrtest.Fake
// implements it in memory for tests.
//
// Semantics:
//
//   - Add is idempotent (an address that is already there, EEXIST, is fine)
//     and all-or-nothing: when one address fails, the addresses this call
//     added are removed again before the error is returned, so a caller never
//     has to reason about a half-configured set. Addresses that were there
//     before the call are left alone.
//   - Remove is idempotent (an address that is not there, EADDRNOTAVAIL, is
//     fine) and best effort: it tries every address and returns all failures
//     joined.
//   - Present reports which of the given prefixes are configured now,
//     comparing address and prefix length exactly.
//
// IPv6 VIPs are added with IFA_F_NODAD: the VRRP master owns the address by
// protocol, and Duplicate Address Detection would hold the address tentative
// (unusable) for a second after every failover, or fail it outright when the
// old master has not let go yet.
//
// Errors read "vipaddr: add 192.0.2.100/24 on eth0: <cause>" and wrap the
// kernel's errno, so errors.Is(err, os.ErrPermission) tells a missing
// CAP_NET_ADMIN (EPERM) apart; see [IsPermission].
//
// [PrepareInterface] sets the sysctls the daemon relies on; its comment lists
// the ones left to the operator.
package vipaddr

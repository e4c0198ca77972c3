// Package vrrp implements the VRRP version 3 advertisement format as
// described in RFC 5798, for both IPv4 and IPv6, and the version 2 format of
// RFC 3768 (IPv4 only, whole-second intervals, authentication type 0 and
// the type 1 simple password, no pseudo-header in the checksum; v2.go).
//
// The package is a pure codec: it turns an [Advertisement] into the bytes of
// an IP payload and back, and knows nothing about sockets, interfaces or the
// state machine. The IP header itself belongs to the caller (the kernel builds
// it when sending on a raw socket); the codec only needs the source and
// destination addresses, because the VRRPv3 checksum (RFC 5798 §5.2.8) covers
// a pseudo-header built from them, for IPv6 and, unlike VRRPv2, for IPv4 too.
//
// Wire format (RFC 5798 §5.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|(rsvd) |     Max Adver Int     |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     IPvX Address(es) ...                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// [Parse] (or [Advertisement.Unmarshal], which reuses memory) performs the
// checks of RFC 5798 §7.1 that need only the VRRP bytes and the addresses:
// length, version, type, address count, checksum and a non-zero interval.
// A failed check returns a [*ParseError] whose [DropReason] callers count;
// [ReasonOf] extracts it. The checks that need more context (TTL/hop limit,
// known VRID, unicast peers, address owner, our own looped-back packet) are
// the caller's, and their reasons are defined here so that all drops are
// counted under one set of names.
//
// [Advertisement.Marshal] and [Advertisement.AppendMarshal] encode and
// checksum an advertisement; AppendMarshal does not allocate when the buffer
// has room.
package vrrp

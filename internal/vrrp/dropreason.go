package vrrp

import "strconv"

// DropReason says why a received packet was discarded; it is counted per
// reason in metrics and shown by `vipd status`. Parse returns the first six;
// the others are defined here for the callers that perform those checks, so
// all drops share one set of names.
type DropReason uint8

const (
	DropNone             DropReason = iota // not dropped
	DropTooShort                           // shorter than the header
	DropVersion                            // version neither 3 nor 2 (or 2 over IPv6)
	DropType                               // type != 1
	DropLength                             // address count and length disagree
	DropChecksum                           // checksum over pseudo-header and message is wrong
	DropInterval                           // max advert interval 0
	DropTTL                                // IPv4 TTL / IPv6 hop limit != 255 (caller)
	DropUnknownVRID                        // no instance for this VRID on the interface (caller)
	DropFamily                             // address family of the packet doesn't match the instance (caller)
	DropNotPeer                            // unicast peers are set and the source is not one of them (caller)
	DropOwner                              // local instance is the address owner (priority 255) (caller)
	DropOwnPacket                          // our own advertisement looped back (caller)
	DropMalformedIP                        // IP header unparsable / unsupported extension headers (caller)
	DropVersionMismatch                    // VRRPv2 on a VRRPv3 instance or the reverse (caller)
	DropAuth                               // VRRPv2 auth type or password differs from the instance's (caller)
	DropIntervalMismatch                   // VRRPv2 advert interval differs from the instance's (RFC 3768 §7.1) (caller)

	numDropReasons
)

// dropReasonNames are the stable names used as metric labels and in status
// output; do not change them.
var dropReasonNames = [numDropReasons]string{
	DropNone:        "none",
	DropTooShort:    "too_short",
	DropVersion:     "version",
	DropType:        "type",
	DropLength:      "length",
	DropChecksum:    "checksum",
	DropInterval:    "interval",
	DropTTL:         "ttl",
	DropUnknownVRID: "unknown_vrid",
	DropFamily:      "family",
	DropNotPeer:     "not_peer",
	DropOwner:       "owner",
	DropOwnPacket:   "own_packet",
	DropMalformedIP: "malformed_ip",

	DropVersionMismatch:  "version_mismatch",
	DropAuth:             "auth",
	DropIntervalMismatch: "interval_mismatch",
}

// String returns the reason's stable snake_case name, e.g. "checksum".
func (r DropReason) String() string {
	if r < numDropReasons {
		return dropReasonNames[r]
	}
	return "DropReason(" + strconv.Itoa(int(r)) + ")"
}

// AllDropReasons returns every reason except DropNone, in order, for
// pre-registering metric labels.
func AllDropReasons() []DropReason {
	rs := make([]DropReason, 0, numDropReasons-1)
	for r := DropNone + 1; r < numDropReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

package vrrp

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ProtocolNumber is the IP protocol number (IPv4) and next header value
// (IPv6) assigned to VRRP.
const ProtocolNumber = 112

// The VRRP versions this package speaks: 3 (RFC 5798, the default) and 2
// (RFC 3768, IPv4 only, keepalived's default).
const (
	Version2 = 2
	Version3 = 3
	// Version is the default version.
	Version = Version3
)

// typeAdvertisement is the only VRRP packet type (RFC 5798 §5.2.2).
const typeAdvertisement = 1

// HeaderLen is the length of the fixed part of an advertisement, before the
// addresses.
const HeaderLen = 8

// RequiredTTL is the IPv4 TTL / IPv6 hop limit every advertisement is sent
// with and must arrive with (RFC 5798 §5.1.1.3, §5.1.2.3, §7.1).
const RequiredTTL = 255

// MaxCount is the largest number of addresses one advertisement can carry:
// the count field is 8 bits.
const MaxCount = 255

// Limits of the 12-bit Max Advertise Interval field, in centiseconds.
const (
	MinIntervalCentis = 1
	MaxIntervalCentis = 0x0fff // 4095 cs = 40.95 s
)

// centisecond is the unit of the Max Advertise Interval field.
const centisecond = 10 * time.Millisecond

// Multicast groups advertisements are sent to (RFC 5798 §5.1.1.2, §5.1.2.2).
var (
	IPv4Group = netip.MustParseAddr("224.0.0.18")
	IPv6Group = netip.MustParseAddr("ff02::12")
)

// Advertisement is a VRRP advertisement (type 1), version 3 or 2.
type Advertisement struct {
	// Version is Version3 or Version2; Parse sets it from the packet and
	// Marshal encodes 0 as Version3.
	Version uint8
	// VRID is the virtual router identifier, 1..255. Zero is parsed (no
	// local instance will match it) but not marshaled.
	VRID uint8
	// Priority is the sender's priority: 255 for the address owner, 0 when
	// a master gives up (RFC 5798 §5.2.4).
	Priority uint8
	// MaxAdvertInterval is the advertisement interval in centiseconds, a
	// 12-bit field: 1..4095 are valid. Parse rejects 0 with DropInterval.
	// VRRPv2 carries whole seconds (1..255) in 8 bits: its interval here is
	// those seconds times 100.
	MaxAdvertInterval uint16
	// AuthType and AuthData are VRRPv2's authentication fields (RFC 3768
	// §5.3.6, §5.3.10): AuthNone, or AuthSimple with a password of up to 8
	// bytes, zero-padded. Zero for VRRPv3, which has none.
	AuthType uint8
	AuthData [AuthDataLen]byte
	// Addresses are the virtual addresses, all IPv4 or all IPv6, of the
	// same family as the packet's source and destination.
	Addresses []netip.Addr
}

// Interval returns the Max Advertise Interval as a duration.
func (a *Advertisement) Interval() time.Duration {
	return time.Duration(a.MaxAdvertInterval) * centisecond
}

// IntervalCentis converts d to the centiseconds of the Max Advertise Interval
// field. d must be a multiple of 10ms between 10ms and 40.95s; otherwise the
// error wraps ErrBadInterval.
func IntervalCentis(d time.Duration) (uint16, error) {
	if d < MinIntervalCentis*centisecond || d > MaxIntervalCentis*centisecond || d%centisecond != 0 {
		return 0, &detailError{
			msg: fmt.Sprintf("vrrp: advertisement interval %v: must be a multiple of 10ms from 10ms to 40.95s", d),
			err: ErrBadInterval,
		}
	}
	return uint16(d / centisecond), nil
}

// MaxAddresses returns how many addresses fit in one advertisement sent on a
// link with the given MTU, for IPv4 (is4) or IPv6, assuming an IP header
// without options or extension headers. The result is capped at MaxCount
// (255) and is 0 if not even the fixed header fits.
func MaxAddresses(is4 bool, mtu int) int {
	ipHeader, size := 40, 16
	if is4 {
		ipHeader, size = 20, 4
	}
	n := (mtu - ipHeader - HeaderLen) / size
	return max(0, min(n, MaxCount))
}

// Len returns the encoded length of a in bytes, for the family of its first
// address (IPv4 if it has none).
func (a *Advertisement) Len() int {
	n := HeaderLen + len(a.Addresses)*addrSize(len(a.Addresses) == 0 || a.Addresses[0].Is4())
	if a.version() == Version2 {
		n += AuthDataLen
	}
	return n
}

// version returns a.Version with 0 meaning Version3.
func (a *Advertisement) version() uint8 {
	if a.Version == 0 {
		return Version3
	}
	return a.Version
}

// String formats a for logs, e.g.
// "vrid=51 prio=150 interval=1s addrs=[192.0.2.100 192.0.2.101]".
func (a *Advertisement) String() string {
	var sb strings.Builder
	if a.version() != Version3 {
		fmt.Fprintf(&sb, "v%d ", a.version())
	}
	fmt.Fprintf(&sb, "vrid=%d prio=%d interval=%v addrs=[", a.VRID, a.Priority, a.Interval())
	for i, ip := range a.Addresses {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(ip.String())
	}
	sb.WriteByte(']')
	if a.version() == Version2 {
		fmt.Fprintf(&sb, " auth=%d", a.AuthType) // never the password
	}
	return sb.String()
}

func addrSize(is4 bool) int {
	if is4 {
		return 4
	}
	return 16
}

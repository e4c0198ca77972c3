package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// VRRPv2 (RFC 3768) differs from version 3 in four places: it is IPv4 only;
// the second header byte is the authentication type, and the interval byte
// after it counts whole seconds (1..255); 8 bytes of authentication data
// follow the addresses; and the checksum covers the VRRP message only, with
// no pseudo-header.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Auth Type   |   Adver Int   |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         IP Address(es) ...                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Authentication Data (1)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Authentication Data (2)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

// VRRPv2 authentication types (RFC 3768 §5.3.6; type 2, IP Authentication
// Header, travels as IP protocol 51 and is not supported).
const (
	// AuthNone: no authentication, the data is zero.
	AuthNone = 0
	// AuthSimple is the "simple text password" (keepalived's auth_type
	// PASS): the password, zero-padded to 8 bytes, in clear text. Anyone
	// on the link reads it, so it only keeps apart routers configured
	// differently by mistake: it is no security.
	AuthSimple = 1
)

// AuthDataLen is the length of VRRPv2's authentication data.
const AuthDataLen = 8

// Limits of VRRPv2's 8-bit Adver Int field, in seconds.
const (
	MinIntervalSecondsV2 = 1
	MaxIntervalSecondsV2 = 255
)

// IntervalCentisVersion is IntervalCentis for the given version: for
// Version2, d must be whole seconds from 1s to 255s (the error wraps
// ErrBadInterval); the result is still in centiseconds.
func IntervalCentisVersion(version uint8, d time.Duration) (uint16, error) {
	if version != Version2 {
		return IntervalCentis(d)
	}
	if d < MinIntervalSecondsV2*time.Second || d > MaxIntervalSecondsV2*time.Second || d%time.Second != 0 {
		return 0, &detailError{
			msg: fmt.Sprintf("vrrp: advertisement interval %v: VRRPv2 needs whole seconds from 1s to 255s", d),
			err: ErrBadInterval,
		}
	}
	return uint16(d / centisecond), nil
}

// AuthPassword returns the authentication data for a simple password: its
// first 8 bytes, zero-padded (keepalived truncates longer ones the same
// way).
func AuthPassword(pass string) [AuthDataLen]byte {
	var d [AuthDataLen]byte
	copy(d[:], pass)
	return d
}

// VersionOf returns the version field of a VRRP message, 0 if b is empty.
// A receiver uses it to drop a message of the other version before parsing.
func VersionOf(b []byte) uint8 {
	if len(b) == 0 {
		return 0
	}
	return b[0] >> 4
}

// appendMarshalV2 encodes a VRRPv2 advertisement; a.validate has checked
// the common fields.
func (a *Advertisement) appendMarshalV2(b []byte, is4 bool) ([]byte, error) {
	const prefix = "vrrp: marshal advertisement: "
	if !is4 {
		return b, &detailError{msg: prefix + "VRRPv2 is IPv4 only", err: ErrFamilyMismatch}
	}
	secs := a.MaxAdvertInterval / 100
	if a.MaxAdvertInterval%100 != 0 || secs < MinIntervalSecondsV2 || secs > MaxIntervalSecondsV2 {
		return b, &detailError{
			msg: prefix + fmt.Sprintf("max advert interval %d centiseconds: VRRPv2 needs whole seconds, 1..255", a.MaxAdvertInterval),
			err: ErrBadInterval,
		}
	}
	n := HeaderLen + len(a.Addresses)*4 + AuthDataLen
	b = slices.Grow(b, n)
	off := len(b)
	b = b[:off+n]
	m := b[off:]
	m[0] = Version2<<4 | typeAdvertisement
	m[1] = a.VRID
	m[2] = a.Priority
	m[3] = uint8(len(a.Addresses))
	m[4] = a.AuthType
	m[5] = uint8(secs)
	m[6], m[7] = 0, 0
	p := m[HeaderLen:]
	for _, ip := range a.Addresses {
		v := ip.As4()
		p = p[copy(p, v[:]):]
	}
	copy(p, a.AuthData[:])
	binary.BigEndian.PutUint16(m[checksumOffset:], checksumV2(m))
	return b, nil
}

// unmarshalV2 decodes a VRRPv2 message whose version Unmarshal has read;
// it checks the family, length, checksum and interval.
func (a *Advertisement) unmarshalV2(b []byte, src netip.Addr) error {
	if !src.Is4() {
		return &ParseError{Reason: DropVersion, Detail: "version 2 over IPv6: VRRPv2 is IPv4 only"}
	}
	count := int(b[3])
	if want := HeaderLen + count*4 + AuthDataLen; len(b) != want {
		return &ParseError{Reason: DropLength,
			Detail: fmt.Sprintf("length %d for a VRRPv2 message with %d addresses, want %d", len(b), count, want)}
	}
	if fold(sumWords(0, b)) != 0xffff {
		return &ParseError{Reason: DropChecksum,
			Detail: fmt.Sprintf("bad VRRPv2 checksum %#04x, want %#04x",
				binary.BigEndian.Uint16(b[checksumOffset:]), checksumV2(b))}
	}
	if b[5] == 0 {
		return &ParseError{Reason: DropInterval, Detail: "VRRPv2 advert interval 0"}
	}
	a.Version = Version2
	a.VRID = b[1]
	a.Priority = b[2]
	a.AuthType = b[4]
	a.MaxAdvertInterval = uint16(b[5]) * 100
	addrs := slices.Grow(a.Addresses[:0], count)
	p := b[HeaderLen:]
	for range count {
		addrs = append(addrs, netip.AddrFrom4([4]byte(p[:4])))
		p = p[4:]
	}
	a.Addresses = addrs
	a.AuthData = [AuthDataLen]byte(p)
	return nil
}

// checksumV2 is the Internet checksum of the VRRPv2 message m with its
// checksum field taken as zero (RFC 3768 §5.3.8: no pseudo-header).
func checksumV2(m []byte) uint16 {
	sum := sumWords(0, m[:checksumOffset])
	sum = sumWords(sum, m[checksumOffset+2:])
	return ^fold(sum)
}

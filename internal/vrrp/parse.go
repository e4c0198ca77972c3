package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
)

// Parse decodes and validates one advertisement: b is the IP payload of a
// packet from src to dst (as given by the IP header, IPv4-mapped addresses
// unmapped). The family of src and dst decides whether the addresses are
// IPv4 or IPv6.
//
// In this order it checks that src and dst are of one family (ErrFamily),
// b holds the fixed header (ErrTooShort), the version is 3 or 2
// (ErrVersion; 2 over IPv6 too), the type is 1 (ErrType), the length is
// exactly 8 plus the address count times 4 or 16, plus 8 bytes of
// authentication data for VRRPv2 (ErrLength: trailing bytes are an error
// too), the checksum over the pseudo-header and b (VRRPv3) or over b alone
// (VRRPv2) is right (ErrChecksum) and the interval is not 0 (ErrInterval).
// It sets Version; the caller drops a version its instance does not speak
// (DropVersionMismatch) and checks VRRPv2's authentication (DropAuth) and
// interval (DropIntervalMismatch). Every error is a *ParseError; ReasonOf
// gives its DropReason. The reserved bits are ignored. VRID 0 and an
// address count of 0 are accepted: no instance has VRID 0, so the caller
// drops that as DropUnknownVRID.
func Parse(b []byte, src, dst netip.Addr) (*Advertisement, error) {
	a := new(Advertisement)
	if err := a.Unmarshal(b, src, dst); err != nil {
		return nil, err
	}
	return a, nil
}

// Unmarshal is like Parse but decodes into a, reusing the backing array of
// a.Addresses (whose previous contents are overwritten), so a receive loop
// that keeps one Advertisement does not allocate. On error, a is unchanged.
func (a *Advertisement) Unmarshal(b []byte, src, dst netip.Addr) error {
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return &ParseError{Reason: DropFamily,
			Detail: fmt.Sprintf("source %v and destination %v are not of one family", src, dst)}
	}
	if len(b) < HeaderLen {
		return &ParseError{Reason: DropTooShort,
			Detail: fmt.Sprintf("too short: %d bytes, want at least %d", len(b), HeaderLen)}
	}
	v := b[0] >> 4
	if v != Version3 && v != Version2 {
		return &ParseError{Reason: DropVersion, Detail: fmt.Sprintf("version %d, want 3 or 2", v)}
	}
	if t := b[0] & 0x0f; t != typeAdvertisement {
		return &ParseError{Reason: DropType,
			Detail: fmt.Sprintf("type %d, want %d (advertisement)", t, typeAdvertisement)}
	}
	if v == Version2 {
		return a.unmarshalV2(b, src)
	}
	is4 := src.Is4()
	count := int(b[3])
	size := addrSize(is4)
	if want := HeaderLen + count*size; len(b) != want {
		fam := "IPv6"
		if is4 {
			fam = "IPv4"
		}
		return &ParseError{Reason: DropLength,
			Detail: fmt.Sprintf("length %d for %d %s addresses, want %d", len(b), count, fam, want)}
	}
	if !verifyChecksum(b, src, dst) {
		return &ParseError{Reason: DropChecksum,
			Detail: fmt.Sprintf("bad checksum %#04x, want %#04x",
				binary.BigEndian.Uint16(b[checksumOffset:]), checksum(b, src, dst))}
	}
	interval := binary.BigEndian.Uint16(b[4:6]) & MaxIntervalCentis
	if interval == 0 {
		return &ParseError{Reason: DropInterval, Detail: "max advert interval 0"}
	}

	a.Version = Version3
	a.VRID = b[1]
	a.Priority = b[2]
	a.MaxAdvertInterval = interval
	a.AuthType, a.AuthData = 0, [AuthDataLen]byte{}
	addrs := slices.Grow(a.Addresses[:0], count)
	for p := b[HeaderLen:]; len(p) > 0; p = p[size:] {
		if is4 {
			addrs = append(addrs, netip.AddrFrom4([4]byte(p[:4])))
		} else {
			addrs = append(addrs, netip.AddrFrom16([16]byte(p[:16])))
		}
	}
	a.Addresses = addrs
	return nil
}

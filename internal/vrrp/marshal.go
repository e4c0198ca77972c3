package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
)

// Marshal encodes a as the payload of an IP packet from src to dst, with the
// checksum computed over the IPv4 or IPv6 pseudo-header built from them
// (RFC 5798 §5.2.8). src and dst must both be IPv4 or both be IPv6 (an
// IPv4-mapped IPv6 address counts as IPv6: unmap socket addresses first),
// and so must every address in a.
//
// Version2 advertisements (RFC 3768) are IPv4 only, carry whole seconds
// (MaxAdvertInterval a multiple of 100, 100..25500, else ErrBadInterval),
// AuthType and AuthData, and are checksummed without a pseudo-header.
//
// Marshal rejects VRID 0 (ErrBadVRID), a version other than 0, 2 and 3 or
// authentication on VRRPv3 (ErrBadVersion), an interval of 0 or above 4095
// centiseconds (ErrBadInterval), more than 255 addresses
// (ErrTooManyAddresses), addresses of both families (ErrMixedFamilies) and
// addresses, source or destination of the wrong or no family
// (ErrFamilyMismatch). An advertisement without addresses is encoded,
// although RFC 5798 asks for at least one; Parse accepts it as well.
func (a *Advertisement) Marshal(src, dst netip.Addr) ([]byte, error) {
	return a.AppendMarshal(nil, src, dst)
}

// AppendMarshal is like Marshal but appends the encoding to b and returns
// the extended buffer. It does not allocate when b has enough spare
// capacity (see Len). On error, b is returned unchanged.
func (a *Advertisement) AppendMarshal(b []byte, src, dst netip.Addr) ([]byte, error) {
	is4, err := a.validate(src, dst)
	if err != nil {
		return b, err
	}
	if a.version() == Version2 {
		return a.appendMarshalV2(b, is4)
	}
	if a.AuthType != 0 || a.AuthData != [AuthDataLen]byte{} {
		return b, &detailError{msg: "vrrp: marshal advertisement: VRRPv3 has no authentication", err: ErrBadVersion}
	}
	n := HeaderLen + len(a.Addresses)*addrSize(is4)
	b = slices.Grow(b, n)
	off := len(b)
	b = b[:off+n]
	m := b[off:]

	m[0] = Version<<4 | typeAdvertisement
	m[1] = a.VRID
	m[2] = a.Priority
	m[3] = uint8(len(a.Addresses))
	binary.BigEndian.PutUint16(m[4:6], a.MaxAdvertInterval) // rsvd bits are 0: validated <= 0x0fff
	m[6], m[7] = 0, 0
	p := m[HeaderLen:]
	for _, ip := range a.Addresses {
		if is4 {
			v := ip.As4()
			p = p[copy(p, v[:]):]
		} else {
			v := ip.As16()
			p = p[copy(p, v[:]):]
		}
	}
	binary.BigEndian.PutUint16(m[checksumOffset:], checksum(m, src, dst))
	return b, nil
}

// validate checks a for Marshal and reports whether it is IPv4.
func (a *Advertisement) validate(src, dst netip.Addr) (is4 bool, err error) {
	const prefix = "vrrp: marshal advertisement: "
	fail := func(sentinel error, format string, args ...any) (bool, error) {
		return false, &detailError{msg: prefix + fmt.Sprintf(format, args...), err: sentinel}
	}
	if a.VRID == 0 {
		return fail(ErrBadVRID, "VRID 0, must be 1..255")
	}
	if v := a.version(); v != Version2 && v != Version3 {
		return fail(ErrBadVersion, "version %d, must be 2 or 3", v)
	}
	if a.version() == Version3 && (a.MaxAdvertInterval < MinIntervalCentis || a.MaxAdvertInterval > MaxIntervalCentis) {
		return fail(ErrBadInterval, "max advert interval %d centiseconds, must be %d..%d",
			a.MaxAdvertInterval, MinIntervalCentis, MaxIntervalCentis)
	}
	if len(a.Addresses) > MaxCount {
		return fail(ErrTooManyAddresses, "%d addresses, at most %d fit", len(a.Addresses), MaxCount)
	}
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return fail(ErrFamilyMismatch, "source %v and destination %v are not of one family", src, dst)
	}
	is4 = src.Is4()
	for i, ip := range a.Addresses {
		switch {
		case !ip.IsValid():
			return fail(ErrFamilyMismatch, "address %d is the zero netip.Addr", i)
		case ip.Is4() != a.Addresses[0].Is4():
			return fail(ErrMixedFamilies, "address %d (%v) and address 0 (%v) differ in family",
				i, ip, a.Addresses[0])
		case ip.Is4() != is4:
			return fail(ErrFamilyMismatch, "address %d (%v) is not of the family of source %v", i, ip, src)
		}
	}
	return is4, nil
}

package vrrp

import (
	"encoding/binary"
	"net/netip"
)

// The VRRPv3 checksum (RFC 5798 §5.2.8) is the Internet checksum (RFC 1071)
// of a pseudo-header followed by the VRRP message with the checksum field
// zeroed. For IPv6 the pseudo-header is the one of RFC 8200 §8.1 (source,
// destination, 32-bit upper-layer length, next header 112); for IPv4 it is
// the one of RFC 768/793 (source, destination, zero, protocol 112, 16-bit
// length), as keepalived and other VRRPv3 implementations do. Both sum to the
// same thing: the address words plus the length plus 112.

// checksumOffset is the offset of the checksum field in the header.
const checksumOffset = 6

// checksum returns the checksum for the VRRP message m (whose checksum field
// is ignored) sent from src to dst.
func checksum(m []byte, src, dst netip.Addr) uint16 {
	sum := pseudoHeaderSum(src, dst, len(m))
	sum = sumWords(sum, m[:checksumOffset])
	sum = sumWords(sum, m[checksumOffset+2:])
	return ^fold(sum)
}

// verifyChecksum reports whether m, including its checksum field, sums to
// all ones, which accepts both encodings of a zero sum (0x0000 and 0xffff).
func verifyChecksum(m []byte, src, dst netip.Addr) bool {
	return fold(sumWords(pseudoHeaderSum(src, dst, len(m)), m)) == 0xffff
}

// pseudoHeaderSum returns the unfolded sum of the pseudo-header. src and dst
// must be of the same family.
func pseudoHeaderSum(src, dst netip.Addr, length int) uint64 {
	var sum uint64
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		sum = sumWords(sum, s[:])
		sum = sumWords(sum, d[:])
	} else {
		s, d := src.As16(), dst.As16()
		sum = sumWords(sum, s[:])
		sum = sumWords(sum, d[:])
	}
	return sum + uint64(length) + ProtocolNumber
}

// sumWords adds b to sum as big-endian 16-bit words; an odd last byte is
// padded with a zero byte. It adds 32-bit words where it can: in one's
// complement arithmetic (modulo 0xffff) 0x10000 is 1, so a 32-bit word
// folds to the sum of its 16-bit halves.
func sumWords(sum uint64, b []byte) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		sum += v>>32 + v&0xffffffff
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}

// fold folds the carries of a one's complement sum into 16 bits.
func fold(sum uint64) uint16 {
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

package vrrp

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// TestSumWords uses the example of RFC 1071 §3.
func TestSumWords(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := fold(sumWords(0, b)); got != 0xddf2 {
		t.Errorf("sum = %#04x, want 0xddf2", got)
	}
	// An odd trailing byte is padded on the right.
	if got := fold(sumWords(0, []byte{0x12, 0x34, 0x56})); got != 0x1234+0x5600 {
		t.Errorf("odd sum = %#04x, want %#04x", got, 0x1234+0x5600)
	}
	if got := fold(0x2_fffe); got != 0x0001 {
		t.Errorf("fold(0x2fffe) = %#04x, want 0x0001", got)
	}
}

// TestChecksumPseudoHeader computes the checksum of small packets by hand,
// writing out the pseudo-headers of RFC 768 (IPv4) and RFC 8200 §8.1 (IPv6)
// byte by byte, and compares with Marshal.
func TestChecksumPseudoHeader(t *testing.T) {
	internet := func(b []byte) uint16 {
		var sum uint32
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		return ^uint16(sum)
	}
	t.Run("ipv4", func(t *testing.T) {
		a := &Advertisement{VRID: 51, Priority: 150, MaxAdvertInterval: 100, Addresses: addrs("192.0.2.100")}
		m := mustMarshal(t, a, src4, IPv4Group)
		var ph []byte
		ph = append(ph, src4.AsSlice()...)
		ph = append(ph, IPv4Group.AsSlice()...)
		ph = append(ph, 0, ProtocolNumber, 0, byte(len(m)))
		zeroed := append([]byte(nil), m...)
		zeroed[6], zeroed[7] = 0, 0
		if got, want := binary.BigEndian.Uint16(m[6:]), internet(append(ph, zeroed...)); got != want {
			t.Errorf("checksum %#04x, want %#04x", got, want)
		}
	})
	t.Run("ipv6", func(t *testing.T) {
		a := &Advertisement{VRID: 52, Priority: 120, MaxAdvertInterval: 50, Addresses: addrs("2001:db8::100")}
		m := mustMarshal(t, a, src6, IPv6Group)
		var ph []byte
		ph = append(ph, src6.AsSlice()...)
		ph = append(ph, IPv6Group.AsSlice()...)
		ph = append(ph, 0, 0, 0, byte(len(m)), 0, 0, 0, ProtocolNumber)
		zeroed := append([]byte(nil), m...)
		zeroed[6], zeroed[7] = 0, 0
		if got, want := binary.BigEndian.Uint16(m[6:]), internet(append(ph, zeroed...)); got != want {
			t.Errorf("checksum %#04x, want %#04x", got, want)
		}
	})
}

// TestChecksumCoversEveryByte flips each bit of the message and of the
// pseudo-header addresses and expects a checksum error.
func TestChecksumCoversEveryByte(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a        *Advertisement
		src, dst netip.Addr
	}{
		{"ipv4", &Advertisement{VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addresses: addrs("192.0.2.100", "192.0.2.101")}, src4, IPv4Group},
		{"ipv6", &Advertisement{VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addresses: addrs("2001:db8::100")}, src6, IPv6Group},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustMarshal(t, tc.a, tc.src, tc.dst)
			// Byte 3 (count) changes the length check, the upper half of
			// byte 0 the version and the lower half the type: those are
			// reported first, everything else must hit the checksum.
			for i := range m {
				for bit := range 8 {
					b := append([]byte(nil), m...)
					b[i] ^= 1 << bit
					_, err := Parse(b, tc.src, tc.dst)
					want := DropChecksum
					switch {
					case i == 0 && b[0]>>4 == Version2 && tc.src.Is4():
						want = DropLength // read as VRRPv2: 8 bytes short
					case i == 0 && bit >= 4:
						want = DropVersion
					case i == 0:
						want = DropType
					case i == 3:
						want = DropLength
					}
					if ReasonOf(err) != want {
						t.Errorf("byte %d bit %d flipped: %v, want %v", i, bit, err, want)
					}
				}
			}
			for _, addr := range []struct {
				name string
				ip   netip.Addr
			}{{"src", tc.src}, {"dst", tc.dst}} {
				s := addr.ip.AsSlice()
				for i := range s {
					f := append([]byte(nil), s...)
					f[i] ^= 0x80
					other, _ := netip.AddrFromSlice(f)
					src, dst := tc.src, tc.dst
					if addr.name == "src" {
						src = other
					} else {
						dst = other
					}
					if _, err := Parse(m, src, dst); ReasonOf(err) != DropChecksum {
						t.Errorf("%s byte %d changed: %v, want checksum error", addr.name, i, err)
					}
				}
			}
		})
	}
}

package vrrp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

var (
	src4 = netip.MustParseAddr("192.0.2.11")
	src6 = netip.MustParseAddr("fe80::11")
)

// fixChecksum recomputes the checksum of m in place.
func fixChecksum(m []byte, src, dst netip.Addr) []byte {
	binary.BigEndian.PutUint16(m[checksumOffset:], checksum(m, src, dst))
	return m
}

func mustMarshal(t testing.TB, a *Advertisement, src, dst netip.Addr) []byte {
	t.Helper()
	b, err := a.Marshal(src, dst)
	if err != nil {
		t.Fatalf("Marshal(%v): %v", a, err)
	}
	return b
}

func TestParseRejects(t *testing.T) {
	v4 := &Advertisement{VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addresses: addrs("192.0.2.100", "192.0.2.101")}
	v6 := &Advertisement{VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addresses: addrs("2001:db8::100")}
	good4 := mustMarshal(t, v4, src4, IPv4Group)
	good6 := mustMarshal(t, v6, src6, IPv6Group)

	// edit copies b, applies f and, if fix, recomputes the checksum.
	edit := func(b []byte, src, dst netip.Addr, fix bool, f func([]byte) []byte) []byte {
		m := f(append([]byte(nil), b...))
		if fix {
			fixChecksum(m, src, dst)
		}
		return m
	}
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		want     DropReason
		sentinel error
		detail   string
	}{
		{"empty", nil, src4, IPv4Group, DropTooShort, ErrTooShort, "too short: 0 bytes, want at least 8"},
		{"7 bytes", good4[:7], src4, IPv4Group, DropTooShort, ErrTooShort, "too short: 7 bytes"},
		{"version 2 over IPv6", edit(good6, src6, IPv6Group, true, func(m []byte) []byte { m[0] = 2<<4 | 1; return m }),
			src6, IPv6Group, DropVersion, ErrVersion, "VRRPv2 is IPv4 only"},
		// A VRRPv3 message relabelled version 2 lacks VRRPv2's 8 bytes of
		// authentication data.
		{"version 2 without auth data", edit(good4, src4, IPv4Group, true, func(m []byte) []byte { m[0] = 2<<4 | 1; return m }),
			src4, IPv4Group, DropLength, ErrLength, "length 16 for a VRRPv2 message with 2 addresses, want 24"},
		{"version 0 ipv6", edit(good6, src6, IPv6Group, true, func(m []byte) []byte { m[0] = 0<<4 | 1; return m }),
			src6, IPv6Group, DropVersion, ErrVersion, "version 0, want 3"},
		{"version 15", edit(good4, src4, IPv4Group, true, func(m []byte) []byte { m[0] = 0xf1; return m }),
			src4, IPv4Group, DropVersion, ErrVersion, "version 15"},
		{"type 0", edit(good4, src4, IPv4Group, true, func(m []byte) []byte { m[0] = 3 << 4; return m }),
			src4, IPv4Group, DropType, ErrType, "type 0, want 1"},
		{"type 2", edit(good6, src6, IPv6Group, true, func(m []byte) []byte { m[0] = 3<<4 | 2; return m }),
			src6, IPv6Group, DropType, ErrType, "type 2, want 1"},
		{"header only, count 2", good4[:8], src4, IPv4Group, DropLength, ErrLength,
			"length 8 for 2 IPv4 addresses, want 16"},
		{"one address short", good4[:12], src4, IPv4Group, DropLength, ErrLength, "length 12 for 2 IPv4 addresses, want 16"},
		{"trailing byte", append(append([]byte(nil), good4...), 0), src4, IPv4Group, DropLength, ErrLength,
			"length 17 for 2 IPv4 addresses, want 16"},
		{"trailing address", append(append([]byte(nil), good4...), 192, 0, 2, 102), src4, IPv4Group, DropLength, ErrLength,
			"length 20 for 2 IPv4 addresses, want 16"},
		{"count too high", edit(good4, src4, IPv4Group, true, func(m []byte) []byte { m[3] = 3; return m }),
			src4, IPv4Group, DropLength, ErrLength, "want 20"},
		{"count 0 with addresses", edit(good4, src4, IPv4Group, true, func(m []byte) []byte { m[3] = 0; return m }),
			src4, IPv4Group, DropLength, ErrLength, "length 16 for 0 IPv4 addresses, want 8"},
		// An IPv4 payload checked as IPv6 (or the reverse) fails the length check.
		{"ipv4 payload from ipv6 source", good4, src6, IPv6Group, DropLength, ErrLength, "for 2 IPv6 addresses, want 40"},
		{"ipv6 payload from ipv4 source", good6, src4, IPv4Group, DropLength, ErrLength, "for 1 IPv4 addresses, want 12"},
		{"checksum off by one", edit(good4, src4, IPv4Group, false, func(m []byte) []byte { m[7]++; return m }),
			src4, IPv4Group, DropChecksum, ErrChecksum, "bad checksum"},
		{"priority changed", edit(good4, src4, IPv4Group, false, func(m []byte) []byte { m[2]++; return m }),
			src4, IPv4Group, DropChecksum, ErrChecksum, "bad checksum"},
		{"address changed", edit(good6, src6, IPv6Group, false, func(m []byte) []byte { m[len(m)-1] ^= 1; return m }),
			src6, IPv6Group, DropChecksum, ErrChecksum, "bad checksum"},
		{"wrong source ipv4", good4, netip.MustParseAddr("192.0.2.12"), IPv4Group, DropChecksum, ErrChecksum, "bad checksum"},
		{"wrong destination ipv4", good4, src4, netip.MustParseAddr("192.0.2.12"), DropChecksum, ErrChecksum, "bad checksum"},
		{"wrong source ipv6", good6, netip.MustParseAddr("fe80::12"), IPv6Group, DropChecksum, ErrChecksum, "bad checksum"},
		{"wrong destination ipv6", good6, src6, netip.MustParseAddr("ff02::1"), DropChecksum, ErrChecksum, "bad checksum"},
		{"interval 0", edit(good4, src4, IPv4Group, true, func(m []byte) []byte { m[4], m[5] = 0, 0; return m }),
			src4, IPv4Group, DropInterval, ErrInterval, "max advert interval 0"},
		{"interval 0, reserved bits set", edit(good6, src6, IPv6Group, true, func(m []byte) []byte { m[4], m[5] = 0xf0, 0; return m }),
			src6, IPv6Group, DropInterval, ErrInterval, "max advert interval 0"},
		{"src invalid", good4, netip.Addr{}, IPv4Group, DropFamily, ErrFamily, "not of one family"},
		{"dst invalid", good4, src4, netip.Addr{}, DropFamily, ErrFamily, "not of one family"},
		{"src ipv4 dst ipv6", good4, src4, IPv6Group, DropFamily, ErrFamily, "not of one family"},
		{"src ipv6 dst ipv4", good6, src6, IPv4Group, DropFamily, ErrFamily, "not of one family"},
	}
	sentinels := []error{ErrTooShort, ErrVersion, ErrType, ErrLength, ErrChecksum, ErrInterval, ErrFamily}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse(tc.b, tc.src, tc.dst)
			if err == nil {
				t.Fatalf("Parse = %v, want %v error", a, tc.want)
			}
			if a != nil {
				t.Errorf("Parse returned %v with error", a)
			}
			if got := ReasonOf(err); got != tc.want {
				t.Errorf("ReasonOf(%v) = %v, want %v", err, got, tc.want)
			}
			for _, s := range sentinels {
				if got, want := errors.Is(err, s), s == tc.sentinel; got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, s, got, want)
				}
			}
			pe, ok := errors.AsType[*ParseError](err)
			if !ok || pe.Reason != tc.want {
				t.Errorf("error %T %v is not a *ParseError with reason %v", err, err, tc.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "vrrp: parse advertisement: ") || !strings.Contains(msg, tc.detail) {
				t.Errorf("error %q, want prefix %q and %q", msg, "vrrp: parse advertisement: ", tc.detail)
			}

			// Unmarshal must leave its receiver alone on error.
			before := Advertisement{VRID: 9, Priority: 8, MaxAdvertInterval: 7, Addresses: addrs("192.0.2.1")}
			got := before
			got.Addresses = append([]netip.Addr(nil), before.Addresses...)
			if err := got.Unmarshal(tc.b, tc.src, tc.dst); ReasonOf(err) != tc.want {
				t.Errorf("Unmarshal: %v, want %v", err, tc.want)
			}
			if !reflect.DeepEqual(got, before) {
				t.Errorf("Unmarshal changed its receiver on error: %v", &got)
			}
		})
	}
}

func TestParseErrorMessages(t *testing.T) {
	a := &Advertisement{VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addresses: addrs("192.0.2.100")}
	b := mustMarshal(t, a, src4, IPv4Group)
	sum := binary.BigEndian.Uint16(b[6:])
	binary.BigEndian.PutUint16(b[6:], 0x1234)
	_, err := Parse(b, src4, IPv4Group)
	want := "vrrp: parse advertisement: bad checksum 0x1234, want 0x" + hex16(sum)
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	for _, s := range []error{ErrTooShort, ErrVersion, ErrType, ErrLength, ErrChecksum, ErrInterval, ErrFamily} {
		if !strings.HasPrefix(s.Error(), "vrrp: parse advertisement: ") {
			t.Errorf("sentinel %q lacks the prefix", s)
		}
	}
}

func hex16(v uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf]})
}

func TestReasonOf(t *testing.T) {
	pe := &ParseError{Reason: DropLength, Detail: "x"}
	tests := []struct {
		err  error
		want DropReason
	}{
		{nil, DropNone},
		{errors.New("other"), DropNone},
		{ErrBadVRID, DropNone},
		{pe, DropLength},
		{ErrChecksum, DropChecksum},
		{errors.Join(errors.New("ctx"), pe), DropLength},
		{wrap(pe), DropLength},
	}
	for _, tc := range tests {
		if got := ReasonOf(tc.err); got != tc.want {
			t.Errorf("ReasonOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if !errors.Is(wrap(pe), ErrLength) || errors.Is(wrap(pe), ErrChecksum) {
		t.Error("errors.Is through a wrapped ParseError does not match by reason")
	}
}

func wrap(err error) error { return &detailError{msg: "wrapped: " + err.Error(), err: err} }

// TestParseReservedBits: the 4 reserved bits before the interval are
// ignored on receipt (RFC 5798 §5.2.6) and written as zero.
func TestParseReservedBits(t *testing.T) {
	a := &Advertisement{Version: 3, VRID: 7, Priority: 200, MaxAdvertInterval: 0x0abc, Addresses: addrs("2001:db8::1")}
	b := mustMarshal(t, a, src6, IPv6Group)
	b[4] |= 0xf0
	fixChecksum(b, src6, IPv6Group)
	got, err := Parse(b, src6, IPv6Group)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("Parse = %v, want %v", got, a)
	}
	if out := mustMarshal(t, got, src6, IPv6Group); out[4]&0xf0 != 0 {
		t.Errorf("Marshal wrote reserved bits %#x", out[4]>>4)
	}
}

// TestParseBothZeroChecksums: one's complement has two zeros; a packet whose
// checksum should be 0x0000 is also accepted with 0xffff.
func TestParseBothZeroChecksums(t *testing.T) {
	a := &Advertisement{Version: 3, VRID: 1, Addresses: addrs("192.0.2.100")}
	found := false
search:
	for prio := range 256 {
		for iv := uint16(1); iv <= MaxIntervalCentis; iv++ {
			a.Priority, a.MaxAdvertInterval = uint8(prio), iv
			b := mustMarshal(t, a, src4, IPv4Group)
			if b[6] == 0 && b[7] == 0 {
				found = true
				break search
			}
		}
	}
	if !found {
		t.Fatal("no advertisement with checksum 0x0000 found")
	}
	b := mustMarshal(t, a, src4, IPv4Group)
	for _, sum := range []uint16{0x0000, 0xffff} {
		binary.BigEndian.PutUint16(b[6:], sum)
		got, err := Parse(b, src4, IPv4Group)
		if err != nil {
			t.Errorf("checksum %#04x: %v", sum, err)
		} else if !reflect.DeepEqual(got, a) {
			t.Errorf("checksum %#04x: Parse = %v, want %v", sum, got, a)
		}
	}
}

// TestParseAccepts lists packets that are unusual but not dropped by the
// codec.
func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name     string
		a        Advertisement
		src, dst netip.Addr
	}{
		{"no addresses ipv4", Advertisement{VRID: 1, Priority: 1, MaxAdvertInterval: 1}, src4, IPv4Group},
		{"no addresses ipv6", Advertisement{VRID: 255, Priority: 255, MaxAdvertInterval: 4095}, src6, IPv6Group},
		{"priority 0", Advertisement{VRID: 1, MaxAdvertInterval: 100, Addresses: addrs("192.0.2.1")}, src4, IPv4Group},
		{"owner", Advertisement{VRID: 1, Priority: 255, MaxAdvertInterval: 100, Addresses: addrs("192.0.2.11")}, src4, IPv4Group},
		{"unicast ipv6 global source", Advertisement{VRID: 9, Priority: 100, MaxAdvertInterval: 100,
			Addresses: addrs("2001:db8::100")}, netip.MustParseAddr("2001:db8::11"), netip.MustParseAddr("2001:db8::12")},
		{"zone on ipv6 source", Advertisement{VRID: 9, Priority: 100, MaxAdvertInterval: 100,
			Addresses: addrs("2001:db8::100")}, netip.MustParseAddr("fe80::11%va"), IPv6Group},
		{"ipv4-mapped addresses in ipv6", Advertisement{VRID: 9, Priority: 100, MaxAdvertInterval: 100,
			Addresses: addrs("::ffff:192.0.2.1")}, src6, IPv6Group},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustMarshal(t, &tc.a, tc.src, tc.dst)
			got, err := Parse(b, tc.src, tc.dst)
			if err != nil {
				t.Fatal(err)
			}
			if !equalAdvert(got, &tc.a) {
				t.Errorf("Parse = %v, want %v", got, &tc.a)
			}
		})
	}
	// VRID 0 cannot be marshaled but is parsed; the caller finds no instance.
	b := fixChecksum([]byte{0x31, 0, 100, 1, 0, 100, 0, 0, 192, 0, 2, 1}, src4, IPv4Group)
	got, err := Parse(b, src4, IPv4Group)
	if err != nil || got.VRID != 0 {
		t.Errorf("Parse VRID 0 = %v, %v; want VRID 0 and no error", got, err)
	}
}

// equalAdvert compares advertisements, treating nil and empty Addresses as
// equal.
func equalAdvert(a, b *Advertisement) bool {
	if a.version() != b.version() || a.VRID != b.VRID || a.Priority != b.Priority || a.MaxAdvertInterval != b.MaxAdvertInterval ||
		a.AuthType != b.AuthType || a.AuthData != b.AuthData || len(a.Addresses) != len(b.Addresses) {
		return false
	}
	for i := range a.Addresses {
		if a.Addresses[i] != b.Addresses[i] {
			return false
		}
	}
	return true
}

// TestUnmarshalReuse: Unmarshal reuses the Addresses array and does not
// allocate once it is big enough.
func TestUnmarshalReuse(t *testing.T) {
	big := &Advertisement{VRID: 1, Priority: 1, MaxAdvertInterval: 1, Addresses: addrRange("2001:db8::1", 8)}
	small := &Advertisement{VRID: 2, Priority: 2, MaxAdvertInterval: 2, Addresses: addrRange("2001:db8::100", 3)}
	bigB := mustMarshal(t, big, src6, IPv6Group)
	smallB := mustMarshal(t, small, src6, IPv6Group)

	var a Advertisement
	if err := a.Unmarshal(bigB, src6, IPv6Group); err != nil {
		t.Fatal(err)
	}
	if !equalAdvert(&a, big) {
		t.Fatalf("Unmarshal = %v, want %v", &a, big)
	}
	arr := &a.Addresses[0]
	if err := a.Unmarshal(smallB, src6, IPv6Group); err != nil {
		t.Fatal(err)
	}
	if !equalAdvert(&a, small) {
		t.Fatalf("Unmarshal = %v, want %v", &a, small)
	}
	if &a.Addresses[0] != arr {
		t.Error("Unmarshal did not reuse the Addresses array")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := a.Unmarshal(bigB, src6, IPv6Group); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Unmarshal allocates %v times per run, want 0", allocs)
	}
}

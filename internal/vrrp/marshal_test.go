package vrrp

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	uni4 := netip.MustParseAddr("192.0.2.12")
	uni6 := netip.MustParseAddr("2001:db8::12")
	tests := []struct {
		name     string
		a        Advertisement
		src, dst netip.Addr
	}{
		{"ipv4 one", Advertisement{VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addresses: addrs("192.0.2.100")}, src4, IPv4Group},
		{"ipv4 unicast", Advertisement{VRID: 200, Priority: 254, MaxAdvertInterval: 123, Addresses: addrs("192.0.2.100")}, src4, uni4},
		{"ipv4 255 addresses", Advertisement{VRID: 255, Priority: 255, MaxAdvertInterval: 4095,
			Addresses: addrRange("198.51.100.0", 255)}, src4, IPv4Group},
		{"ipv4 priority 0, interval 1", Advertisement{VRID: 10, Priority: 0, MaxAdvertInterval: 1,
			Addresses: addrs("192.0.2.1", "198.51.100.1")}, src4, IPv4Group},
		{"ipv4 none", Advertisement{VRID: 3, Priority: 3, MaxAdvertInterval: 3}, src4, IPv4Group},
		{"ipv6 one", Advertisement{VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addresses: addrs("2001:db8::100")}, src6, IPv6Group},
		{"ipv6 unicast global", Advertisement{VRID: 77, Priority: 1, MaxAdvertInterval: 2000,
			Addresses: addrs("2001:db8::100", "2001:db8:1::1")}, netip.MustParseAddr("2001:db8::11"), uni6},
		{"ipv6 255 addresses", Advertisement{VRID: 255, Priority: 255, MaxAdvertInterval: 4095,
			Addresses: addrRange("2001:db8::ff00", 255)}, src6, IPv6Group},
		{"ipv6 link-local vip", Advertisement{VRID: 5, Priority: 5, MaxAdvertInterval: 5,
			Addresses: addrs("fe80::1", "2001:db8::5")}, src6, IPv6Group},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.a.Marshal(tc.src, tc.dst)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tc.a.Len() {
				t.Errorf("len(Marshal) = %d, Len() = %d", len(b), tc.a.Len())
			}
			if b[0] != 0x31 {
				t.Errorf("version/type byte %#x, want 0x31", b[0])
			}
			got, err := Parse(b, tc.src, tc.dst)
			if err != nil {
				t.Fatal(err)
			}
			if !equalAdvert(got, &tc.a) {
				t.Errorf("Parse(Marshal(a)) = %v, want %v", got, &tc.a)
			}
			b2, err := got.Marshal(tc.src, tc.dst)
			if err != nil || !bytes.Equal(b, b2) {
				t.Errorf("Marshal(Parse(b)) = % x, %v; want % x", b2, err, b)
			}
		})
	}
}

// TestMarshalLayout checks the field layout against hand-written bytes.
func TestMarshalLayout(t *testing.T) {
	a := &Advertisement{VRID: 0x42, Priority: 0x96, MaxAdvertInterval: 0x0abc, Addresses: addrs("192.0.2.1", "198.51.100.2")}
	b, err := a.Marshal(src4, IPv4Group)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x31, 0x42, 0x96, 2, 0x0a, 0xbc, b[6], b[7], 192, 0, 2, 1, 198, 51, 100, 2}
	if !bytes.Equal(b, want) {
		t.Errorf("Marshal = % x, want % x", b, want)
	}
}

func TestMarshalRejects(t *testing.T) {
	ok4 := addrs("192.0.2.100")
	tests := []struct {
		name     string
		a        Advertisement
		src, dst netip.Addr
		sentinel error
		detail   string
	}{
		{"vrid 0", Advertisement{VRID: 0, MaxAdvertInterval: 100, Addresses: ok4}, src4, IPv4Group, ErrBadVRID, "VRID 0"},
		{"interval 0", Advertisement{VRID: 1, MaxAdvertInterval: 0, Addresses: ok4}, src4, IPv4Group, ErrBadInterval,
			"max advert interval 0 centiseconds, must be 1..4095"},
		{"interval 4096", Advertisement{VRID: 1, MaxAdvertInterval: 4096, Addresses: ok4}, src4, IPv4Group, ErrBadInterval,
			"interval 4096"},
		{"interval 0xffff", Advertisement{VRID: 1, MaxAdvertInterval: 0xffff, Addresses: ok4}, src4, IPv4Group, ErrBadInterval,
			"interval 65535"},
		{"256 addresses", Advertisement{VRID: 1, MaxAdvertInterval: 100, Addresses: addrRange("198.51.100.0", 256)},
			src4, IPv4Group, ErrTooManyAddresses, "256 addresses, at most 255"},
		{"mixed v4 then v6", Advertisement{VRID: 1, MaxAdvertInterval: 100, Addresses: addrs("192.0.2.1", "2001:db8::1")},
			src4, IPv4Group, ErrMixedFamilies, "address 1 (2001:db8::1) and address 0 (192.0.2.1) differ"},
		{"mixed v6 then v4", Advertisement{VRID: 1, MaxAdvertInterval: 100, Addresses: addrs("2001:db8::1", "192.0.2.1")},
			src6, IPv6Group, ErrMixedFamilies, "differ in family"},
		{"v4-mapped among v4", Advertisement{VRID: 1, MaxAdvertInterval: 100, Addresses: addrs("192.0.2.1", "::ffff:192.0.2.2")},
			src4, IPv4Group, ErrMixedFamilies, "differ in family"},
		{"v6 addresses from v4 source", Advertisement{VRID: 1, MaxAdvertInterval: 100, Addresses: addrs("2001:db8::1")},
			src4, IPv4Group, ErrFamilyMismatch, "address 0 (2001:db8::1) is not of the family of source 192.0.2.11"},
		{"v4 addresses from v6 source", Advertisement{VRID: 1, MaxAdvertInterval: 100, Addresses: ok4},
			src6, IPv6Group, ErrFamilyMismatch, "not of the family of source"},
		{"zero address", Advertisement{VRID: 1, MaxAdvertInterval: 100, Addresses: []netip.Addr{{}}},
			src4, IPv4Group, ErrFamilyMismatch, "address 0 is the zero netip.Addr"},
		{"src v4 dst v6", Advertisement{VRID: 1, MaxAdvertInterval: 100, Addresses: ok4}, src4, IPv6Group, ErrFamilyMismatch,
			"source 192.0.2.11 and destination ff02::12 are not of one family"},
		{"src v6 dst v4", Advertisement{VRID: 1, MaxAdvertInterval: 100}, src6, IPv4Group, ErrFamilyMismatch, "not of one family"},
		{"src invalid", Advertisement{VRID: 1, MaxAdvertInterval: 100, Addresses: ok4}, netip.Addr{}, IPv4Group,
			ErrFamilyMismatch, "not of one family"},
		{"dst invalid", Advertisement{VRID: 1, MaxAdvertInterval: 100}, src6, netip.Addr{}, ErrFamilyMismatch, "not of one family"},
		{"src v4-mapped", Advertisement{VRID: 1, MaxAdvertInterval: 100, Addresses: ok4},
			netip.MustParseAddr("::ffff:192.0.2.11"), IPv4Group, ErrFamilyMismatch, "not of one family"},
	}
	sentinels := []error{ErrBadVRID, ErrBadInterval, ErrTooManyAddresses, ErrMixedFamilies, ErrFamilyMismatch}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.a.Marshal(tc.src, tc.dst)
			if err == nil {
				t.Fatalf("Marshal = % x, want error", b)
			}
			if b != nil {
				t.Errorf("Marshal returned % x with error", b)
			}
			for _, s := range sentinels {
				if got, want := errors.Is(err, s), s == tc.sentinel; got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, s, got, want)
				}
			}
			if ReasonOf(err) != DropNone {
				t.Errorf("ReasonOf(marshal error) = %v, want none", ReasonOf(err))
			}
			const prefix = "vrrp: marshal advertisement: "
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.detail) {
				t.Errorf("error %q, want prefix %q and %q", msg, prefix, tc.detail)
			}

			prev := []byte("prefix")
			out, err := tc.a.AppendMarshal(prev, tc.src, tc.dst)
			if err == nil || string(out) != "prefix" {
				t.Errorf("AppendMarshal = %q, %v; want the buffer unchanged and an error", out, err)
			}
		})
	}
}

func TestAppendMarshal(t *testing.T) {
	a := &Advertisement{VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addresses: addrRange("192.0.2.100", 20)}
	want := mustMarshal(t, a, src4, IPv4Group)

	// Appends after existing content.
	b, err := a.AppendMarshal([]byte{0xaa, 0xbb}, src4, IPv4Group)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:2], []byte{0xaa, 0xbb}) || !bytes.Equal(b[2:], want) {
		t.Errorf("AppendMarshal = % x, want aa bb % x", b, want)
	}

	// Overwrites stale bytes in the spare capacity, checksum included.
	buf := bytes.Repeat([]byte{0xff}, 200)[:0]
	b, err = a.AppendMarshal(buf, src4, IPv4Group)
	if err != nil || !bytes.Equal(b, want) {
		t.Errorf("AppendMarshal into dirty buffer = % x, %v; want % x", b, err, want)
	}
	if &b[0] != &buf[:1][0] {
		t.Error("AppendMarshal reallocated although the buffer had room")
	}
}

func TestAppendMarshalNoAlloc(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a        *Advertisement
		src, dst netip.Addr
	}{
		{"ipv4", &Advertisement{VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addresses: addrRange("192.0.2.100", 20)}, src4, IPv4Group},
		{"ipv6", &Advertisement{VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addresses: addrRange("2001:db8::100", 8)}, src6, IPv6Group},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, 0, tc.a.Len())
			allocs := testing.AllocsPerRun(100, func() {
				var err error
				if buf, err = tc.a.AppendMarshal(buf[:0], tc.src, tc.dst); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("AppendMarshal allocates %v times per run, want 0", allocs)
			}
		})
	}
}

package vrrp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is a
// *ParseError with a parse reason matching its sentinel, and that an
// accepted packet survives parse → marshal → parse unchanged (and, when its
// reserved bits are zero and its checksum is the canonical one, marshals to
// the very same bytes).
func FuzzParse(f *testing.F) {
	for _, tc := range capturedCases {
		pkt := parseIPPacket(f, readHex(f, tc.file))
		f.Add(pkt.payload, pkt.src.AsSlice(), pkt.dst.AsSlice())
		// The same bytes under the other family.
		if pkt.src.Is4() {
			f.Add(pkt.payload, src6.AsSlice(), IPv6Group.AsSlice())
		} else {
			f.Add(pkt.payload, src4.AsSlice(), IPv4Group.AsSlice())
		}
	}
	f.Add([]byte{}, src4.AsSlice(), IPv4Group.AsSlice())
	f.Add([]byte{0x31, 0, 0, 0, 0, 1, 0, 0}, src4.AsSlice(), IPv4Group.AsSlice())
	f.Add([]byte{0x31, 1, 100, 0, 0xf0, 0, 0, 0}, src6.AsSlice(), IPv6Group.AsSlice())
	f.Add([]byte{0x31, 1, 100, 0, 0, 100, 0, 0}, src4.AsSlice(), IPv6Group.AsSlice())

	parseReasons := map[DropReason]error{
		DropTooShort: ErrTooShort, DropVersion: ErrVersion, DropType: ErrType, DropLength: ErrLength,
		DropChecksum: ErrChecksum, DropInterval: ErrInterval, DropFamily: ErrFamily,
	}
	f.Fuzz(func(t *testing.T, b, srcB, dstB []byte) {
		src, _ := netip.AddrFromSlice(srcB) // invalid if not 4 or 16 bytes
		dst, _ := netip.AddrFromSlice(dstB)
		a, err := Parse(b, src, dst)
		if err != nil {
			if a != nil {
				t.Fatalf("Parse returned %v and %v", a, err)
			}
			pe, ok := errors.AsType[*ParseError](err)
			if !ok {
				t.Fatalf("Parse error %T %v is not a *ParseError", err, err)
			}
			sentinel, ok := parseReasons[pe.Reason]
			if !ok || !errors.Is(err, sentinel) || ReasonOf(err) != pe.Reason {
				t.Fatalf("Parse error %v has reason %v, not a parse reason matching its sentinel", err, pe.Reason)
			}
			return
		}
		if a.VRID == 0 {
			if _, err := a.Marshal(src, dst); !errors.Is(err, ErrBadVRID) {
				t.Fatalf("Marshal of parsed VRID 0: %v, want ErrBadVRID", err)
			}
			a.VRID = 1 // check the rest of the round trip anyway
		}
		out, err := a.Marshal(src, dst)
		if err != nil {
			t.Fatalf("Marshal(Parse(% x)) = %v (%v)", b, err, a)
		}
		if b[1] != 0 && b[4]&0xf0 == 0 && binary.BigEndian.Uint16(b[6:]) == checksum(b, src, dst) && !bytes.Equal(out, b) {
			t.Fatalf("Marshal(Parse(b)) =\n% x\nwant\n% x", out, b)
		}
		a2, err := Parse(out, src, dst)
		if err != nil {
			t.Fatalf("Parse(Marshal(%v)) = %v", a, err)
		}
		if !equalAdvert(a, a2) {
			t.Fatalf("Parse(Marshal(a)) = %v, want %v", a2, a)
		}
	})
}

// FuzzMarshal builds advertisements from fuzzed fields and checks that
// Marshal accepts exactly the valid ones and that Parse returns them.
func FuzzMarshal(f *testing.F) {
	for _, tc := range capturedCases {
		var raw []byte
		for _, ip := range tc.want.Addresses {
			raw = append(raw, ip.AsSlice()...)
		}
		f.Add(tc.want.VRID, tc.want.Priority, tc.want.MaxAdvertInterval, raw, tc.want.Addresses[0].Is6())
	}
	f.Add(uint8(0), uint8(0), uint16(0), []byte{}, false)
	f.Add(uint8(1), uint8(255), uint16(4096), []byte{1, 2, 3, 4}, false)

	f.Fuzz(func(t *testing.T, vrid, prio uint8, interval uint16, raw []byte, v6 bool) {
		src, dst, size := src4, IPv4Group, 4
		if v6 {
			src, dst, size = src6, IPv6Group, 16
		}
		a := &Advertisement{VRID: vrid, Priority: prio, MaxAdvertInterval: interval}
		for ; len(raw) >= size; raw = raw[size:] {
			ip, _ := netip.AddrFromSlice(raw[:size])
			a.Addresses = append(a.Addresses, ip)
		}
		b, err := a.Marshal(src, dst)
		var want error
		switch {
		case vrid == 0:
			want = ErrBadVRID
		case interval == 0 || interval > MaxIntervalCentis:
			want = ErrBadInterval
		case len(a.Addresses) > MaxCount:
			want = ErrTooManyAddresses
		}
		if want != nil {
			if !errors.Is(err, want) {
				t.Fatalf("Marshal(%v) = %v, want %v", a, err, want)
			}
			return
		}
		if err != nil {
			t.Fatalf("Marshal(%v) = %v", a, err)
		}
		if len(b) != a.Len() {
			t.Fatalf("len(Marshal(a)) = %d, Len() = %d", len(b), a.Len())
		}
		got, err := Parse(b, src, dst)
		if err != nil {
			t.Fatalf("Parse(Marshal(%v)) = %v", a, err)
		}
		if !equalAdvert(got, a) {
			t.Fatalf("Parse(Marshal(a)) = %v, want %v", got, a)
		}
	})
}

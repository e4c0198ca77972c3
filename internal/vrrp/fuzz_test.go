package vrrp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	for _, tc := range capturedV2Cases {
		pkt := parseIPPacket(f, readHex(f, tc.file))
		f.Add(pkt.payload, pkt.src.AsSlice(), pkt.dst.AsSlice())
		f.Add(pkt.payload, src6.AsSlice(), IPv6Group.AsSlice())
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
		canonical := binary.BigEndian.Uint16(b[6:]) == checksum(b, src, dst) && b[4]&0xf0 == 0
		if a.Version == Version2 {
			canonical = binary.BigEndian.Uint16(b[6:]) == checksumV2(b)
		}
		if b[1] != 0 && canonical && !bytes.Equal(out, b) {
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
	f.Add(uint8(61), uint8(150), uint16(0x8000|100), []byte{192, 0, 2, 100}, false)
	f.Add(uint8(62), uint8(254), uint16(0x8000|25500), []byte{192, 0, 2, 110}, false)
	f.Add(uint8(63), uint8(1), uint16(0x8000|150), []byte{}, false)

	f.Fuzz(func(t *testing.T, vrid, prio uint8, interval uint16, raw []byte, v6 bool) {
		src, dst, size := src4, IPv4Group, 4
		if v6 {
			src, dst, size = src6, IPv6Group, 16
		}
		// VRRPv2 rides on the interval's top bit: v2 on IPv4 with whole
		// seconds, AuthSimple and a password from the VRID and priority.
		var version uint8
		if interval&0x8000 != 0 && !v6 {
			version, interval = Version2, interval&0x7fff
		}
		a := &Advertisement{Version: version, VRID: vrid, Priority: prio, MaxAdvertInterval: interval}
		if version == Version2 {
			a.AuthType, a.AuthData = AuthSimple, AuthPassword(string([]byte{vrid, prio}))
		}
		for ; len(raw) >= size; raw = raw[size:] {
			ip, _ := netip.AddrFromSlice(raw[:size])
			a.Addresses = append(a.Addresses, ip)
		}
		b, err := a.Marshal(src, dst)
		var want error
		switch {
		case vrid == 0:
			want = ErrBadVRID
		case version == 0 && (interval == 0 || interval > MaxIntervalCentis):
			want = ErrBadInterval
		case len(a.Addresses) > MaxCount:
			want = ErrTooManyAddresses
		case version == Version2 && (interval%100 != 0 || interval < 100 || interval > 25500):
			want = ErrBadInterval
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

// TestFuzzCorpusReasons pins down what each committed FuzzParse input in
// testdata/fuzz/FuzzParse is: the broken and hostile packets of the
// end-to-end reliability test (e2e/reliability_test.go), each with the
// drop reason its name promises, so that the corpus cannot silently stop
// covering them.
func TestFuzzCorpusReasons(t *testing.T) {
	want := map[string]DropReason{
		"family-mismatch-src4-dst6":    DropFamily,
		"ipv4-255-addresses":           DropNone,
		"ipv4-bad-checksum":            DropChecksum,
		"ipv4-count-255-length-2":      DropLength,
		"ipv4-count-exceeds-length":    DropLength,
		"ipv4-interval-0":              DropInterval,
		"ipv4-interval-0-reserved-set": DropInterval,
		"ipv4-max-interval-4095":       DropNone,
		"ipv4-no-addresses":            DropNone,
		"ipv4-payload-ipv6-family":     DropLength,
		"ipv4-priority-0":              DropNone,
		"ipv4-priority-255":            DropNone,
		"ipv4-truncated-address":       DropLength,
		"ipv4-truncated-header":        DropTooShort,
		"ipv4-truncated-one-byte":      DropTooShort,
		"ipv4-type-2":                  DropType,
		"ipv4-unicast-dst":             DropNone,
		"ipv4-valid-2addrs":            DropNone,
		"ipv4-version-2":               DropLength, // parsed as VRRPv2, which has 8 more bytes (auth data)
		"ipv4-version-4":               DropVersion,
		"ipv4-vrid-0":                  DropNone, // the caller drops it: no instance has VRID 0
		"ipv6-bad-checksum":            DropChecksum,
		"ipv6-count-2-length-1":        DropLength,
		"ipv6-truncated-address":       DropLength,
		"ipv6-valid":                   DropNone,
		"src-3-bytes":                  DropFamily,
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		seen[name] = true
		r, ok := want[name]
		if !ok {
			// A crasher the fuzzer found: FuzzParse itself replays it.
			continue
		}
		args := readCorpusFile(t, filepath.Join(dir, name))
		if len(args) != 3 {
			t.Errorf("%s: %d arguments, want 3", name, len(args))
			continue
		}
		src, _ := netip.AddrFromSlice(args[1])
		dst, _ := netip.AddrFromSlice(args[2])
		_, err := Parse(args[0], src, dst)
		if got := ReasonOf(err); got != r {
			t.Errorf("%s: Parse gives %v (%v), want %v", name, got, err, r)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("corpus file %s is missing", name)
		}
	}
}

// readCorpusFile reads a "go test fuzz v1" file whose values are all
// []byte.
func readCorpusFile(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) == 0 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a go test fuzz v1 file", path)
	}
	var args [][]byte
	for _, l := range lines[1:] {
		q, ok := strings.CutPrefix(l, "[]byte(")
		if q, ok2 := strings.CutSuffix(q, ")"); ok && ok2 {
			s, err := strconv.Unquote(q)
			if err != nil {
				t.Fatalf("%s: %q: %v", path, l, err)
			}
			args = append(args, []byte(s))
			continue
		}
		t.Fatalf("%s: %q is not a []byte value", path, l)
	}
	return args
}

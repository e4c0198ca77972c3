package vrrp

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"
)

// TestKeepalivedCaptures checks Parse and Marshal against advertisements
// captured from keepalived v2.2.7 (testdata/README.md).
func TestKeepalivedCaptures(t *testing.T) {
	for _, tc := range capturedCases {
		t.Run(tc.file, func(t *testing.T) {
			pkt := parseIPPacket(t, readHex(t, tc.file))
			if pkt.proto != ProtocolNumber {
				t.Errorf("IP protocol %d, want %d", pkt.proto, ProtocolNumber)
			}
			if pkt.ttl != RequiredTTL {
				t.Errorf("TTL/hop limit %d, want %d", pkt.ttl, RequiredTTL)
			}
			if want := netip.MustParseAddr(tc.src); pkt.src != want {
				t.Errorf("source %v, want %v", pkt.src, want)
			}
			if want := netip.MustParseAddr(tc.dst); pkt.dst != want {
				t.Errorf("destination %v, want %v", pkt.dst, want)
			}

			got, err := Parse(pkt.payload, pkt.src, pkt.dst)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("Parse = %v, want %v", got, &tc.want)
			}

			b, err := tc.want.Marshal(pkt.src, pkt.dst)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(b, pkt.payload) {
				t.Errorf("Marshal =\n% x\nkeepalived sent\n% x", b, pkt.payload)
			}
		})
	}
}

// TestKeepalivedPcap parses every VRRP packet of the whole capture and
// re-encodes it byte for byte.
func TestKeepalivedPcap(t *testing.T) {
	pkts := readPcapIP(t, "keepalived-v3.pcap")
	var n4, n6, nZero int
	for i, raw := range pkts {
		pkt := parseIPPacket(t, raw)
		if pkt.proto != ProtocolNumber {
			continue
		}
		if pkt.ttl != RequiredTTL {
			t.Errorf("packet %d: TTL/hop limit %d", i, pkt.ttl)
		}
		a, err := Parse(pkt.payload, pkt.src, pkt.dst)
		if err != nil {
			t.Errorf("packet %d: Parse: %v", i, err)
			continue
		}
		b, err := a.Marshal(pkt.src, pkt.dst)
		if err != nil {
			t.Errorf("packet %d: Marshal: %v", i, err)
			continue
		}
		if !bytes.Equal(b, pkt.payload) {
			t.Errorf("packet %d (%v): Marshal =\n% x\nwant\n% x", i, a, b, pkt.payload)
		}
		if pkt.src.Is4() {
			n4++
		} else {
			n6++
		}
		if a.Priority == 0 {
			nZero++
		}
	}
	// The capture holds several adverts per instance and a priority-0
	// advert per multicast instance; make sure the test saw them.
	if n4 < 10 || n6 < 10 || nZero < 3 {
		t.Errorf("pcap had %d IPv4, %d IPv6, %d priority-0 VRRP packets; want >= 10, >= 10, >= 3", n4, n6, nZero)
	}
}

// TestKeepalivedChecksumIncludesPseudoHeader shows that keepalived's IPv4
// VRRPv3 checksum covers the pseudo-header: the VRRPv2-style checksum over
// the message alone does not match, and the same bytes from another source
// fail.
func TestKeepalivedChecksumIncludesPseudoHeader(t *testing.T) {
	pkt := parseIPPacket(t, readHex(t, "keepalived-ipv4.hex"))
	m := pkt.payload
	got := uint16(m[6])<<8 | uint16(m[7])
	if v2 := ^fold(sumWords(sumWords(0, m[:6]), m[8:])); v2 == got {
		t.Fatalf("checksum %#04x is also the message-only (VRRPv2) checksum", got)
	}
	if want := checksum(m, pkt.src, pkt.dst); want != got {
		t.Fatalf("checksum with pseudo-header %#04x, keepalived sent %#04x", want, got)
	}
	_, err := Parse(m, netip.MustParseAddr("192.0.2.99"), pkt.dst)
	if ReasonOf(err) != DropChecksum {
		t.Fatalf("Parse from another source: %v, want a checksum error", err)
	}
}

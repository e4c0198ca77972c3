package transport

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func TestParseFrameIPv4(t *testing.T) {
	routerAlert := []byte{0x94, 0x04, 0x00, 0x00}
	tests := []struct {
		name    string
		frame   []byte
		want    DropReason // 0: accepted
		payload []byte
		ttl     uint8
	}{
		{name: "advert", frame: ipv4Frame(ipv4Spec{payload: testPayload}), payload: testPayload, ttl: 255},
		{name: "ttl kept for the caller to check", frame: ipv4Frame(ipv4Spec{payload: testPayload, ttl: 64}), payload: testPayload, ttl: 64},
		{name: "options skipped using IHL", frame: ipv4Frame(ipv4Spec{options: routerAlert, payload: testPayload}), payload: testPayload, ttl: 255},
		{name: "ethernet padding trimmed", frame: ipv4Frame(ipv4Spec{payload: testPayload[:8], pad: 18}), payload: testPayload[:8], ttl: 255},
		{name: "DF allowed", frame: ipv4Frame(ipv4Spec{payload: testPayload, fragment: 0x4000}), payload: testPayload, ttl: 255},
		{name: "empty payload delivered", frame: ipv4Frame(ipv4Spec{pad: 26}), payload: nil, ttl: 255},

		{name: "empty frame", frame: nil, want: DropShortFrame},
		{name: "13 bytes", frame: make([]byte, 13), want: DropShortFrame},
		{name: "ipv6 ethertype", frame: ipv4Frame(ipv4Spec{etherType: etherTypeIPv6, payload: testPayload}), want: DropEtherType},
		{name: "arp ethertype", frame: ipv4Frame(ipv4Spec{etherType: 0x0806, payload: testPayload}), want: DropEtherType},
		{name: "vlan tag", frame: ipv4Frame(ipv4Spec{etherType: 0x8100, payload: testPayload}), want: DropEtherType},
		{name: "ip header cut", frame: ipv4Frame(ipv4Spec{payload: testPayload})[:ethHeaderLen+19], want: DropShortIP},
		{name: "version 6", frame: ipv4Frame(ipv4Spec{version: 6, payload: testPayload}), want: DropIPVersion},
		{name: "ihl 4", frame: ipv4Frame(ipv4Spec{ihl: 4, payload: testPayload}), want: DropHeaderLength},
		{name: "ihl past frame end", frame: ipv4Frame(ipv4Spec{ihl: 15}), want: DropHeaderLength},
		{name: "total length below header", frame: ipv4Frame(ipv4Spec{totalLen: 19, payload: testPayload}), want: DropTotalLength},
		{name: "total length past frame end", frame: ipv4Frame(ipv4Spec{totalLen: 20 + len(testPayload) + 1, payload: testPayload}), want: DropTotalLength},
		{name: "header checksum", frame: ipv4Frame(ipv4Spec{badSum: true, payload: testPayload}), want: DropHeaderChecksum},
		{name: "more fragments", frame: ipv4Frame(ipv4Spec{fragment: 0x2000, payload: testPayload}), want: DropFragment},
		{name: "fragment offset", frame: ipv4Frame(ipv4Spec{fragment: 0x0001, payload: testPayload}), want: DropFragment},
		{name: "udp", frame: ipv4Frame(ipv4Spec{proto: 17, payload: testPayload}), want: DropProtocol},
		{name: "ah", frame: ipv4Frame(ipv4Spec{proto: 51, payload: testPayload}), want: DropProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseFrame(tt.frame, false)
			checkParse(t, tt.frame, p, err, tt.want)
			if tt.want != 0 {
				return
			}
			if p.Src != testSrc4 || p.Dst != testDst4 {
				t.Errorf("src, dst = %v, %v, want %v, %v", p.Src, p.Dst, testSrc4, testDst4)
			}
			if p.TTL != tt.ttl {
				t.Errorf("TTL = %d, want %d", p.TTL, tt.ttl)
			}
			if !bytes.Equal(p.Payload, tt.payload) {
				t.Errorf("payload = %x, want %x", p.Payload, tt.payload)
			}
		})
	}
}

func TestParseFrameIPv6(t *testing.T) {
	tests := []struct {
		name    string
		frame   []byte
		want    DropReason
		payload []byte
		hop     uint8
	}{
		{name: "advert", frame: ipv6Frame(ipv6Spec{payload: testPayload}), payload: testPayload, hop: 255},
		{name: "hop limit kept for the caller", frame: ipv6Frame(ipv6Spec{payload: testPayload, hopLimit: 1}), payload: testPayload, hop: 1},
		{name: "trailing bytes trimmed", frame: ipv6Frame(ipv6Spec{payload: testPayload, pad: 7}), payload: testPayload, hop: 255},
		{name: "empty payload", frame: ipv6Frame(ipv6Spec{pad: 6}), payload: nil, hop: 255},

		{name: "ipv4 ethertype", frame: ipv6Frame(ipv6Spec{etherType: etherTypeIPv4, payload: testPayload}), want: DropEtherType},
		{name: "short header", frame: ipv6Frame(ipv6Spec{})[:ethHeaderLen+39], want: DropShortIP},
		{name: "version 4", frame: ipv6Frame(ipv6Spec{version: 4, payload: testPayload}), want: DropIPVersion},
		{name: "payload length past frame end", frame: ipv6Frame(ipv6Spec{payloadLen: len(testPayload) + 1, payload: testPayload}), want: DropTotalLength},
		{name: "hop-by-hop header", frame: ipv6Frame(ipv6Spec{nextHeader: 0xff, payload: testPayload}), want: DropProtocol},
		{name: "fragment header", frame: ipv6Frame(ipv6Spec{nextHeader: 44, payload: testPayload}), want: DropProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseFrame(tt.frame, true)
			checkParse(t, tt.frame, p, err, tt.want)
			if tt.want != 0 {
				return
			}
			if p.Src != testSrc6 || p.Dst != testDst6 {
				t.Errorf("src, dst = %v, %v, want %v, %v", p.Src, p.Dst, testSrc6, testDst6)
			}
			if p.TTL != tt.hop {
				t.Errorf("hop limit = %d, want %d", p.TTL, tt.hop)
			}
			if !bytes.Equal(p.Payload, tt.payload) {
				t.Errorf("payload = %x, want %x", p.Payload, tt.payload)
			}
		})
	}
}

func checkParse(t *testing.T, frame []byte, p Packet, err error, want DropReason) {
	t.Helper()
	if want != 0 {
		var de *DropError
		if !errors.As(err, &de) {
			t.Fatalf("ParseFrame = %+v, %v; want drop %v", p, err, want)
		}
		if de.Reason != want || de.Len != len(frame) {
			t.Fatalf("drop = %v of %d bytes, want %v of %d", de.Reason, de.Len, want, len(frame))
		}
		return
	}
	if err != nil {
		t.Fatalf("ParseFrame: %v", err)
	}
	if p.SrcMAC.String() != testSrcMAC.String() {
		t.Errorf("SrcMAC = %v, want %v", p.SrcMAC, testSrcMAC)
	}
	// The packet owns its memory: scribbling on the frame changes nothing.
	before := append([]byte(nil), p.Payload...)
	mac := p.SrcMAC.String()
	for i := range frame {
		frame[i] ^= 0xff
	}
	if !bytes.Equal(p.Payload, before) || p.SrcMAC.String() != mac {
		t.Errorf("packet shares memory with the frame")
	}
}

func TestDropReasonString(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range DropReasons() {
		s := r.String()
		if s == "" || seen[s] || s[0] == 'D' {
			t.Errorf("reason %d has name %q (empty, duplicate or unnamed)", int(r), s)
		}
		seen[s] = true
	}
	if got := DropReason(0).String(); got != "DropReason(0)" {
		t.Errorf("DropReason(0) = %q", got)
	}
	if len(DropReasons()) != int(numDropReasons)-1 {
		t.Errorf("DropReasons has %d entries", len(DropReasons()))
	}
}

func TestChecksum(t *testing.T) {
	// A widely quoted example IPv4 header (UDP 192.168.0.1 -> 192.168.0.199)
	// whose checksum is 0xb861.
	hdr := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if got := checksum(hdr); got != 0 {
		t.Errorf("checksum over a valid header = %#04x, want 0", got)
	}
	hdr[10], hdr[11] = 0, 0
	if got := checksum(hdr); got != 0xb861 {
		t.Errorf("checksum = %#04x, want 0xb861", got)
	}
	if got := checksum([]byte{0x01}); got != 0xfeff {
		t.Errorf("odd-length checksum = %#04x, want 0xfeff", got)
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add(ipv4Frame(ipv4Spec{payload: testPayload}), false)
	f.Add(ipv4Frame(ipv4Spec{options: []byte{1, 1, 1, 0}, payload: testPayload, pad: 10}), false)
	f.Add(ipv6Frame(ipv6Spec{payload: testPayload}), true)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, frame []byte, ipv6 bool) {
		p, err := ParseFrame(frame, ipv6)
		if err != nil {
			var de *DropError
			if !errors.As(err, &de) || de.Len != len(frame) || de.Reason.String() == "" {
				t.Fatalf("error %v is not a proper *DropError", err)
			}
			return
		}
		if p.Src.Is6() != ipv6 || p.Dst.Is6() != ipv6 || p.Src == (netip.Addr{}) {
			t.Fatalf("addresses %v, %v for ipv6=%v", p.Src, p.Dst, ipv6)
		}
		// The payload is the tail of the IP packet named by its length field.
		hdr := ipv6HeaderLen
		if !ipv6 {
			hdr = int(frame[ethHeaderLen]&0x0f) * 4
		}
		end := ethHeaderLen + hdr + len(p.Payload)
		if end > len(frame) || !bytes.Equal(frame[ethHeaderLen+hdr:end], p.Payload) {
			t.Fatalf("payload %x is not the IP payload of %x", p.Payload, frame)
		}
	})
}

package watch

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"golang.org/x/net/icmp"

	"github.com/vipd/vipd/internal/announce"
)

func TestParseFrame(t *testing.T) {
	na := naFrame(t, allNodesMAC, otherMAC, vip6, allNodes, vip6, false, otherMAC)
	naHop := append([]byte(nil), na...)
	naHop[ethHeaderLen+7] = 64
	naBadOpt := append([]byte(nil), na...)
	naBadOpt[ethHeaderLen+ipv6HdrLen+ndMinLen+1] = 0 // option length 0
	naPadded := append(append([]byte(nil), na...), make([]byte, 10)...)
	arpBad := arpFrame(t, ethBcast, otherMAC, arp.OperationRequest, otherMAC, vip4, ethBcast, vip4)
	arpBad[ethHeaderLen+5] = 16 // protocol address length

	tests := []struct {
		name   string
		b      []byte
		reason DropReason
		check  func(t *testing.T, f frame)
	}{
		{name: "short", b: make([]byte, 13), reason: DropShortFrame},
		{name: "ethertype", b: ethFrame(t, ourMAC, otherMAC, ethernet.EtherTypeVLAN, make([]byte, 46)), reason: DropEtherType},
		{name: "ipv4", b: ipFrame(t, ourMAC, routerMAC, clientIP, vip4), check: func(t *testing.T, f frame) {
			if f.kind != kindIP || f.src != clientIP || f.dst != vip4 || f.ethSrc != mustMAC(t, routerMAC) || f.ethDst != mustMAC(t, ourMAC) {
				t.Errorf("got %+v", f)
			}
		}},
		{name: "ipv4 short", b: ipFrame(t, ourMAC, routerMAC, clientIP, vip4)[:ethHeaderLen+19], reason: DropMalformed},
		{name: "ipv4 version", b: func() []byte {
			b := ipFrame(t, ourMAC, routerMAC, clientIP, vip4)
			b[ethHeaderLen] = 0x65
			return b
		}(), reason: DropMalformed},
		{name: "ipv6 echo", b: ipFrame(t, ourMAC, routerMAC, client6IP, vip6), check: func(t *testing.T, f frame) {
			if f.kind != kindIP || f.src != client6IP || f.dst != vip6 {
				t.Errorf("got %+v", f)
			}
		}},
		{name: "ipv6 short", b: ipFrame(t, ourMAC, routerMAC, client6IP, vip6)[:ethHeaderLen+39], reason: DropMalformed},
		{name: "arp", b: arpFrame(t, ourMAC, otherMAC, arp.OperationReply, otherMAC, vip4, ourMAC, netip.IPv4Unspecified()), check: func(t *testing.T, f frame) {
			if f.kind != kindARP || f.op != arpReply || f.sha != mustMAC(t, otherMAC) || f.spa != vip4 || !f.tpa.IsUnspecified() {
				t.Errorf("got %+v", f)
			}
		}},
		{name: "arp not ipv4", b: arpBad, reason: DropMalformed},
		{name: "arp short", b: arpFrame(t, ourMAC, otherMAC, arp.OperationReply, otherMAC, vip4, ourMAC, vip4)[:ethHeaderLen+27], reason: DropMalformed},
		{name: "na", b: na, check: func(t *testing.T, f frame) {
			if f.kind != kindNA || f.target != vip6 || !f.hasLLA || f.lla != mustMAC(t, otherMAC) || f.flags&naFlagO == 0 || f.dst != allNodes {
				t.Errorf("got %+v", f)
			}
		}},
		{name: "na padded", b: naPadded, check: func(t *testing.T, f frame) {
			if f.kind != kindNA || !f.hasLLA {
				t.Errorf("got %+v", f)
			}
		}},
		{name: "na without option", b: naFrame(t, allNodesMAC, otherMAC, vip6, allNodes, vip6, false, nil), check: func(t *testing.T, f frame) {
			if f.kind != kindNA || f.hasLLA || f.claimMAC() != mustMAC(t, otherMAC) {
				t.Errorf("got %+v", f)
			}
		}},
		{name: "na hop limit", b: naHop, reason: DropMalformed},
		{name: "na zero-length option", b: naBadOpt, reason: DropMalformed},
		{name: "na truncated", b: na[:ethHeaderLen+ipv6HdrLen+20], reason: DropMalformed},
		{name: "ns", b: nsFrame(t, ourMAC, routerMAC, routerIP6, vip6, vip6, routerMAC), check: func(t *testing.T, f frame) {
			if f.kind != kindNS || f.src != routerIP6 || f.target != vip6 || f.claimMAC() != mustMAC(t, routerMAC) {
				t.Errorf("got %+v", f)
			}
		}},
		{name: "dad ns", b: nsFrame(t, allNodesMAC, otherMAC, netip.IPv6Unspecified(), announce.SolicitedNode(vip6), vip6, nil), check: func(t *testing.T, f frame) {
			if f.kind != kindNS || !f.src.IsUnspecified() || f.hasLLA {
				t.Errorf("got %+v", f)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, r := parseFrame(tt.b)
			if r != tt.reason {
				t.Fatalf("reason %v, want %v", r, tt.reason)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

// checkICMPv6Checksum recomputes the checksum of the NDP message in frame
// with golang.org/x/net/icmp and compares.
func checkICMPv6Checksum(t *testing.T, frame []byte) {
	t.Helper()
	ip := frame[ethHeaderLen:]
	src, dst := netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
	msg := ip[ipv6HdrLen:]
	m, err := icmp.ParseMessage(protoICMPv6, msg)
	if err != nil {
		t.Fatalf("icmp: %v", err)
	}
	want, err := m.Marshal(icmp.IPv6PseudoHeader(src.AsSlice(), dst.AsSlice()))
	if err != nil {
		t.Fatalf("icmp marshal: %v", err)
	}
	if !bytes.Equal(msg, want) {
		t.Errorf("checksum %x, want %x", msg[2:4], want[2:4])
	}
}

// The watcher's frames are announce's builders: a repair comes from our
// MAC and names the owner's; a probe claims nothing.
func TestRepairAndProbeFrames(t *testing.T) {
	p, err := repair(mustMAC(t, ourMAC), mustMAC(t, ownerMAC), vip4, mustMAC(t, routerMAC), routerIP)
	if err != nil {
		t.Fatal(err)
	}
	var f ethernet.Frame
	if err := f.UnmarshalBinary(p.Frame); err != nil {
		t.Fatal(err)
	}
	var a arp.Packet
	if err := a.UnmarshalBinary(f.Payload); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Source, ourMAC) || !bytes.Equal(f.Destination, routerMAC) || a.Operation != arp.OperationReply ||
		!bytes.Equal(a.SenderHardwareAddr, ownerMAC) || a.SenderIP != vip4 || a.TargetIP != routerIP {
		t.Errorf("IPv4 repair %v → %v %+v", f.Source, f.Destination, a)
	}
	if p.Kind != announce.KindUnicastReply || p.Target != routerIP {
		t.Errorf("IPv4 repair %+v", p)
	}
	p6, err := repair(mustMAC(t, ourMAC), mustMAC(t, ownerMAC), vip6, mustMAC(t, routerMAC), allNodes)
	if err != nil {
		t.Fatal(err)
	}
	got, r := parseFrame(p6.Frame)
	if r != 0 || got.kind != kindNA || got.target != vip6 || got.claimMAC() != mustMAC(t, ownerMAC) || got.ethSrc != mustMAC(t, ourMAC) {
		t.Errorf("IPv6 repair %+v (%v)", got, r)
	}
	checkICMPv6Checksum(t, p6.Frame)
	for _, vip := range []netip.Addr{vip4, vip6} {
		p, err := probe(mustMAC(t, ourMAC), vip)
		if err != nil {
			t.Fatal(err)
		}
		got, r := parseFrame(p.Frame)
		if r != 0 || (got.kind == kindARP && (!got.spa.IsUnspecified() || got.tpa != vip)) ||
			(got.kind == kindNS && (!got.src.IsUnspecified() || got.target != vip)) {
			t.Errorf("probe for %s: %+v (%v)", vip, got, r)
		}
	}
	if _, err := repair(mustMAC(t, ourMAC), mustMAC(t, ownerMAC), vip4, mustMAC(t, routerMAC), netip.IPv4Unspecified()); err == nil {
		t.Error("a repair naming 0.0.0.0 was built")
	}
}

// mustFrame returns a frame that test inputs always build.
func mustFrame(p announce.Packet, err error) []byte {
	if err != nil {
		panic(err)
	}
	return p.Frame
}

// FuzzParseFrame checks that parseFrame never panics and that what it
// accepts is consistent.
func FuzzParseFrame(f *testing.F) {
	our, owner, router := mac(ourMAC), mac(ownerMAC), mac(routerMAC)
	f.Add(mustFrame(repair(our, owner, vip4, router, routerIP)))
	f.Add(mustFrame(probe(our, vip4)))
	f.Add(mustFrame(repair(our, owner, vip6, router, routerIP6)))
	f.Add(mustFrame(probe(our, vip6)))
	f.Add(ipFrame(f, ourMAC, routerMAC, clientIP, vip4))
	f.Add(ipFrame(f, ourMAC, routerMAC, client6IP, vip6))
	f.Add(nsFrame(f, ourMAC, routerMAC, routerIP6, vip6, vip6, routerMAC))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, r := parseFrame(b)
		if r != 0 {
			return
		}
		switch fr.kind {
		case kindIP:
			if !fr.src.IsValid() || !fr.dst.IsValid() {
				t.Errorf("IP frame without addresses: %+v", fr)
			}
		case kindARP:
			if !fr.spa.Is4() || !fr.tpa.Is4() {
				t.Errorf("ARP frame without addresses: %+v", fr)
			}
		case kindNS, kindNA:
			if !fr.target.Is6() || !fr.src.Is6() {
				t.Errorf("ND frame without addresses: %+v", fr)
			}
		default:
			t.Errorf("accepted frame of kind %d", fr.kind)
		}
		// The detector must take whatever the parser accepts.
		d := newDetector(Config{}, our, "eth0")
		d.watched[fr.dst] = Owner{MAC: ownerMAC}
		d.held[fr.spa] = struct{}{}
		var fx effects
		d.handle(timeZero, b, &fx)
	})
}

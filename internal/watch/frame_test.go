package watch

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
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

func TestRepairARP(t *testing.T) {
	p := repairARP(mustMAC(t, ourMAC), mustMAC(t, ownerMAC), vip4, mustMAC(t, routerMAC), routerIP)
	if p.Kind != announce.KindUnicastReply || p.VIP != vip4 || p.Target != routerIP || !bytes.Equal(p.DstMAC, routerMAC) {
		t.Errorf("packet %+v", p)
	}
	var f ethernet.Frame
	if err := f.UnmarshalBinary(p.Frame); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Destination, routerMAC) || !bytes.Equal(f.Source, ourMAC) || f.EtherType != ethernet.EtherTypeARP {
		t.Errorf("ethernet %v → %v %v, want ours → router", f.Source, f.Destination, f.EtherType)
	}
	var a arp.Packet
	if err := a.UnmarshalBinary(f.Payload); err != nil {
		t.Fatal(err)
	}
	if a.Operation != arp.OperationReply || !bytes.Equal(a.SenderHardwareAddr, ownerMAC) || a.SenderIP != vip4 ||
		!bytes.Equal(a.TargetHardwareAddr, routerMAC) || a.TargetIP != routerIP {
		t.Errorf("arp %+v", a)
	}
	if len(p.Frame) != 60 {
		t.Errorf("frame length %d, want 60", len(p.Frame))
	}
	// Speaking for ourselves, it is exactly announce's unicast reply.
	self := repairARP(mustMAC(t, ourMAC), mustMAC(t, ourMAC), vip4, mustMAC(t, routerMAC), routerIP)
	ref, err := announce.UnicastARPReply(ourMAC, vip4, routerMAC, routerIP)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(self.Frame, ref.Frame) {
		t.Errorf("self repair\n%x\nannounce\n%x", self.Frame, ref.Frame)
	}
}

func TestARPProbe(t *testing.T) {
	p := arpProbe(mustMAC(t, ourMAC), vip4)
	var f ethernet.Frame
	if err := f.UnmarshalBinary(p.Frame); err != nil {
		t.Fatal(err)
	}
	var a arp.Packet
	if err := a.UnmarshalBinary(f.Payload); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Destination, ethBcast) || !bytes.Equal(f.Source, ourMAC) {
		t.Errorf("ethernet %v → %v", f.Source, f.Destination)
	}
	if a.Operation != arp.OperationRequest || !bytes.Equal(a.SenderHardwareAddr, ourMAC) || !a.SenderIP.IsUnspecified() ||
		!bytes.Equal(a.TargetHardwareAddr, make([]byte, 6)) || a.TargetIP != vip4 {
		t.Errorf("arp %+v", a)
	}
	if p.Kind == 0 || p.VIP != vip4 {
		t.Errorf("packet %+v", p)
	}
}

func TestRepairNA(t *testing.T) {
	tests := []struct {
		name      string
		dst       netip.Addr
		solicited bool
	}{
		{"to the upstream", routerIP6, true},
		{"to all nodes", allNodes, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := repairNA(mustMAC(t, ourMAC), mustMAC(t, ownerMAC), vip6, mustMAC(t, routerMAC), tt.dst)
			if p.Kind != announce.KindUnicastNA || p.VIP != vip6 || p.Target != tt.dst || !bytes.Equal(p.DstMAC, routerMAC) {
				t.Errorf("packet %+v", p)
			}
			if !bytes.Equal(p.Frame[0:6], routerMAC) || !bytes.Equal(p.Frame[6:12], ourMAC) {
				t.Errorf("ethernet %x", p.Frame[:14])
			}
			ip := p.Frame[ethHeaderLen:]
			if ip[7] != 255 || netip.AddrFrom16([16]byte(ip[8:24])) != vip6 || netip.AddrFrom16([16]byte(ip[24:40])) != tt.dst {
				t.Errorf("ipv6 header %x", ip[:40])
			}
			m, err := ndp.ParseMessage(ip[ipv6HdrLen:])
			if err != nil {
				t.Fatal(err)
			}
			na, ok := m.(*ndp.NeighborAdvertisement)
			if !ok {
				t.Fatalf("%T", m)
			}
			if !na.Override || na.Router || na.Solicited != tt.solicited || na.TargetAddress != vip6 || len(na.Options) != 1 {
				t.Errorf("na %+v", na)
			}
			if lla, ok := na.Options[0].(*ndp.LinkLayerAddress); !ok || lla.Direction != ndp.Target || !bytes.Equal(lla.Addr, ownerMAC) {
				t.Errorf("option %+v", na.Options[0])
			}
			checkICMPv6Checksum(t, p.Frame)
		})
	}
	// Speaking for ourselves to all nodes, it is announce's unsolicited
	// NA but for the Ethernet destination.
	self := repairNA(mustMAC(t, ourMAC), mustMAC(t, ourMAC), vip6, mustMAC(t, routerMAC), allNodes)
	ref, err := announce.UnsolicitedNA(ourMAC, vip6)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(self.Frame[6:], ref.Frame[6:]) {
		t.Errorf("self repair\n%x\nannounce\n%x", self.Frame, ref.Frame)
	}
}

func TestDADNS(t *testing.T) {
	p := dadNS(mustMAC(t, ourMAC), vip6)
	wantDst := netip.MustParseAddr("ff02::1:ff00:101")
	if !bytes.Equal(p.Frame[0:6], net.HardwareAddr{0x33, 0x33, 0xff, 0x00, 0x01, 0x01}) || !bytes.Equal(p.Frame[6:12], ourMAC) {
		t.Errorf("ethernet %x", p.Frame[:14])
	}
	ip := p.Frame[ethHeaderLen:]
	if ip[7] != 255 || !netip.AddrFrom16([16]byte(ip[8:24])).IsUnspecified() || netip.AddrFrom16([16]byte(ip[24:40])) != wantDst {
		t.Errorf("ipv6 header %x", ip[:40])
	}
	m, err := ndp.ParseMessage(ip[ipv6HdrLen:])
	if err != nil {
		t.Fatal(err)
	}
	ns, ok := m.(*ndp.NeighborSolicitation)
	if !ok || ns.TargetAddress != vip6 || len(ns.Options) != 0 {
		t.Errorf("ns %+v", m)
	}
	checkICMPv6Checksum(t, p.Frame)
	if p.Kind != announce.KindNeighborSolicit || p.Target != vip6 {
		t.Errorf("packet %+v", p)
	}
}

// FuzzParseFrame checks that parseFrame never panics and that what it
// accepts is consistent.
func FuzzParseFrame(f *testing.F) {
	our, owner, router := mac(ourMAC), mac(ownerMAC), mac(routerMAC)
	f.Add(repairARP(our, owner, vip4, router, routerIP).Frame)
	f.Add(arpProbe(our, vip4).Frame)
	f.Add(repairNA(our, owner, vip6, router, routerIP6).Frame)
	f.Add(dadNS(our, vip6).Frame)
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

package announce_test

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/announce/announcetest"
)

var (
	ourMAC    = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x01, 0x0a}
	peerMAC   = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	vip4      = netip.MustParseAddr("192.0.2.100")
	peer4     = netip.MustParseAddr("192.0.2.1")
	vip6      = netip.MustParseAddr("2001:db8::100")
	peer6     = netip.MustParseAddr("2001:db8::1")
	allNodes  = netip.MustParseAddr("ff02::1")
	zeroMAC   = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	allNodesE = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
)

// wantARP builds the frame with mdlayher/arp and mdlayher/ethernet.
func wantARP(t *testing.T, op arp.Operation, dst, tha net.HardwareAddr, spa, tpa netip.Addr) []byte {
	t.Helper()
	a := &arp.Packet{
		HardwareType: 1, ProtocolType: uint16(ethernet.EtherTypeIPv4),
		HardwareAddrLength: 6, IPLength: 4, Operation: op,
		SenderHardwareAddr: ourMAC, SenderIP: spa,
		TargetHardwareAddr: tha, TargetIP: tpa,
	}
	pb, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	f := &ethernet.Frame{Destination: dst, Source: ourMAC, EtherType: ethernet.EtherTypeARP, Payload: pb}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantND builds the frame with mdlayher/ndp (for the ICMPv6 message and its
// checksum), mdlayher/ethernet and a hand-written IPv6 header.
func wantND(t *testing.T, m ndp.Message, srcMAC, dst net.HardwareAddr, src, to netip.Addr) []byte {
	t.Helper()
	msg, err := ndp.MarshalMessageChecksum(m, src, to)
	if err != nil {
		t.Fatal(err)
	}
	ip := make([]byte, 40, 40+len(msg))
	ip[0] = 0x60
	ip[4], ip[5] = 0, byte(len(msg))
	ip[6], ip[7] = 58, 255
	s, d := src.As16(), to.As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	f := &ethernet.Frame{Destination: dst, Source: srcMAC, EtherType: ethernet.EtherTypeIPv6, Payload: append(ip, msg...)}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func na(target netip.Addr) *ndp.NeighborAdvertisement {
	return &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: ourMAC}},
	}
}

func TestBuilders(t *testing.T) {
	solicited := netip.MustParseAddr("ff02::1:ff00:1")
	tests := []struct {
		name  string
		build func() (announce.Packet, error)
		want  func(t *testing.T) []byte
		// wantPkt has the fields other than Frame.
		wantPkt announce.Packet
	}{
		{
			name: "gratuitous request",
			build: func() (announce.Packet, error) {
				req, _, err := announce.GratuitousARP(ourMAC, vip4)
				return req, err
			},
			want: func(t *testing.T) []byte {
				return wantARP(t, arp.OperationRequest, ethernet.Broadcast, zeroMAC, vip4, vip4)
			},
			wantPkt: announce.Packet{Kind: announce.KindGratuitousRequest, VIP: vip4, DstMAC: ethernet.Broadcast},
		},
		{
			name: "gratuitous reply",
			build: func() (announce.Packet, error) {
				_, rep, err := announce.GratuitousARP(ourMAC, vip4)
				return rep, err
			},
			want: func(t *testing.T) []byte {
				return wantARP(t, arp.OperationReply, ethernet.Broadcast, ourMAC, vip4, vip4)
			},
			wantPkt: announce.Packet{Kind: announce.KindGratuitousReply, VIP: vip4, DstMAC: ethernet.Broadcast},
		},
		{
			name:  "unsolicited NA",
			build: func() (announce.Packet, error) { return announce.UnsolicitedNA(ourMAC, vip6) },
			want: func(t *testing.T) []byte {
				return wantND(t, na(vip6), ourMAC, allNodesE, vip6, allNodes)
			},
			wantPkt: announce.Packet{Kind: announce.KindUnsolicitedNA, VIP: vip6, DstMAC: allNodesE},
		},
		{
			name: "directed request",
			build: func() (announce.Packet, error) {
				return announce.DirectedARPRequest(ourMAC, vip4, peerMAC, peer4)
			},
			want: func(t *testing.T) []byte {
				return wantARP(t, arp.OperationRequest, peerMAC, zeroMAC, vip4, peer4)
			},
			wantPkt: announce.Packet{Kind: announce.KindDirectedRequest, VIP: vip4, DstMAC: peerMAC, Target: peer4},
		},
		{
			name: "unicast reply",
			build: func() (announce.Packet, error) {
				return announce.UnicastARPReply(ourMAC, vip4, peerMAC, peer4)
			},
			want: func(t *testing.T) []byte {
				return wantARP(t, arp.OperationReply, peerMAC, peerMAC, vip4, peer4)
			},
			wantPkt: announce.Packet{Kind: announce.KindUnicastReply, VIP: vip4, DstMAC: peerMAC, Target: peer4},
		},
		{
			name: "unicast NA",
			build: func() (announce.Packet, error) {
				return announce.UnicastNA(ourMAC, vip6, peerMAC, peer6)
			},
			want: func(t *testing.T) []byte {
				return wantND(t, na(vip6), ourMAC, peerMAC, vip6, peer6)
			},
			wantPkt: announce.Packet{Kind: announce.KindUnicastNA, VIP: vip6, DstMAC: peerMAC, Target: peer6},
		},
		{
			name: "unicast NS",
			build: func() (announce.Packet, error) {
				return announce.NeighborSolicitation(ourMAC, vip6, peerMAC, peer6)
			},
			want: func(t *testing.T) []byte {
				ns := &ndp.NeighborSolicitation{
					TargetAddress: peer6,
					Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ourMAC}},
				}
				return wantND(t, ns, ourMAC, peerMAC, vip6, peer6)
			},
			wantPkt: announce.Packet{Kind: announce.KindNeighborSolicit, VIP: vip6, DstMAC: peerMAC, Target: peer6},
		},
		{
			name: "multicast NS",
			build: func() (announce.Packet, error) {
				return announce.NeighborSolicitation(ourMAC, vip6, nil, peer6)
			},
			want: func(t *testing.T) []byte {
				ns := &ndp.NeighborSolicitation{
					TargetAddress: peer6,
					Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ourMAC}},
				}
				return wantND(t, ns, ourMAC, net.HardwareAddr{0x33, 0x33, 0xff, 0, 0, 1}, vip6, solicited)
			},
			wantPkt: announce.Packet{Kind: announce.KindNeighborSolicit, VIP: vip6,
				DstMAC: net.HardwareAddr{0x33, 0x33, 0xff, 0, 0, 1}, Target: peer6},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.build()
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.want(t); !bytes.Equal(got.Frame, want) {
				t.Errorf("frame\n got %x\nwant %x", got.Frame, want)
			}
			if len(got.Frame) < 60 {
				t.Errorf("frame is %d bytes, want at least the 60-byte minimum", len(got.Frame))
			}
			checkPacket(t, got, tt.wantPkt)
			// An independent decoder agrees on what the frame is.
			parsed, err := announcetest.Parse(got.Frame)
			if err != nil {
				t.Fatal(err)
			}
			checkPacket(t, parsed, tt.wantPkt)
		})
	}
}

func checkPacket(t *testing.T, got, want announce.Packet) {
	t.Helper()
	if got.Kind != want.Kind || got.VIP != want.VIP || got.Target != want.Target ||
		!bytes.Equal(got.DstMAC, want.DstMAC) {
		t.Errorf("packet = {%s %s %s %s}, want {%s %s %s %s}",
			got.Kind, got.VIP, got.DstMAC, got.Target, want.Kind, want.VIP, want.DstMAC, want.Target)
	}
	if len(got.Frame) >= 6 && !bytes.Equal(got.DstMAC, got.Frame[:6]) {
		t.Errorf("DstMAC %s differs from the frame's destination %x", got.DstMAC, got.Frame[:6])
	}
}

// The NDP frames carry what RFC 4861 §7.2.6 and §7.1.2 require, checked
// byte by byte rather than through a library.
func TestNAFields(t *testing.T) {
	p, err := announce.UnsolicitedNA(ourMAC, vip6)
	if err != nil {
		t.Fatal(err)
	}
	f := p.Frame
	ip, icmp := f[14:54], f[54:]
	checks := []struct {
		name      string
		got, want any
	}{
		{"ethertype", [2]byte(f[12:14]), [2]byte{0x86, 0xdd}},
		{"eth src", net.HardwareAddr(f[6:12]).String(), ourMAC.String()},
		{"eth dst", net.HardwareAddr(f[0:6]).String(), "33:33:00:00:00:01"},
		{"ip version", ip[0] >> 4, byte(6)},
		{"next header", ip[6], byte(58)},
		{"hop limit", ip[7], byte(255)},
		{"payload length", int(ip[4])<<8 | int(ip[5]), 32},
		{"ip src", netip.AddrFrom16([16]byte(ip[8:24])), vip6},
		{"ip dst", netip.AddrFrom16([16]byte(ip[24:40])), allNodes},
		{"icmp type", icmp[0], byte(136)},
		{"icmp code", icmp[1], byte(0)},
		{"flags R|S|O", icmp[4], byte(0x20)},
		{"target", netip.AddrFrom16([16]byte(icmp[8:24])), vip6},
		{"option", [2]byte(icmp[24:26]), [2]byte{2, 1}},
		{"lladdr", net.HardwareAddr(icmp[26:32]).String(), ourMAC.String()},
		{"frame length", len(f), 86},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// The one's-complement sum over pseudo-header and message, checksum
	// included, is 0xffff for a correct checksum.
	var sum uint32
	for i := 8; i < 40; i += 2 {
		sum += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	sum += 32 + 58
	for i := 0; i < 32; i += 2 {
		sum += uint32(icmp[i])<<8 | uint32(icmp[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	if sum != 0xffff {
		t.Errorf("checksum does not verify: sum %#x", sum)
	}
}

func TestBuilderAddressForms(t *testing.T) {
	// An IPv4-mapped VIP is announced as IPv4; a zone is dropped.
	req, _, err := announce.GratuitousARP(ourMAC, netip.MustParseAddr("::ffff:192.0.2.100"))
	if err != nil {
		t.Fatal(err)
	}
	if req.VIP != vip4 {
		t.Errorf("VIP = %s, want %s", req.VIP, vip4)
	}
	ll := netip.MustParseAddr("fe80::1")
	p, err := announce.UnsolicitedNA(ourMAC, ll.WithZone("eth0"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := announce.UnsolicitedNA(ourMAC, ll)
	if err != nil {
		t.Fatal(err)
	}
	if p.VIP != ll || !bytes.Equal(p.Frame, want.Frame) {
		t.Errorf("zoned link-local VIP: got %s %x, want %s %x", p.VIP, p.Frame, ll, want.Frame)
	}
}

func TestBuilderErrors(t *testing.T) {
	multicastMAC := net.HardwareAddr{0x01, 0x00, 0x5e, 0, 0, 1}
	tests := []struct {
		name  string
		build func() error
		want  error
	}{
		{"nil source MAC", func() error { _, _, err := announce.GratuitousARP(nil, vip4); return err }, announce.ErrHardwareAddr},
		{"short source MAC", func() error { _, _, err := announce.GratuitousARP(ourMAC[:5], vip4); return err }, announce.ErrHardwareAddr},
		{"zero source MAC", func() error { _, err := announce.UnsolicitedNA(zeroMAC, vip6); return err }, announce.ErrHardwareAddr},
		{"multicast source MAC", func() error { _, err := announce.UnsolicitedNA(multicastMAC, vip6); return err }, announce.ErrHardwareAddr},
		{"zero destination MAC", func() error { _, err := announce.DirectedARPRequest(ourMAC, vip4, zeroMAC, peer4); return err }, announce.ErrHardwareAddr},
		{"long destination MAC", func() error {
			_, err := announce.UnicastNA(ourMAC, vip6, append(peerMAC, 0, 0), peer6)
			return err
		}, announce.ErrHardwareAddr},
		{"IPv6 VIP for ARP", func() error { _, _, err := announce.GratuitousARP(ourMAC, vip6); return err }, announce.ErrAddr},
		{"IPv4 VIP for NA", func() error { _, err := announce.UnsolicitedNA(ourMAC, vip4); return err }, announce.ErrAddr},
		{"mapped VIP for NA", func() error {
			_, err := announce.UnsolicitedNA(ourMAC, netip.MustParseAddr("::ffff:192.0.2.1"))
			return err
		}, announce.ErrAddr},
		{"zero VIP", func() error { _, _, err := announce.GratuitousARP(ourMAC, netip.Addr{}); return err }, announce.ErrAddr},
		{"unspecified VIP", func() error {
			_, _, err := announce.GratuitousARP(ourMAC, netip.IPv4Unspecified())
			return err
		}, announce.ErrAddr},
		{"broadcast VIP", func() error {
			_, _, err := announce.GratuitousARP(ourMAC, netip.MustParseAddr("255.255.255.255"))
			return err
		}, announce.ErrAddr},
		{"multicast VIP", func() error { _, err := announce.UnsolicitedNA(ourMAC, allNodes); return err }, announce.ErrAddr},
		{"loopback VIP", func() error { _, err := announce.UnsolicitedNA(ourMAC, netip.IPv6Loopback()); return err }, announce.ErrAddr},
		{"IPv6 target for ARP", func() error { _, err := announce.UnicastARPReply(ourMAC, vip4, peerMAC, peer6); return err }, announce.ErrAddr},
		{"zero target for NS", func() error {
			_, err := announce.NeighborSolicitation(ourMAC, vip6, peerMAC, netip.Addr{})
			return err
		}, announce.ErrAddr},
		{"one bad VIP fails Announcements", func() error {
			_, err := announce.Announcements(ourMAC, []netip.Addr{vip4, {}, vip6})
			return err
		}, announce.ErrAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.build()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got := err.Error(); len(got) < 10 || got[:10] != "announce: " {
				t.Errorf("error %q lacks the package prefix", got)
			}
		})
	}
}

func TestAnnouncements(t *testing.T) {
	vips := []netip.Addr{vip4, vip6, netip.MustParseAddr("198.51.100.7")}
	pkts, err := announce.Announcements(ourMAC, vips)
	if err != nil {
		t.Fatal(err)
	}
	var want []announce.Packet
	for _, v := range vips {
		if v.Is4() {
			req, rep, err := announce.GratuitousARP(ourMAC, v)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, req, rep)
			continue
		}
		p, err := announce.UnsolicitedNA(ourMAC, v)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	if len(pkts) != len(want) {
		t.Fatalf("%d packets, want %d", len(pkts), len(want))
	}
	for i := range pkts {
		checkPacket(t, pkts[i], want[i])
		if !bytes.Equal(pkts[i].Frame, want[i].Frame) {
			t.Errorf("packet %d frame differs from the single builder's", i)
		}
	}
	// Frames share a buffer but must not overlap: appending to one cannot
	// clobber the next.
	_ = append(pkts[0].Frame, 0xee)
	_ = append(pkts[0].DstMAC, 0xee)
	if !bytes.Equal(pkts[1].Frame, want[1].Frame) {
		t.Error("appending to one frame changed the next")
	}

	allocs := testing.AllocsPerRun(20, func() {
		if _, err := announce.Announcements(ourMAC, vips); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("Announcements: %v allocations, want at most 2", allocs)
	}
}

func TestKindString(t *testing.T) {
	want := map[announce.Kind]string{
		announce.KindGratuitousRequest: "gratuitous_request",
		announce.KindGratuitousReply:   "gratuitous_reply",
		announce.KindUnsolicitedNA:     "unsolicited_na",
		announce.KindDirectedRequest:   "directed_request",
		announce.KindUnicastReply:      "unicast_reply",
		announce.KindUnicastNA:         "unicast_na",
		announce.KindNeighborSolicit:   "neighbor_solicit",
		0:                              "Kind(0)",
		200:                            "Kind(200)",
	}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), k.String(), s)
		}
	}
	if n := len(announce.Kinds()); n != 7 {
		t.Errorf("Kinds() has %d kinds, want 7", n)
	}
}

// FuzzBuilders checks, for any addresses the builders accept, that the
// frames decode (with the mdlayher parsers) to what was asked for and that
// the NDP checksums equal those of mdlayher/ndp.
func FuzzBuilders(f *testing.F) {
	f.Add([]byte(ourMAC), []byte(peerMAC), vip4.AsSlice(), peer4.AsSlice())
	f.Add([]byte(ourMAC), []byte(peerMAC), vip6.AsSlice(), peer6.AsSlice())
	f.Add([]byte(ourMAC), []byte{}, netip.MustParseAddr("fe80::1").AsSlice(), peer6.AsSlice())
	f.Fuzz(func(t *testing.T, src, dst, vipb, targetb []byte) {
		vip, ok1 := netip.AddrFromSlice(vipb)
		target, ok2 := netip.AddrFromSlice(targetb)
		if !ok1 || !ok2 {
			return
		}
		var dstMAC net.HardwareAddr
		if len(dst) > 0 {
			dstMAC = dst
		}
		type built struct {
			p   announce.Packet
			err error
		}
		var all []built
		if req, rep, err := announce.GratuitousARP(src, vip); err == nil {
			all = append(all, built{req, nil}, built{rep, nil})
		}
		for _, b := range []func() (announce.Packet, error){
			func() (announce.Packet, error) { return announce.UnsolicitedNA(src, vip) },
			func() (announce.Packet, error) { return announce.DirectedARPRequest(src, vip, dstMAC, target) },
			func() (announce.Packet, error) { return announce.UnicastARPReply(src, vip, dstMAC, target) },
			func() (announce.Packet, error) { return announce.UnicastNA(src, vip, dstMAC, target) },
			func() (announce.Packet, error) { return announce.NeighborSolicitation(src, vip, dstMAC, target) },
		} {
			p, err := b()
			if err != nil {
				if !errors.Is(err, announce.ErrAddr) && !errors.Is(err, announce.ErrHardwareAddr) {
					t.Fatalf("untyped error %v", err)
				}
				continue
			}
			all = append(all, built{p, nil})
		}
		for _, b := range all {
			p := b.p
			got, err := announcetest.Parse(p.Frame)
			if err != nil {
				t.Fatalf("%s: %v", p.Kind, err)
			}
			if (p.Kind == announce.KindDirectedRequest || p.Kind == announce.KindUnicastReply) && p.Target == p.VIP {
				// Indistinguishable on the wire from the gratuitous form.
				continue
			}
			checkPacket(t, got, p)
			if !bytes.Equal(p.Frame[6:12], src) {
				t.Fatalf("%s: source MAC %x, want %x", p.Kind, p.Frame[6:12], src)
			}
			if p.Frame[12] == 0x86 {
				ip := p.Frame[14:54]
				from, to := netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
				m, err := ndp.ParseMessage(p.Frame[54:])
				if err != nil {
					t.Fatal(err)
				}
				want, err := ndp.MarshalMessageChecksum(m, from, to)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(want, p.Frame[54:]) {
					t.Fatalf("%s: ICMPv6\n got %x\nwant %x", p.Kind, p.Frame[54:], want)
				}
			}
		}
	})
}

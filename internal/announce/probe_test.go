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
	"golang.org/x/net/icmp"

	"github.com/vipd/vipd/internal/announce"
)

var (
	ownerMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}
	vmac4    = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 0x2a}
)

// parseARP splits an ARP frame with mdlayher's parsers.
func parseARP(t *testing.T, b []byte) (ethernet.Frame, arp.Packet) {
	t.Helper()
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	var a arp.Packet
	if err := a.UnmarshalBinary(f.Payload); err != nil {
		t.Fatal(err)
	}
	return f, a
}

// parseND returns the IPv6 header and the NDP message of b, after checking
// its ICMPv6 checksum with golang.org/x/net/icmp.
func parseND(t *testing.T, b []byte) ([]byte, ndp.Message) {
	t.Helper()
	ip := b[14:]
	src, dst := netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
	msg := ip[40:]
	m, err := icmp.ParseMessage(58, msg)
	if err != nil {
		t.Fatalf("icmp: %v", err)
	}
	want, err := m.Marshal(icmp.IPv6PseudoHeader(src.AsSlice(), dst.AsSlice()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msg, want) {
		t.Errorf("checksum %x, want %x", msg[2:4], want[2:4])
	}
	nm, err := ndp.ParseMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	return ip[:40], nm
}

// A virtual MAC sent from the node's port, or a repair for another owner:
// the Ethernet source and the hardware address in the packet differ.
func TestSrcSplit(t *testing.T) {
	s := announce.Src{Eth: ourMAC, HW: vmac4}
	req, rep, err := s.GratuitousARP(vip4)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []announce.Packet{req, rep} {
		f, a := parseARP(t, p.Frame)
		if !bytes.Equal(f.Source, ourMAC) || !bytes.Equal(a.SenderHardwareAddr, vmac4) || a.SenderIP != vip4 {
			t.Errorf("%s: ethernet source %v, sender %v %v", p.Kind, f.Source, a.SenderHardwareAddr, a.SenderIP)
		}
		if p.Kind == announce.KindGratuitousReply && !bytes.Equal(a.TargetHardwareAddr, vmac4) {
			t.Errorf("gratuitous reply's target hardware address %v, want the sender's", a.TargetHardwareAddr)
		}
	}
	rep2, err := s.UnicastARPReply(vip4, peerMAC, peer4)
	if err != nil {
		t.Fatal(err)
	}
	f, a := parseARP(t, rep2.Frame)
	if !bytes.Equal(f.Source, ourMAC) || !bytes.Equal(f.Destination, peerMAC) || a.Operation != arp.OperationReply ||
		!bytes.Equal(a.SenderHardwareAddr, vmac4) || !bytes.Equal(a.TargetHardwareAddr, peerMAC) || a.TargetIP != peer4 {
		t.Errorf("unicast reply %v → %v %+v", f.Source, f.Destination, a)
	}
	// Speaking for itself, a Src is the package-level builder.
	self, err := announce.From(ourMAC).UnicastARPReply(vip4, peerMAC, peer4)
	ref, err2 := announce.UnicastARPReply(ourMAC, vip4, peerMAC, peer4)
	if err != nil || err2 != nil || !bytes.Equal(self.Frame, ref.Frame) {
		t.Errorf("From(mac) differs from the function: %v %v", err, err2)
	}

	s.Router = true
	for _, build := range []func() (announce.Packet, error){
		func() (announce.Packet, error) { return s.UnsolicitedNA(vip6) },
		func() (announce.Packet, error) {
			pkts, err := s.Announcements([]netip.Addr{vip6})
			if err != nil {
				return announce.Packet{}, err
			}
			return pkts[0], nil
		},
	} {
		p, err := build()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Frame[6:12], ourMAC) {
			t.Errorf("ethernet source %x", p.Frame[6:12])
		}
		_, m := parseND(t, p.Frame)
		na, ok := m.(*ndp.NeighborAdvertisement)
		if !ok || !na.Router || !na.Override || na.Solicited {
			t.Fatalf("%+v", m)
		}
		if lla := na.Options[0].(*ndp.LinkLayerAddress); !bytes.Equal(lla.Addr, vmac4) {
			t.Errorf("target link-layer address %v, want %v", lla.Addr, vmac4)
		}
	}

	if _, _, err := (announce.Src{Eth: ourMAC}).GratuitousARP(vip4); !errors.Is(err, announce.ErrHardwareAddr) {
		t.Errorf("no sender hardware address: %v", err)
	}
	if _, err := (announce.Src{Eth: ourMAC, HW: allNodesE}).UnsolicitedNA(vip6); !errors.Is(err, announce.ErrHardwareAddr) {
		t.Errorf("multicast sender hardware address: %v", err)
	}
}

func TestARPProbe(t *testing.T) {
	p, err := announce.From(ourMAC).ARPProbe(vip4)
	if err != nil {
		t.Fatal(err)
	}
	f, a := parseARP(t, p.Frame)
	if !bytes.Equal(f.Destination, ethernet.Broadcast) || !bytes.Equal(f.Source, ourMAC) {
		t.Errorf("ethernet %v → %v", f.Source, f.Destination)
	}
	if a.Operation != arp.OperationRequest || !bytes.Equal(a.SenderHardwareAddr, ourMAC) || !a.SenderIP.IsUnspecified() ||
		!bytes.Equal(a.TargetHardwareAddr, zeroMAC) || a.TargetIP != vip4 {
		t.Errorf("arp %+v", a)
	}
	if p.Kind != announce.KindDirectedRequest || p.VIP != vip4 || p.Target != vip4 || len(p.Frame) != 60 {
		t.Errorf("packet %+v", p)
	}
	if _, err := announce.From(ourMAC).ARPProbe(vip6); !errors.Is(err, announce.ErrAddr) {
		t.Errorf("IPv6 VIP: %v", err)
	}
}

func TestDADProbe(t *testing.T) {
	p, err := announce.From(ourMAC).DADProbe(vip6)
	if err != nil {
		t.Fatal(err)
	}
	wantDst := netip.MustParseAddr("ff02::1:ff00:100")
	if !bytes.Equal(p.Frame[0:6], net.HardwareAddr{0x33, 0x33, 0xff, 0x00, 0x01, 0x00}) || !bytes.Equal(p.Frame[6:12], ourMAC) {
		t.Errorf("ethernet %x", p.Frame[:14])
	}
	ip, m := parseND(t, p.Frame)
	if ip[7] != 255 || !netip.AddrFrom16([16]byte(ip[8:24])).IsUnspecified() || netip.AddrFrom16([16]byte(ip[24:40])) != wantDst {
		t.Errorf("ipv6 header %x", ip)
	}
	ns, ok := m.(*ndp.NeighborSolicitation)
	if !ok || ns.TargetAddress != vip6 || len(ns.Options) != 0 {
		t.Errorf("ns %+v", m)
	}
	if p.Kind != announce.KindNeighborSolicit || p.Target != vip6 || p.VIP != vip6 {
		t.Errorf("packet %+v", p)
	}
	if _, err := announce.From(ourMAC).DADProbe(vip4); !errors.Is(err, announce.ErrAddr) {
		t.Errorf("IPv4 VIP: %v", err)
	}
}

func TestRepairNA(t *testing.T) {
	for _, tt := range []struct {
		name      string
		dst       netip.Addr
		solicited bool
	}{
		{"to the upstream", peer6, true},
		{"to all nodes", allNodes, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := announce.Src{Eth: ourMAC, HW: ownerMAC}.RepairNA(vip6, peerMAC, tt.dst)
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != announce.KindUnicastNA || p.VIP != vip6 || p.Target != tt.dst || !bytes.Equal(p.DstMAC, peerMAC) {
				t.Errorf("packet %+v", p)
			}
			if !bytes.Equal(p.Frame[0:6], peerMAC) || !bytes.Equal(p.Frame[6:12], ourMAC) {
				t.Errorf("ethernet %x", p.Frame[:14])
			}
			ip, m := parseND(t, p.Frame)
			if ip[7] != 255 || netip.AddrFrom16([16]byte(ip[8:24])) != vip6 || netip.AddrFrom16([16]byte(ip[24:40])) != tt.dst {
				t.Errorf("ipv6 header %x", ip)
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
		})
	}
	if _, err := announce.From(ourMAC).RepairNA(vip6, nil, peer6); !errors.Is(err, announce.ErrHardwareAddr) {
		t.Errorf("no destination MAC: %v", err)
	}
}

// Schedule.Router reaches the frames the pacer writes (na_router).
func TestPacerRouterFlag(t *testing.T) {
	for _, router := range []bool{false, true} {
		r := newRig(t, 1000, 10)
		rec := r.recorder()
		r.p.Announce("web", rec, ourMAC, []netip.Addr{vip6}, announce.Schedule{Count: 1, Router: router})
		r.runIdle()
		sent := rec.Sent()
		if len(sent) != 1 {
			t.Fatalf("router %v: %d frames, want 1", router, len(sent))
		}
		_, m := parseND(t, sent[0].Frame)
		if na, ok := m.(*ndp.NeighborAdvertisement); !ok || na.Router != router || !na.Override {
			t.Errorf("router %v: %+v", router, m)
		}
	}
}

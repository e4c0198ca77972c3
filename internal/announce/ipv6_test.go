package announce_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/mdlayher/ndp"
	"github.com/vipd/vipd/internal/announce"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

// ICMPv6Checksum against golang.org/x/net/icmp, which computes the same
// checksum when it marshals a message with an IPv6 pseudo-header.
func TestICMPv6Checksum(t *testing.T) {
	tests := []struct {
		name     string
		src, dst netip.Addr
		typ      ipv6.ICMPType
		data     []byte
	}{
		{"NA to all-nodes", vip6, allNodes, ipv6.ICMPTypeNeighborAdvertisement,
			[]byte{0x20, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 2, 1, 2, 0, 0x5e, 0, 1, 10}},
		{"DAD NS from ::", netip.IPv6Unspecified(), netip.MustParseAddr("ff02::1:ff00:100"), ipv6.ICMPTypeNeighborSolicitation,
			[]byte{0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0}},
		{"odd length, carries", netip.MustParseAddr("ffff:ffff::ffff"), netip.MustParseAddr("2001:db8:ffff::ffff"),
			ipv6.ICMPTypeEchoRequest, bytes.Repeat([]byte{0xff}, 33)},
		{"empty body", peer6, vip6, ipv6.ICMPTypeEchoReply, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := (&icmp.Message{Type: tt.typ, Body: &icmp.RawBody{Data: tt.data}}).
				Marshal(icmp.IPv6PseudoHeader(net.IP(tt.src.AsSlice()), net.IP(tt.dst.AsSlice())))
			if err != nil {
				t.Fatal(err)
			}
			msg := bytes.Clone(want)
			msg[2], msg[3] = 0, 0
			if got, w := announce.ICMPv6Checksum(tt.src.As16(), tt.dst.As16(), msg), binary.BigEndian.Uint16(want[2:4]); got != w {
				t.Errorf("ICMPv6Checksum = %#04x, x/net/icmp says %#04x", got, w)
			}
		})
	}
}

func TestSolicitedNodeAndMulticastMAC(t *testing.T) {
	tests := []struct {
		a       netip.Addr
		wantMAC net.HardwareAddr
	}{
		{vip6, net.HardwareAddr{0x33, 0x33, 0xff, 0x00, 0x01, 0x00}},
		{netip.MustParseAddr("fe80::2aa:ff:fe28:9c5a"), net.HardwareAddr{0x33, 0x33, 0xff, 0x28, 0x9c, 0x5a}},
		{netip.MustParseAddr("2001:db8::abcd:ef12"), net.HardwareAddr{0x33, 0x33, 0xff, 0xcd, 0xef, 0x12}},
	}
	for _, tt := range tests {
		want, err := ndp.SolicitedNodeMulticast(tt.a)
		if err != nil {
			t.Fatal(err)
		}
		got := announce.SolicitedNode(tt.a)
		if got != want {
			t.Errorf("SolicitedNode(%v) = %v, ndp says %v", tt.a, got, want)
		}
		if mac := announce.MulticastMAC(got); !bytes.Equal(mac, tt.wantMAC) {
			t.Errorf("MulticastMAC(%v) = %v, want %v", got, mac, tt.wantMAC)
		}
	}
	if mac := announce.MulticastMAC(allNodes); !bytes.Equal(mac, allNodesE) {
		t.Errorf("MulticastMAC(ff02::1) = %v, want %v", mac, allNodesE)
	}
}

package labnet

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
)

const etherTypeARP = 0x0806

var ethernetBroadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// GratuitousARP sends, for each of vips, count gratuitous ARP packets
// (sender IP = target IP = the VIP, sender MAC = the host's) from the host's
// LAN interface to the Ethernet broadcast address: the request form of
// RFC 5227 section 2.3 (target MAC zero) or, with reply, the reply form of
// RFC 2002 section 4.6 (target MAC = sender MAC). The addresses need not be
// on the interface.
//
// Linux treats a reply as gratuitous only in that shape: a reply whose target
// MAC is broadcast, as Debian's arping -U -P (Thomas Habets' arping) sends
// it, only updates a neighbour entry older than locktime (1 s by default).
func (h *Host) GratuitousARP(reply bool, count int, vips ...netip.Addr) error {
	op, tha := arp.OperationRequest, net.HardwareAddr{0, 0, 0, 0, 0, 0}
	if reply {
		op, tha = arp.OperationReply, h.MAC
	}
	frames := make([][]byte, 0, len(vips))
	for _, v := range vips {
		if !v.Is4() {
			return fmt.Errorf("labnet: gratuitous ARP for %v: not IPv4", v)
		}
		p, err := arp.NewPacket(op, h.MAC, v, tha, v)
		if err != nil {
			return fmt.Errorf("labnet: gratuitous ARP for %v: %w", v, err)
		}
		b, err := p.MarshalBinary()
		if err != nil {
			return fmt.Errorf("labnet: gratuitous ARP for %v: %w", v, err)
		}
		frames = append(frames, b)
	}
	var c *packet.Conn
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.Iface)
		if err != nil {
			return err
		}
		// A datagram socket: the kernel adds the Ethernet header.
		c, err = packet.Listen(ifi, packet.Datagram, etherTypeARP, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("labnet: packet socket in %s: %w", h.Name, err)
	}
	defer c.Close()
	to := &packet.Addr{HardwareAddr: ethernetBroadcast}
	for range max(count, 1) {
		for i, f := range frames {
			if _, err := c.WriteTo(f, to); err != nil {
				return fmt.Errorf("labnet: send gratuitous ARP for %v from %s: %w", vips[i], h.Name, err)
			}
		}
	}
	return nil
}

// UnsolicitedNA sends, for each of vips, count unsolicited Neighbor
// Advertisements (Solicited clear, target link-layer address = the host's
// MAC) to ff02::1 from the host's LAN interface. The addresses need not be
// on the interface.
func (h *Host) UnsolicitedNA(override bool, count int, vips ...netip.Addr) error {
	for _, v := range vips {
		if !v.Is6() || v.Is4In6() {
			return fmt.Errorf("labnet: neighbor advertisement for %v: not IPv6", v)
		}
	}
	// Everything inside the namespace: Go resolves the "%eth0" zone of each
	// destination by name at write time, on the calling thread.
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.Iface)
		if err != nil {
			return err
		}
		c, _, err := ndp.Listen(ifi, ndp.LinkLocal)
		if err != nil {
			return err
		}
		defer c.Close()
		for range max(count, 1) {
			for _, v := range vips {
				na := &ndp.NeighborAdvertisement{
					Override:      override,
					TargetAddress: v,
					Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: h.MAC}},
				}
				if err := c.WriteTo(na, nil, netip.IPv6LinkLocalAllNodes()); err != nil {
					return fmt.Errorf("%v: %w", v, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("labnet: send neighbor advertisement from %s: %w", h.Name, err)
	}
	return nil
}

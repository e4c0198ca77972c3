package labnet

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ndp"
)

// GratuitousARP sends count gratuitous ARP packets for vip (sender IP =
// target IP = vip, sender MAC = the host's) from the host's LAN interface to
// the Ethernet broadcast address: the request form of RFC 5227 section 2.3
// (target MAC zero) or, with reply, the reply form of RFC 2002 section 4.6
// (target MAC = sender MAC). The address need not be on the interface.
//
// Linux treats a reply as gratuitous only in that shape: a reply whose target
// MAC is broadcast, as Debian's arping -U -P (Thomas Habets' arping) sends
// it, only updates a neighbour entry older than locktime (1 s by default).
func (h *Host) GratuitousARP(vip netip.Addr, reply bool, count int) error {
	if !vip.Is4() {
		return fmt.Errorf("labnet: gratuitous ARP for %v: not IPv4", vip)
	}
	var c *arp.Client
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.Iface)
		if err != nil {
			return err
		}
		c, err = arp.Dial(ifi)
		return err
	})
	if err != nil {
		return fmt.Errorf("labnet: arp in %s: %w", h.Name, err)
	}
	defer c.Close()
	op, tha := arp.OperationRequest, net.HardwareAddr{0, 0, 0, 0, 0, 0}
	if reply {
		op, tha = arp.OperationReply, h.MAC
	}
	p, err := arp.NewPacket(op, h.MAC, vip, tha, vip)
	if err != nil {
		return fmt.Errorf("labnet: gratuitous ARP for %v: %w", vip, err)
	}
	for range max(count, 1) {
		if err := c.WriteTo(p, ethernetBroadcast); err != nil {
			return fmt.Errorf("labnet: send gratuitous ARP from %s: %w", h.Name, err)
		}
	}
	return nil
}

var ethernetBroadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// UnsolicitedNA sends count unsolicited Neighbor Advertisements for vip
// (Solicited clear, target link-layer address = the host's MAC) to
// ff02::1 from the host's LAN interface. The address need not be on the
// interface.
func (h *Host) UnsolicitedNA(vip netip.Addr, override bool, count int) error {
	if !vip.Is6() || vip.Is4In6() {
		return fmt.Errorf("labnet: neighbor advertisement for %v: not IPv6", vip)
	}
	// Everything inside the namespace: Go resolves the "%eth0" zone of
	// each destination by name at write time, on the calling thread.
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
		na := &ndp.NeighborAdvertisement{
			Override:      override,
			TargetAddress: vip,
			Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: h.MAC}},
		}
		for range max(count, 1) {
			if err := c.WriteTo(na, nil, netip.IPv6LinkLocalAllNodes()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("labnet: send neighbor advertisement from %s: %w", h.Name, err)
	}
	return nil
}

package verify

import (
	"net"
	"net/netip"

	"github.com/vipd/vipd/internal/announce"
)

var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// stepPackets returns the frames of one rung for vip towards target, from
// our mac. targetMAC may be nil (not in the neighbour table yet): the
// directed request then goes to the broadcast address (still a request for
// the target's own address, which is what makes the target learn), the
// Neighbor Solicitation to the target's solicited-node group, and the
// unicast rung has nothing to send (nil, nil).
func stepPackets(s Step, mac net.HardwareAddr, vip, target netip.Addr, targetMAC net.HardwareAddr) ([]announce.Packet, error) {
	v6 := vip.Is6() && !vip.Is4In6()
	switch {
	case s == StepGratuitous && v6:
		na, err := announce.UnsolicitedNA(mac, vip)
		if err != nil {
			return nil, err
		}
		return []announce.Packet{na}, nil
	case s == StepGratuitous:
		req, rep, err := announce.GratuitousARP(mac, vip)
		if err != nil {
			return nil, err
		}
		return []announce.Packet{req, rep}, nil
	case s == StepDirected && v6:
		ns, err := announce.NeighborSolicitation(mac, vip, targetMAC, target)
		if err != nil {
			return nil, err
		}
		return []announce.Packet{ns}, nil
	case s == StepDirected:
		dst := targetMAC
		if dst == nil {
			dst = broadcastMAC
		}
		req, err := announce.DirectedARPRequest(mac, vip, dst, target)
		if err != nil {
			return nil, err
		}
		return []announce.Packet{req}, nil
	case s == StepUnicast && targetMAC == nil:
		return nil, nil
	case s == StepUnicast && v6:
		// Solicited set (RepairNA): a Linux upstream then marks the entry
		// REACHABLE, as IPv4's unicast reply does; without it the entry
		// stays STALE and is probed again, through a policer if any.
		na, err := announce.From(mac).RepairNA(vip, targetMAC, target)
		if err != nil {
			return nil, err
		}
		return []announce.Packet{na}, nil
	case s == StepUnicast:
		rep, err := announce.UnicastARPReply(mac, vip, targetMAC, target)
		if err != nil {
			return nil, err
		}
		return []announce.Packet{rep}, nil
	}
	return nil, nil
}

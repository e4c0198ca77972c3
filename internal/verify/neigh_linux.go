//go:build linux

package verify

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// ErrNoNeighbor: the neighbour table has no usable entry for the address.
var ErrNoNeighbor = errors.New("no neighbour entry")

// NetlinkNeighbors reads the kernel's neighbour table over netlink, in the
// network namespace of the calling thread.
type NetlinkNeighbors struct{}

// Lookup implements Neighbors. Entries that are incomplete or failed, and
// entries without a 6-byte MAC, do not count.
func (NetlinkNeighbors) Lookup(ifindex int, a netip.Addr) (net.HardwareAddr, error) {
	a = a.Unmap().WithZone("")
	family := netlink.FAMILY_V4
	if a.Is6() {
		family = netlink.FAMILY_V6
	}
	ns, err := netlink.NeighList(ifindex, family)
	if err != nil {
		return nil, fmt.Errorf("verify: neighbour table: %w", err)
	}
	for _, n := range ns {
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok || ip.Unmap() != a || len(n.HardwareAddr) != 6 {
			continue
		}
		if n.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) != 0 || n.State == netlink.NUD_NONE {
			continue
		}
		return append(net.HardwareAddr(nil), n.HardwareAddr...), nil
	}
	return nil, fmt.Errorf("verify: %v on interface %d: %w", a, ifindex, ErrNoNeighbor)
}

var _ Neighbors = NetlinkNeighbors{}

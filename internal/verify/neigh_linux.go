//go:build linux

package verify

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoNeighbor: the neighbour table has no usable entry for the address.
var ErrNoNeighbor = errors.New("no neighbour entry")

// NetlinkNeighbors reads the kernel's neighbour table over netlink. The
// zero value asks in the network namespace of whichever thread calls
// Lookup; one from OpenNeighbors keeps the namespace it was opened in.
type NetlinkNeighbors struct {
	h *netlink.Handle
}

// OpenNeighbors opens a netlink socket in the calling thread's network
// namespace. Close it when done.
func OpenNeighbors() (*NetlinkNeighbors, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("verify: open netlink: %w", err)
	}
	return &NetlinkNeighbors{h: h}, nil
}

// Close closes the socket of an opened NetlinkNeighbors.
func (n *NetlinkNeighbors) Close() {
	if n.h != nil {
		n.h.Close()
	}
}

// Lookup implements Neighbors. Entries that are incomplete or failed, and
// entries without a 6-byte MAC, do not count.
func (n *NetlinkNeighbors) Lookup(ifindex int, a netip.Addr) (net.HardwareAddr, error) {
	a = a.Unmap().WithZone("")
	family := netlink.FAMILY_V4
	if a.Is6() {
		family = netlink.FAMILY_V6
	}
	var ns []netlink.Neigh
	err := retryDump(func() (err error) {
		if n.h != nil {
			ns, err = n.h.NeighList(ifindex, family)
		} else {
			ns, err = netlink.NeighList(ifindex, family)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("verify: neighbour table: %w", err)
	}
	for _, e := range ns {
		ip, ok := netip.AddrFromSlice(e.IP)
		if !ok || ip.Unmap() != a || len(e.HardwareAddr) != 6 {
			continue
		}
		if e.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) != 0 || e.State == netlink.NUD_NONE {
			continue
		}
		return append(net.HardwareAddr(nil), e.HardwareAddr...), nil
	}
	return nil, fmt.Errorf("verify: %v on interface %d: %w", a, ifindex, ErrNoNeighbor)
}

var _ Neighbors = (*NetlinkNeighbors)(nil)

package transport

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// PrimaryAddr returns the address VRRP packets on ifi are sent from: for
// IPv4 the interface's primary address, skipping any address in exclude (pass
// the VIPs, so that a VIP is never picked even if it is listed first); for
// IPv6 its link-local address (without zone). The rules are those of
// pickPrimary. It reads the addresses over netlink in the network namespace
// of the calling thread and returns an error wrapping ErrNoAddress when none
// fits.
func PrimaryAddr(ifi *net.Interface, ipv6 bool, exclude ...netip.Addr) (netip.Addr, error) {
	fam := netlink.FAMILY_V4
	if ipv6 {
		fam = netlink.FAMILY_V6
	}
	link := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: ifi.Index, Name: ifi.Name}}
	list, err := netlink.AddrList(link, fam)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("transport: list addresses of %s: %w", ifi.Name, err)
	}
	addrs := make([]ifAddr, 0, len(list))
	for _, a := range list {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		addrs = append(addrs, ifAddr{
			addr:       ip.Unmap(),
			secondary:  !ipv6 && a.Flags&unix.IFA_F_SECONDARY != 0,
			tentative:  ipv6 && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0,
			deprecated: ipv6 && a.Flags&unix.IFA_F_DEPRECATED != 0,
		})
	}
	if a, ok := pickPrimary(addrs, ipv6, exclude); ok {
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("transport: %s address of %s: %w", family(ipv6), ifi.Name, ErrNoAddress)
}

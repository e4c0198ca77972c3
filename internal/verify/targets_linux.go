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

// Targets returns the devices on interface ifindex that must learn that
// the VIPs moved here: the gateways the routing table gives inside the VIPs'
// prefixes, and the configured ones (see SelectTargets). Routes of every
// table count, multipath next hops included.
func Targets(ifindex int, vips []netip.Prefix, configured []netip.Addr) ([]netip.Addr, error) {
	routes, err := linkRoutes(ifindex)
	if err != nil {
		return nil, err
	}
	return SelectTargets(routes, vips, configured)
}

// CheckTargets returns an error wrapping ErrTargetNotOnLink for the first
// configured target without an on-link route on interface ifindex.
func CheckTargets(ifindex int, configured []netip.Addr) error {
	routes, err := linkRoutes(ifindex)
	if err != nil {
		return err
	}
	for _, a := range configured {
		if err := CheckTarget(routes, a); err != nil {
			return err
		}
	}
	return nil
}

// linkRoutes lists the unicast routes of every table that leave through
// ifindex.
func linkRoutes(ifindex int) ([]Route, error) {
	filter := &netlink.Route{Table: unix.RT_TABLE_UNSPEC, Type: unix.RTN_UNICAST}
	var rs []netlink.Route
	err := retryDump(func() (err error) {
		rs, err = netlink.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_TYPE)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("verify: list routes: %w", err)
	}
	var out []Route
	for _, r := range rs {
		dst := prefixOf(r.Dst, r.Family)
		if len(r.MultiPath) == 0 {
			if r.LinkIndex == ifindex {
				out = append(out, Route{Dst: dst, Gateway: addrOf(r.Gw)})
			}
			continue
		}
		for _, nh := range r.MultiPath {
			if nh.LinkIndex == ifindex {
				out = append(out, Route{Dst: dst, Gateway: addrOf(nh.Gw)})
			}
		}
	}
	return out, nil
}

// prefixOf converts a route destination; nil is the default route of the
// family.
func prefixOf(n *net.IPNet, family int) netip.Prefix {
	if n == nil {
		if family == unix.AF_INET6 {
			return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}
	}
	ones, _ := n.Mask.Size()
	a = a.Unmap()
	if a.Is4() && ones > 32 {
		ones -= 96
	}
	return netip.PrefixFrom(a, ones)
}

// retryDump runs a netlink dump again when a concurrent change
// interrupted it.
func retryDump(f func() error) error {
	var err error
	for range 5 {
		if err = f(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return err
		}
	}
	return err
}

func addrOf(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

package vmac

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNotOurs: a link of the name exists and is not a macvlan of the parent
// with the virtual MAC. vipd does not touch it.
var ErrNotOurs = errors.New("exists and is not vipd's virtual MAC interface")

// Ensure returns the index of the macvlan of s, creating it (down, with
// its sysctls, and for IPv6 the parent's link-local address) if it is
// missing. A link of that name that is something else is ErrNotOurs.
// It works in the network namespace of the calling thread.
func Ensure(s Spec) (int, error) {
	lk, err := netlink.LinkByName(s.Name)
	switch {
	case err == nil:
		if err := check(s, lk); err != nil {
			return 0, err
		}
		return lk.Attrs().Index, nil
	case !isNotFound(err):
		return 0, fmt.Errorf("vmac: look up %s: %w", s.Name, err)
	}
	mv := &netlink.Macvlan{
		LinkAttrs: netlink.LinkAttrs{Name: s.Name, ParentIndex: s.Parent, HardwareAddr: s.MAC},
		Mode:      netlink.MACVLAN_MODE_BRIDGE,
	}
	if err := netlink.LinkAdd(mv); err != nil {
		return 0, fmt.Errorf("vmac: create %s: %w", s, err)
	}
	lk, err = netlink.LinkByName(s.Name)
	if err == nil {
		err = prepareLink(s)
	}
	if err == nil && s.IPv6 {
		err = copyLinkLocal(s, lk)
	}
	if err != nil {
		if lk != nil {
			_ = netlink.LinkDel(lk)
		}
		return 0, fmt.Errorf("vmac: create %s: %w", s, err)
	}
	return lk.Attrs().Index, nil
}

// copyLinkLocal gives the macvlan the parent's IPv6 link-local address.
func copyLinkLocal(s Spec, lk netlink.Link) error {
	parent, err := netlink.LinkByIndex(s.Parent)
	if err != nil {
		return fmt.Errorf("parent %s: %w", s.ParentName, err)
	}
	addrs, err := netlink.AddrList(parent, netlink.FAMILY_V6)
	if err != nil {
		return fmt.Errorf("addresses of %s: %w", s.ParentName, err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.IsLinkLocalUnicast() {
			ll := &netlink.Addr{IPNet: &net.IPNet{IP: a.IP, Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD}
			if err := netlink.AddrAdd(lk, ll); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("add %s: %w", ip, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%s has no IPv6 link-local address", s.ParentName)
}

// check accepts lk as the macvlan of s.
func check(s Spec, lk netlink.Link) error {
	mv, ok := lk.(*netlink.Macvlan)
	a := lk.Attrs()
	if !ok || a.ParentIndex != s.Parent || a.HardwareAddr.String() != s.MAC.String() {
		return fmt.Errorf("vmac: %s (%s, MAC %s) %w: remove or rename it (ip link del %s)", s.Name, lk.Type(), a.HardwareAddr, ErrNotOurs, s.Name)
	}
	if mv.Mode != netlink.MACVLAN_MODE_BRIDGE {
		return fmt.Errorf("vmac: %s is a macvlan in mode %d, not bridge: %w", s.Name, mv.Mode, ErrNotOurs)
	}
	return nil
}

// SetUp brings the macvlan of s up or down, if it is ours.
func SetUp(s Spec, up bool) error {
	lk, err := netlink.LinkByName(s.Name)
	if err != nil {
		return fmt.Errorf("vmac: set %s up=%v: %w", s.Name, up, err)
	}
	if err := check(s, lk); err != nil {
		return err
	}
	if up {
		err = netlink.LinkSetUp(lk)
	} else {
		err = netlink.LinkSetDown(lk)
	}
	if err != nil {
		return fmt.Errorf("vmac: set %s up=%v: %w", s.Name, up, err)
	}
	return nil
}

// Delete removes the macvlan of s if it is ours; a missing one is fine.
func Delete(s Spec) error {
	lk, err := netlink.LinkByName(s.Name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vmac: delete %s: %w", s.Name, err)
	}
	if err := check(s, lk); err != nil {
		return err
	}
	if err := netlink.LinkDel(lk); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("vmac: delete %s: %w", s.Name, err)
	}
	return nil
}

// Leftovers returns the virtual MAC interfaces in this namespace: macvlans
// named as Name names them with the MAC MAC gives that name. Only vipd
// creates those; at start none is in use.
func Leftovers() ([]Spec, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("vmac: list links: %w", err)
	}
	var out []Spec
	for _, lk := range links {
		a := lk.Attrs()
		vrid, v6, ok := ParseName(a.Name)
		if _, mv := lk.(*netlink.Macvlan); !ok || !mv || a.HardwareAddr.String() != MAC(vrid, v6).String() {
			continue
		}
		out = append(out, Spec{Name: a.Name, MAC: MAC(vrid, v6), Parent: a.ParentIndex, IPv6: v6})
	}
	return out, nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

package vipaddr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Netlink implements Addresses with rtnetlink.
type Netlink struct {
	mu sync.Mutex // serializes requests on h: one request in flight
	h  *netlink.Handle
}

var _ Addresses = (*Netlink)(nil)

// NewNetlink opens a netlink socket in the network namespace of the calling
// thread; all later requests act on that namespace, whichever thread makes
// them. Close releases the socket.
func NewNetlink() (*Netlink, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("vipaddr: open netlink socket: %w", err)
	}
	// A request the kernel never answers must not hang the daemon.
	if err := h.SetSocketTimeout(10 * time.Second); err != nil {
		h.Close()
		return nil, fmt.Errorf("vipaddr: set netlink socket timeout: %w", err)
	}
	return &Netlink{h: h}, nil
}

// Close closes the netlink socket.
func (n *Netlink) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.h.Close()
	return nil
}

// nlAddr builds the request for one VIP. The link is given by index only, so
// the library does no link lookup.
func nlAddr(ifindex int, p netip.Prefix) *netlink.Addr {
	a := &netlink.Addr{
		IPNet:     &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())},
		LinkIndex: ifindex,
	}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

// ifname names the interface in errors. It is looked up only when an error
// is being reported, never on the fast path.
func (n *Netlink) ifname(ifindex int) string {
	if l, err := n.h.LinkByIndex(ifindex); err == nil {
		return l.Attrs().Name
	}
	return "ifindex " + strconv.Itoa(ifindex)
}

// Add implements Addresses.
func (n *Netlink) Add(ctx context.Context, ifindex int, vips []netip.Prefix) error {
	if err := CheckPrefixes(vips); err != nil {
		return fmt.Errorf("vipaddr: add: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	added := make([]netip.Prefix, 0, len(vips))
	for _, p := range vips {
		err := ctx.Err()
		if err == nil {
			err = n.h.AddrAdd(nil, nlAddr(ifindex, p))
			if errors.Is(err, unix.EEXIST) {
				continue // already there, and not ours to roll back
			}
		}
		if err != nil {
			if p.Addr().Is6() && errors.Is(err, unix.EACCES) {
				// The kernel's answer when net.ipv6.conf.<if>.disable_ipv6
				// is set: not a missing privilege, so do not let it read
				// as one.
				err = fmt.Errorf("%w (%v)", ErrIPv6Disabled, err)
			}
			err = opError("add", p, n.ifname(ifindex), err)
			return errors.Join(err, n.rollback(ifindex, added))
		}
		added = append(added, p)
	}
	return nil
}

// rollback removes what a failed Add added, newest first, so that an added
// primary outlives the secondaries added after it.
func (n *Netlink) rollback(ifindex int, added []netip.Prefix) error {
	var errs []error
	for _, p := range slices.Backward(added) {
		if err := n.del(ifindex, p); err != nil {
			errs = append(errs, opError("roll back", p, n.ifname(ifindex), err))
		}
	}
	return errors.Join(errs...)
}

func (n *Netlink) del(ifindex int, p netip.Prefix) error {
	err := n.h.AddrDel(nil, nlAddr(ifindex, p))
	if errors.Is(err, unix.EADDRNOTAVAIL) {
		return nil
	}
	return err
}

// Remove implements Addresses. It does not stop early on errors or on ctx:
// a VIP left behind on a router that gave up mastership is worse than a slow
// call.
func (n *Netlink) Remove(ctx context.Context, ifindex int, vips []netip.Prefix) error {
	if err := CheckPrefixes(vips); err != nil {
		return fmt.Errorf("vipaddr: remove: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var secondary map[netip.Prefix]bool
	if countIPv4(vips) > 1 {
		// Best effort: without the flags the order is just reversed.
		secondary, _ = n.secondaries(ifindex)
	}
	var errs []error
	for _, p := range removeOrder(vips, secondary) {
		if err := n.del(ifindex, p); err != nil {
			errs = append(errs, opError("remove", p, n.ifname(ifindex), err))
		}
	}
	return errors.Join(errs...)
}

// secondaries returns the interface's IPv4 addresses that the kernel marks
// IFA_F_SECONDARY.
func (n *Netlink) secondaries(ifindex int) (map[netip.Prefix]bool, error) {
	list, err := n.list(ifindex, netlink.FAMILY_V4)
	if err != nil {
		return nil, err
	}
	sec := make(map[netip.Prefix]bool)
	for _, a := range list {
		if p, ok := prefixOf(a); ok && a.Flags&unix.IFA_F_SECONDARY != 0 {
			sec[p] = true
		}
	}
	return sec, nil
}

// list dumps the interface's addresses of one family (or FAMILY_ALL).
func (n *Netlink) list(ifindex, family int) ([]netlink.Addr, error) {
	var (
		list []netlink.Addr
		err  error
	)
	link := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: ifindex}}
	// A dump that raced with a change is marked interrupted: take another.
	for range 3 {
		list, err = n.h.AddrList(link, family)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return list, err
}

func prefixOf(a netlink.Addr) (netip.Prefix, bool) {
	if a.IPNet == nil {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := a.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), bits), true
}

// Present implements Addresses with one address dump.
func (n *Netlink) Present(ctx context.Context, ifindex int, vips []netip.Prefix) ([]netip.Prefix, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	list, err := n.list(ifindex, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("vipaddr: list addresses on %s: %w", n.ifname(ifindex), err)
	}
	have := make(map[netip.Prefix]bool, len(list))
	for _, a := range list {
		if p, ok := prefixOf(a); ok {
			have[p] = true
		}
	}
	var present []netip.Prefix
	for _, p := range vips {
		if have[p] {
			present = append(present, p)
		}
	}
	return present, nil
}

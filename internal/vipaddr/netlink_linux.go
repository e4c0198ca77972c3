package vipaddr

import (
	"context"
	"errors"
	"fmt"
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
	mu sync.Mutex // serializes requests on h and s: one request in flight
	h  *netlink.Handle
	s  *batchSock // adds and deletes, batchSize requests per write
}

var _ Addresses = (*Netlink)(nil)

// socketTimeout bounds every netlink request: one the kernel never answers
// must not hang the daemon.
const socketTimeout = 10 * time.Second

// NewNetlink opens two netlink sockets in the network namespace of the
// calling thread, one for batched adds and deletes and one for everything
// else; all later requests act on that namespace, whichever thread makes
// them. Close releases the sockets.
func NewNetlink() (*Netlink, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("vipaddr: open netlink socket: %w", err)
	}
	if err := h.SetSocketTimeout(socketTimeout); err != nil {
		h.Close()
		return nil, fmt.Errorf("vipaddr: set netlink socket timeout: %w", err)
	}
	s, err := openBatchSock(socketTimeout)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("vipaddr: open netlink socket: %w", err)
	}
	return &Netlink{h: h, s: s}, nil
}

// Close closes the netlink sockets.
func (n *Netlink) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.h.Close()
	return n.s.close()
}

// ifname names the interface in errors. It is looked up only when an error
// is being reported, never on the fast path.
func (n *Netlink) ifname(ifindex int) string {
	if l, err := n.h.LinkByIndex(ifindex); err == nil {
		return l.Attrs().Name
	}
	return "ifindex " + strconv.Itoa(ifindex)
}

// Add implements Addresses. The requests go batchSize to a write; ctx is
// checked before each batch.
func (n *Netlink) Add(ctx context.Context, ifindex int, vips []netip.Prefix) error {
	if err := CheckPrefixes(vips); err != nil {
		return fmt.Errorf("vipaddr: add: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	added := make([]netip.Prefix, 0, len(vips))
	errs := make([]error, min(batchSize, len(vips)))
	for i := 0; i < len(vips); i += batchSize {
		batch := vips[i:min(i+batchSize, len(vips))]
		if err := ctx.Err(); err != nil {
			err = opError("add", batch[0], n.ifname(ifindex), err)
			return errors.Join(err, n.rollback(ifindex, added))
		}
		res := errs[:len(batch)]
		n.s.do(unix.RTM_NEWADDR, ifindex, batch, res)
		// The kernel carried on after a failure: whatever it added after
		// the first failed address is rolled back with the rest.
		var failed error
		for j, p := range batch {
			switch err := res[j]; {
			case err == nil:
				added = append(added, p)
			case errors.Is(err, unix.EEXIST):
				// already there, and not ours to roll back
			case failed == nil:
				if p.Addr().Is6() && errors.Is(err, unix.EACCES) {
					// The kernel's answer when
					// net.ipv6.conf.<if>.disable_ipv6 is set: not a
					// missing privilege, so do not let it read as one.
					err = fmt.Errorf("%w (%v)", ErrIPv6Disabled, err)
				}
				failed = opError("add", p, n.ifname(ifindex), err)
			}
		}
		if failed != nil {
			return errors.Join(failed, n.rollback(ifindex, added))
		}
	}
	return nil
}

// rollback removes what a failed Add added, newest first, so that an added
// primary outlives the secondaries added after it.
func (n *Netlink) rollback(ifindex int, added []netip.Prefix) error {
	slices.Reverse(added)
	return n.del("roll back", ifindex, added)
}

// del deletes vips in their order, a batch at a time, all of them whatever
// fails, and returns every failure but EADDRNOTAVAIL (not there: done).
func (n *Netlink) del(op string, ifindex int, vips []netip.Prefix) error {
	var (
		errs   []error
		ifname string
	)
	res := make([]error, min(batchSize, len(vips)))
	for i := 0; i < len(vips); i += batchSize {
		batch := vips[i:min(i+batchSize, len(vips))]
		n.s.do(unix.RTM_DELADDR, ifindex, batch, res[:len(batch)])
		for j, p := range batch {
			if err := res[j]; err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
				if ifname == "" {
					ifname = n.ifname(ifindex)
				}
				errs = append(errs, opError(op, p, ifname, err))
			}
		}
	}
	return errors.Join(errs...)
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
	return n.del("remove", ifindex, removeOrder(vips, secondary))
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

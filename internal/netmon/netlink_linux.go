package netmon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Open starts a Monitor of the namespace opts names. It returns once the
// snapshot holds a full dump; an error means nothing is left open.
func Open(opts Options) (*Monitor, error) {
	k, err := openNetlink(opts)
	if err != nil {
		return nil, err
	}
	return newMonitor(k, opts)
}

const (
	// chanBuffer is the room between the library's readers and the
	// monitor; the sockets' receive buffers hold the rest.
	chanBuffer = 256
	// dumpTries bounds the retries of a dump the kernel interrupted
	// (NLM_F_DUMP_INTR: the list changed while it was read).
	dumpTries = 5
	// socketTimeout bounds a dump the kernel never answers.
	socketTimeout = 10 * time.Second
)

// netlinkKernel is the kernel through rtnetlink: subscriptions from
// vishvananda/netlink and a socket of its own for dumps.
type netlinkKernel struct {
	ns     netns.NsHandle
	h      *netlink.Handle // for dumps; used by the monitor's goroutine only
	rcvbuf int
	force  bool // SO_RCVBUFFORCE is allowed
}

func openNetlink(opts Options) (*netlinkKernel, error) {
	var ns netns.NsHandle
	var err error
	if opts.Namespace != "" {
		ns, err = netns.GetFromPath(opts.Namespace)
	} else {
		ns, err = netns.Get()
	}
	if err != nil {
		return nil, fmt.Errorf("netmon: open network namespace %q: %w", opts.Namespace, err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("netmon: open netlink socket: %w", err)
	}
	if err := h.SetSocketTimeout(socketTimeout); err != nil {
		h.Close()
		ns.Close()
		return nil, fmt.Errorf("netmon: set netlink socket timeout: %w", err)
	}
	k := &netlinkKernel{ns: ns, h: h, rcvbuf: opts.ReceiveBuffer, force: hasNetAdmin()}
	if k.rcvbuf == 0 {
		k.rcvbuf = DefaultReceiveBuffer
	}
	return k, nil
}

// hasNetAdmin reports whether CAP_NET_ADMIN is in the effective set, which
// SO_RCVBUFFORCE needs. (Asking and failing would leak the library's
// socket.)
func hasNetAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_NET_ADMIN) != 0
}

func (k *netlinkKernel) close() error {
	k.h.Close()
	return k.ns.Close()
}

// subscribe opens the two subscriptions. The library reports a failed
// receive (and then closes its channel) as "Receive failed: <errno>"
// formatted with %v, so the errno is recognised by its text; every other
// error it reports is not fatal and goes to note.
func (k *netlinkKernel) subscribe(note func(error)) (*stream, error) {
	var (
		closing atomic.Bool // set before we close done: later errors are ours
		mu      sync.Mutex  // guards cause
		cause   error
	)
	report := func(err error) {
		if closing.Load() {
			return
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "Receive failed") {
			note(err)
			return
		}
		if strings.Contains(msg, unix.ENOBUFS.Error()) {
			err = fmt.Errorf("netmon: %w: %v", errOverflow, err)
		} else {
			err = fmt.Errorf("netmon: %w", err)
		}
		mu.Lock()
		if cause == nil {
			cause = err
		}
		mu.Unlock()
	}
	done := make(chan struct{})
	abort := func() {
		closing.Store(true)
		close(done)
	}
	ns := k.ns
	libL := make(chan netlink.LinkUpdate, chanBuffer)
	err := netlink.LinkSubscribeWithOptions(libL, done, netlink.LinkSubscribeOptions{
		Namespace: &ns, ErrorCallback: report, ListExisting: true,
		ReceiveBufferSize: k.rcvbuf, ReceiveBufferForceSize: k.force,
	})
	if err != nil {
		abort() // libL is never closed: its reader did not start
		return nil, fmt.Errorf("links: %w", err)
	}
	libA := make(chan netlink.AddrUpdate, chanBuffer)
	err = netlink.AddrSubscribeWithOptions(libA, done, netlink.AddrSubscribeOptions{
		Namespace: &ns, ErrorCallback: report, ListExisting: true,
		ReceiveBufferSize: k.rcvbuf, ReceiveBufferForceSize: k.force,
	})
	if err != nil {
		abort()
		for range libL {
		}
		return nil, fmt.Errorf("addresses: %w", err)
	}

	links := make(chan linkEvent, chanBuffer)
	go func() {
		defer close(links)
		for u := range libL {
			if u.Family == unix.AF_BRIDGE || u.Link == nil {
				continue // a bridge port's bridge attributes, not a link event
			}
			links <- linkEvent{link: linkOf(u.Link), deleted: u.Header.Type == unix.RTM_DELLINK}
		}
	}()
	addrs := make(chan addrEvent, chanBuffer)
	go func() {
		defer close(addrs)
		for u := range libA {
			p, ok := prefixOf(u.LinkAddress)
			if !ok {
				report(fmt.Errorf("netmon: unusable address %v on ifindex %d", u.LinkAddress, u.LinkIndex))
				continue
			}
			addrs <- addrEvent{index: u.LinkIndex, prefix: p, deleted: !u.NewAddr}
		}
	}()
	var once sync.Once
	return &stream{
		links: links,
		addrs: addrs,
		cause: func() error {
			mu.Lock()
			defer mu.Unlock()
			if cause == nil {
				return errors.New("netmon: subscription ended")
			}
			return cause
		},
		stop: func() {
			once.Do(func() {
				abort()
				for range links {
				}
				for range addrs {
				}
			})
		},
	}, nil
}

func (k *netlinkKernel) dump() ([]Link, []IfAddr, error) {
	nls, err := retryDump(k.h.LinkList)
	if err != nil {
		return nil, nil, fmt.Errorf("list links: %w", err)
	}
	nas, err := retryDump(func() ([]netlink.Addr, error) { return k.h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, nil, fmt.Errorf("list addresses: %w", err)
	}
	links := make([]Link, 0, len(nls))
	for _, l := range nls {
		links = append(links, linkOf(l))
	}
	addrs := make([]IfAddr, 0, len(nas))
	for _, a := range nas {
		if a.IPNet == nil {
			continue
		}
		if p, ok := prefixOf(*a.IPNet); ok {
			addrs = append(addrs, IfAddr{Index: a.LinkIndex, Prefix: p})
		}
	}
	return links, addrs, nil
}

// retryDump runs a dump again while the kernel says it was interrupted.
func retryDump[T any](dump func() ([]T, error)) ([]T, error) {
	for i := 1; ; i++ {
		v, err := dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) || i == dumpTries {
			return v, err
		}
	}
}

func linkOf(nl netlink.Link) Link {
	a := nl.Attrs()
	return Link{
		Index:        a.Index,
		Name:         a.Name,
		HardwareAddr: slices.Clip(a.HardwareAddr),
		MTU:          a.MTU,
		Up:           a.RawFlags&unix.IFF_UP != 0,
		Running:      a.RawFlags&unix.IFF_RUNNING != 0,
		LowerUp:      a.RawFlags&unix.IFF_LOWER_UP != 0,
		OperState:    OperState(a.OperState),
	}
}

// prefixOf turns the library's address (for IPv4 with a peer, the local
// address as a /32) into a prefix.
func prefixOf(n net.IPNet) (netip.Prefix, bool) {
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, bits := n.Mask.Size()
	if bits == 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(ip.Unmap(), ones), true
}

//go:build linux

package watch

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Open opens an AF_PACKET socket (packet(7)) on ifi for every EtherType,
// with the watcher's classic BPF filter attached before the socket is
// bound (so no unfiltered frame is ever queued), and returns a Watcher on
// it. Until SetWatched and SetHeld are called the filter passes ARP and
// NDP only. It needs CAP_NET_RAW in the network namespace of the calling
// thread, which must be ifi's.
func Open(ifi *net.Interface, deps Deps) (*Watcher, error) {
	hw := deps.MAC
	if hw == nil {
		hw = ifi.HardwareAddr
	}
	our, ok := macOf(hw)
	if !ok || our.isZero() || our[0]&1 != 0 {
		return nil, fmt.Errorf("watch: open %s: MAC %v: %w", ifi.Name, hw, ErrHardwareAddr)
	}
	prog := filter(our, nil, nil)
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("watch: open %s: assemble filter: %w", ifi.Name, err)
	}
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, &packet.Config{Filter: raw})
	if err != nil {
		return nil, fmt.Errorf("watch: open %s: packet socket: %w", ifi.Name, err)
	}
	var nl *netlink.Handle
	if deps.Neighbors == nil {
		// A netlink socket of the calling thread's namespace, which is
		// ifi's. Without it repairs fall back to guessed targets.
		if nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err == nil {
			deps.Neighbors = neighbors(nl, ifi.Index)
		}
	}
	w, err := New(ifi, c, deps)
	if err != nil {
		_ = c.Close()
		if nl != nil {
			nl.Close()
		}
		return nil, err
	}
	w.applied = prog
	if nl != nil {
		w.closers = append(w.closers, nl.Close)
	}
	return w, nil
}

// neighbors returns a lookup of the addresses the kernel's neighbour
// table has for a MAC on interface index. Lookups are serialised: they
// share one netlink socket.
func neighbors(nl *netlink.Handle, index int) func(net.HardwareAddr) []netip.Addr {
	var mu sync.Mutex // guards nl
	return func(hw net.HardwareAddr) []netip.Addr {
		mu.Lock()
		defer mu.Unlock()
		var list []netlink.Neigh
		var err error
		for range 3 {
			list, err = nl.NeighList(index, netlink.FAMILY_ALL)
			if !errors.Is(err, netlink.ErrDumpInterrupted) {
				break
			}
		}
		if err != nil {
			return nil
		}
		var out []netip.Addr
		for _, n := range list {
			if n.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) != 0 || !bytes.Equal(n.HardwareAddr, hw) {
				continue
			}
			if a, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, a.Unmap())
			}
		}
		return out
	}
}

//go:build linux

package watch

import (
	"fmt"
	"net"

	"github.com/mdlayher/packet"
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
	w, err := New(ifi, c, deps)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	w.applied = prog
	return w, nil
}

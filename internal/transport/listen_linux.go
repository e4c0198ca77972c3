package transport

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// tosNetworkControl is DSCP CS6 (RFC 4594 "network control"), the class
// routing protocols use; keepalived marks its adverts the same way.
const tosNetworkControl = 0xc0

// Listen opens a Conn on ifi for IPv4 (ipv6 false) or IPv6. It needs
// CAP_NET_RAW. The sockets belong to the network namespace of the calling
// thread.
func Listen(ifi *net.Interface, ipv6 bool) (*Conn, error) {
	c, err := listen(ifi, ipv6)
	if err != nil {
		return nil, fmt.Errorf("transport: listen on %s (%s): %w", ifi.Name, family(ipv6), err)
	}
	return c, nil
}

func family(ipv6 bool) string {
	if ipv6 {
		return "IPv6"
	}
	return "IPv4"
}

func listen(ifi *net.Interface, v6 bool) (*Conn, error) {
	prog, err := bpf.Assemble(filter(v6))
	if err != nil {
		return nil, fmt.Errorf("assemble filter: %w", err)
	}
	proto, group := unix.ETH_P_IP, IPv4GroupMAC
	if v6 {
		proto, group = unix.ETH_P_IPV6, IPv6GroupMAC
	}
	// The filter is attached before bind, so no unfiltered frame is queued.
	frames, err := packet.Listen(ifi, packet.Raw, proto, &packet.Config{Filter: prog})
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	if err := frames.JoinGroup(group); err != nil {
		_ = frames.Close()
		return nil, fmt.Errorf("join %s: %w", group, err)
	}
	var w ipWriter
	if v6 {
		w, err = listen6(ifi)
	} else {
		w, err = listen4(ifi)
	}
	if err != nil {
		_ = frames.Close()
		return nil, err
	}
	rf, err := newRawFrames(frames)
	if err != nil {
		_ = frames.Close()
		_ = w.Close()
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	c := newConn(ifi, v6, rf, w)
	c.kernelStats = func() (uint64, error) {
		s, err := frames.Stats()
		if err != nil {
			return 0, err
		}
		return uint64(s.Drops), nil
	}
	return c, nil
}

// listenRaw opens a raw IP socket for protocol 112 bound to ifi. The socket
// is created on the calling thread, so in its network namespace.
func listenRaw(ifi *net.Interface, network, laddr string) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name)
		})
		if err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("SO_BINDTODEVICE %s: %w", ifi.Name, serr)
		}
		return nil
	}}
	pc, err := lc.ListenPacket(context.Background(), network, laddr)
	if err != nil {
		return nil, fmt.Errorf("raw socket: %w", err)
	}
	return pc, nil
}

type ip4Writer struct {
	pc      *ipv4.PacketConn
	rc      syscall.RawConn
	ifIndex int
}

func listen4(ifi *net.Interface) (ipWriter, error) {
	c, err := listenRaw(ifi, "ip4:112", "0.0.0.0")
	if err != nil {
		return nil, err
	}
	pc := ipv4.NewPacketConn(c)
	prog, err := bpf.Assemble(dropAll)
	if err == nil {
		err = pc.SetBPF(prog)
	}
	for _, set := range []func() error{
		func() error { return pc.SetTTL(255) },
		func() error { return pc.SetMulticastTTL(255) },
		func() error { return pc.SetMulticastInterface(ifi) },
		func() error { return pc.SetMulticastLoopback(false) },
		func() error { return pc.SetTOS(tosNetworkControl) },
		func() error { return pc.JoinGroup(ifi, &net.IPAddr{IP: IPv4Group.AsSlice()}) },
	} {
		if err != nil {
			break
		}
		err = set()
	}
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("configure raw socket: %w", err)
	}
	rc, err := c.(*net.IPConn).SyscallConn()
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("raw socket: %w", err)
	}
	return &ip4Writer{pc: pc, rc: rc, ifIndex: ifi.Index}, nil
}

func (w *ip4Writer) writeTo(payload []byte, src, dst netip.Addr) error {
	// IP_PKTINFO: ipi_spec_dst (Src) is the source address of the packet
	// and ipi_ifindex the outgoing interface.
	cm := ipv4.ControlMessage{Src: src.AsSlice(), IfIndex: w.ifIndex}
	sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.As4()}
	return sendmsg(w.rc, payload, cm.Marshal(), unsafe.Pointer(&sa), unix.SizeofSockaddrInet4)
}

func (w *ip4Writer) Close() error { return w.pc.Close() }

type ip6Writer struct {
	pc      *ipv6.PacketConn
	rc      syscall.RawConn
	ifIndex int
}

func listen6(ifi *net.Interface) (ipWriter, error) {
	c, err := listenRaw(ifi, "ip6:112", "::")
	if err != nil {
		return nil, err
	}
	pc := ipv6.NewPacketConn(c)
	prog, err := bpf.Assemble(dropAll)
	if err == nil {
		err = pc.SetBPF(prog)
	}
	for _, set := range []func() error{
		func() error { return pc.SetHopLimit(255) },
		func() error { return pc.SetMulticastHopLimit(255) },
		func() error { return pc.SetMulticastInterface(ifi) },
		func() error { return pc.SetMulticastLoopback(false) },
		func() error { return pc.SetTrafficClass(tosNetworkControl) },
		func() error { return pc.JoinGroup(ifi, &net.IPAddr{IP: IPv6Group.AsSlice()}) },
	} {
		if err != nil {
			break
		}
		err = set()
	}
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("configure raw socket: %w", err)
	}
	rc, err := c.(*net.IPConn).SyscallConn()
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("raw socket: %w", err)
	}
	return &ip6Writer{pc: pc, rc: rc, ifIndex: ifi.Index}, nil
}

func (w *ip6Writer) writeTo(payload []byte, src, dst netip.Addr) error {
	// IPV6_PKTINFO carries the source address and the interface, which a
	// link-local or link-scope multicast destination needs.
	cm := ipv6.ControlMessage{Src: src.AsSlice(), IfIndex: w.ifIndex, HopLimit: 255}
	sa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.As16()}
	return sendmsg(w.rc, payload, cm.Marshal(), unsafe.Pointer(&sa), unix.SizeofSockaddrInet6)
}

func (w *ip6Writer) Close() error { return w.pc.Close() }

// Writer sends VRRP packets on one interface and receives nothing.
type Writer interface {
	// WriteTo is PacketConn.WriteTo.
	WriteTo(payload []byte, src, dst netip.Addr) error
	Close() error
}

type writer struct{ ipWriter }

func (w writer) WriteTo(payload []byte, src, dst netip.Addr) error {
	return w.writeTo(payload, src, dst)
}

// OpenWriter opens a send-only VRRP socket on ifi: on a virtual MAC
// interface, the adverts leave from its MAC (RFC 5798 §7.2). src must be
// an address of the host (IPv6: a link-local address of ifi).
func OpenWriter(ifi *net.Interface, ipv6 bool) (Writer, error) {
	var w ipWriter
	var err error
	if ipv6 {
		w, err = listen6(ifi)
	} else {
		w, err = listen4(ifi)
	}
	if err != nil {
		return nil, fmt.Errorf("transport: open writer on %s (%s): %w", ifi.Name, family(ipv6), err)
	}
	return writer{w}, nil
}

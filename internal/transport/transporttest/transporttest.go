// Package transporttest provides an in-memory transport.PacketConn for tests
// of code that sends and receives VRRP packets, without sockets or root.
//
// A Network is one Ethernet segment. Conns attached to it see each other's
// packets: multicast destinations reach every other Conn of the same address
// family, unicast destinations reach the Conns that own the address. A Conn
// never receives its own packets. Delivery is immediate and never blocks the
// sender; TTL is 255 unless the sending Conn says otherwise.
package transporttest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/transport"
)

// Network is an in-memory broadcast segment.
type Network struct {
	now func() time.Time

	mu    sync.Mutex // guards conns
	conns []*Conn
}

// NewNetwork returns an empty segment whose packets are stamped with now
// (time.Now when nil).
func NewNetwork(now func() time.Time) *Network {
	if now == nil {
		now = time.Now
	}
	return &Network{now: now}
}

// NewConn attaches a Conn for one address family. ifIndex is reported as
// Packet.IfIndex of what it receives, mac as Packet.SrcMAC of what it sends,
// and addrs are the unicast addresses it receives for.
func (n *Network) NewConn(ifIndex int, mac net.HardwareAddr, ipv6 bool, addrs ...netip.Addr) *Conn {
	c := &Conn{
		net:       n,
		ifIndex:   ifIndex,
		mac:       slices.Clone(mac),
		ipv6:      ipv6,
		addrs:     slices.Clone(addrs),
		ttl:       255,
		connected: true,
		notify:    make(chan struct{}, 1),
		closed:    make(chan struct{}),
	}
	n.mu.Lock()
	n.conns = append(n.conns, c)
	n.mu.Unlock()
	return c
}

// Sent is one packet a Conn wrote.
type Sent struct {
	Payload  []byte
	Src, Dst netip.Addr
}

type item struct {
	p   transport.Packet
	err error
}

// Conn is one host's attachment to a Network. It implements
// transport.PacketConn and is safe for concurrent use.
type Conn struct {
	net     *Network
	ifIndex int
	mac     net.HardwareAddr
	ipv6    bool

	notify    chan struct{} // gets a value when inbox grows
	closeOnce sync.Once
	closed    chan struct{}

	mu        sync.Mutex // guards the fields below
	addrs     []netip.Addr
	ttl       uint8
	connected bool
	writeErr  error
	inbox     []item
	sent      []Sent
}

var _ transport.PacketConn = (*Conn)(nil)

// ReadPacket returns the next queued packet or injected error.
func (c *Conn) ReadPacket(ctx context.Context) (transport.Packet, error) {
	for {
		c.mu.Lock()
		if len(c.inbox) > 0 {
			it := c.inbox[0]
			c.inbox = c.inbox[1:]
			c.mu.Unlock()
			return it.p, it.err
		}
		c.mu.Unlock()
		select {
		case <-c.closed:
			return transport.Packet{}, net.ErrClosed
		default:
		}
		select {
		case <-ctx.Done():
			return transport.Packet{}, ctx.Err()
		case <-c.closed:
			return transport.Packet{}, net.ErrClosed
		case <-c.notify:
		}
	}
}

// WriteTo delivers payload to the other Conns that would receive it. It
// fails with net.ErrClosed after Close, with transport.ErrAddressFamily for
// addresses of the other family and with the error set by SetWriteError.
func (c *Conn) WriteTo(payload []byte, src, dst netip.Addr) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	if src.Is6() != c.ipv6 || dst.Is6() != c.ipv6 || !src.IsValid() || !dst.IsValid() {
		return fmt.Errorf("transporttest: send to %v: %w", dst, transport.ErrAddressFamily)
	}
	c.mu.Lock()
	if err := c.writeErr; err != nil {
		c.mu.Unlock()
		return err
	}
	c.sent = append(c.sent, Sent{Payload: slices.Clone(payload), Src: src, Dst: dst})
	ttl, connected := c.ttl, c.connected
	c.mu.Unlock()
	if !connected {
		return nil
	}

	c.net.mu.Lock()
	conns := slices.Clone(c.net.conns)
	c.net.mu.Unlock()
	now := c.net.now()
	for _, r := range conns {
		if r == c || r.ipv6 != c.ipv6 {
			continue
		}
		r.mu.Lock()
		ok := r.connected && (dst.IsMulticast() || slices.Contains(r.addrs, dst))
		r.mu.Unlock()
		if ok {
			r.deliver(item{p: transport.Packet{
				SrcMAC:   slices.Clone(c.mac),
				Src:      src,
				Dst:      dst,
				TTL:      ttl,
				Payload:  slices.Clone(payload),
				IfIndex:  r.ifIndex,
				Received: now,
			}})
		}
	}
	return nil
}

func (c *Conn) deliver(it item) {
	c.mu.Lock()
	c.inbox = append(c.inbox, it)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Close detaches the Conn: a blocked ReadPacket returns net.ErrClosed, and
// it receives nothing more.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.net.mu.Lock()
		c.net.conns = slices.DeleteFunc(c.net.conns, func(x *Conn) bool { return x == c })
		c.net.mu.Unlock()
	})
	return nil
}

// Inject queues a packet for ReadPacket as if it had arrived (IfIndex and
// Received are the caller's to fill in).
func (c *Conn) Inject(p transport.Packet) { c.deliver(item{p: p}) }

// InjectError makes ReadPacket return err once, in order with the queued
// packets; for example a *transport.DropError.
func (c *Conn) InjectError(err error) { c.deliver(item{err: err}) }

// SetWriteError makes WriteTo fail with err (nil: succeed again).
func (c *Conn) SetWriteError(err error) {
	c.mu.Lock()
	c.writeErr = err
	c.mu.Unlock()
}

// SetTTL sets the TTL / hop limit other Conns see on this Conn's packets.
func (c *Conn) SetTTL(ttl uint8) {
	c.mu.Lock()
	c.ttl = ttl
	c.mu.Unlock()
}

// SetConnected unplugs (false) or replugs the Conn: while unplugged, what it
// writes is recorded but lost, and nothing reaches it.
func (c *Conn) SetConnected(on bool) {
	c.mu.Lock()
	c.connected = on
	c.mu.Unlock()
}

// SetAddrs replaces the unicast addresses the Conn receives for.
func (c *Conn) SetAddrs(addrs ...netip.Addr) {
	c.mu.Lock()
	c.addrs = slices.Clone(addrs)
	c.mu.Unlock()
}

// Sent returns what WriteTo accepted so far, including packets written while
// unplugged.
func (c *Conn) Sent() []Sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// PacketConn is what the daemon needs from a VRRP transport on one interface
// and address family. *Conn implements it, and so does the in-memory
// transporttest.Conn.
type PacketConn interface {
	// ReadPacket blocks until a packet arrives, ctx is done or the conn is
	// closed. A *DropError is not fatal: count it and read again.
	ReadPacket(ctx context.Context) (Packet, error)
	// WriteTo sends payload, a complete and checksummed VRRP message, in an IP
	// packet from src to dst with TTL / hop limit 255.
	WriteTo(payload []byte, src, dst netip.Addr) error
	Close() error
}

var _ PacketConn = (*Conn)(nil)

// frameConn is the receive socket: whole Ethernet frames, one per read.
// *packet.Conn implements it.
type frameConn interface {
	ReadFrom(b []byte) (int, net.Addr, error)
	SetReadDeadline(t time.Time) error
	Close() error
}

// ipWriter is the send socket.
type ipWriter interface {
	writeTo(payload []byte, src, dst netip.Addr) error
	Close() error
}

// Conn is a VRRP transport on one interface for one address family. One
// goroutine calls ReadPacket; WriteTo, Stats and Close may be called from any
// goroutine.
type Conn struct {
	ifName  string
	ifIndex int
	ipv6    bool
	frames  frameConn
	w       ipWriter
	now     func() time.Time

	// kernelStats returns the frames the kernel dropped on the receive
	// socket since the last call (PACKET_STATISTICS resets on read); nil
	// outside Linux and in tests.
	kernelStats func() (drops uint64, err error)

	buf []byte // read buffer, owned by the goroutine in ReadPacket

	closeOnce sync.Once
	closeErr  error

	// Counters, updated atomically.
	framesRead  atomic.Uint64
	delivered   atomic.Uint64
	dropped     [numDropReasons]atomic.Uint64
	sent        atomic.Uint64
	sendErrors  atomic.Uint64
	kernelDrops atomic.Uint64
}

func newConn(ifi *net.Interface, ipv6 bool, frames frameConn, w ipWriter) *Conn {
	return &Conn{
		ifName:  ifi.Name,
		ifIndex: ifi.Index,
		ipv6:    ipv6,
		frames:  frames,
		w:       w,
		now:     time.Now,
		buf:     make([]byte, maxFrame),
	}
}

// IPv6 reports the Conn's address family.
func (c *Conn) IPv6() bool { return c.ipv6 }

// aLongTimeAgo is a read deadline that has passed: it wakes a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// ReadPacket reads the next VRRP packet. It returns ctx.Err() when ctx is
// done, an error wrapping net.ErrClosed after Close, and a *DropError (after
// counting it) for a frame the parser rejected.
func (c *Conn) ReadPacket(ctx context.Context) (Packet, error) {
	if err := ctx.Err(); err != nil {
		return Packet{}, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.frames.SetReadDeadline(aLongTimeAgo) })
	defer stop()
	for {
		n, _, err := c.frames.ReadFrom(c.buf)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return Packet{}, ctxErr
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// Left by the AfterFunc of an earlier call whose context
				// ended as that call returned: clear it and read on.
				if err := c.frames.SetReadDeadline(time.Time{}); err != nil {
					return Packet{}, fmt.Errorf("transport: read on %s: %w", c.ifName, err)
				}
				continue
			}
			return Packet{}, fmt.Errorf("transport: read on %s: %w", c.ifName, err)
		}
		c.framesRead.Add(1)
		p, err := ParseFrame(c.buf[:n], c.ipv6)
		if err != nil {
			c.dropped[err.(*DropError).Reason].Add(1)
			return Packet{}, err
		}
		p.IfIndex = c.ifIndex
		p.Received = c.now()
		c.delivered.Add(1)
		return p, nil
	}
}

// WriteTo sends payload from src to dst. Both addresses must be of the
// Conn's family; src must be an address of the interface (for IPv6, its
// link-local address) and must be the source the payload was checksummed
// with.
func (c *Conn) WriteTo(payload []byte, src, dst netip.Addr) error {
	if err := c.checkAddrs(src, dst); err != nil {
		c.sendErrors.Add(1)
		return fmt.Errorf("transport: send to %s on %s: %w", dst, c.ifName, err)
	}
	if err := c.w.writeTo(payload, src.WithZone(""), dst.WithZone("")); err != nil {
		c.sendErrors.Add(1)
		return fmt.Errorf("transport: send to %s on %s: %w", dst, c.ifName, err)
	}
	c.sent.Add(1)
	return nil
}

// ErrAddressFamily is returned by WriteTo for an address that is not of the
// Conn's family.
var ErrAddressFamily = errors.New("address family does not match the conn")

func (c *Conn) checkAddrs(src, dst netip.Addr) error {
	for _, a := range [2]netip.Addr{src, dst} {
		if !a.IsValid() || a.Is4In6() || a.Is6() != c.ipv6 {
			return fmt.Errorf("%w: %v", ErrAddressFamily, a)
		}
	}
	return nil
}

// Close closes both sockets. A blocked ReadPacket returns an error wrapping
// net.ErrClosed.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = errors.Join(c.frames.Close(), c.w.Close())
		if c.closeErr != nil {
			c.closeErr = fmt.Errorf("transport: close on %s: %w", c.ifName, c.closeErr)
		}
	})
	return c.closeErr
}

// Stats are a Conn's counters since Listen.
type Stats struct {
	// FramesRead counts frames read from the receive socket, that is frames
	// that passed the BPF filter.
	FramesRead uint64
	// Packets counts packets ReadPacket returned.
	Packets uint64
	// ParseFailures counts frames the parser rejected; Drops splits them by
	// reason (reasons with a zero count are absent).
	ParseFailures uint64
	Drops         map[DropReason]uint64
	// Sent and SendErrors count WriteTo calls.
	Sent, SendErrors uint64
	// KernelDrops counts frames the kernel dropped because the receive queue
	// was full (PACKET_STATISTICS); it is updated when Stats is called.
	KernelDrops uint64
}

// Stats returns the Conn's counters. It may be called from any goroutine.
func (c *Conn) Stats() Stats {
	if c.kernelStats != nil {
		if d, err := c.kernelStats(); err == nil {
			c.kernelDrops.Add(d)
		}
	}
	s := Stats{
		FramesRead:  c.framesRead.Load(),
		Packets:     c.delivered.Load(),
		Drops:       make(map[DropReason]uint64),
		Sent:        c.sent.Load(),
		SendErrors:  c.sendErrors.Load(),
		KernelDrops: c.kernelDrops.Load(),
	}
	for r := range c.dropped {
		if n := c.dropped[r].Load(); n > 0 {
			s.Drops[DropReason(r)] = n
			s.ParseFailures += n
		}
	}
	return s
}

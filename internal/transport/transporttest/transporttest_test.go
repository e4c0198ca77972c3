package transporttest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/transport"
)

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 0xa}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 0xb}
	macC = net.HardwareAddr{2, 0, 0, 0, 0, 0xc}
	a4   = netip.MustParseAddr("192.0.2.11")
	b4   = netip.MustParseAddr("192.0.2.12")
	c4   = netip.MustParseAddr("192.0.2.13")
	a6   = netip.MustParseAddr("fe80::a")
	t0   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

func read(t *testing.T, c *Conn) (transport.Packet, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.ReadPacket(ctx)
}

// empty asserts that nothing is queued for c.
func empty(t *testing.T, c *Conn) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p, err := c.ReadPacket(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("unexpected packet %+v, %v", p, err)
	}
}

func TestNetwork(t *testing.T) {
	n := NewNetwork(func() time.Time { return t0 })
	a := n.NewConn(1, macA, false, a4)
	b := n.NewConn(2, macB, false, b4)
	c := n.NewConn(3, macC, false, c4)
	a6c := n.NewConn(1, macA, true, a6)

	// Multicast reaches every other Conn of the family, not the sender.
	if err := a.WriteTo([]byte("m"), a4, transport.IPv4Group); err != nil {
		t.Fatal(err)
	}
	for i, r := range []*Conn{b, c} {
		p, err := read(t, r)
		if err != nil {
			t.Fatal(err)
		}
		want := transport.Packet{SrcMAC: macA, Src: a4, Dst: transport.IPv4Group, TTL: 255, Payload: []byte("m"), IfIndex: i + 2, Received: t0}
		if p.SrcMAC.String() != want.SrcMAC.String() || p.Src != want.Src || p.Dst != want.Dst || p.TTL != 255 ||
			!bytes.Equal(p.Payload, want.Payload) || p.IfIndex != want.IfIndex || !p.Received.Equal(t0) {
			t.Errorf("conn %d got %+v, want %+v", i+2, p, want)
		}
	}
	empty(t, a)
	empty(t, a6c)

	// Unicast reaches the owner only.
	b.SetTTL(64)
	if err := b.WriteTo([]byte("u"), b4, c4); err != nil {
		t.Fatal(err)
	}
	if p, err := read(t, c); err != nil || string(p.Payload) != "u" || p.TTL != 64 {
		t.Errorf("unicast: %+v, %v", p, err)
	}
	empty(t, a)

	// Unplugged: sent is recorded, nothing is delivered either way.
	c.SetConnected(false)
	a.WriteTo([]byte("lost"), a4, transport.IPv4Group)
	c.WriteTo([]byte("lost too"), c4, transport.IPv4Group)
	if p, err := read(t, b); err != nil || string(p.Payload) != "lost" {
		t.Errorf("b got %+v, %v", p, err)
	}
	empty(t, c)
	empty(t, a)
	if got := c.Sent(); len(got) != 1 || string(got[0].Payload) != "lost too" {
		t.Errorf("c.Sent() = %+v", got)
	}

	// Injected packets and errors come out in order.
	drop := &transport.DropError{Reason: transport.DropHeaderChecksum}
	a.InjectError(drop)
	a.Inject(transport.Packet{Src: b4, Payload: []byte("x")})
	if _, err := read(t, a); !errors.Is(err, drop) {
		t.Errorf("first read = %v, want the injected drop", err)
	}
	if p, err := read(t, a); err != nil || string(p.Payload) != "x" {
		t.Errorf("second read = %+v, %v", p, err)
	}

	// Write failures.
	boom := errors.New("boom")
	a.SetWriteError(boom)
	if err := a.WriteTo([]byte("m"), a4, transport.IPv4Group); !errors.Is(err, boom) {
		t.Errorf("WriteTo = %v, want boom", err)
	}
	a.SetWriteError(nil)
	if err := a.WriteTo([]byte("m"), a6, transport.IPv4Group); !errors.Is(err, transport.ErrAddressFamily) {
		t.Errorf("WriteTo(v6 src) = %v", err)
	}
}

func TestClose(t *testing.T) {
	n := NewNetwork(nil)
	a := n.NewConn(1, macA, false, a4)
	b := n.NewConn(2, macB, false, b4)
	errc := make(chan error, 1)
	go func() {
		_, err := b.ReadPacket(context.Background())
		errc <- err
	}()
	b.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadPacket after Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadPacket did not return after Close")
	}
	if err := b.WriteTo([]byte("m"), b4, transport.IPv4Group); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteTo after Close = %v", err)
	}
	// A closed Conn is off the network.
	if err := a.WriteTo([]byte("m"), a4, transport.IPv4Group); err != nil {
		t.Fatal(err)
	}
	if len(n.conns) != 1 {
		t.Errorf("%d conns on the network, want 1", len(n.conns))
	}
}

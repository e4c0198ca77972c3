package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/vipd/vipd/internal/labnet"
)

// vrrpProto is VRRP's IP protocol number (RFC 5798 §5.1.1.3).
const vrrpProto = 112

// advertWatch listens, in the router's namespace, for A's periodic
// messages and remembers when the last one arrived: the VRRP
// advertisements of A's priority on the LAN (224.0.0.18 / ff02::12), or
// A's BGP messages in routed mode (watchBGP). The lab times the fault by
// it: A is powered off just after one of them, so that B always waits a
// whole Master_Down_Interval (the router a whole hold time) and runs of
// different implementations are compared from the same start.
type advertWatch struct {
	conn net.PacketConn
	// match tells A's messages (b: what the raw socket read, from its
	// sender).
	match func(from net.Addr, b []byte) bool
	what  string // "advertisement", for errors
	done  chan struct{}

	mu   sync.Mutex // guards last and wake
	last time.Time
	wake chan struct{} // closed on the next advertisement
}

// watchAdverts starts watching for advertisements with the given priority
// arriving at host h (the router) on its LAN interface.
func watchAdverts(h *labnet.Host, ipv6 bool, priority int) (*advertWatch, error) {
	var conn net.PacketConn
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.Iface)
		if err != nil {
			return err
		}
		if ipv6 {
			c, err := net.ListenPacket(fmt.Sprintf("ip6:%d", vrrpProto), "::")
			if err != nil {
				return err
			}
			conn = c
			return ipv6JoinVRRP(c, ifi)
		}
		c, err := net.ListenPacket(fmt.Sprintf("ip4:%d", vrrpProto), "0.0.0.0")
		if err != nil {
			return err
		}
		conn = c
		return ipv4.NewPacketConn(c).JoinGroup(ifi, &net.UDPAddr{IP: net.IPv4(224, 0, 0, 18)})
	})
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("lab: watch VRRP advertisements in %s: %w", h.NS, err)
	}
	return newAdvertWatch(conn, "advertisement", func(_ net.Addr, b []byte) bool {
		// The payload: version/type, VRID, priority, ... (an IPv4 raw
		// socket hands over the IP header too).
		b = stripIPv4Header(b)
		return len(b) >= 3 && b[0] == 0x31 && b[2] == byte(priority) // VRRPv3 advertisement
	}), nil
}

// newAdvertWatch starts reading conn.
func newAdvertWatch(conn net.PacketConn, what string, match func(net.Addr, []byte) bool) *advertWatch {
	w := &advertWatch{conn: conn, match: match, what: what, done: make(chan struct{}), wake: make(chan struct{})}
	go w.read()
	return w
}

// stripIPv4Header returns b without its IPv4 header, if it starts with
// one (an IPv4 raw socket hands it over; an IPv6 one does not); nil if
// b is shorter than its header.
func stripIPv4Header(b []byte) []byte {
	if len(b) > 0 && b[0]>>4 == 4 {
		hl := int(b[0]&0x0f) * 4
		if len(b) < hl {
			return nil
		}
		return b[hl:]
	}
	return b
}

func ipv6JoinVRRP(c net.PacketConn, ifi *net.Interface) error {
	return ipv6.NewPacketConn(c).JoinGroup(ifi, &net.UDPAddr{IP: net.ParseIP("ff02::12")})
}

func (w *advertWatch) read() {
	defer close(w.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := w.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !w.match(from, buf[:n]) {
			continue
		}
		now := time.Now()
		w.mu.Lock()
		w.last = now
		close(w.wake)
		w.wake = make(chan struct{})
		w.mu.Unlock()
	}
}

// next waits for A's next message and returns when it arrived.
func (w *advertWatch) next(ctx context.Context, within time.Duration) (time.Time, error) {
	w.mu.Lock()
	wake := w.wake
	w.mu.Unlock()
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-wake:
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.last, nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	case <-t.C:
		return time.Time{}, fmt.Errorf("lab: no %s from A within %v", w.what, within)
	}
}

func (w *advertWatch) close() {
	w.conn.Close()
	<-w.done
}

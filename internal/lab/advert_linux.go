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

// advertWatch listens, in the router's namespace, for the VRRP
// advertisements on the LAN (224.0.0.18 / ff02::12) and remembers when the
// last one of a given priority arrived. The lab times the fault by it: A is
// powered off just after one of its advertisements, so that B always waits
// a whole Master_Down_Interval and runs of different implementations are
// compared from the same start.
type advertWatch struct {
	conn     net.PacketConn
	priority byte
	done     chan struct{}

	mu   sync.Mutex // guards last and wake
	last time.Time
	wake chan struct{} // closed on the next advertisement
}

// watchAdverts starts watching for advertisements with the given priority
// arriving at host h (the router) on its LAN interface.
func watchAdverts(h *labnet.Host, ipv6 bool, priority int) (*advertWatch, error) {
	w := &advertWatch{priority: byte(priority), done: make(chan struct{}), wake: make(chan struct{})}
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
			w.conn = c
			return ipv6JoinVRRP(c, ifi)
		}
		c, err := net.ListenPacket(fmt.Sprintf("ip4:%d", vrrpProto), "0.0.0.0")
		if err != nil {
			return err
		}
		w.conn = c
		return ipv4.NewPacketConn(c).JoinGroup(ifi, &net.UDPAddr{IP: net.IPv4(224, 0, 0, 18)})
	})
	if err != nil {
		if w.conn != nil {
			w.conn.Close()
		}
		return nil, fmt.Errorf("lab: watch VRRP advertisements in %s: %w", h.NS, err)
	}
	go w.read()
	return w, nil
}

func ipv6JoinVRRP(c net.PacketConn, ifi *net.Interface) error {
	return ipv6.NewPacketConn(c).JoinGroup(ifi, &net.UDPAddr{IP: net.ParseIP("ff02::12")})
}

func (w *advertWatch) read() {
	defer close(w.done)
	buf := make([]byte, 1500)
	for {
		n, _, err := w.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		// The payload: version/type, VRID, priority, ... (an IPv4 raw
		// socket hands over the IP header too).
		b := buf[:n]
		if len(b) > 0 && b[0]>>4 == 4 {
			hl := int(b[0]&0x0f) * 4
			if len(b) < hl {
				continue
			}
			b = b[hl:]
		}
		if len(b) < 3 || b[0] != 0x31 || b[2] != w.priority { // VRRPv3 advertisement
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

// next waits for the next advertisement and returns when it arrived.
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
		return time.Time{}, fmt.Errorf("lab: no advertisement from A within %v", within)
	}
}

func (w *advertWatch) close() {
	w.conn.Close()
	<-w.done
}

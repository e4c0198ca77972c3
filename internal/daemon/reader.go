package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vipd/vipd/internal/clock"
	"github.com/vipd/vipd/internal/control"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/vrrp"
)

// Read errors: the reader retries after readBackoff, doubling up to
// readBackoffMax; after reopenAfter errors in a row it reopens the socket.
const (
	readBackoff    = time.Millisecond
	readBackoffMax = time.Second
	reopenAfter    = 8
)

// link is one (interface, address family) with its VRRP socket, the
// instances configured there, and one goroutine reading it. The reader
// survives errors: a link that goes down makes a packet socket fail once
// with ENETDOWN; the reader retries with backoff, and reopens the socket if
// it keeps failing.
type link struct {
	ifi    *net.Interface
	ipv6   bool
	log    *slog.Logger
	clock  clock.Clock
	reopen func() (transport.PacketConn, error)
	// publish reports a socket's failure and recovery (once each).
	publish func(control.Event)

	readErrors atomic.Uint64

	mu     sync.Mutex // guards the fields below
	conn   transport.PacketConn
	byVRID map[uint8]*instance
	drops  map[string]uint64
}

func (l *link) add(in *instance) {
	l.mu.Lock()
	l.byVRID[in.cfg.VRID] = in
	l.mu.Unlock()
}

// remove unregisters in and returns how many instances remain.
func (l *link) remove(in *instance) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byVRID[in.cfg.VRID] == in {
		delete(l.byVRID, in.cfg.VRID)
	}
	return len(l.byVRID)
}

func (l *link) drop(reason string) {
	l.mu.Lock()
	l.drops[reason]++
	l.mu.Unlock()
}

func (l *link) dropCounts() map[string]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]uint64, len(l.drops))
	for k, v := range l.drops {
		out[k] = v
	}
	return out
}

func (l *link) socket() transport.PacketConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn
}

// writeTo sends an advertisement on the current socket.
func (l *link) writeTo(b []byte, src, dst netip.Addr) error {
	return l.socket().WriteTo(b, src, dst)
}

// close closes the socket; the reader then returns.
func (l *link) close() error { return l.socket().Close() }

// read hands packets to their instances until ctx is done or the link is
// closed.
func (l *link) read(ctx context.Context) {
	var (
		failing int
		backoff = readBackoff
	)
	for {
		conn := l.socket()
		p, err := conn.ReadPacket(ctx)
		if err != nil {
			var de *transport.DropError
			switch {
			case errors.As(err, &de):
				l.drop(vrrp.DropMalformedIP.String())
				continue
			case ctx.Err() != nil:
				return
			case errors.Is(err, net.ErrClosed) && l.socket() == conn:
				return // closed by detach
			case errors.Is(err, net.ErrClosed):
				continue // replaced by a reopen
			}
			l.readErrors.Add(1)
			failing++
			if failing == 1 {
				l.log.Warn("VRRP receive failed; retrying, further errors are counted", "err", err)
				l.publish(control.Event{Type: control.EventLink, Message: "VRRP receive failed on " + l.ifi.Name,
					Fields: map[string]string{"iface": l.ifi.Name, "error": err.Error()}})
			}
			if failing%reopenAfter == 0 {
				l.reopenSocket(conn)
			}
			if !l.sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, readBackoffMax)
			continue
		}
		if failing > 0 {
			l.log.Info("VRRP receive resumed", "errors", failing)
			l.publish(control.Event{Type: control.EventLink, Message: "VRRP receive resumed on " + l.ifi.Name,
				Fields: map[string]string{"iface": l.ifi.Name}})
			failing, backoff = 0, readBackoff
		}
		if len(p.Payload) < 2 {
			l.drop(vrrp.DropTooShort.String())
			continue
		}
		l.mu.Lock()
		in, ok := l.byVRID[p.Payload[1]]
		l.mu.Unlock()
		if !ok {
			l.drop(vrrp.DropUnknownVRID.String())
			continue
		}
		in.deliver(p)
	}
}

// reopenSocket replaces a socket that keeps failing.
func (l *link) reopenSocket(old transport.PacketConn) {
	if l.reopen == nil {
		return
	}
	c, err := l.reopen()
	if err != nil {
		l.log.Warn("cannot reopen the VRRP socket; retrying", "err", err)
		return
	}
	l.mu.Lock()
	if l.conn != old || c == old {
		l.mu.Unlock()
		if c != old {
			c.Close()
		}
		return
	}
	l.conn = c
	l.mu.Unlock()
	old.Close()
	l.log.Info("VRRP socket reopened")
}

func (l *link) sleep(ctx context.Context, d time.Duration) bool {
	t := l.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"

	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/vrrp"
)

// link is one interface and address family: one VRRP transport shared by
// the instances configured there, and one goroutine reading it.
type link struct {
	ifi  *net.Interface
	ipv6 bool
	conn transport.PacketConn
	log  *slog.Logger

	mu     sync.Mutex // guards byVRID and drops
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

// read hands packets to their instances until ctx is done or the conn fails.
func (l *link) read(ctx context.Context) {
	for {
		p, err := l.conn.ReadPacket(ctx)
		if err != nil {
			var de *transport.DropError
			if errors.As(err, &de) {
				l.drop(vrrp.DropMalformedIP.String())
				continue
			}
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				l.log.Error("vrrp receive failed", "err", err)
			}
			return
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

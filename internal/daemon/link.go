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
	ifi    *net.Interface
	ipv6   bool
	conn   transport.PacketConn
	byVRID map[uint8]*instance
	log    *slog.Logger

	mu    sync.Mutex // guards drops
	drops map[string]uint64
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
			if ctx.Err() == nil {
				l.log.Error("vrrp receive failed", "err", err)
			}
			return
		}
		if len(p.Payload) < 2 {
			l.drop(vrrp.DropTooShort.String())
			continue
		}
		in, ok := l.byVRID[p.Payload[1]]
		if !ok {
			l.drop(vrrp.DropUnknownVRID.String())
			continue
		}
		in.deliver(p)
	}
}

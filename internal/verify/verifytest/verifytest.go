// Package verifytest provides fakes for testing code that uses package
// verify: a Prober whose replies the test decides and a fixed neighbour
// table.
package verifytest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/vipd/vipd/internal/verify"
)

// Echo is one echo request a Prober got.
type Echo struct {
	IfIndex  int
	Src, Dst netip.Addr
	Answered bool
}

// Prober is a verify.Prober that answers at once, from the calling
// goroutine, every echo for which Answer returns true (all of them when
// Answer is nil). The zero value is ready to use.
type Prober struct {
	// Answer decides whether the echo from src to dst is answered. Set it
	// before use; it is called without the Prober's lock.
	Answer func(src, dst netip.Addr) bool

	mu      sync.Mutex // guards the fields below
	echoes  []Echo
	changed chan struct{} // closed and replaced on every Echo
}

// Echo implements verify.Prober.
func (p *Prober) Echo(ifindex int, src, dst netip.Addr, reply func()) error {
	ok := p.Answer == nil || p.Answer(src, dst)
	p.mu.Lock()
	p.echoes = append(p.echoes, Echo{IfIndex: ifindex, Src: src, Dst: dst, Answered: ok})
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
	p.mu.Unlock()
	if ok {
		reply()
	}
	return nil
}

// Echoes returns a copy of the echoes so far.
func (p *Prober) Echoes() []Echo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Echo(nil), p.echoes...)
}

// Wait blocks until at least n echoes were sent or ctx is done.
func (p *Prober) Wait(ctx context.Context, n int) error {
	for {
		p.mu.Lock()
		have := len(p.echoes)
		if have >= n {
			p.mu.Unlock()
			return nil
		}
		if p.changed == nil {
			p.changed = make(chan struct{})
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("verifytest: %d of %d echoes: %w", have, n, ctx.Err())
		}
	}
}

// Neighbors is a fixed neighbour table for verify.Neighbors.
type Neighbors map[netip.Addr]net.HardwareAddr

// Lookup implements verify.Neighbors.
func (n Neighbors) Lookup(ifindex int, a netip.Addr) (net.HardwareAddr, error) {
	if mac, ok := n[a.Unmap().WithZone("")]; ok {
		return mac, nil
	}
	return nil, fmt.Errorf("verifytest: no neighbour %v", a)
}

var (
	_ verify.Prober    = (*Prober)(nil)
	_ verify.Neighbors = Neighbors(nil)
)

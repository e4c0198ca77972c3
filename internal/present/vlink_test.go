package present

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/clock/clocktest"
	"github.com/vipd/vipd/internal/vipaddr/vipaddrtest"
	"github.com/vipd/vipd/internal/watch"
)

// vlink is a VirtualLink in memory: each Ensure of a missing link gives
// it a new index, as the kernel does.
type vlink struct {
	addrs *vipaddrtest.Fake

	mu       sync.Mutex
	idx      int // 0: missing
	up       bool
	next     int
	ensures  int
	deletes  int
	failWith error
}

var vmac4 = net.HardwareAddr{0, 0, 0x5e, 0, 1, 42}

func (l *vlink) State() (int, bool, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.idx, l.idx != 0, l.up
}
func (l *vlink) Ensure() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ensures++
	if l.failWith != nil {
		return 0, l.failWith
	}
	if l.idx == 0 {
		l.next++
		l.idx, l.up = 100+l.next, false
	}
	return l.idx, nil
}
func (l *vlink) SetUp(up bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.idx == 0 {
		return errors.New("no such link")
	}
	l.up = up
	return nil
}
func (l *vlink) Delete() error {
	l.mu.Lock()
	idx := l.idx
	l.idx, l.up = 0, false
	l.deletes++
	l.mu.Unlock()
	if idx != 0 {
		l.addrs.Set(idx) // its addresses go with it
	}
	return nil
}
func (l *vlink) Name() string          { return "vrrp4-42" }
func (l *vlink) MAC() net.HardwareAddr { return vmac4 }

func (l *vlink) state() (idx int, up bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.idx, l.up
}

// The VIPs live on the virtual MAC interface: created down while backup,
// up on takeover, down on release (before the VIPs go), created again if deleted behind
// vipd's back, deleted on Close.
func TestL2VirtualMAC(t *testing.T) {
	k := &kernel{addrs: vipaddrtest.New()}
	vl := &vlink{addrs: k.addrs}
	ann := &announcer{}
	led := &ledger{set: map[netip.Prefix]bool{}}
	reports := make(chan Report, 100)
	p := NewL2(Config{
		Instance:  "web",
		Interface: net.Interface{Index: 2, Name: "eth0", HardwareAddr: mac},
		Primary:   netip.MustParseAddr("192.0.2.11"),
		Settings:  Settings{VIPs: vips},
	}, Deps{
		Kernel: k, Addresses: k.addrs, Announcer: ann, Ledger: led, Clock: clocktest.NewClock(t0), VMAC: vl,
		Report: func(r Report) { reports <- r },
	})
	k.addrs.OnCall(func(vipaddrtest.Call) { p.Reconcile() })
	p.Start()
	closed := false
	t.Cleanup(func() {
		if !closed {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p.Close(ctx)
		}
	})

	p.Reconcile()
	waitFor(t, "the backup's virtual MAC interface, down", func() bool { idx, up := vl.state(); return idx == 101 && !up })
	p.TakeOver(t0)
	waitFor(t, "VIPs on the virtual MAC interface", func() bool {
		idx, up := vl.state()
		return idx == 101 && up && len(k.addrs.Addresses(101)) == 3
	})
	if n := len(k.addrs.Addresses(2)); n != 0 {
		t.Fatalf("%d VIPs on the parent", n)
	}
	waitFor(t, "announced", func() bool { n, _, _ := ann.counts(); return n == 1 })
	if st := p.Status(); !st.VIPs[0].Held {
		t.Fatalf("status %+v", st)
	}

	// Deleted by hand while master: created again (a new index), the
	// VIPs back on it and reported restored.
	vl.Delete()
	p.Reconcile()
	waitFor(t, "created again with the VIPs", func() bool {
		idx, up := vl.state()
		return idx == 102 && up && len(k.addrs.Addresses(102)) == 3
	})
	if rs, ok := (<-reports).(Restored); !ok || len(rs.VIPs) != 3 {
		t.Fatalf("report %#v, want Restored of 3", rs)
	}
	if led.len() != 3 {
		t.Fatalf("ledger holds %d VIPs", led.len())
	}

	// Set down by hand while master: up again.
	vl.SetUp(false)
	p.Reconcile()
	waitFor(t, "up again", func() bool { _, up := vl.state(); return up })

	p.Release(watch.Owner{Node: "192.0.2.12"})
	waitFor(t, "down and empty", func() bool {
		idx, up := vl.state()
		return idx == 102 && !up && len(k.addrs.Addresses(102)) == 0 && led.len() == 0
	})

	// A link that cannot be created fails the add: the instance resigns.
	vl.mu.Lock()
	vl.failWith = errors.New("operation not permitted")
	vl.mu.Unlock()
	vl.Delete()
	p.TakeOver(t0)
	for r := range reports {
		if af, ok := r.(AddFailed); ok {
			if af.Err == nil {
				t.Fatal("AddFailed without an error")
			}
			break
		}
	}
	if n := len(k.addrs.Addresses(0)) + len(k.addrs.Addresses(2)); n != 0 {
		t.Fatalf("%d VIPs added without the virtual MAC interface", n)
	}
	vl.mu.Lock()
	vl.failWith = nil
	vl.mu.Unlock()
	p.TakeOver(t0)
	waitFor(t, "taken over", func() bool { idx, up := vl.state(); return idx == 103 && up && len(k.addrs.Addresses(103)) == 3 })
	p.Release(watch.Owner{})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.Close(ctx)
	closed = true
	if idx, _ := vl.state(); idx != 0 {
		t.Fatal("virtual MAC interface left after Close")
	}
}

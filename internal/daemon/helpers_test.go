package daemon

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/vipaddr/vipaddrtest"

	"github.com/vipd/vipd/internal/transport/transporttest"
	"github.com/vipd/vipd/internal/vrrp"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustAdvert(t *testing.T, vrid, prio uint8, src, dst netip.Addr) []byte {
	t.Helper()
	a := vrrp.Advertisement{VRID: vrid, Priority: prio, MaxAdvertInterval: 2,
		Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}}
	b, err := a.Marshal(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// advertise sends adverts from c every 20 ms until stopped.
func advertise(t *testing.T, c *transporttest.Conn, src string, prio uint8) func() {
	s, dst := netip.MustParseAddr(src), netip.MustParseAddr("224.0.0.18")
	b := mustAdvert(t, 42, prio, s, dst)
	done := make(chan struct{})
	go func() {
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			c.WriteTo(b, s, dst)
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()
	return func() { close(done) }
}

// fakeKernel is the Kernel of a fakeEnv: its addresses are the vipaddrtest
// Fake's, its link the fakeEnv's interface, and every change is reported at
// once (as netlink events would be).
type fakeKernel struct {
	env *fakeEnv

	mu   sync.Mutex // guards subs and other
	subs map[int]func(KernelChange)
	next int
	// other are addresses on other interfaces, by name (an operator's).
	other map[string][]netip.Prefix
}

func newFakeKernel(env *fakeEnv) *fakeKernel {
	k := &fakeKernel{env: env, subs: map[int]func(KernelChange){}, other: map[string][]netip.Prefix{}}
	env.addrs.OnCall(func(c vipaddrtest.Call) {
		if c.Op != vipaddrtest.OpPresent {
			k.notify(KernelChange{Index: c.IfIndex})
		}
	})
	return k
}

func (k *fakeKernel) Addrs(ifindex int) []netip.Prefix { return k.env.addrs.Addresses(ifindex) }

func (k *fakeKernel) LinkUp(ifindex int) bool {
	lk, ok := k.Link("eth0")
	return ok && lk.Index == ifindex && lk.Up && lk.Running
}

func (k *fakeKernel) Link(name string) (Link, bool) {
	ifi, err := k.env.InterfaceByName(name)
	if err != nil {
		return Link{}, false
	}
	return Link{Index: ifi.Index, Name: ifi.Name, Up: ifi.Flags&net.FlagUp != 0, Running: ifi.Flags&net.FlagRunning != 0}, true
}

func (k *fakeKernel) Holders(a netip.Addr) []string {
	var names []string
	for _, p := range k.env.addrs.Addresses(k.env.ifi.Index) {
		if p.Addr() == a {
			names = append(names, k.env.ifi.Name)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for name, ps := range k.other {
		for _, p := range ps {
			if p.Addr() == a {
				names = append(names, name)
			}
		}
	}
	return names
}

func (k *fakeKernel) Subscribe(f func(KernelChange)) func() {
	k.mu.Lock()
	defer k.mu.Unlock()
	id := k.next
	k.next++
	k.subs[id] = f
	return func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		delete(k.subs, id)
	}
}

func (k *fakeKernel) notify(c KernelChange) {
	k.mu.Lock()
	var fs []func(KernelChange)
	for _, f := range k.subs {
		fs = append(fs, f)
	}
	k.mu.Unlock()
	for _, f := range fs {
		f(c)
	}
}

// TestMain fails the package when a test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

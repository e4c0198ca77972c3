package netmontest

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/netmon"
	"github.com/vipd/vipd/internal/vipaddr/vipaddrtest"
)

var (
	v4  = netip.MustParsePrefix("192.0.2.100/24")
	v4b = netip.MustParsePrefix("192.0.2.101/24")
	v6  = netip.MustParsePrefix("2001:db8::100/64")
	bg  = context.Background()
)

// changes records what a subscriber receives.
type changes struct {
	mu sync.Mutex // guards cs
	cs []netmon.Change
}

func record(src netmon.Source) *changes {
	c := &changes{}
	src.Subscribe(func(ch netmon.Change) {
		c.mu.Lock()
		c.cs = append(c.cs, ch)
		c.mu.Unlock()
	})
	return c
}

// take returns the changes received so far and forgets them.
func (c *changes) take() []netmon.Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.cs
	c.cs = nil
	return cs
}

func (c *changes) check(t *testing.T, what string, want ...netmon.Change) {
	t.Helper()
	if got := c.take(); !slices.Equal(got, want) {
		t.Errorf("%s: changes\n got %v\nwant %v", what, got, want)
	}
}

func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				t.Errorf("goroutines leaked: %d running, %d before", runtime.NumGoroutine(), before)
				return
			}
			time.Sleep(time.Millisecond) // polling a count: there is no event to wait on
		}
	})
}

func TestFakeLinks(t *testing.T) {
	checkGoroutines(t)
	f := New(nil)
	c := record(f)
	eth0 := f.AddLink("eth0")
	c.check(t, "AddLink", netmon.Change{Kind: netmon.LinkChanged, Index: 1, Name: "eth0"})
	if !eth0.Usable() || !eth0.LowerUp || eth0.OperState != netmon.OperUp || len(eth0.HardwareAddr) != 6 {
		t.Errorf("new link %+v", eth0)
	}
	f.AddAddr(1, v4, v6)
	c.check(t, "AddAddr",
		netmon.Change{Kind: netmon.AddrAdded, Index: 1, Name: "eth0", Prefix: v4},
		netmon.Change{Kind: netmon.AddrAdded, Index: 1, Name: "eth0", Prefix: v6})

	// Admin down loses the IPv6 address, as Linux does.
	l := f.SetUp("eth0", false)
	c.check(t, "SetUp(false)",
		netmon.Change{Kind: netmon.AddrRemoved, Index: 1, Name: "eth0", Prefix: v6},
		netmon.Change{Kind: netmon.LinkChanged, Index: 1, Name: "eth0"})
	if l.Up || l.Running || l.LowerUp || l.OperState != netmon.OperDown {
		t.Errorf("after SetUp(false): %+v", l)
	}
	if got := f.Addrs(1); !slices.Equal(got, []netip.Prefix{v4}) {
		t.Errorf("Addrs = %v", got)
	}
	f.SetCarrier("eth0", false) // while down: only remembered
	c.check(t, "SetCarrier while down")
	if l := f.SetUp("eth0", true); !l.Up || l.Running || l.OperState != netmon.OperDown {
		t.Errorf("up without carrier: %+v", l)
	}
	c.take()
	if l := f.SetCarrier("eth0", true); !l.Usable() || !l.LowerUp || l.OperState != netmon.OperUp {
		t.Errorf("carrier back: %+v", l)
	}
	c.check(t, "SetCarrier(true)", netmon.Change{Kind: netmon.LinkChanged, Index: 1, Name: "eth0"})

	// Recreated: a new index, without the old one's addresses.
	n := f.Recreate("eth0")
	c.check(t, "Recreate",
		netmon.Change{Kind: netmon.AddrRemoved, Index: 1, Name: "eth0", Prefix: v4},
		netmon.Change{Kind: netmon.LinkDeleted, Index: 1, Name: "eth0"},
		netmon.Change{Kind: netmon.LinkChanged, Index: 2, Name: "eth0"})
	if got, _ := f.Link("eth0"); got.Index != 2 || n.Index != 2 || f.Addrs(1) != nil {
		t.Errorf("after Recreate: %+v, old addrs %v", got, f.Addrs(1))
	}
	// SetLink with the name of another index recreates too.
	f.AddAddr(2, v4)
	c.take()
	f.SetLink(netmon.Link{Index: 7, Name: "eth0", Up: true})
	c.check(t, "SetLink over the name",
		netmon.Change{Kind: netmon.AddrRemoved, Index: 2, Name: "eth0", Prefix: v4},
		netmon.Change{Kind: netmon.LinkDeleted, Index: 2, Name: "eth0"},
		netmon.Change{Kind: netmon.LinkChanged, Index: 7, Name: "eth0"})
	if l := f.AddLink("eth1"); l.Index != 8 {
		t.Errorf("next index %d, want 8", l.Index)
	}
	f.AddAddr(8, v4b, v6)
	f.Flush(8)
	f.DeleteLink("eth1")
	f.DeleteLink("eth1")
	f.Resync()
	c.check(t, "the rest",
		netmon.Change{Kind: netmon.LinkChanged, Index: 8, Name: "eth1"},
		netmon.Change{Kind: netmon.AddrAdded, Index: 8, Name: "eth1", Prefix: v4b},
		netmon.Change{Kind: netmon.AddrAdded, Index: 8, Name: "eth1", Prefix: v6},
		netmon.Change{Kind: netmon.AddrRemoved, Index: 8, Name: "eth1", Prefix: v4b},
		netmon.Change{Kind: netmon.AddrRemoved, Index: 8, Name: "eth1", Prefix: v6},
		netmon.Change{Kind: netmon.LinkDeleted, Index: 8, Name: "eth1"},
		netmon.Change{Kind: netmon.Resynced})
	if got := f.Links(); len(got) != 1 || got[0].Index != 7 {
		t.Errorf("Links = %+v", got)
	}
}

func TestFakeFollowsVipaddrtest(t *testing.T) {
	checkGoroutines(t)
	addrs := vipaddrtest.New()
	addrs.Set(1, v4b) // there before the Fake
	f := New(addrs)
	f.AddLink("eth0")
	f.AddLink("lo")
	if got := f.Addrs(1); !slices.Equal(got, []netip.Prefix{v4b}) {
		t.Errorf("Addrs before any change = %v", got)
	}
	c := record(f)

	// The daemon adds VIPs through vipaddr.Addresses.
	if err := addrs.Add(bg, 1, []netip.Prefix{v4, v6}); err != nil {
		t.Fatal(err)
	}
	f.Sync()
	c.check(t, "daemon's Add",
		netmon.Change{Kind: netmon.AddrAdded, Index: 1, Name: "eth0", Prefix: v4},
		netmon.Change{Kind: netmon.AddrAdded, Index: 1, Name: "eth0", Prefix: v6})
	if !f.HasAddr(1, v4) || !slices.Equal(f.Present(1, []netip.Prefix{v6, v4}), []netip.Prefix{v6, v4}) {
		t.Errorf("Addrs = %v", f.Addrs(1))
	}
	// The same VIP on lo, by an operator.
	f.AddAddr(2, netip.PrefixFrom(v4.Addr(), 32))
	if got := f.Holders(v4.Addr()); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("Holders = %v", got)
	}
	if got := addrs.Addresses(2); len(got) != 1 {
		t.Errorf("vipaddrtest has %v on lo", got)
	}
	c.take()

	// An operator's ip addr del vanishes from vipaddrtest too.
	f.DelAddr(1, v4)
	c.check(t, "operator's del", netmon.Change{Kind: netmon.AddrRemoved, Index: 1, Name: "eth0", Prefix: v4})
	if got, _ := addrs.Present(bg, 1, []netip.Prefix{v4, v6}); !slices.Equal(got, []netip.Prefix{v6}) {
		t.Errorf("vipaddrtest Present = %v", got)
	}
	// So does the IPv6 address of a link set down, and a flush.
	f.SetUp("eth0", false)
	if got := addrs.Addresses(1); !slices.Equal(got, []netip.Prefix{v4b}) {
		t.Errorf("vipaddrtest after admin down: %v", got)
	}
	f.Flush(1)
	if got := addrs.Addresses(1); len(got) != 0 {
		t.Errorf("vipaddrtest after Flush: %v", got)
	}
	// And the addresses of a deleted link.
	f.DeleteLink("lo")
	if got := addrs.Addresses(2); len(got) != 0 {
		t.Errorf("vipaddrtest after DeleteLink: %v", got)
	}
	if got := f.Holders(v4.Addr()); got != nil {
		t.Errorf("Holders = %v", got)
	}
}

// TestFakeReconcileInCallback is a daemon that restores a VIP from its
// callback, through vipaddr.Addresses, when an operator removes it.
func TestFakeReconcileInCallback(t *testing.T) {
	checkGoroutines(t)
	addrs := vipaddrtest.New()
	f := New(addrs)
	f.AddLink("eth0")
	restored := make(chan struct{}, 1)
	cancel := f.Subscribe(func(c netmon.Change) {
		if c.Kind == netmon.AddrRemoved && c.Prefix == v4 && !f.HasAddr(1, v4) {
			if err := addrs.Add(bg, 1, []netip.Prefix{v4}); err != nil {
				t.Error(err)
			}
			restored <- struct{}{}
		}
	})
	defer cancel()
	f.AddAddr(1, v4)
	f.DelAddr(1, v4)
	select {
	case <-restored:
	case <-time.After(5 * time.Second):
		t.Fatal("the callback did not run")
	}
	f.Sync()
	if !f.HasAddr(1, v4) || !slices.Equal(addrs.Addresses(1), []netip.Prefix{v4}) {
		t.Errorf("not restored: netmontest %v, vipaddrtest %v", f.Addrs(1), addrs.Addresses(1))
	}
}

// TestFakeConcurrent changes addresses from several goroutines, through
// both fakes: they agree at the end, and every subscriber saw the changes
// in an order that rebuilds the final state.
func TestFakeConcurrent(t *testing.T) {
	checkGoroutines(t)
	addrs := vipaddrtest.New()
	f := New(addrs)
	f.AddLink("eth0")
	seen := map[netip.Prefix]bool{}
	var mu sync.Mutex
	f.Subscribe(func(c netmon.Change) {
		mu.Lock()
		defer mu.Unlock()
		switch c.Kind {
		case netmon.AddrAdded:
			seen[c.Prefix] = true
		case netmon.AddrRemoved:
			delete(seen, c.Prefix)
		}
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				p := netip.MustParsePrefix(fmt.Sprintf("198.51.100.%d/32", i%16))
				switch (g + i) % 4 {
				case 0:
					addrs.Add(bg, 1, []netip.Prefix{p})
				case 1:
					addrs.Remove(bg, 1, []netip.Prefix{p})
				case 2:
					f.AddAddr(1, p)
				case 3:
					f.DelAddr(1, p)
				}
			}
		})
	}
	wg.Wait()
	f.Sync()
	want := addrs.Addresses(1)
	if got := f.Addrs(1); !slices.Equal(got, want) {
		t.Errorf("netmontest %v, vipaddrtest %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != len(want) {
		t.Errorf("the changes rebuild %d addresses, want %d", len(seen), len(want))
	}
	for _, p := range want {
		if !seen[p] {
			t.Errorf("the changes lost %v", p)
		}
	}
}

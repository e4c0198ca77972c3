package netmontest

import (
	"net"
	"net/netip"
	"sync"

	"github.com/vipd/vipd/internal/netmon"
	"github.com/vipd/vipd/internal/vipaddr/vipaddrtest"
)

// Fake is an in-memory netmon.Source; see the package documentation.
// Create it with New. Its methods are safe for concurrent use.
type Fake struct {
	addrs *vipaddrtest.Fake // the address store, or nil: the snapshot is
	out   netmon.Fanout

	mu         sync.Mutex // guards the fields below
	snap       netmon.Snapshot
	carrier    map[int]bool    // per index: the carrier, remembered across admin down
	queue      []netmon.Change // not yet delivered
	queued     uint64          // changes queued since New
	delivered  uint64          // changes delivered since New
	delivering bool            // a goroutine is delivering the queue
	progress   *sync.Cond      // on mu; broadcast when delivered grows
	nextIndex  int
}

var _ netmon.Source = (*Fake)(nil)

// New returns a Fake with no links (not even lo). With addrs, the Fake
// follows that vipaddrtest.Fake's addresses, starting with those it has
// now; with nil it keeps addresses itself.
func New(addrs *vipaddrtest.Fake) *Fake {
	f := &Fake{addrs: addrs, carrier: make(map[int]bool), nextIndex: 1}
	f.progress = sync.NewCond(&f.mu)
	if addrs != nil {
		addrs.OnChange(f.addrChanged)
	}
	return f
}

// addrChanged follows the vipaddrtest.Fake. It is called with that fake's
// lock held, so it only queues.
func (f *Fake) addrChanged(ifindex int, p netip.Prefix, present bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if present {
		f.enqueue(f.snap.AddAddr(ifindex, p))
	} else {
		f.enqueue(f.snap.DelAddr(ifindex, p))
	}
}

// enqueue queues cs for delivery and makes sure a goroutine delivers them.
// Callers hold f.mu.
func (f *Fake) enqueue(cs []netmon.Change) {
	if len(cs) == 0 {
		return
	}
	f.queue = append(f.queue, cs...)
	f.queued += uint64(len(cs))
	if !f.delivering {
		f.delivering = true
		go f.deliver()
	}
}

// deliver hands the queue to the subscribers until it is empty, then
// exits.
func (f *Fake) deliver() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.queue) > 0 {
		cs := f.queue
		f.queue = nil
		f.mu.Unlock()
		f.out.Emit(cs)
		f.mu.Lock()
		f.delivered += uint64(len(cs))
		f.progress.Broadcast()
	}
	f.delivering = false
}

// wait waits until every change queued so far has been delivered. Callers
// hold f.mu.
func (f *Fake) wait() {
	for seq := f.queued; f.delivered < seq; {
		f.progress.Wait()
	}
}

// Sync waits until every change made so far, through the vipaddrtest.Fake
// too, has been delivered.
func (f *Fake) Sync() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wait()
}

// change runs fn with f.mu held, queues what it returns and waits for the
// delivery.
func (f *Fake) change(fn func() []netmon.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enqueue(fn())
	f.wait()
}

// mac is the MAC address of a link the Fake creates.
func mac(index int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0, 0, 0, byte(index >> 8), byte(index)}
}

// AddLink creates a link named name, up with carrier, under a new index,
// and returns it. A link that had the name is deleted first, as by
// SetLink.
func (f *Fake) AddLink(name string) netmon.Link {
	f.mu.Lock()
	i := f.nextIndex
	f.nextIndex++
	f.mu.Unlock()
	l := netmon.Link{Index: i, Name: name, HardwareAddr: mac(i), MTU: 1500,
		Up: true, Running: true, LowerUp: true, OperState: netmon.OperUp}
	f.SetLink(l)
	return l
}

// SetLink adds l or replaces the link with l's index: LinkChanged if
// anything differs. A link of another index with l's name is deleted
// first, with its addresses (the interface was recreated). The carrier
// SetUp restores is l.LowerUp if l is up, else what it was (for a new
// link: present).
func (f *Fake) SetLink(l netmon.Link) {
	if old, ok := f.Link(l.Name); ok && old.Index != l.Index {
		f.deleteIndex(old.Index)
	}
	f.change(func() []netmon.Change {
		f.nextIndex = max(f.nextIndex, l.Index+1)
		if _, known := f.carrier[l.Index]; l.Up || !known {
			f.carrier[l.Index] = l.LowerUp || !l.Up
		}
		return f.snap.SetLink(l)
	})
}

// Recreate deletes the link named name and creates it again under a new
// index, up with carrier and without addresses, as ip link del and add do.
func (f *Fake) Recreate(name string) netmon.Link {
	f.DeleteLink(name)
	return f.AddLink(name)
}

// DeleteLink deletes the link named name and its addresses, if there is
// one.
func (f *Fake) DeleteLink(name string) {
	if l, ok := f.Link(name); ok {
		f.deleteIndex(l.Index)
	}
}

func (f *Fake) deleteIndex(ifindex int) {
	if f.addrs != nil {
		f.addrs.Set(ifindex) // AddrRemoved for each, through addrChanged
	}
	f.change(func() []netmon.Change {
		delete(f.carrier, ifindex)
		return f.snap.DeleteLink(ifindex)
	})
}

// SetUp sets the link named name administratively up or down and returns
// it. Down also clears Running and LowerUp, and first removes the link's
// IPv6 addresses, as Linux does (unless net.ipv6.conf.*.keep_addr_on_down
// is set); up restores LowerUp and Running if the link has carrier. It
// panics if there is no such link.
func (f *Fake) SetUp(name string, up bool) netmon.Link {
	if !up {
		var v6 []netip.Prefix
		for _, p := range f.Addrs(f.mustLink(name).Index) {
			if p.Addr().Is6() {
				v6 = append(v6, p)
			}
		}
		f.DelAddr(f.mustLink(name).Index, v6...)
	}
	return f.setFlags(name, func(l *netmon.Link) { l.Up = up })
}

// SetCarrier sets the carrier of the link named name (a veth's peer going
// down or up) and returns it: without carrier it is not Running, not
// LowerUp, and its operational state is down, as Linux reports a veth. It
// panics if there is no such link.
func (f *Fake) SetCarrier(name string, carrier bool) netmon.Link {
	return f.setFlags(name, func(l *netmon.Link) { f.carrier[l.Index] = carrier })
}

// setFlags changes the link named name with fn, then derives LowerUp,
// Running and OperState from Up and the carrier.
func (f *Fake) setFlags(name string, fn func(*netmon.Link)) netmon.Link {
	var l netmon.Link
	f.change(func() []netmon.Change {
		var ok bool
		if l, ok = f.snap.Link(name); !ok {
			panic("netmontest: no link " + name)
		}
		fn(&l)
		l.LowerUp = l.Up && f.carrier[l.Index]
		l.Running = l.LowerUp
		l.OperState = netmon.OperDown
		if l.Running {
			l.OperState = netmon.OperUp
		}
		return f.snap.SetLink(l)
	})
	return l
}

func (f *Fake) mustLink(name string) netmon.Link {
	l, ok := f.Link(name)
	if !ok {
		panic("netmontest: no link " + name)
	}
	return l
}

// AddAddr adds prefixes to interface ifindex, as ip addr add does.
func (f *Fake) AddAddr(ifindex int, prefixes ...netip.Prefix) {
	if f.addrs != nil {
		f.addrs.Insert(ifindex, prefixes...)
		f.Sync()
		return
	}
	f.change(func() []netmon.Change {
		var cs []netmon.Change
		for _, p := range prefixes {
			cs = append(cs, f.snap.AddAddr(ifindex, p)...)
		}
		return cs
	})
}

// DelAddr removes prefixes from interface ifindex, as ip addr del does.
func (f *Fake) DelAddr(ifindex int, prefixes ...netip.Prefix) {
	if f.addrs != nil {
		f.addrs.Delete(ifindex, prefixes...)
		f.Sync()
		return
	}
	f.change(func() []netmon.Change {
		var cs []netmon.Change
		for _, p := range prefixes {
			cs = append(cs, f.snap.DelAddr(ifindex, p)...)
		}
		return cs
	})
}

// Flush removes every address of interface ifindex, as ip addr flush does.
func (f *Fake) Flush(ifindex int) {
	if f.addrs != nil {
		f.addrs.Set(ifindex)
		f.Sync()
		return
	}
	f.DelAddr(ifindex, f.Addrs(ifindex)...)
}

// Resync delivers a Resynced change, as the Monitor does after it
// resubscribed.
func (f *Fake) Resync() {
	f.change(func() []netmon.Change { return []netmon.Change{{Kind: netmon.Resynced}} })
}

// Subscribe implements netmon.Source.
func (f *Fake) Subscribe(fn func(netmon.Change)) (cancel func()) { return f.out.Subscribe(fn) }

// Link implements netmon.Source.
func (f *Fake) Link(name string) (netmon.Link, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.Link(name)
}

// LinkByIndex implements netmon.Source.
func (f *Fake) LinkByIndex(ifindex int) (netmon.Link, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.LinkByIndex(ifindex)
}

// Links returns every link, sorted by index.
func (f *Fake) Links() []netmon.Link {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.Links()
}

// Addrs implements netmon.Source.
func (f *Fake) Addrs(ifindex int) []netip.Prefix {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.Addrs(ifindex)
}

// HasAddr implements netmon.Source.
func (f *Fake) HasAddr(ifindex int, p netip.Prefix) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.HasAddr(ifindex, p)
}

// Present implements netmon.Source.
func (f *Fake) Present(ifindex int, ps []netip.Prefix) []netip.Prefix {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.Present(ifindex, ps)
}

// Holders implements netmon.Source.
func (f *Fake) Holders(a netip.Addr) []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap.Holders(a)
}

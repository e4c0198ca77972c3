package daemon

import (
	"net/netip"
	"slices"

	"github.com/vipd/vipd/internal/netmon"
)

// monitorKernel is a netmon.Source as the daemon's Kernel.
type monitorKernel struct{ m netmon.Source }

func (k monitorKernel) Addrs(ifindex int) []netip.Prefix { return k.m.Addrs(ifindex) }

func (k monitorKernel) Present(ifindex int, ps []netip.Prefix) []netip.Prefix {
	return k.m.Present(ifindex, ps)
}

func (k monitorKernel) Carries(ifindex int, a netip.Addr) bool {
	return slices.Contains(k.m.Holders(a), ifindex)
}

func (k monitorKernel) LinkUp(ifindex int) bool {
	lk, ok := k.m.LinkByIndex(ifindex)
	return ok && lk.Usable()
}

func (k monitorKernel) Link(name string) (Link, bool) {
	lk, ok := k.m.Link(name)
	if !ok {
		return Link{}, false
	}
	return Link{Index: lk.Index, Name: lk.Name, Up: lk.Up, Running: lk.Running}, true
}

func (k monitorKernel) Holders(a netip.Addr) []string {
	var names []string
	for _, idx := range k.m.Holders(a) {
		if lk, ok := k.m.LinkByIndex(idx); ok {
			names = append(names, lk.Name)
		}
	}
	return names
}

func (k monitorKernel) Subscribe(f func(KernelChange)) func() {
	return k.m.Subscribe(func(c netmon.Change) {
		kc := KernelChange{
			Index: c.Index,
			Name:  c.Name,
			Link:  c.Kind == netmon.LinkChanged || c.Kind == netmon.LinkDeleted,
			All:   c.Kind == netmon.Resynced,
		}
		if c.Kind == netmon.AddrAdded {
			kc.Added = c.Prefix
		}
		f(kc)
	})
}

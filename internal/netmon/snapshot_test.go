package netmon

import (
	"net"
	"net/netip"
	"slices"
	"testing"
)

var (
	pA   = netip.MustParsePrefix("192.0.2.10/24")
	pA32 = netip.MustParsePrefix("192.0.2.10/32") // pA's address, another length
	pB   = netip.MustParsePrefix("198.51.100.1/32")
	p6   = netip.MustParsePrefix("2001:db8::10/64")
	lo4  = netip.MustParsePrefix("127.0.0.1/8")
)

func eth(index int, name string) Link {
	return Link{Index: index, Name: name, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, byte(index)},
		MTU: 1500, Up: true, Running: true, LowerUp: true, OperState: OperUp}
}

func checkChanges(t *testing.T, what string, got []Change, want ...Change) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: changes\n got %v\nwant %v", what, got, want)
	}
}

func TestSnapshotLinks(t *testing.T) {
	var s Snapshot
	if _, ok := s.Link("eth0"); ok {
		t.Fatal("empty snapshot has eth0")
	}
	l := eth(2, "eth0")
	checkChanges(t, "new link", s.SetLink(l), Change{Kind: LinkChanged, Index: 2, Name: "eth0"})
	checkChanges(t, "same values", s.SetLink(eth(2, "eth0")))

	down := l
	down.Up, down.Running, down.OperState = false, false, OperDown
	checkChanges(t, "admin down", s.SetLink(down), Change{Kind: LinkChanged, Index: 2, Name: "eth0"})
	if got, ok := s.Link("eth0"); !ok || got.Usable() || got.OperState != OperDown {
		t.Errorf("Link(eth0) = %+v, %v; want it down", got, ok)
	}
	mac := down
	mac.HardwareAddr = net.HardwareAddr{2, 0, 0, 0, 0, 0x99}
	checkChanges(t, "new MAC", s.SetLink(mac), Change{Kind: LinkChanged, Index: 2, Name: "eth0"})

	// A rename moves the name.
	renamed := mac
	renamed.Name = "wan"
	checkChanges(t, "rename", s.SetLink(renamed), Change{Kind: LinkChanged, Index: 2, Name: "wan"})
	if _, ok := s.Link("eth0"); ok {
		t.Error("old name still finds the link")
	}
	if got, ok := s.Link("wan"); !ok || got.Index != 2 {
		t.Errorf("Link(wan) = %+v, %v", got, ok)
	}

	// A new link with a name another index still has: the name finds the
	// newer one, and deleting the older does not take the name away.
	checkChanges(t, "second wan", s.SetLink(eth(7, "wan")), Change{Kind: LinkChanged, Index: 7, Name: "wan"})
	checkChanges(t, "delete old", s.DeleteLink(2), Change{Kind: LinkDeleted, Index: 2, Name: "wan"})
	if got, ok := s.Link("wan"); !ok || got.Index != 7 {
		t.Errorf("Link(wan) = %+v, %v; want index 7", got, ok)
	}
	if _, ok := s.LinkByIndex(2); ok {
		t.Error("index 2 still there")
	}
	checkChanges(t, "delete again", s.DeleteLink(2))
	if got := s.Links(); len(got) != 1 || got[0].Index != 7 {
		t.Errorf("Links = %+v", got)
	}
}

func TestSnapshotAddrs(t *testing.T) {
	var s Snapshot
	s.SetLink(eth(1, "lo"))
	s.SetLink(eth(2, "eth0"))
	checkChanges(t, "add", s.AddAddr(2, pA), Change{Kind: AddrAdded, Index: 2, Name: "eth0", Prefix: pA})
	checkChanges(t, "add again", s.AddAddr(2, pA))
	s.AddAddr(2, pA32) // IPv4 allows one address with two prefix lengths
	s.AddAddr(2, p6)
	s.AddAddr(1, lo4)
	s.AddAddr(1, pA32) // the same VIP on lo too
	// An address seen before its link (another socket) has no name yet.
	checkChanges(t, "unknown index", s.AddAddr(9, pB), Change{Kind: AddrAdded, Index: 9, Prefix: pB})

	if got := s.Addrs(2); !slices.Equal(got, []netip.Prefix{pA, pA32, p6}) {
		t.Errorf("Addrs(2) = %v", got)
	}
	if !s.HasAddr(2, pA) || s.HasAddr(2, netip.MustParsePrefix("192.0.2.10/25")) || s.HasAddr(3, pA) {
		t.Error("HasAddr does not compare address and prefix length exactly")
	}
	probe := []netip.Prefix{p6, pB, pA32, netip.MustParsePrefix("2001:db8::10/128")}
	if got := s.Present(2, probe); !slices.Equal(got, []netip.Prefix{p6, pA32}) {
		t.Errorf("Present = %v", got)
	}
	if got := s.Holders(pA.Addr()); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("Holders(%v) = %v, want [1 2]", pA.Addr(), got)
	}
	if got := s.Holders(netip.MustParseAddr("203.0.113.1")); got != nil {
		t.Errorf("Holders(unknown) = %v", got)
	}

	checkChanges(t, "del", s.DelAddr(2, pA32), Change{Kind: AddrRemoved, Index: 2, Name: "eth0", Prefix: pA32})
	checkChanges(t, "del again", s.DelAddr(2, pA32))
	if got := s.Holders(pA.Addr()); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("Holders after removing one length = %v", got)
	}
	s.DelAddr(2, pA)
	if got := s.Holders(pA.Addr()); !slices.Equal(got, []int{1}) {
		t.Errorf("Holders after removing eth0's = %v", got)
	}

	// Deleting a link removes its addresses first.
	checkChanges(t, "delete lo", s.DeleteLink(1),
		Change{Kind: AddrRemoved, Index: 1, Name: "lo", Prefix: lo4},
		Change{Kind: AddrRemoved, Index: 1, Name: "lo", Prefix: pA32},
		Change{Kind: LinkDeleted, Index: 1, Name: "lo"})
	if got := s.Holders(pA.Addr()); got != nil {
		t.Errorf("Holders after deleting lo = %v", got)
	}
	// Addresses of an index without a link go too.
	checkChanges(t, "delete 9", s.DeleteLink(9), Change{Kind: AddrRemoved, Index: 9, Prefix: pB})
	if got := s.AllAddrs(); !slices.Equal(got, []IfAddr{{2, p6}}) {
		t.Errorf("AllAddrs = %v", got)
	}
}

func TestSnapshotReplace(t *testing.T) {
	var s Snapshot
	// The first dump: everything is new.
	links := []Link{eth(1, "lo"), eth(2, "eth0"), eth(3, "eth1")}
	addrs := []IfAddr{{2, p6}, {1, lo4}, {2, pA}, {3, pB}}
	checkChanges(t, "first dump", s.Replace(links, addrs),
		Change{Kind: LinkChanged, Index: 1, Name: "lo"},
		Change{Kind: LinkChanged, Index: 2, Name: "eth0"},
		Change{Kind: LinkChanged, Index: 3, Name: "eth1"},
		Change{Kind: AddrAdded, Index: 1, Name: "lo", Prefix: lo4},
		Change{Kind: AddrAdded, Index: 2, Name: "eth0", Prefix: pA},
		Change{Kind: AddrAdded, Index: 2, Name: "eth0", Prefix: p6},
		Change{Kind: AddrAdded, Index: 3, Name: "eth1", Prefix: pB})
	checkChanges(t, "same dump", s.Replace(links, addrs))

	// While nobody listened: eth0 was deleted and recreated (index 4)
	// with one of its addresses, eth1 went down and lost its address, lo
	// gained one.
	down := eth(3, "eth1")
	down.Up, down.Running, down.OperState = false, false, OperDown
	links = []Link{eth(1, "lo"), down, eth(4, "eth0")}
	addrs = []IfAddr{{1, lo4}, {1, pA32}, {4, pA}}
	checkChanges(t, "dump after a gap", s.Replace(links, addrs),
		Change{Kind: AddrRemoved, Index: 2, Name: "eth0", Prefix: pA},
		Change{Kind: AddrRemoved, Index: 2, Name: "eth0", Prefix: p6},
		Change{Kind: AddrRemoved, Index: 3, Name: "eth1", Prefix: pB},
		Change{Kind: LinkDeleted, Index: 2, Name: "eth0"},
		Change{Kind: LinkChanged, Index: 3, Name: "eth1"},
		Change{Kind: LinkChanged, Index: 4, Name: "eth0"},
		Change{Kind: AddrAdded, Index: 1, Name: "lo", Prefix: pA32},
		Change{Kind: AddrAdded, Index: 4, Name: "eth0", Prefix: pA})
	if l, ok := s.Link("eth0"); !ok || l.Index != 4 {
		t.Errorf("Link(eth0) = %+v, %v; want index 4", l, ok)
	}
	if got := s.Addrs(2); got != nil {
		t.Errorf("the old index keeps %v", got)
	}
	if got := s.Holders(pA.Addr()); !slices.Equal(got, []int{1, 4}) {
		t.Errorf("Holders = %v", got)
	}
	if got := s.AllAddrs(); !slices.Equal(got, addrs) {
		t.Errorf("AllAddrs = %v", got)
	}

	checkChanges(t, "empty dump", s.Replace(nil, nil),
		Change{Kind: AddrRemoved, Index: 1, Name: "lo", Prefix: lo4},
		Change{Kind: AddrRemoved, Index: 1, Name: "lo", Prefix: pA32},
		Change{Kind: AddrRemoved, Index: 4, Name: "eth0", Prefix: pA},
		Change{Kind: LinkDeleted, Index: 1, Name: "lo"},
		Change{Kind: LinkDeleted, Index: 3, Name: "eth1"},
		Change{Kind: LinkDeleted, Index: 4, Name: "eth0"})
	if len(s.Links()) != 0 || len(s.AllAddrs()) != 0 || len(s.byAddr) != 0 || len(s.byName) != 0 {
		t.Errorf("left behind: %+v", s)
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Change{Kind: AddrAdded, Index: 2, Name: "eth0", Prefix: pA}.String(), "addr-added eth0#2 192.0.2.10/24"},
		{Change{Kind: LinkDeleted, Index: 2, Name: "eth0"}.String(), "link-deleted eth0#2"},
		{Change{Kind: Resynced}.String(), "resynced"},
		{Kind(42).String(), "kind(42)"},
		{OperLowerLayerDown.String(), "lowerlayerdown"},
		{OperState(9).String(), "operstate(9)"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}

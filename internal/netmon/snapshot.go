package netmon

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
)

// Snapshot is a picture of the kernel's links and addresses, changed only by
// its methods, each of which returns the Changes it made (nil when it
// changed nothing). It is the pure core of the Monitor and of
// netmontest.Fake: it does no I/O and no locking, so it is not safe for
// concurrent use. The zero value is an empty snapshot.
//
// Addresses are kept per interface index whether or not a link with that
// index is known: links and addresses arrive on different sockets, so an
// address may be seen before its link.
type Snapshot struct {
	links  map[int]Link
	byName map[string]int // name → index of the link that last had it
	addrs  map[int]map[netip.Prefix]struct{}
	byAddr map[netip.Addr][]holder // who carries each address
}

// holder is an interface that carries an address with a prefix length.
type holder struct {
	index, bits int
}

func (s *Snapshot) init() {
	if s.links == nil {
		s.links = make(map[int]Link)
		s.byName = make(map[string]int)
		s.addrs = make(map[int]map[netip.Prefix]struct{})
		s.byAddr = make(map[netip.Addr][]holder)
	}
}

// ComparePrefix orders prefixes by address, then prefix length.
func ComparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

// SetLink adds l, or replaces the link with l's index. Another link that
// had l's name keeps its entry by index (its deletion or rename event is on
// the way) but the name now finds l.
func (s *Snapshot) SetLink(l Link) []Change {
	s.init()
	old, ok := s.links[l.Index]
	if ok && old.Equal(l) {
		return nil
	}
	if ok && old.Name != l.Name && s.byName[old.Name] == l.Index {
		delete(s.byName, old.Name)
	}
	s.links[l.Index] = l
	s.byName[l.Name] = l.Index
	return []Change{{Kind: LinkChanged, Index: l.Index, Name: l.Name}}
}

// DeleteLink removes the link with index ifindex and every address on that
// index: AddrRemoved for each address, then LinkDeleted if there was a link.
func (s *Snapshot) DeleteLink(ifindex int) []Change {
	name := s.links[ifindex].Name
	var cs []Change
	for _, p := range s.Addrs(ifindex) {
		cs = append(cs, s.DelAddr(ifindex, p)...)
	}
	if _, ok := s.links[ifindex]; !ok {
		return cs
	}
	delete(s.links, ifindex)
	if s.byName[name] == ifindex {
		delete(s.byName, name)
	}
	return append(cs, Change{Kind: LinkDeleted, Index: ifindex, Name: name})
}

// AddAddr records p on interface ifindex.
func (s *Snapshot) AddAddr(ifindex int, p netip.Prefix) []Change {
	s.init()
	set := s.addrs[ifindex]
	if set == nil {
		set = make(map[netip.Prefix]struct{})
		s.addrs[ifindex] = set
	}
	if _, ok := set[p]; ok {
		return nil
	}
	set[p] = struct{}{}
	s.byAddr[p.Addr()] = append(s.byAddr[p.Addr()], holder{ifindex, p.Bits()})
	return []Change{{Kind: AddrAdded, Index: ifindex, Name: s.links[ifindex].Name, Prefix: p}}
}

// DelAddr removes p from interface ifindex.
func (s *Snapshot) DelAddr(ifindex int, p netip.Prefix) []Change {
	set := s.addrs[ifindex]
	if _, ok := set[p]; !ok {
		return nil
	}
	delete(set, p)
	if len(set) == 0 {
		delete(s.addrs, ifindex)
	}
	hs := slices.DeleteFunc(s.byAddr[p.Addr()], func(h holder) bool { return h == holder{ifindex, p.Bits()} })
	if len(hs) == 0 {
		delete(s.byAddr, p.Addr())
	} else {
		s.byAddr[p.Addr()] = hs
	}
	return []Change{{Kind: AddrRemoved, Index: ifindex, Name: s.links[ifindex].Name, Prefix: p}}
}

// Replace makes the snapshot equal to a full dump and returns the
// differences, in this order: addresses removed, links deleted, links added
// or changed, addresses added (each group sorted by index, then prefix).
func (s *Snapshot) Replace(links []Link, addrs []IfAddr) []Change {
	s.init()
	want := make(map[IfAddr]struct{}, len(addrs))
	var added []IfAddr
	for _, a := range addrs {
		want[a] = struct{}{}
		if !s.HasAddr(a.Index, a.Prefix) {
			added = append(added, a)
		}
	}
	var gone []IfAddr
	for i, set := range s.addrs {
		for p := range set {
			if _, ok := want[IfAddr{i, p}]; !ok {
				gone = append(gone, IfAddr{i, p})
			}
		}
	}
	var cs []Change
	slices.SortFunc(gone, compareIfAddr)
	for _, a := range gone {
		cs = append(cs, s.DelAddr(a.Index, a.Prefix)...)
	}
	wantLinks := make(map[int]Link, len(links))
	for _, l := range links {
		wantLinks[l.Index] = l
	}
	for _, i := range slices.Sorted(maps.Keys(s.links)) {
		if _, ok := wantLinks[i]; !ok {
			cs = append(cs, s.DeleteLink(i)...)
		}
	}
	for _, i := range slices.Sorted(maps.Keys(wantLinks)) {
		cs = append(cs, s.SetLink(wantLinks[i])...)
	}
	slices.SortFunc(added, compareIfAddr)
	for _, a := range added {
		cs = append(cs, s.AddAddr(a.Index, a.Prefix)...)
	}
	return cs
}

func compareIfAddr(a, b IfAddr) int {
	return cmp.Or(cmp.Compare(a.Index, b.Index), ComparePrefix(a.Prefix, b.Prefix))
}

// Link finds a link by name.
func (s *Snapshot) Link(name string) (Link, bool) {
	i, ok := s.byName[name]
	if !ok {
		return Link{}, false
	}
	l, ok := s.links[i]
	return l, ok
}

// LinkByIndex finds a link by index.
func (s *Snapshot) LinkByIndex(ifindex int) (Link, bool) {
	l, ok := s.links[ifindex]
	return l, ok
}

// Links returns every link, sorted by index.
func (s *Snapshot) Links() []Link {
	ls := make([]Link, 0, len(s.links))
	for _, i := range slices.Sorted(maps.Keys(s.links)) {
		ls = append(ls, s.links[i])
	}
	return ls
}

// Addrs returns the addresses on interface ifindex, sorted.
func (s *Snapshot) Addrs(ifindex int) []netip.Prefix {
	set := s.addrs[ifindex]
	if len(set) == 0 {
		return nil
	}
	return slices.SortedFunc(maps.Keys(set), ComparePrefix)
}

// AllAddrs returns every address, sorted by index, then prefix.
func (s *Snapshot) AllAddrs() []IfAddr {
	var all []IfAddr
	for i, set := range s.addrs {
		for p := range set {
			all = append(all, IfAddr{i, p})
		}
	}
	slices.SortFunc(all, compareIfAddr)
	return all
}

// HasAddr reports whether p (address and prefix length) is on ifindex.
func (s *Snapshot) HasAddr(ifindex int, p netip.Prefix) bool {
	_, ok := s.addrs[ifindex][p]
	return ok
}

// Present returns the members of ps on ifindex, in the order of ps.
func (s *Snapshot) Present(ifindex int, ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	set := s.addrs[ifindex]
	for _, p := range ps {
		if _, ok := set[p]; ok {
			out = append(out, p)
		}
	}
	return out
}

// Holders returns the indexes of the interfaces that carry a with any
// prefix length, sorted.
func (s *Snapshot) Holders(a netip.Addr) []int {
	var out []int
	for _, h := range s.byAddr[a] {
		out = append(out, h.index)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

package netmon

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
)

// Link is one network interface as the kernel last reported it. Values are
// copies; HardwareAddr is shared and must not be modified.
type Link struct {
	Index        int
	Name         string
	HardwareAddr net.HardwareAddr
	MTU          int
	// Up is IFF_UP: the interface is administratively up.
	Up bool
	// Running is IFF_RUNNING: the interface is operationally up (RFC 2863
	// state up, or unknown for interfaces without carrier such as lo and
	// dummy).
	Running bool
	// LowerUp is IFF_LOWER_UP: the driver reports carrier.
	LowerUp bool
	// OperState is the RFC 2863 operational state (IFLA_OPERSTATE).
	OperState OperState
}

// Usable reports whether the link can carry traffic: administratively up
// and running.
func (l Link) Usable() bool { return l.Up && l.Running }

// Equal reports whether l and o hold the same values.
func (l Link) Equal(o Link) bool {
	return l.Index == o.Index && l.Name == o.Name && l.MTU == o.MTU &&
		l.Up == o.Up && l.Running == o.Running && l.LowerUp == o.LowerUp &&
		l.OperState == o.OperState && bytes.Equal(l.HardwareAddr, o.HardwareAddr)
}

// OperState is an RFC 2863 operational state, as in IFLA_OPERSTATE.
type OperState uint8

// The operational states (linux/if.h IF_OPER_*).
const (
	OperUnknown        OperState = 0
	OperNotPresent     OperState = 1
	OperDown           OperState = 2
	OperLowerLayerDown OperState = 3
	OperTesting        OperState = 4
	OperDormant        OperState = 5
	OperUp             OperState = 6
)

var operNames = [...]string{"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"}

func (s OperState) String() string {
	if int(s) < len(operNames) {
		return operNames[s]
	}
	return "operstate(" + strconv.Itoa(int(s)) + ")"
}

// Kind says what a Change is about.
type Kind uint8

// The kinds of change.
const (
	// LinkChanged: a link appeared or one of its values changed (name,
	// MAC, MTU, flags, operational state).
	LinkChanged Kind = iota + 1
	// LinkDeleted: a link is gone. Its addresses were removed first, each
	// with AddrRemoved.
	LinkDeleted
	// AddrAdded: Prefix is now on interface Index.
	AddrAdded
	// AddrRemoved: Prefix is no longer on interface Index.
	AddrRemoved
	// Resynced: the snapshot was corrected from a full dump after the
	// monitor may have missed events (a resubscription, or a periodic
	// resync that found differences). The changes it found came before
	// it; a subscriber that keeps derived state should rebuild it. Index
	// and Name are zero.
	Resynced
)

var kindNames = [...]string{"", "link-changed", "link-deleted", "addr-added", "addr-removed", "resynced"}

func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Change names something that changed in the snapshot. It carries no
// state: the receiver reads the snapshot for that.
type Change struct {
	Kind Kind
	// Index and Name are the link's. Name is empty for an address change
	// on an interface the snapshot has no link for (yet).
	Index int
	Name  string
	// Prefix is the address of AddrAdded and AddrRemoved.
	Prefix netip.Prefix
}

func (c Change) String() string {
	s := c.Kind.String()
	if c.Kind == Resynced {
		return s
	}
	s += " " + c.Name + "#" + strconv.Itoa(c.Index)
	if c.Prefix.IsValid() {
		s += " " + c.Prefix.String()
	}
	return s
}

// IfAddr is an address on an interface, as a dump lists it.
type IfAddr struct {
	Index  int
	Prefix netip.Prefix
}

// Source is the kernel's links and addresses as the daemon reads them: a
// *Monitor, or netmontest.Fake in tests. Methods are safe for concurrent
// use and return copies.
type Source interface {
	// Link finds a link by name.
	Link(name string) (Link, bool)
	// LinkByIndex finds a link by interface index.
	LinkByIndex(ifindex int) (Link, bool)
	// Addrs returns the addresses on interface ifindex, sorted.
	Addrs(ifindex int) []netip.Prefix
	// HasAddr reports whether p, address and prefix length, is on
	// interface ifindex.
	HasAddr(ifindex int, p netip.Prefix) bool
	// Present returns the members of ps that are on interface ifindex
	// (address and prefix length), in the order of ps.
	Present(ifindex int, ps []netip.Prefix) []netip.Prefix
	// Holders returns the interfaces that carry address a with any
	// prefix length, sorted by index.
	Holders(a netip.Addr) []int
	// Subscribe registers fn for every later Change and returns a
	// function that cancels it. fn is called from one goroutine, in
	// order, after the snapshot reflects the change; it must not block.
	// A call already under way when cancel returns may still complete;
	// cancel may be called from fn.
	Subscribe(fn func(Change)) (cancel func())
}

package daemon

import (
	"net"
	"net/netip"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/present"
	"github.com/vipd/vipd/internal/statedir"
	"github.com/vipd/vipd/internal/transport"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/vipaddr"
	"github.com/vipd/vipd/internal/watch"
)

// Env is the operating system as the daemon sees it. NewLinuxEnv is the real
// one; tests give an in-memory one.
type Env interface {
	// InterfaceByName finds an interface.
	InterfaceByName(name string) (*net.Interface, error)
	// SourceAddr returns the address to send advertisements from: the
	// primary IPv4 address of the interface (none of exclude), or its IPv6
	// link-local address.
	SourceAddr(ifi *net.Interface, ipv6 bool, exclude []netip.Prefix) (netip.Addr, error)
	// PrepareInterface applies the sysctls an interface with VIPs needs.
	PrepareInterface(ifi *net.Interface) error
	// ListenVRRP opens the VRRP transport of an interface.
	ListenVRRP(ifi *net.Interface, ipv6 bool) (transport.PacketConn, error)
	// OpenSender opens the raw frame sender used for announcements.
	OpenSender(ifi *net.Interface) (announce.SenderCloser, error)
	// Addresses adds and removes VIPs.
	Addresses() vipaddr.Addresses
	// Kernel is the kernel's links and addresses as its events report
	// them.
	Kernel() Kernel

	// Prober sends the ICMP echoes that prove a VIP (one per daemon);
	// nil, nil means no verification in this environment.
	Prober() (verify.Prober, error)
	// Neighbors reads this node's neighbour table (targets' MACs).
	Neighbors() verify.Neighbors
	// Targets finds the upstream devices that must learn the VIPs: the
	// gateways of the VIPs' prefixes on the link plus configured ones.
	Targets(ifindex int, vips []netip.Prefix, configured []netip.Addr) ([]netip.Addr, error)
	// OpenWatcher opens the misdirected-traffic and conflict detector of
	// an interface; nil, nil means none in this environment.
	OpenWatcher(ifi *net.Interface, deps watch.Deps) (*watch.Watcher, error)
	// VirtualMACs creates and removes virtual MAC interfaces; nil: none
	// in this environment.
	VirtualMACs() VirtualMACs
}

// Kernel is the kernel's state, learnt from its netlink events (package
// netmon): reading it never dumps anything.
type Kernel interface {
	present.Kernel
	// Link returns the interface called name.
	Link(name string) (Link, bool)
	// Holders returns the names of the interfaces that carry a, with any
	// prefix length.
	Holders(a netip.Addr) []string
	// Carries reports whether interface ifindex carries a, with any
	// prefix length: a lookup, where Addrs copies and sorts them all.
	Carries(ifindex int, a netip.Addr) bool
	// Subscribe calls f for every change of a link or an address, from
	// the monitor's goroutine; f must not block. cancel ends it.
	Subscribe(f func(KernelChange)) (cancel func())
}

// Link is an interface as the kernel reports it.
type Link struct {
	Index int
	Name  string
	// Up is the administrative state; Running says it has carrier.
	Up, Running bool
}

// KernelChange names what changed: a link (Link true) or an address of
// interface Index; All: anything may have (a resync after missed events).
type KernelChange struct {
	Index int
	Name  string
	Link  bool
	All   bool
	// Added is the address an address event reported added (invalid
	// otherwise).
	Added netip.Prefix
}

// Ledger records the addresses vipd adds (*statedir.Ledger).
type Ledger interface {
	present.Ledger
	Entries() []statedir.Entry
}

// Announcer sends the announcements of instances that became master. The
// daemon-wide *announce.Pacer implements it.
type Announcer = present.Announcer

var _ Announcer = (*announce.Pacer)(nil)

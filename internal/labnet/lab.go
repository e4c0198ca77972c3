package labnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Fixed addresses of the client side of the lab (RFC 5737 TEST-NET-2 and the
// RFC 3849 documentation prefix).
var (
	ClientAddr4    = netip.MustParsePrefix("198.51.100.10/24")
	ClientAddr6    = netip.MustParsePrefix("2001:db8:2::10/64")
	RouterWANAddr4 = netip.MustParsePrefix("198.51.100.1/24")
	RouterWANAddr6 = netip.MustParsePrefix("2001:db8:2::1/64")
)

// Default LAN prefixes; Options.LAN4 and Options.LAN6 override them.
var (
	DefaultLAN4 = netip.MustParsePrefix("192.0.2.0/24")
	DefaultLAN6 = netip.MustParsePrefix("2001:db8:1::/64")
	// BenchLAN4 is the RFC 2544 benchmark range, wide enough for 4096 VIPs.
	BenchLAN4 = netip.MustParsePrefix("198.18.0.0/16")
)

// Host offsets inside the LAN prefix. Node i gets nodeBase+i, extra host j
// gets extraBase+j, VIP k gets vipBase+k. In IPv6 the same decimal number is
// written as hex digits, so node a is 192.0.2.11 and 2001:db8:1::11.
const (
	routerOffset = 1
	nodeBase     = 11
	extraBase    = 50
	vipBase      = 100
	maxNodes     = 26 // a..z
	maxExtras    = vipBase - extraBase
)

// Interface names inside the namespaces.
const (
	hostIface   = "eth0" // client, nodes and extras
	routerLAN   = "lan0"
	routerWAN   = "wan0"
	bridgeName  = "br0"
	routerPort  = "p-router"
	roleClient  = "client"
	roleRouter  = "router"
	roleSwitch  = "switch"
	defaultNode = 2
)

// Options describe a lab. The zero value is a lab with two nodes on
// 192.0.2.0/24 and 2001:db8:1::/64.
type Options struct {
	// Prefix names the lab's namespaces (Prefix + "-" + role). Empty means an
	// automatic, process-unique prefix that CleanupStale understands. New
	// refuses a caller-chosen prefix that is already in use; call Cleanup
	// first to take it over.
	Prefix string
	// LAN4 and LAN6 are the LAN prefixes; zero means DefaultLAN4/DefaultLAN6.
	// The router takes the first address, nodes .11 up, extras .50 up and
	// VIPs .100 up (see Lab.VIPs4).
	LAN4, LAN6 netip.Prefix
	// Nodes is the number of nodes, named a, b, c, ...; zero means 2.
	Nodes int
	// Extra names further LAN hosts (lower-case letters and digits, at most
	// 13 characters), for example "injector".
	Extra []string
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
}

// Lab is a running lab network. Its hosts are fixed at New; Close removes
// everything.
type Lab struct {
	Prefix string
	LAN4   netip.Prefix
	LAN6   netip.Prefix

	Client *Host
	Router *Host // Iface, Addr4 and Addr6 are its LAN side; see RouterWANAddr4
	Switch *Host // Iface is the bridge
	Nodes  []*Host
	Extra  []*Host

	log *slog.Logger
	// ctx ends with Close; every Command is tied to it.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // guards closed
	closed bool
}

// Host is one namespace of the lab.
type Host struct {
	// Name is the role: "client", "router", "switch", "a", "b", ... or an
	// extra host's name.
	Name string
	// NS is the network namespace name (usable with ip netns exec).
	NS string
	// Iface is the host's LAN interface (the client's only interface, the
	// bridge in the switch).
	Iface string
	// Port is the switch-side bridge port of a LAN host ("" for the client
	// and the switch).
	Port string
	// MAC is Iface's hardware address.
	MAC net.HardwareAddr
	// Addr4 and Addr6 are Iface's addresses (invalid for the switch).
	Addr4, Addr6 netip.Prefix

	lab *Lab
	ns  netns.NsHandle  // open namespace file, -1 when closed
	nl  *netlink.Handle // netlink socket inside the namespace
}

// Hosts returns every host of the lab: client, router, switch, nodes, extras.
func (l *Lab) Hosts() []*Host {
	hs := []*Host{l.Client, l.Router, l.Switch}
	hs = append(hs, l.Nodes...)
	return append(hs, l.Extra...)
}

// Host returns the host with the given role name, or nil.
func (l *Lab) Host(name string) *Host {
	for _, h := range l.Hosts() {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Namespaces returns the names of all of the lab's namespaces.
func (l *Lab) Namespaces() []string {
	var ns []string
	for _, h := range l.Hosts() {
		ns = append(ns, h.NS)
	}
	return ns
}

// VIPs4 returns n IPv4 virtual addresses from the LAN, starting at .100.
func (l *Lab) VIPs4(n int) ([]netip.Addr, error) { return vipRange(l.LAN4, n) }

// VIPs6 returns n IPv6 virtual addresses from the LAN, starting at ::100
// (then ::101, ... ::109, ::10a: plain counting).
func (l *Lab) VIPs6(n int) ([]netip.Addr, error) { return vipRange(l.LAN6, n) }

// plan is the pure part of a lab: names and addresses, before anything exists.
type plan struct {
	prefix     string
	lan4, lan6 netip.Prefix
	hosts      []hostPlan
}

type hostPlan struct {
	role         string
	iface, port  string
	addr4, addr6 netip.Prefix
	lanHost      bool // a node or an extra: eth0 on the bridge, default route via router
}

func makePlan(o Options, prefix string) (plan, error) {
	p := plan{prefix: prefix, lan4: o.LAN4, lan6: o.LAN6}
	if !p.lan4.IsValid() {
		p.lan4 = DefaultLAN4
	}
	if !p.lan6.IsValid() {
		p.lan6 = DefaultLAN6
	}
	p.lan4, p.lan6 = p.lan4.Masked(), p.lan6.Masked()
	if !p.lan4.Addr().Is4() || p.lan4.Bits() > 24 {
		return plan{}, fmt.Errorf("labnet: LAN4 %v: want an IPv4 prefix of /24 or wider", p.lan4)
	}
	if !p.lan6.Addr().Is6() || p.lan6.Addr().Is4In6() || p.lan6.Bits() > 112 {
		return plan{}, fmt.Errorf("labnet: LAN6 %v: want an IPv6 prefix of /112 or wider", p.lan6)
	}
	nodes := o.Nodes
	if nodes == 0 {
		nodes = defaultNode
	}
	if nodes < 1 || nodes > maxNodes {
		return plan{}, fmt.Errorf("labnet: %d nodes: want 1 to %d", nodes, maxNodes)
	}
	if len(o.Extra) > maxExtras {
		return plan{}, fmt.Errorf("labnet: %d extra hosts: want at most %d", len(o.Extra), maxExtras)
	}
	lan := func(off int) (netip.Prefix, netip.Prefix) {
		return netip.PrefixFrom(addOffset(p.lan4.Addr(), uint64(off)), p.lan4.Bits()),
			netip.PrefixFrom(addOffset(p.lan6.Addr(), hexLike(off)), p.lan6.Bits())
	}
	r4, r6 := lan(routerOffset)
	p.hosts = append(p.hosts,
		hostPlan{role: roleClient, iface: hostIface, addr4: ClientAddr4, addr6: ClientAddr6},
		hostPlan{role: roleRouter, iface: routerLAN, port: routerPort, addr4: r4, addr6: r6},
		hostPlan{role: roleSwitch, iface: bridgeName},
	)
	seen := map[string]bool{roleClient: true, roleRouter: true, roleSwitch: true}
	add := func(role string, off int) error {
		if err := checkRole(role); err != nil {
			return err
		}
		if seen[role] {
			return fmt.Errorf("labnet: host name %q used twice", role)
		}
		seen[role] = true
		a4, a6 := lan(off)
		p.hosts = append(p.hosts, hostPlan{role: role, iface: hostIface, port: portName(role), addr4: a4, addr6: a6, lanHost: true})
		return nil
	}
	for i := range nodes {
		if err := add(string(rune('a'+i)), nodeBase+i); err != nil {
			return plan{}, err
		}
	}
	for j, name := range o.Extra {
		if err := add(name, extraBase+j); err != nil {
			return plan{}, err
		}
	}
	return p, nil
}

// hexLike reads the decimal digits of n as hex, so that host 11 becomes ::11.
func hexLike(n int) uint64 {
	v, err := strconv.ParseUint(strconv.Itoa(n), 16, 64)
	if err != nil {
		panic(err) // decimal digits are always hex digits
	}
	return v
}

// addOffset adds off to the low bits of a (no overflow check beyond the
// address width; callers stay inside their prefix).
func addOffset(a netip.Addr, off uint64) netip.Addr {
	b := a.AsSlice()
	carry := off
	for i := len(b) - 1; i >= 0 && carry > 0; i-- {
		s := uint64(b[i]) + carry&0xff
		b[i] = byte(s)
		carry = carry>>8 + s>>8
	}
	r, _ := netip.AddrFromSlice(b)
	return r
}

var errVIPRange = errors.New("labnet: not enough room in the LAN prefix")

// vipRange returns n addresses from prefix p starting at offset vipBase,
// stopping before the last address (the IPv4 broadcast).
func vipRange(p netip.Prefix, n int) ([]netip.Addr, error) {
	if n < 0 {
		return nil, fmt.Errorf("labnet: %d VIPs", n)
	}
	off := uint64(vipBase)
	if p.Addr().Is6() {
		off = 0x100
	}
	hostBits := p.Addr().BitLen() - p.Bits()
	if hostBits < 63 {
		size := uint64(1) << hostBits
		room := uint64(0)
		if size > off+1 {
			room = size - 1 - off // excludes the all-ones address
		}
		if uint64(n) > room {
			return nil, fmt.Errorf("%w: %d VIPs from %v (room for %d)", errVIPRange, n, p, room)
		}
	}
	base := addOffset(p.Masked().Addr(), off)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = addOffset(base, uint64(i))
	}
	return out, nil
}

// HostPrefix returns a as a single-address prefix (/32 or /128).
func HostPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

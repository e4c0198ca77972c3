package labnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// linkUpTimeout bounds how long New and PortUp wait for links to come up.
const linkUpTimeout = 5 * time.Second

// New builds the lab. It first removes stale labs of dead processes
// (CleanupStale). On error nothing of the new lab is left behind.
func New(ctx context.Context, o Options) (*Lab, error) {
	start := time.Now()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := CleanupStale(); err != nil {
		log.Warn("labnet: cleaning up stale labs", "err", err)
	}
	prefix := o.Prefix
	if prefix == "" {
		prefix = newPrefix(os.Getpid())
		// Only a dead process with our pid can have used this prefix.
		if err := Cleanup(prefix); err != nil {
			return nil, err
		}
	} else {
		if err := checkPrefix(prefix); err != nil {
			return nil, err
		}
		names, err := listNamespaces()
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if strings.HasPrefix(n, prefix+"-") {
				return nil, fmt.Errorf("labnet: prefix %q in use by namespace %s (see Cleanup)", prefix, n)
			}
		}
	}
	p, err := makePlan(o, prefix)
	if err != nil {
		return nil, err
	}
	l := &Lab{Prefix: prefix, LAN4: p.lan4, LAN6: p.lan6, log: log}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	for _, hp := range p.hosts {
		h := &Host{Name: hp.role, NS: nsName(prefix, hp.role), Iface: hp.iface, Port: hp.port,
			Addr4: hp.addr4, Addr6: hp.addr6, lab: l, ns: -1}
		switch {
		case hp.role == roleClient:
			l.Client = h
		case hp.role == roleRouter:
			l.Router = h
		case hp.role == roleSwitch:
			l.Switch = h
			h.Port = ""
		case len(l.Nodes) < nodeCount(o):
			l.Nodes = append(l.Nodes, h)
		default:
			l.Extra = append(l.Extra, h)
		}
	}
	if err := addNamespaces(ctx, l.Namespaces()); err != nil {
		_ = deleteNamespaces(context.Background(), l.Namespaces())
		return nil, err
	}
	if err := l.build(ctx); err != nil {
		return nil, errors.Join(err, l.Close())
	}
	log.Debug("labnet: lab ready", "prefix", prefix, "took", time.Since(start))
	return l, nil
}

func nodeCount(o Options) int {
	if o.Nodes == 0 {
		return defaultNode
	}
	return o.Nodes
}

// build wires up the namespaces New created.
func (l *Lab) build(ctx context.Context) error {
	for _, h := range l.Hosts() {
		ns, err := netns.GetFromName(h.NS)
		if err != nil {
			return fmt.Errorf("labnet: open namespace %s: %w", h.NS, err)
		}
		h.ns = ns
		if h.nl, err = netlink.NewHandleAt(ns); err != nil {
			return fmt.Errorf("labnet: netlink in %s: %w", h.NS, err)
		}
	}
	for _, h := range l.Hosts() {
		if err := h.setSysctls(baseSysctls(h.Name)); err != nil {
			return err
		}
	}
	sw := l.Switch
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}, MulticastSnooping: ptr(false)}
	if err := sw.nl.LinkAdd(br); err != nil {
		return fmt.Errorf("labnet: add bridge: %w", err)
	}
	if err := addVeth(l.Router, routerWAN, l.Client, hostIface); err != nil {
		return err
	}
	for _, h := range l.lanHosts() {
		if err := addVeth(h, h.Iface, sw, h.Port); err != nil {
			return err
		}
		port, err := sw.nl.LinkByName(h.Port)
		if err != nil {
			return fmt.Errorf("labnet: find port %s: %w", h.Port, err)
		}
		if err := sw.nl.LinkSetMaster(port, br); err != nil {
			return fmt.Errorf("labnet: enslave %s: %w", h.Port, err)
		}
	}
	// Everything up, loopback included.
	up := map[*Host][]string{
		l.Client: {"lo", hostIface},
		l.Router: {"lo", routerWAN, routerLAN},
		sw:       {"lo", bridgeName},
	}
	for _, h := range l.lanHosts() {
		up[sw] = append(up[sw], h.Port)
		if h != l.Router {
			up[h] = []string{"lo", hostIface}
		}
	}
	for h, names := range up {
		for _, n := range names {
			if err := h.setLink(n, true); err != nil {
				return err
			}
		}
	}
	// Addresses.
	addrs := map[*Host]map[string][]netip.Prefix{
		l.Client: {hostIface: {ClientAddr4, ClientAddr6}},
		l.Router: {routerWAN: {RouterWANAddr4, RouterWANAddr6}, routerLAN: {l.Router.Addr4, l.Router.Addr6}},
	}
	for _, h := range append(l.Nodes, l.Extra...) {
		addrs[h] = map[string][]netip.Prefix{hostIface: {h.Addr4, h.Addr6}}
	}
	for h, m := range addrs {
		for ifname, ps := range m {
			if err := h.addAddrs(ifname, ps...); err != nil {
				return err
			}
		}
	}
	for h, names := range up {
		for _, n := range names {
			if n == "lo" {
				continue
			}
			if err := h.waitOperUp(ctx, n, linkUpTimeout); err != nil {
				return err
			}
		}
	}
	// Default routes towards the router.
	if err := l.Client.addDefaultRoutes(RouterWANAddr4.Addr(), RouterWANAddr6.Addr()); err != nil {
		return err
	}
	for _, h := range append(l.Nodes, l.Extra...) {
		if err := h.addDefaultRoutes(l.Router.Addr4.Addr(), l.Router.Addr6.Addr()); err != nil {
			return err
		}
	}
	for _, h := range l.Hosts() {
		link, err := h.nl.LinkByName(h.Iface)
		if err != nil {
			return fmt.Errorf("labnet: find %s in %s: %w", h.Iface, h.NS, err)
		}
		h.MAC = link.Attrs().HardwareAddr
	}
	return nil
}

// lanHosts are the hosts with a port on the bridge: the router, the nodes and
// the extras.
func (l *Lab) lanHosts() []*Host {
	hs := []*Host{l.Router}
	hs = append(hs, l.Nodes...)
	return append(hs, l.Extra...)
}

func ptr[T any](v T) *T { return &v }

// baseSysctls are set in every namespace before its interfaces exist, so that
// "default" reaches them: no IPv6 duplicate address detection (addresses are
// usable at once), no router solicitations, no reverse path filter.
func baseSysctls(role string) map[string]string {
	m := map[string]string{
		"net/ipv6/conf/all/accept_dad":               "0",
		"net/ipv6/conf/default/accept_dad":           "0",
		"net/ipv6/conf/all/dad_transmits":            "0",
		"net/ipv6/conf/default/dad_transmits":        "0",
		"net/ipv6/conf/default/router_solicitations": "0",
		"net/ipv6/conf/default/accept_ra":            "0",
		"net/ipv4/conf/all/rp_filter":                "0",
		"net/ipv4/conf/default/rp_filter":            "0",
	}
	switch role {
	case roleRouter:
		m["net/ipv4/ip_forward"] = "1"
		m["net/ipv6/conf/all/forwarding"] = "1"
	case roleSwitch:
		// The switch is layer 2 only: no MLD or other IPv6 chatter of its own.
		m["net/ipv6/conf/all/disable_ipv6"] = "1"
		m["net/ipv6/conf/default/disable_ipv6"] = "1"
	}
	return m
}

// setSysctls writes /proc/sys entries inside the host's namespace.
func (h *Host) setSysctls(kv map[string]string) error {
	return h.Do(func() error {
		for k, v := range kv {
			if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644); err != nil {
				return fmt.Errorf("labnet: sysctl %s=%s in %s: %w", k, v, h.NS, err)
			}
		}
		return nil
	})
}

// readSysctl reads a /proc/sys entry inside the host's namespace.
func (h *Host) readSysctl(k string) (string, error) {
	var s string
	err := h.Do(func() error {
		b, err := os.ReadFile(filepath.Join("/proc/sys", k))
		s = strings.TrimSpace(string(b))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("labnet: read sysctl %s in %s: %w", k, h.NS, err)
	}
	return s, nil
}

// addVeth creates a veth pair with one end in each host's namespace. The
// request carries both target namespaces, so neither end ever exists in the
// host's own namespace.
func addVeth(a *Host, aName string, b *Host, bName string) error {
	v := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: aName, Namespace: netlink.NsFd(a.ns)},
		PeerName:      bName,
		PeerNamespace: netlink.NsFd(b.ns),
	}
	if err := a.nl.LinkAdd(v); err != nil {
		return fmt.Errorf("labnet: veth %s/%s - %s/%s: %w", a.Name, aName, b.Name, bName, err)
	}
	return nil
}

func (h *Host) setLink(name string, up bool) error {
	link, err := h.nl.LinkByName(name)
	if err != nil {
		return fmt.Errorf("labnet: find %s in %s: %w", name, h.NS, err)
	}
	if up {
		err = h.nl.LinkSetUp(link)
	} else {
		err = h.nl.LinkSetDown(link)
	}
	if err != nil {
		return fmt.Errorf("labnet: set %s in %s up=%v: %w", name, h.NS, up, err)
	}
	return nil
}

// waitOperUp polls until the link's operational state is up.
func (h *Host) waitOperUp(ctx context.Context, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		link, err := h.nl.LinkByName(name)
		if err != nil {
			return fmt.Errorf("labnet: find %s in %s: %w", name, h.NS, err)
		}
		if link.Attrs().OperState == netlink.OperUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("labnet: %s in %s not up after %v (state %v)", name, h.NS, timeout, link.Attrs().OperState)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("labnet: waiting for %s in %s: %w", name, h.NS, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

func (h *Host) addAddrs(ifname string, ps ...netip.Prefix) error {
	link, err := h.nl.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("labnet: find %s in %s: %w", ifname, h.NS, err)
	}
	for _, p := range ps {
		a := &netlink.Addr{IPNet: prefixToIPNet(p)}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := h.nl.AddrAdd(link, a); err != nil {
			return fmt.Errorf("labnet: add %v to %s in %s: %w", p, ifname, h.NS, err)
		}
	}
	return nil
}

func (h *Host) delAddrs(ifname string, ps ...netip.Prefix) error {
	link, err := h.nl.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("labnet: find %s in %s: %w", ifname, h.NS, err)
	}
	for _, p := range ps {
		if err := h.nl.AddrDel(link, &netlink.Addr{IPNet: prefixToIPNet(p)}); err != nil {
			return fmt.Errorf("labnet: delete %v from %s in %s: %w", p, ifname, h.NS, err)
		}
	}
	return nil
}

func (h *Host) addDefaultRoutes(gw4, gw6 netip.Addr) error {
	link, err := h.nl.LinkByName(hostIface)
	if err != nil {
		return fmt.Errorf("labnet: find %s in %s: %w", hostIface, h.NS, err)
	}
	for _, gw := range []netip.Addr{gw4, gw6} {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw.AsSlice()}
		if gw.Is4() {
			r.Dst = &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
		} else {
			r.Dst = &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
		}
		if err := h.nl.RouteAdd(r); err != nil {
			return fmt.Errorf("labnet: default route via %v in %s: %w", gw, h.NS, err)
		}
	}
	return nil
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Close kills every process running in the lab's namespaces and deletes
// them. Stop probers first. Close is idempotent.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel() // kills what Command started, even if still starting
	for _, h := range l.Hosts() {
		if h == nil {
			continue
		}
		if h.nl != nil {
			h.nl.Close()
			h.nl = nil
		}
		if h.ns >= 0 {
			_ = h.ns.Close()
			h.ns = -1
		}
	}
	var names []string
	for _, h := range l.Hosts() {
		if h != nil {
			names = append(names, h.NS)
		}
	}
	return deleteNamespaces(context.Background(), names)
}

// PortDown sets h's switch port down: "power off" as far as the network can
// tell (h's own interface loses carrier).
func (l *Lab) PortDown(h *Host) error {
	if h.Port == "" {
		return fmt.Errorf("labnet: %s has no switch port", h.Name)
	}
	return l.Switch.setLink(h.Port, false)
}

// PortUp sets h's switch port up again and waits for both ends of the link
// to come up. The first frames after that may still be lost while the
// bridge takes the port back.
func (l *Lab) PortUp(h *Host) error {
	if h.Port == "" {
		return fmt.Errorf("labnet: %s has no switch port", h.Name)
	}
	if err := l.Switch.setLink(h.Port, true); err != nil {
		return err
	}
	if err := l.Switch.waitOperUp(context.Background(), h.Port, linkUpTimeout); err != nil {
		return err
	}
	return h.waitOperUp(context.Background(), h.Iface, linkUpTimeout)
}

package lab

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/labnet"
)

// Mode is how the VIPs move between the nodes.
type Mode string

const (
	// ModeVRRP: VRRP on one L2 segment; the router learns the new owner by
	// ARP/ND (the zero value means it too).
	ModeVRRP Mode = "vrrp"
	// ModeBGP: vipd's routed mode; both nodes announce the VIPs as host
	// routes to the router (BIRD 2) with their priority as preference, and
	// the router forwards to the best one's own address.
	ModeBGP Mode = "bgp"
)

// Fault is what happens to node A at t=0.
type Fault string

const (
	// PowerOff: A's switch port goes down and its processes are killed
	// (the zero value means it too).
	PowerOff Fault = "power-off"
	// SIGTERM: A's daemon is asked to stop (routed mode: it withdraws its
	// routes first); A stays on the network.
	SIGTERM Fault = "sigterm"
	// Maintenance: A is put in maintenance (`vipd maintenance on`).
	Maintenance Fault = "maintenance"
	// CheckFails: A's health check (an exec check with fault: true, every
	// checkInterval) starts failing.
	CheckFails Fault = "check"
)

// checkInterval is the interval and timeout of A's health check with
// --fault check (as the e2e tests: shorter timeouts fail now and then on a
// busy machine, forking /bin/sh).
const checkInterval = 300 * time.Millisecond

// Routed mode's lab settings: the router in AS 65000, the nodes in AS
// 65001 (eBGP, as a site's servers peer with its routers), the VIPs host
// routes outside the LAN (RFC 2544's benchmark range and the documentation
// prefix), which the router only knows from BGP.
const (
	// DefaultHoldTime is the lab's BGP hold time: RFC 4271's minimum, the
	// bound of a power-off's outage (GoBGP has no BFD).
	DefaultHoldTime = 3 * time.Second
	bgpRouterASN    = 65000
	bgpNodeASN      = 65001
)

var (
	bgpVIPRange4 = netip.MustParsePrefix("198.19.0.0/16")
	bgpVIPRange6 = netip.MustParsePrefix("2001:db8:ff::/48")
)

// ParseMode parses --mode.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeVRRP, ModeBGP:
		return m, nil
	}
	return "", fmt.Errorf("mode %q: want vrrp or bgp", s)
}

// ParseFault parses --fault.
func ParseFault(s string) (Fault, error) {
	switch f := Fault(s); f {
	case PowerOff, SIGTERM, Maintenance, CheckFails:
		return f, nil
	}
	return "", fmt.Errorf("fault %q: want power-off, sigterm, maintenance or check", s)
}

// routed reports whether the options ask for routed mode.
func (o Options) routed() bool { return o.Mode == ModeBGP }

// validateMode checks the options of the mode and the fault (after
// withDefaults); the caller wraps ErrOptions.
func (o Options) validateMode() error {
	if _, err := ParseMode(string(o.Mode)); err != nil && o.Mode != "" {
		return err
	}
	if _, err := ParseFault(string(o.Fault)); err != nil && o.Fault != "" {
		return err
	}
	if !o.routed() {
		switch {
		case o.Fault != "" && o.Fault != PowerOff:
			return fmt.Errorf("fault %s: only in mode bgp (the VRRP lab powers A off)", o.Fault)
		case o.HoldTime != 0:
			return errors.New("hold time: a BGP setting, only in mode bgp")
		}
		return nil
	}
	for _, im := range o.Impls {
		if im != Vipd {
			return fmt.Errorf("implementation %s: it has no routed mode; mode bgp runs vipd only", im)
		}
	}
	switch {
	case o.Router != labnet.Plain:
		return fmt.Errorf("router %s changes how the router treats ARP/ND; in mode bgp it forwards by BGP routes to "+
			"the nodes' own addresses and the VIPs need no ARP: use the plain router", o.Router)
	case o.AnnounceRate != 0:
		return errors.New("announce rate: gratuitous ARP/NA of VRRP mode; mode bgp announces nothing on the LAN")
	case o.VirtualMAC:
		return errors.New("virtual MAC: a VRRP setting; in mode bgp the VIPs are on the nodes' loopback")
	case o.HoldTime < 3*time.Second || o.HoldTime > 65535*time.Second || o.HoldTime%time.Second != 0:
		return fmt.Errorf("hold time %v: want 3s to 65535s in whole seconds (RFC 4271)", o.HoldTime)
	case cmp.Or(o.Fault, PowerOff) == PowerOff && o.Watch <= o.HoldTime:
		return fmt.Errorf("watch %v: a power-off takes up to the hold time (%v): watch longer", o.Watch, o.HoldTime)
	}
	return nil
}

// bgpDescription says in words what the router does in routed mode.
func (o Options) bgpDescription() string {
	return fmt.Sprintf("BIRD 2 (AS %d), eBGP sessions with nodes A and B (AS %d)", bgpRouterASN, bgpNodeASN)
}

// bgpVIPs returns n routed VIPs of one family: 198.19.0.1 upward
// (skipping the .0 and .255 of each /24) or 2001:db8:ff::1 upward.
func bgpVIPs(n int, ipv6 bool) ([]netip.Addr, error) {
	r := bgpVIPRange4
	if ipv6 {
		r = bgpVIPRange6
	}
	out := make([]netip.Addr, 0, n)
	for a := r.Addr().Next(); len(out) < n; a = a.Next() {
		if !r.Contains(a) {
			return nil, fmt.Errorf("lab: %d routed VIPs do not fit in %v", n, r)
		}
		if b := a.AsSlice(); a.Is4() && (b[3] == 0 || b[3] == 255) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// vipdRoutedConfig renders the vipd configuration of a lab node in routed
// mode: one BGP session to the router (of the VIPs' family, the family
// they are announced over), the VIPs as host routes.
//
// check, when not empty, is a shell command run as an exec health check
// with fault: true (a failure withdraws).
func vipdRoutedConfig(c nodeConfig, peer netip.Addr, hold time.Duration, check string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# vipd lab, node %s (generated; routed mode, %s)\n", c.Node, c.VIPsLabel)
	fmt.Fprintf(&b, "node: %s\ncontrol_socket: %s\n", c.Node, c.Socket)
	if c.StateDir != "" {
		fmt.Fprintf(&b, "state_dir: %s\n", c.StateDir)
	}
	fmt.Fprintf(&b, "bgp:\n  asn: %d\n  peers:\n    - {address: %s, asn: %d, hold_time: %s}\n", bgpNodeASN, peer, bgpRouterASN, hold)
	fmt.Fprintf(&b, "instances:\n  - name: %s\n    mode: bgp\n    interface: %s\n    priority: %d\n    vips:\n",
		instanceName, c.Iface, c.Priority)
	for _, v := range c.VIPs {
		fmt.Fprintf(&b, "      - %s\n", labnet.HostPrefix(v))
	}
	if check != "" {
		fmt.Fprintf(&b, "    checks:\n      - {name: lab, type: exec, target: %q, interval: %s, timeout: %s, rise: 1, fall: 1, fault: true}\n",
			check, checkInterval, checkInterval)
	}
	return b.String()
}

// birdConfig is the router's BIRD configuration: one session per node, of
// the VIPs' family.
func birdConfig(l *labnet.Lab, ipv6 bool) labnet.BirdConfig {
	c := labnet.BirdConfig{RouterID: l.Router.Addr4.Addr(), ASN: bgpRouterASN, Import4: bgpVIPRange4, Import6: bgpVIPRange6}
	for _, n := range l.Nodes {
		nb := labnet.BirdNeighbor{Name: "node_" + n.Name, Local: l.Router.Addr4.Addr(), Address: n.Addr4.Addr(), ASN: bgpNodeASN}
		if ipv6 {
			nb.Local, nb.Address = l.Router.Addr6.Addr(), n.Addr6.Addr()
		}
		c.Neighbors = append(c.Neighbors, nb)
	}
	return c
}

// The renderings' words that depend on the mode and the fault.

func (r *Report) routed() bool { return r.Mode == ModeBGP }

// timing names what bounds the takeover: "advert 100ms", "BGP hold time 3s".
func (r *Report) timing() string {
	if r.routed() {
		return "BGP hold time " + fmtSeconds(r.HoldTimeMS)
	}
	return "advert " + fmtSeconds(r.AdvertMS)
}

// faultWords says what happened at t=0: "node A powered off".
func (r *Report) faultWords() string {
	switch r.Fault {
	case SIGTERM:
		return "SIGTERM to A's vipd"
	case Maintenance:
		return "A put in maintenance"
	case CheckFails:
		return "A's health check failing"
	}
	return "node A powered off"
}

// faultMark labels the fault on the timeline.
func (r *Report) faultMark() string {
	switch r.Fault {
	case SIGTERM:
		return "SIGTERM"
	case Maintenance:
		return "maintenance"
	case CheckFails:
		return "check fails"
	}
	return "A off"
}

// takeoverWords names the takeover: "B master", "routes via B".
func (r *Report) takeoverWords() string {
	if r.routed() {
		return "routes via B"
	}
	return "B master"
}

// vipdColumn is the per-VIP table's extra vipd column: the remediation
// step that fixed the VIP, or in mode bgp B's route state at the end.
func (r *Report) vipdColumn() (head string, cell func(VIPOutcome) string) {
	if r.routed() {
		return "B's route", func(v VIPOutcome) string { return cmp.Or(v.Verification, "-") }
	}
	return "fixed by", func(v VIPOutcome) string { return cmp.Or(v.FixedBy, "-") }
}

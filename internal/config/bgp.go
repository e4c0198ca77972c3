package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Instance modes.
const (
	// ModeVRRP: the VIPs move between the nodes of one L2 segment by VRRP
	// (the default).
	ModeVRRP = "vrrp"
	// ModeBGP: every healthy node announces the VIPs as host routes over
	// BGP with a preference derived from its priority; the router picks.
	// No VRRP runs.
	ModeBGP = "bgp"
)

// BGP hold times: the default, and RFC 4271's minimum (a hold time of 0,
// no keepalives, is refused: the hold timer is what detects a dead node).
const (
	DefaultBGPHoldTime = 9 * time.Second
	MinBGPHoldTime     = 3 * time.Second
	MaxBGPHoldTime     = 65535 * time.Second
)

// BGP is the node's BGP speaker, used by the instances of mode bgp.
type BGP struct {
	// ASN is the node's autonomous system number, 1..4294967295.
	ASN uint32
	// RouterID is the BGP identifier, an IPv4 address; invalid when not
	// set: the daemon then takes the node's IPv4 address on the first
	// routed instance's interface.
	RouterID netip.Addr
	// Peers are the upstream routers, at least one.
	Peers []BGPPeer
	// Line is the line of the bgp key, for messages.
	Line int
}

// BGPPeer is one upstream router, reached directly (eBGP, one hop).
type BGPPeer struct {
	Address netip.Addr
	ASN     uint32
	// HoldTime is whole seconds, 3s..65535s; the failover time of a dead
	// node is bounded by it.
	HoldTime time.Duration
}

// Routed reports whether the instance announces its VIPs by BGP.
func (i *Instance) Routed() bool { return i.Mode == ModeBGP }

// bgp decodes the bgp block.
func (d *decoder) bgp(n *yaml.Node, path string) *BGP {
	b := &BGP{Line: n.Line}
	before := len(d.errs)
	d.mapping(n, path, "a mapping (asn:, router_id:, peers:)", []field{
		{name: "asn", required: true, decode: integer(&b.ASN, 1, 4294967295)},
		{name: "router_id", decode: func(d *decoder, v *yaml.Node, path string) bool {
			s, ok := d.scalar(v, path, "an IPv4 address")
			if !ok {
				return false
			}
			a, err := netip.ParseAddr(s)
			if err != nil || !a.Is4() || a.IsUnspecified() {
				d.errorf(v, path, "must be an IPv4 address (BGP identifiers are 32 bits), got %s", quote(s))
				return false
			}
			b.RouterID = a
			return true
		}},
		{name: "peers", required: true, decode: func(d *decoder, v *yaml.Node, path string) bool {
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				d.errorf(v, path, "must list at least one peer")
				return false
			}
			seen := map[netip.Addr]int{}
			return d.sequence(v, path, func(_ int, v *yaml.Node, path string) bool {
				p, ok := d.bgpPeer(v, path)
				if !ok {
					return false
				}
				if line, dup := seen[p.Address]; dup {
					d.errorf(v, path, "duplicate peer %s (first at line %d)", p.Address, line)
					return false
				}
				seen[p.Address] = v.Line
				b.Peers = append(b.Peers, p)
				return true
			})
		}},
	})
	if len(d.errs) != before {
		return nil
	}
	return b
}

func (d *decoder) bgpPeer(n *yaml.Node, path string) (BGPPeer, bool) {
	p := BGPPeer{HoldTime: DefaultBGPHoldTime}
	before := len(d.errs)
	d.mapping(n, path, "a mapping (address:, asn:, hold_time:)", []field{
		{name: "address", required: true, decode: func(d *decoder, v *yaml.Node, path string) bool {
			s, ok := d.scalar(v, path, "an IP address")
			if !ok {
				return false
			}
			if strings.Contains(s, "/") {
				d.errorf(v, path, "a peer is an address, without a prefix length: got %s", quote(s))
				return false
			}
			a, msg := parseUnicast(s, "peer")
			if msg != "" {
				d.errorf(v, path, "%s", msg)
				return false
			}
			p.Address = a
			return true
		}},
		{name: "asn", required: true, decode: integer(&p.ASN, 1, 4294967295)},
		{name: "hold_time", decode: duration(&p.HoldTime, checkHoldTime)},
	})
	return p, len(d.errs) == before
}

func checkHoldTime(t time.Duration) string {
	if t < MinBGPHoldTime || t > MaxBGPHoldTime {
		return fmt.Sprintf("must be 3s..65535s, got %s (RFC 4271: at least 3s; 0, no keepalives, would never notice a dead node)", fmtDuration(t))
	}
	if t%time.Second != 0 {
		return fmt.Sprintf("must be whole seconds (BGP carries it in seconds), got %s", fmtDuration(t))
	}
	return ""
}

// modeOf returns the value of an instance's mode key, before the instance
// is decoded (its other keys depend on it); "" when absent or not a plain
// scalar (decoding reports that).
func modeOf(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == "mode" && v.Kind == yaml.ScalarNode {
			return v.Value
		}
	}
	return ""
}

func checkMode(s string) string {
	if s != ModeVRRP && s != ModeBGP {
		return fmt.Sprintf("must be %s or %s, got %s", ModeVRRP, ModeBGP, quote(s))
	}
	return ""
}

// vrrpOnly are the keys of a VRRP instance that mean nothing in mode bgp.
var vrrpOnly = []string{"vrid", "advert_interval", "version", "auth_pass", "preempt", "preempt_delay",
	"unicast_peers", "announce", "virtual_mac", "vmac_xmit_base", "na_router"}

// checkRouted applies the rules of a mode bgp instance: no VRRP keys, host
// routes only, no verify targets (the peers are the targets).
func (d *decoder) checkRouted(in *Instance, m decoded, path string, vipNodes []*yaml.Node, vipPaths []int) {
	for _, k := range vrrpOnly {
		if v := m.values[k]; v != nil {
			d.errorf(v, join(path, k), "is a VRRP setting, and a mode: bgp instance runs no VRRP (each node announces "+
				"its VIPs with its priority and the router picks): remove it")
		}
	}
	for i, p := range in.VIPs {
		if p.Bits() != p.Addr().BitLen() && i < len(vipNodes) {
			d.errorf(vipNodes[i], index(join(path, "vips"), vipPaths[i]), "in mode: bgp a VIP is a host route "+
				"announced to the router: write %s/%d", p.Addr(), p.Addr().BitLen())
		}
	}
	if len(in.Verify.Targets) > 0 {
		d.errorf(m.values["verify"], join(path, "verify.targets"), "in mode: bgp the VIPs are verified against "+
			"the BGP peers: remove targets")
	}
}

// checkBGP applies the rules between the bgp block and the instances: a
// routed instance needs it, and each of its VIPs a peer of its family.
func (d *decoder) checkBGP(cfg *Config, bgpNode *yaml.Node, where []instanceNodes) {
	for i := range cfg.Instances {
		in, w := &cfg.Instances[i], &where[i]
		if !in.Routed() {
			continue
		}
		if bgpNode == nil && cfg.BGP == nil {
			d.errorf(w.mode, join(w.path, "mode"), "mode: bgp needs a top-level bgp: block (asn:, peers:)")
			continue
		}
		if cfg.BGP == nil {
			continue // reported
		}
		has := map[bool]bool{}
		for _, p := range cfg.BGP.Peers {
			has[p.Address.Is6()] = true
		}
		reported := map[bool]bool{}
		for k, p := range in.VIPs {
			v6 := p.Addr().Is6()
			if has[v6] || reported[v6] || k >= len(w.vips) {
				continue
			}
			reported[v6] = true
			d.errorf(w.vips[k], index(join(w.path, "vips"), w.vipPaths[k]), "%s VIP %s, but bgp.peers has no %s peer: "+
				"%s VIPs are announced over %s sessions", family(v6), p.Addr(), family(v6), family(v6), family(v6))
		}
	}
}

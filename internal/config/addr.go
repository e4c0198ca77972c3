package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// vips decodes an instance's VIP list: CIDR prefixes, all of one family.
// It returns the good VIPs with their nodes; duplicates are found by
// crossCheck, which sees all instances.
// A routed instance (mixed true) may mix IPv4 and IPv6 VIPs.
func (d *decoder) vips(n *yaml.Node, path string, mixedOK bool) ([]netip.Prefix, []*yaml.Node, []int, bool) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "must be a list of CIDR prefixes, got %s", describe(n))
		return nil, nil, nil, false
	}
	if len(n.Content) == 0 {
		d.errorf(n, path, "must list at least one VIP")
		return nil, nil, nil, false
	}
	items := n.Content
	ok := true
	if len(items) > MaxVIPs {
		d.errorf(items[MaxVIPs], index(path, MaxVIPs), "too many VIPs: at most %d per instance", MaxVIPs)
		items, ok = items[:MaxVIPs], false
	}
	vips := make([]netip.Prefix, 0, len(items))
	nodes := make([]*yaml.Node, 0, len(items))
	idx := make([]int, 0, len(items))
	mixed := false
	for i, v := range items {
		if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
			p := index(path, i)
			if d.plain(v, p) {
				d.errorf(v, p, "must be a CIDR prefix such as 192.0.2.100/24, got %s", describe(v))
			}
			ok = false
			continue
		}
		p, msg := parseVIP(v.Value)
		if msg != "" {
			d.errorf(v, index(path, i), "%s", msg)
			ok = false
			continue
		}
		if len(vips) > 0 && p.Addr().Is6() != vips[0].Addr().Is6() && !mixedOK {
			// One report per instance, at the first VIP of the other
			// family; the rest of them would only repeat it.
			if !mixed {
				d.errorf(v, index(path, i), "%s", mixedFamily(vips[0], p, nodes[0].Line))
				mixed = true
			}
			ok = false
			continue
		}
		vips = append(vips, p)
		nodes = append(nodes, v)
		idx = append(idx, i)
	}
	return vips, nodes, idx, ok
}

func mixedFamily(first, p netip.Prefix, line int) string {
	fam, other := "IPv4", "IPv6"
	if first.Addr().Is6() {
		fam, other = other, fam
	}
	return fmt.Sprintf("%s VIP %s in an instance whose VIPs are %s (from line %d): "+
		"an instance has one address family, so put IPv6 VIPs in an instance of their own "+
		"(RFC 5798 runs IPv4 and IPv6 as separate virtual routers; they may share the vrid)",
		other, p.Addr(), fam, line)
}

// parseVIP parses a VIP as written, 192.0.2.100/24, keeping the host bits.
func parseVIP(s string) (netip.Prefix, string) {
	as, bits, hasLen := strings.Cut(s, "/")
	a, msg := parseUnicast(as, "VIP")
	if msg != "" {
		return netip.Prefix{}, msg
	}
	maxBits, typical := 32, 24
	if a.Is6() {
		maxBits, typical = 128, 64
	}
	if !hasLen {
		return netip.Prefix{}, fmt.Sprintf("VIP %s has no prefix length: write it as a CIDR prefix, "+
			"with the subnet's length (such as %s/%d) or %s/%d for a lone address", a, a, typical, a, maxBits)
	}
	n, err := strconv.Atoi(bits)
	if err != nil || n < 1 || n > maxBits || bits[0] == '+' || bits[0] == '-' {
		return netip.Prefix{}, fmt.Sprintf("VIP %s: prefix length must be 1..%d, got %s", a, maxBits, quote("/"+bits))
	}
	return netip.PrefixFrom(a, n), ""
}

// parseUnicast parses an address a VIP or peer can be: unicast, no zone,
// not IPv4-mapped IPv6.
func parseUnicast(s, what string) (netip.Addr, string) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil && strings.Contains(s, "%"):
		return a, fmt.Sprintf("%s %s: zones (%%name) are not allowed; the instance's interface is used", what, quote(s))
	case err != nil:
		return a, fmt.Sprintf("%s %s is not an IP address", what, quote(s))
	case a.Zone() != "":
		return a, fmt.Sprintf("%s %s: zones (%%name) are not allowed; the instance's interface is used", what, quote(s))
	case a.Is4In6():
		return a, fmt.Sprintf("%s %s is an IPv4-mapped IPv6 address; write the IPv4 address %s", what, s, a.Unmap())
	case a.IsUnspecified(), a.IsLoopback(), a.IsMulticast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return a, fmt.Sprintf("%s %s is not a unicast address (unspecified, loopback, multicast or broadcast)", what, a)
	}
	return a, ""
}

// peer is a good address of a list (a unicast peer, a verify target) and
// where it is.
type peer struct {
	addr netip.Addr
	node *yaml.Node
	path string
}

// addrList decodes a list of addresses (unicast_peers, verify.targets),
// naming each one what in messages, with no duplicates. It returns the
// good ones, with ok false if any was reported.
func (d *decoder) addrList(n *yaml.Node, path, what string) (good []peer, ok bool) {
	seen := map[netip.Addr]*yaml.Node{}
	ok = d.sequence(n, path, func(_ int, v *yaml.Node, path string) bool {
		s, ok := d.scalar(v, path, "an IP address")
		if !ok {
			return false
		}
		if strings.Contains(s, "/") {
			d.errorf(v, path, "a %s is an address, without a prefix length: got %s", what, quote(s))
			return false
		}
		a, msg := parseUnicast(s, what)
		if msg != "" {
			d.errorf(v, path, "%s", msg)
			return false
		}
		if first := seen[a]; first != nil {
			d.errorf(v, path, "duplicate %s %s (first at line %d)", what, a, first.Line)
			return false
		}
		seen[a] = v
		good = append(good, peer{a, v, path})
		return true
	})
	return good, ok
}

// checkFamily checks a list of addresses (what: "peer", "target") against
// the instance's VIPs: same family, and none of them a VIP.
func (d *decoder) checkFamily(in *Instance, list []peer, what string) {
	if len(in.VIPs) == 0 || len(list) == 0 {
		return
	}
	v6 := in.IPv6()
	vips := make(map[netip.Addr]bool, len(in.VIPs))
	for _, p := range in.VIPs {
		vips[p.Addr()] = true
	}
	for _, p := range list {
		switch {
		case p.addr.Is6() != v6:
			d.errorf(p.node, p.path, "%s %s is %s but the instance's VIPs are %s; %ss must be of the VIPs' family",
				what, p.addr, family(p.addr.Is6()), family(v6), what)
		case vips[p.addr]:
			d.errorf(p.node, p.path, "%s %s is one of the instance's own VIPs", what, p.addr)
		}
	}
}

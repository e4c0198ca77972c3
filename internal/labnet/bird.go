package labnet

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// BirdConfig is a BIRD 2 configuration for the lab's router as a BGP peer
// of the nodes, written the way a network team would: defaults wherever
// possible, one neighbour per node, an import filter per family that
// takes host routes from the VIP ranges and nothing else (BIRD refuses to
// run eBGP without filters, RFC 8212), nothing exported to the nodes, and
// the best routes installed in the kernel (where the router forwards by
// them).
type BirdConfig struct {
	// RouterID is the router's BGP identifier (an IPv4 address).
	RouterID netip.Addr
	// ASN is the router's AS number.
	ASN uint32
	// Neighbors are the sessions, each in the family of its addresses.
	Neighbors []BirdNeighbor
	// Import4 and Import6 are the ranges whose host routes (/32, /128) the
	// router accepts; an invalid prefix accepts nothing of that family.
	Import4, Import6 netip.Prefix
	// ErrorWait, if positive, is BIRD's "error wait time" in seconds: how
	// long it waits after a session error (a dead node's hold timer
	// expiring) before it accepts the neighbour again, 60 s by default.
	ErrorWait int
}

// BirdNeighbor is one BGP session of the router.
type BirdNeighbor struct {
	// Name names the protocol in BIRD (letters, digits, underscores).
	Name string
	// Local is the router's address on the session, Address the node's.
	Local, Address netip.Addr
	ASN            uint32
}

var birdName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,31}$`)

// Render returns the configuration file's text.
func (c BirdConfig) Render() (string, error) {
	if !c.RouterID.Is4() {
		return "", fmt.Errorf("labnet: bird router id %v: want an IPv4 address", c.RouterID)
	}
	if c.ASN == 0 {
		return "", fmt.Errorf("labnet: bird: no AS number")
	}
	if len(c.Neighbors) == 0 {
		return "", fmt.Errorf("labnet: bird: no neighbours")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# BIRD 2 as the lab's upstream router (generated)\nlog stderr all;\nrouter id %s;\n", c.RouterID)
	b.WriteString("protocol device {}\nprotocol kernel { ipv4 { export all; }; }\nprotocol kernel { ipv6 { export all; }; }\n")
	fmt.Fprintf(&b, "filter vips4 { %s }\nfilter vips6 { %s }\n", birdFilter(c.Import4, 32), birdFilter(c.Import6, 128))
	for _, n := range c.Neighbors {
		if !birdName.MatchString(n.Name) {
			return "", fmt.Errorf("labnet: bird neighbour name %q: want a letter, then letters, digits or _", n.Name)
		}
		if !n.Local.IsValid() || !n.Address.IsValid() || n.Local.Is6() != n.Address.Is6() || n.ASN == 0 {
			return "", fmt.Errorf("labnet: bird neighbour %s: local %v, address %v, AS %d: want two addresses of one family and an AS number",
				n.Name, n.Local, n.Address, n.ASN)
		}
		fam, filter := "ipv4", "vips4"
		if n.Address.Is6() {
			fam, filter = "ipv6", "vips6"
		}
		fmt.Fprintf(&b, "protocol bgp %s {\n  local %s as %d;\n  neighbor %s as %d;\n", n.Name, n.Local, c.ASN, n.Address, n.ASN)
		if c.ErrorWait > 0 {
			fmt.Fprintf(&b, "  error wait time %d, %d;\n", c.ErrorWait, max(c.ErrorWait, 5))
		}
		fmt.Fprintf(&b, "  %s { import filter %s; export none; };\n}\n", fam, filter)
	}
	return b.String(), nil
}

// birdFilter is a filter body accepting the host routes of p.
func birdFilter(p netip.Prefix, bits int) string {
	if !p.IsValid() || p.Addr().BitLen() != bits {
		return "reject;"
	}
	return fmt.Sprintf("if net ~ [ %s{%d,%d} ] then accept; reject;", p.Masked(), bits, bits)
}

package labnet

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
)

// Behaviour is how the lab's router treats neighbour discovery on its LAN.
type Behaviour int

const (
	// Plain is a stock Linux router: gratuitous ARP and unsolicited Neighbor
	// Advertisements update existing neighbour entries.
	Plain Behaviour = iota
	// Sticky imitates a load balancer with a sticky MAC table: neighbour
	// entries stay reachable for hours (base_reachable_time 4 h,
	// gc_stale_time 4 h), and for the given VIPs gratuitous ARP (sender IP =
	// target IP = VIP, request or reply) and unsolicited Neighbor
	// Advertisements (Solicited flag clear, target = VIP) are dropped. A
	// solicited answer from the new owner is still accepted, but the router
	// does not ask for hours.
	Sticky
	// ReplyOnly honours only the reply form of gratuitous ARP: ARP requests
	// whose sender IP equals their target IP (one of the given VIPs) are
	// dropped. IPv6 is unaffected (a Neighbor Advertisement is always a
	// "reply").
	ReplyOnly
	// Policer rate-limits ARP and NS/NA arriving on the LAN to param packets
	// per second each (nft limit, default burst of 5), dropping the excess,
	// and keeps neighbour entries reachable for 20 minutes, as a hardware
	// router does.
	Policer
	// Lossy drops param percent of the ARP and NS/NA arriving on the LAN,
	// at random.
	Lossy
	// Pinned imitates an upstream with static neighbour entries: once it
	// has learnt the VIPs, PinRouterNeigh makes their entries permanent
	// with the MAC learnt, so that nothing on the wire (gratuitous, directed
	// or unicast ARP, NA, NS) moves them. Only a MAC that never changes —
	// the virtual MAC of RFC 5798 — survives a failover.
	Pinned
)

var behaviourNames = [...]string{"plain", "sticky", "reply-only", "policer", "lossy", "pinned"}

func (b Behaviour) String() string {
	if b < 0 || int(b) >= len(behaviourNames) {
		return fmt.Sprintf("Behaviour(%d)", int(b))
	}
	return behaviourNames[b]
}

// ParseBehaviour parses a behaviour's String form.
func ParseBehaviour(s string) (Behaviour, error) {
	for i, n := range behaviourNames {
		if n == s {
			return Behaviour(i), nil
		}
	}
	return 0, fmt.Errorf("labnet: unknown router behaviour %q (want one of %s)", s, strings.Join(behaviourNames[:], ", "))
}

// nftTable is the name of the router's nftables tables (families arp and ip6).
const nftTable = "labnet"

// ruleset returns the nft script that installs behaviour b on the router's
// LAN interface iface, replacing whatever an earlier call installed. It was
// written against nftables 1.0.6, which has no ICMPv6 target-address match:
// the Neighbor Advertisement's target is matched as raw transport-header
// bits 64..191 and its Solicited flag as bit 0x40 of byte 4.
func ruleset(b Behaviour, vips []netip.Addr, param int, iface string) (string, error) {
	var v4, v6 []netip.Addr
	for _, a := range vips {
		a = a.Unmap()
		if a.Is4() {
			v4 = append(v4, a)
		} else if a.Is6() {
			v6 = append(v6, a)
		}
	}
	var s strings.Builder
	// Creating then deleting makes the script idempotent in one transaction.
	for _, fam := range []string{"arp", "ip6"} {
		fmt.Fprintf(&s, "table %s %s {}\ndelete table %s %s\n", fam, nftTable, fam, nftTable)
	}
	const hook = "type filter hook input priority 0; policy accept;"
	nd := "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }"
	switch b {
	case Plain, Pinned:
	case Sticky:
		fmt.Fprintf(&s, "table arp %s {\n\tset garp {\n\t\ttype ipv4_addr . ipv4_addr\n%s\t}\n", nftTable, pairElements(v4))
		fmt.Fprintf(&s, "\tchain input {\n\t\t%s\n\t\tiifname %q arp saddr ip . arp daddr ip @garp counter drop\n\t}\n}\n", hook, iface)
		fmt.Fprintf(&s, "table ip6 %s {\n\tset unsolicited {\n\t\ttypeof @th,64,128\n%s\t}\n", nftTable, rawElements(v6))
		fmt.Fprintf(&s, "\tchain input {\n\t\t%s\n\t\tiifname %q icmpv6 type nd-neighbor-advert @th,64,128 @unsolicited @th,32,8 & 0x40 == 0 counter drop\n\t}\n}\n", hook, iface)
	case ReplyOnly:
		if len(v4) == 0 {
			return "", fmt.Errorf("labnet: router behaviour %v needs the IPv4 VIPs it applies to", b)
		}
		fmt.Fprintf(&s, "table arp %s {\n\tset garp {\n\t\ttype ipv4_addr . ipv4_addr\n%s\t}\n", nftTable, pairElements(v4))
		fmt.Fprintf(&s, "\tchain input {\n\t\t%s\n\t\tiifname %q arp operation request arp saddr ip . arp daddr ip @garp counter drop\n\t}\n}\n", hook, iface)
	case Policer:
		if param < 1 {
			return "", fmt.Errorf("labnet: router behaviour %v: rate %d, want at least 1 per second", b, param)
		}
		fmt.Fprintf(&s, "table arp %s {\n\tchain input {\n\t\t%s\n\t\tiifname %q limit rate over %d/second counter drop\n\t}\n}\n", nftTable, hook, iface, param)
		fmt.Fprintf(&s, "table ip6 %s {\n\tchain input {\n\t\t%s\n\t\tiifname %q %s limit rate over %d/second counter drop\n\t}\n}\n", nftTable, hook, iface, nd, param)
	case Lossy:
		if param < 0 || param > 100 {
			return "", fmt.Errorf("labnet: router behaviour %v: %d%%, want 0 to 100", b, param)
		}
		if param == 0 {
			break
		}
		// nft rejects "< 100" (numgen's range is 0-99): drop everything then.
		share := fmt.Sprintf("numgen random mod 100 < %d ", param)
		if param == 100 {
			share = ""
		}
		fmt.Fprintf(&s, "table arp %s {\n\tchain input {\n\t\t%s\n\t\tiifname %q %scounter drop\n\t}\n}\n", nftTable, hook, iface, share)
		fmt.Fprintf(&s, "table ip6 %s {\n\tchain input {\n\t\t%s\n\t\tiifname %q %s %scounter drop\n\t}\n}\n", nftTable, hook, iface, nd, share)
	default:
		return "", fmt.Errorf("labnet: unknown router behaviour %v", b)
	}
	return s.String(), nil
}

// pairElements renders "elements = { a . a, b . b }" (nothing for no
// addresses: nft rejects an empty element list).
func pairElements(as []netip.Addr) string {
	if len(as) == 0 {
		return ""
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String() + " . " + a.String()
	}
	return "\t\telements = { " + strings.Join(parts, ", ") + " }\n"
}

// rawElements renders IPv6 addresses as 128-bit integers for a typeof
// @th,64,128 set.
func rawElements(as []netip.Addr) string {
	if len(as) == 0 {
		return ""
	}
	parts := make([]string, len(as))
	for i, a := range as {
		b := a.As16()
		parts[i] = "0x" + hex.EncodeToString(b[:])
	}
	return "\t\telements = { " + strings.Join(parts, ", ") + " }\n"
}

// neighSysctls are the router's LAN neighbour parameters for a behaviour:
// hours-long reachability for Sticky, 20 minutes for Policer, the kernel
// defaults otherwise.
//
// A router that polices ARP is a hardware router, and those keep entries
// for minutes to hours (Juniper 20 min, Cisco and Arista 4 h). With
// Linux's 30 s the router's own upkeep would not fit through the policer
// at scale: it re-confirms every entry about every 30 s, 4096 VIPs need
// 136 answers a second, and the policer passes 100.
func neighSysctls(b Behaviour, iface string) map[string]string {
	reach, stale := "30000", "60"
	switch b {
	case Sticky:
		reach, stale = "14400000", "14400"
	case Policer:
		reach, stale = "1200000", "1200"
	}
	m := map[string]string{}
	for _, fam := range []string{"ipv4", "ipv6"} {
		m["net/"+fam+"/neigh/"+iface+"/base_reachable_time_ms"] = reach
		m["net/"+fam+"/neigh/"+iface+"/gc_stale_time"] = stale
	}
	return m
}

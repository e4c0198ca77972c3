package transport

import (
	"errors"
	"net/netip"
	"slices"
)

// ErrNoAddress is returned by PrimaryAddr when the interface has no usable
// address of the family (for IPv6, perhaps because its link-local address is
// still tentative: DAD takes about a second after the link comes up).
var ErrNoAddress = errors.New("no usable address")

// ifAddr is one address of an interface as netlink reports it, in the
// kernel's order.
type ifAddr struct {
	addr       netip.Addr
	secondary  bool // IFA_F_SECONDARY (IPv4)
	tentative  bool // IFA_F_TENTATIVE or IFA_F_DADFAILED (IPv6)
	deprecated bool // IFA_F_DEPRECATED (IPv6)
}

// pickPrimary chooses the VRRP source address from an interface's addresses.
//
// IPv4 (RFC 5798 §5.1.1.1: "the primary IPv4 address of the interface"):
// the first address that is not secondary and not in exclude; failing that,
// the first address not in exclude. The kernel lists primaries in the order
// they were added and secondaries after them, so the first primary is the
// address the kernel itself picks as source on that interface. A VIP with
// another prefix length than the interface's subnet (a /32) is a primary too,
// which is why the caller passes its VIPs in exclude.
//
// IPv6 (RFC 5798 §5.1.2.1: "the IPv6 link-local address of the interface"):
// the first link-local address that is not tentative, preferring one that is
// not deprecated.
func pickPrimary(addrs []ifAddr, ipv6 bool, exclude []netip.Addr) (netip.Addr, bool) {
	var fallback netip.Addr
	for _, a := range addrs {
		if a.addr.Is6() != ipv6 || slices.Contains(exclude, a.addr) {
			continue
		}
		if ipv6 {
			if !a.addr.IsLinkLocalUnicast() || a.tentative {
				continue
			}
			if a.deprecated {
				if !fallback.IsValid() {
					fallback = a.addr
				}
				continue
			}
			return a.addr, true
		}
		if a.secondary {
			if !fallback.IsValid() {
				fallback = a.addr
			}
			continue
		}
		return a.addr, true
	}
	return fallback, fallback.IsValid()
}

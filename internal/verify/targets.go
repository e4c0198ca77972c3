package verify

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrTargetNotOnLink: a configured target has no on-link route on the
// interface, so no neighbour entry of ours can matter to it.
var ErrTargetNotOnLink = errors.New("target not on link")

// Route is the part of a route on the VIPs' interface that target
// selection looks at.
type Route struct {
	// Dst is the destination; the zero Prefix is the default route.
	Dst netip.Prefix
	// Gateway is the next hop; the zero Addr means on-link (connected).
	Gateway netip.Addr
}

// SelectTargets is the pure part of Targets: routes are the unicast routes
// through the interface. The targets are, without repeats, in order:
//
//   - every gateway of those routes that lies inside the prefix of one of
//     vips (the default route's gateway included), and for IPv6 every
//     link-local gateway when there is an IPv6 VIP (a router advertises
//     itself by its link-local address, and is on every link's prefix);
//   - every configured address, which must be on-link: inside the Dst of a
//     route without gateway. Otherwise the error wraps ErrTargetNotOnLink.
//
// A VIP's own address is never a target.
func SelectTargets(routes []Route, vips []netip.Prefix, configured []netip.Addr) ([]netip.Addr, error) {
	var out []netip.Addr
	seen := make(map[netip.Addr]bool)
	isVIP := make(map[netip.Addr]bool)
	has6 := false
	for _, v := range vips {
		isVIP[v.Addr().Unmap()] = true
		if v.Addr().Is6() && !v.Addr().Is4In6() {
			has6 = true
		}
	}
	add := func(a netip.Addr) {
		if !seen[a] && !isVIP[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, r := range routes {
		g := r.Gateway.Unmap()
		if !g.IsValid() {
			continue
		}
		if g.Is6() && g.IsLinkLocalUnicast() {
			if has6 {
				add(g)
			}
			continue
		}
		for _, v := range vips {
			p := netip.PrefixFrom(v.Addr().Unmap(), v.Bits())
			if v.Addr().Is4In6() {
				p = netip.PrefixFrom(v.Addr().Unmap(), v.Bits()-96)
			}
			if p.Masked().Contains(g) {
				add(g)
				break
			}
		}
	}
	for _, a := range configured {
		a = a.Unmap()
		if err := CheckTarget(routes, a); err != nil {
			return nil, err
		}
		add(a)
	}
	return out, nil
}

// CheckTarget returns an error wrapping ErrTargetNotOnLink unless a is
// inside the destination of an on-link route among routes. A link-local
// IPv6 address is on-link when the interface has the fe80::/64 route.
func CheckTarget(routes []Route, a netip.Addr) error {
	a = a.Unmap().WithZone("")
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() {
		return fmt.Errorf("verify: target %v: %w", a, ErrTargetNotOnLink)
	}
	for _, r := range routes {
		if !r.Gateway.IsValid() && r.Dst.IsValid() && r.Dst.Masked().Contains(a) {
			return nil
		}
	}
	return fmt.Errorf("verify: target %v: no on-link route on the interface: %w", a, ErrTargetNotOnLink)
}

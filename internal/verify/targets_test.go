package verify

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func TestSelectTargets(t *testing.T) {
	a := netip.MustParseAddr
	p := netip.MustParsePrefix
	lan := []Route{
		{Dst: p("192.0.2.0/24")},                       // connected
		{Dst: p("0.0.0.0/0"), Gateway: a("192.0.2.1")}, // default
		{Dst: p("203.0.113.0/24"), Gateway: a("192.0.2.254")},
		{Dst: p("2001:db8:1::/64")},
		{Dst: p("fe80::/64")},
		{Dst: p("::/0"), Gateway: a("fe80::1")},
		{Dst: p("2001:db8:9::/48"), Gateway: a("2001:db8:1::fe")},
	}
	for _, tc := range []struct {
		name       string
		routes     []Route
		vips       []netip.Prefix
		configured []netip.Addr
		want       []netip.Addr
		err        error
	}{
		{"default and specific gateway in the VIP prefix", lan, []netip.Prefix{p("192.0.2.100/24")}, nil,
			[]netip.Addr{a("192.0.2.1"), a("192.0.2.254")}, nil},
		{"VIP /32: no gateway inside", lan, []netip.Prefix{p("192.0.2.100/32")}, nil, nil, nil},
		{"VIP /32 with a configured target", lan, []netip.Prefix{p("192.0.2.100/32")}, []netip.Addr{a("192.0.2.1")},
			[]netip.Addr{a("192.0.2.1")}, nil},
		{"IPv6: link-local default gateway and in-prefix gateway", lan, []netip.Prefix{p("2001:db8:1::100/64")}, nil,
			[]netip.Addr{a("fe80::1"), a("2001:db8:1::fe")}, nil},
		{"IPv4 VIPs only: no IPv6 targets", lan, []netip.Prefix{p("192.0.2.100/24")}, []netip.Addr{a("192.0.2.1")},
			[]netip.Addr{a("192.0.2.1"), a("192.0.2.254")}, nil},
		{"VIP prefix elsewhere", lan, []netip.Prefix{p("198.51.100.7/24")}, nil, nil, nil},
		{"configured target off link", lan, []netip.Prefix{p("192.0.2.100/24")}, []netip.Addr{a("198.51.100.1")},
			nil, ErrTargetNotOnLink},
		{"configured target via a gateway is not on link", lan, nil, []netip.Addr{a("203.0.113.9")},
			nil, ErrTargetNotOnLink},
		{"configured multicast", lan, nil, []netip.Addr{a("224.0.0.1")}, nil, ErrTargetNotOnLink},
		{"configured IPv4-mapped", lan, nil, []netip.Addr{a("::ffff:192.0.2.9")}, []netip.Addr{a("192.0.2.9")}, nil},
		{"a VIP is never a target", []Route{{Dst: p("192.0.2.0/24")}, {Dst: p("0.0.0.0/0"), Gateway: a("192.0.2.100")}},
			[]netip.Prefix{p("192.0.2.100/24")}, nil, nil, nil},
		{"no routes", nil, []netip.Prefix{p("192.0.2.100/24")}, []netip.Addr{a("192.0.2.1")}, nil, ErrTargetNotOnLink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SelectTargets(tc.routes, tc.vips, tc.configured)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("targets %v, want %v", got, tc.want)
			}
		})
	}
}

package transport

import (
	"net/netip"
	"testing"
)

func TestPickPrimary(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name    string
		addrs   []ifAddr
		ipv6    bool
		exclude []netip.Addr
		want    netip.Addr // zero: none
	}{
		{name: "none", addrs: nil},
		{name: "first primary", addrs: []ifAddr{{addr: a("192.0.2.11")}, {addr: a("198.51.100.1")}}, want: a("192.0.2.11")},
		{name: "secondary skipped", addrs: []ifAddr{{addr: a("192.0.2.11"), secondary: true}, {addr: a("198.51.100.1")}}, want: a("198.51.100.1")},
		{name: "vip excluded", addrs: []ifAddr{{addr: a("192.0.2.100")}, {addr: a("192.0.2.11")}}, exclude: []netip.Addr{a("192.0.2.100")}, want: a("192.0.2.11")},
		{name: "secondary as last resort", addrs: []ifAddr{{addr: a("192.0.2.100")}, {addr: a("192.0.2.11"), secondary: true}}, exclude: []netip.Addr{a("192.0.2.100")}, want: a("192.0.2.11")},
		{name: "only vips", addrs: []ifAddr{{addr: a("192.0.2.100")}}, exclude: []netip.Addr{a("192.0.2.100")}},
		{name: "v4 ignores v6", addrs: []ifAddr{{addr: a("fe80::1")}, {addr: a("192.0.2.11")}}, want: a("192.0.2.11")},

		{name: "link-local", ipv6: true, addrs: []ifAddr{{addr: a("2001:db8::11")}, {addr: a("fe80::11")}}, want: a("fe80::11")},
		{name: "no link-local", ipv6: true, addrs: []ifAddr{{addr: a("2001:db8::11")}}},
		{name: "tentative skipped", ipv6: true, addrs: []ifAddr{{addr: a("fe80::11"), tentative: true}}},
		{name: "deprecated as last resort", ipv6: true, addrs: []ifAddr{{addr: a("fe80::1"), deprecated: true}, {addr: a("fe80::2")}}, want: a("fe80::2")},
		{name: "deprecated only", ipv6: true, addrs: []ifAddr{{addr: a("fe80::1"), deprecated: true}}, want: a("fe80::1")},
		{name: "v6 ignores v4", ipv6: true, addrs: []ifAddr{{addr: a("192.0.2.11")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pickPrimary(tt.addrs, tt.ipv6, tt.exclude)
			if got != tt.want || ok != tt.want.IsValid() {
				t.Errorf("pickPrimary = %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
}

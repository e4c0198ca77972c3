package labnet

import (
	"errors"
	"net/netip"
	"testing"
)

func TestMakePlan(t *testing.T) {
	p, err := makePlan(Options{Extra: []string{"injector"}}, "vx")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		role, iface, port, a4, a6 string
	}{
		{"client", "eth0", "", "198.51.100.10/24", "2001:db8:2::10/64"},
		{"router", "lan0", "p-router", "192.0.2.1/24", "2001:db8:1::1/64"},
		{"switch", "br0", "", "invalid Prefix", "invalid Prefix"},
		{"a", "eth0", "p-a", "192.0.2.11/24", "2001:db8:1::11/64"},
		{"b", "eth0", "p-b", "192.0.2.12/24", "2001:db8:1::12/64"},
		{"injector", "eth0", "p-injector", "192.0.2.50/24", "2001:db8:1::50/64"},
	}
	if len(p.hosts) != len(want) {
		t.Fatalf("%d hosts, want %d", len(p.hosts), len(want))
	}
	for i, w := range want {
		h := p.hosts[i]
		if h.role != w.role || h.iface != w.iface || h.port != w.port || h.addr4.String() != w.a4 || h.addr6.String() != w.a6 {
			t.Errorf("host %d = %+v, want %+v", i, h, w)
		}
	}

	p, err = makePlan(Options{LAN4: BenchLAN4, LAN6: netip.MustParsePrefix("2001:db8:1::/64"), Nodes: 3}, "vx")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.hosts[1].addr4.String(); got != "198.18.0.1/16" {
		t.Errorf("router on the bench LAN = %s", got)
	}
	if got := p.hosts[5].addr4.String(); got != "198.18.0.13/16" {
		t.Errorf("node c = %s", got)
	}
}

func TestMakePlanErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"too many nodes", Options{Nodes: 27}},
		{"negative nodes", Options{Nodes: -1}},
		{"narrow LAN4", Options{LAN4: netip.MustParsePrefix("192.0.2.0/25")}},
		{"LAN4 not IPv4", Options{LAN4: netip.MustParsePrefix("2001:db8::/64")}},
		{"LAN6 not IPv6", Options{LAN6: netip.MustParsePrefix("192.0.2.0/24")}},
		{"bad extra", Options{Extra: []string{"Inj"}}},
		{"extra named like a node", Options{Extra: []string{"a"}}},
		{"extra named router", Options{Extra: []string{"router"}}},
	}
	for _, tt := range tests {
		if _, err := makePlan(tt.o, "vx"); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestVIPRange(t *testing.T) {
	tests := []struct {
		prefix      string
		n           int
		first, last string
		err         error
	}{
		{"192.0.2.0/24", 20, "192.0.2.100", "192.0.2.119", nil},
		{"192.0.2.0/24", 155, "192.0.2.100", "192.0.2.254", nil},
		{"192.0.2.0/24", 156, "", "", errVIPRange},
		{"198.18.0.0/16", 4096, "198.18.0.100", "198.18.16.99", nil},
		{"2001:db8:1::/64", 4096, "2001:db8:1::100", "2001:db8:1::10ff", nil},
		{"2001:db8:1::/120", 1, "", "", errVIPRange},
	}
	for _, tt := range tests {
		got, err := vipRange(netip.MustParsePrefix(tt.prefix), tt.n)
		if !errors.Is(err, tt.err) {
			t.Errorf("vipRange(%s, %d) error %v, want %v", tt.prefix, tt.n, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if len(got) != tt.n || got[0].String() != tt.first || got[len(got)-1].String() != tt.last {
			t.Errorf("vipRange(%s, %d) = %d addresses %v..%v, want %s..%s", tt.prefix, tt.n, len(got), got[0], got[len(got)-1], tt.first, tt.last)
		}
	}
}

func TestAddOffset(t *testing.T) {
	tests := []struct {
		a    string
		off  uint64
		want string
	}{
		{"192.0.2.0", 1, "192.0.2.1"},
		{"198.18.0.255", 1, "198.18.1.0"},
		{"198.18.0.0", 65535, "198.18.255.255"},
		{"2001:db8::ffff", 1, "2001:db8::1:0"},
		{"2001:db8::", 0x1_0000_0000, "2001:db8::1:0:0"},
	}
	for _, tt := range tests {
		if got := addOffset(netip.MustParseAddr(tt.a), tt.off); got.String() != tt.want {
			t.Errorf("addOffset(%s, %#x) = %v, want %s", tt.a, tt.off, got, tt.want)
		}
	}
}

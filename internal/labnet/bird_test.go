package labnet

import (
	"net/netip"
	"strings"
	"testing"
)

func TestBirdRender(t *testing.T) {
	ok := BirdConfig{
		RouterID: netip.MustParseAddr("192.0.2.1"), ASN: 65000, ErrorWait: 1,
		Import4: netip.MustParsePrefix("198.19.0.0/16"),
		Neighbors: []BirdNeighbor{
			{Name: "node_a", Local: netip.MustParseAddr("192.0.2.1"), Address: netip.MustParseAddr("192.0.2.11"), ASN: 65001},
			{Name: "node_a6", Local: netip.MustParseAddr("2001:db8:1::1"), Address: netip.MustParseAddr("2001:db8:1::11"), ASN: 65001},
		},
	}
	text, err := ok.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"router id 192.0.2.1;",
		"filter vips4 { if net ~ [ 198.19.0.0/16{32,32} ] then accept; reject; }",
		"filter vips6 { reject; }", // no IPv6 range: nothing accepted
		"protocol bgp node_a {\n  local 192.0.2.1 as 65000;\n  neighbor 192.0.2.11 as 65001;\n  error wait time 1, 5;\n  ipv4 { import filter vips4; export none; };\n}",
		"neighbor 2001:db8:1::11 as 65001;",
		"ipv6 { import filter vips6; export none; };",
		"protocol kernel { ipv4 { export all; }; }",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("config lacks %q:\n%s", w, text)
		}
	}
	bad := map[string]func(*BirdConfig){
		"router id IPv6":   func(c *BirdConfig) { c.RouterID = netip.MustParseAddr("2001:db8::1") },
		"no AS":            func(c *BirdConfig) { c.ASN = 0 },
		"no neighbours":    func(c *BirdConfig) { c.Neighbors = nil },
		"name with a dash": func(c *BirdConfig) { c.Neighbors[0].Name = "node-a" },
		"mixed families":   func(c *BirdConfig) { c.Neighbors[0].Local = netip.MustParseAddr("2001:db8:1::1") },
		"neighbour AS 0":   func(c *BirdConfig) { c.Neighbors[1].ASN = 0 },
	}
	for name, mutate := range bad {
		c := ok
		c.Neighbors = append([]BirdNeighbor(nil), ok.Neighbors...)
		mutate(&c)
		if _, err := c.Render(); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}

package labnet

import (
	"net/netip"
	"strings"
	"testing"
)

func TestBehaviourString(t *testing.T) {
	for b := Plain; b <= Pinned; b++ {
		got, err := ParseBehaviour(b.String())
		if err != nil || got != b {
			t.Errorf("ParseBehaviour(%q) = %v, %v", b.String(), got, err)
		}
	}
	if _, err := ParseBehaviour("sticky-ish"); err == nil {
		t.Error("ParseBehaviour accepted an unknown name")
	}
	if got := Behaviour(9).String(); got != "Behaviour(9)" {
		t.Errorf("Behaviour(9).String() = %q", got)
	}
}

func TestRuleset(t *testing.T) {
	vips := []netip.Addr{
		netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("::ffff:192.0.2.101"),
		netip.MustParseAddr("2001:db8:1::100"),
	}
	reset := "table arp labnet {}\ndelete table arp labnet\ntable ip6 labnet {}\ndelete table ip6 labnet\n"
	tests := []struct {
		name    string
		b       Behaviour
		vips    []netip.Addr
		param   int
		want    []string // substrings, in order
		notWant []string
		err     bool
	}{
		{name: "plain", b: Plain, want: []string{reset}, notWant: []string{"chain"}},
		{name: "sticky", b: Sticky, vips: vips, want: []string{
			reset,
			"elements = { 192.0.2.100 . 192.0.2.100, 192.0.2.101 . 192.0.2.101 }",
			`iifname "lan0" arp saddr ip . arp daddr ip @garp counter drop`,
			"typeof @th,64,128",
			"elements = { 0x20010db8000100000000000000000100 }",
			`iifname "lan0" icmpv6 type nd-neighbor-advert @th,64,128 @unsolicited @th,32,8 & 0x40 == 0 counter drop`,
		}},
		{name: "sticky without VIPs", b: Sticky, want: []string{"set garp", "set unsolicited"}, notWant: []string{"elements"}},
		{name: "reply-only", b: ReplyOnly, vips: vips, want: []string{
			"arp operation request arp saddr ip . arp daddr ip @garp counter drop",
		}, notWant: []string{"ip6 labnet {\n"}},
		{name: "reply-only needs IPv4 VIPs", b: ReplyOnly, vips: vips[2:], err: true},
		{name: "policer", b: Policer, param: 25, want: []string{
			`iifname "lan0" limit rate over 25/second counter drop`,
			`icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } limit rate over 25/second counter drop`,
		}},
		{name: "policer zero", b: Policer, param: 0, err: true},
		{name: "lossy", b: Lossy, param: 30, want: []string{
			`iifname "lan0" numgen random mod 100 < 30 counter drop`,
			`nd-neighbor-advert } numgen random mod 100 < 30 counter drop`,
		}},
		{name: "lossy all", b: Lossy, param: 100, want: []string{`iifname "lan0" counter drop`}, notWant: []string{"numgen"}},
		{name: "lossy none", b: Lossy, param: 0, notWant: []string{"chain"}},
		{name: "pinned", b: Pinned, notWant: []string{"chain"}},
		{name: "lossy over 100", b: Lossy, param: 101, err: true},
		{name: "unknown", b: Behaviour(42), err: true},
	}
	for _, tt := range tests {
		got, err := ruleset(tt.b, tt.vips, tt.param, "lan0")
		if (err != nil) != tt.err {
			t.Errorf("%s: error %v, want error %v", tt.name, err, tt.err)
			continue
		}
		rest := got
		for _, w := range tt.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: ruleset lacks (in order) %q:\n%s", tt.name, w, got)
				break
			}
			rest = rest[i+len(w):]
		}
		for _, w := range tt.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: ruleset has %q:\n%s", tt.name, w, got)
			}
		}
	}
}

func TestNeighSysctls(t *testing.T) {
	s := neighSysctls(Sticky, "lan0")
	if s["net/ipv4/neigh/lan0/base_reachable_time_ms"] != "14400000" || s["net/ipv6/neigh/lan0/gc_stale_time"] != "14400" {
		t.Errorf("sticky sysctls = %v", s)
	}
	if s := neighSysctls(Policer, "lan0"); s["net/ipv6/neigh/lan0/base_reachable_time_ms"] != "1200000" || s["net/ipv4/neigh/lan0/gc_stale_time"] != "1200" {
		t.Errorf("policer sysctls = %v", s)
	}
	p := neighSysctls(Plain, "lan0")
	if p["net/ipv6/neigh/lan0/base_reachable_time_ms"] != "30000" || p["net/ipv4/neigh/lan0/gc_stale_time"] != "60" {
		t.Errorf("plain sysctls = %v", p)
	}
}

package lab

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/labnet"
)

func TestModeOptions(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string // "" for valid; else a part of the error
	}{
		{"bgp defaults", Options{Mode: ModeBGP}, ""},
		{"bgp sigterm", Options{Mode: ModeBGP, Fault: SIGTERM}, ""},
		{"bgp IPv6 4096 VIPs", Options{Mode: ModeBGP, IPv6: true, VIPs: 4096}, ""},
		{"bgp hold 9s", Options{Mode: ModeBGP, HoldTime: 9 * time.Second, Watch: 15 * time.Second}, ""},
		{"vrrp power off", Options{Mode: ModeVRRP, Fault: PowerOff}, ""},
		{"bgp with keepalived", Options{Mode: ModeBGP, Impls: []Impl{Vipd, Keepalived}}, "keepalived: it has no routed mode"},
		{"bgp sticky router", Options{Mode: ModeBGP, Router: labnet.Sticky}, "use the plain router"},
		{"bgp announce rate", Options{Mode: ModeBGP, AnnounceRate: 500}, "announce rate"},
		{"bgp virtual MAC", Options{Mode: ModeBGP, VirtualMAC: true}, "virtual MAC"},
		{"bgp hold too short", Options{Mode: ModeBGP, HoldTime: 2 * time.Second}, "hold time 2s"},
		{"bgp hold fraction", Options{Mode: ModeBGP, HoldTime: 3500 * time.Millisecond}, "whole seconds"},
		{"bgp watch within hold", Options{Mode: ModeBGP, HoldTime: 10 * time.Second}, "watch 10s"},
		{"vrrp sigterm", Options{Fault: SIGTERM}, "only in mode bgp"},
		{"vrrp maintenance", Options{Fault: Maintenance}, "only in mode bgp"},
		{"bgp maintenance", Options{Mode: ModeBGP, Fault: Maintenance}, ""},
		{"bgp check", Options{Mode: ModeBGP, Fault: CheckFails}, ""},
		{"vrrp hold time", Options{HoldTime: 3 * time.Second}, "only in mode bgp"},
		{"unknown mode", Options{Mode: "ospf"}, `mode "ospf"`},
		{"unknown fault", Options{Fault: "unplug"}, `fault "unplug"`},
	}
	for _, tt := range tests {
		err := tt.o.withDefaults().validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		case err != nil && !errors.Is(err, ErrOptions):
			t.Errorf("%s: %v does not wrap ErrOptions", tt.name, err)
		}
	}
	if o := (Options{Mode: ModeBGP}).withDefaults(); o.HoldTime != DefaultHoldTime {
		t.Errorf("bgp hold time default %v", o.HoldTime)
	}
	if o := (Options{}).withDefaults(); o.HoldTime != 0 {
		t.Errorf("vrrp hold time default %v, want 0", o.HoldTime)
	}
	for _, s := range []string{"vrrp", "bgp"} {
		if m, err := ParseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseMode(%q) = %q, %v", s, m, err)
		}
	}
	for _, s := range []string{"power-off", "sigterm", "maintenance", "check"} {
		if f, err := ParseFault(s); err != nil || string(f) != s {
			t.Errorf("ParseFault(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := ParseMode("BGP "); err == nil {
		t.Error("ParseMode accepts \"BGP \"")
	}
}

func TestBGPVIPs(t *testing.T) {
	v4, err := bgpVIPs(4096, false)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]bool{}
	for _, a := range v4 {
		b := a.As4()
		if !bgpVIPRange4.Contains(a) || b[3] == 0 || b[3] == 255 || seen[a] {
			t.Fatalf("IPv4 VIP %v: outside %v, a .0/.255 or twice", a, bgpVIPRange4)
		}
		seen[a] = true
	}
	if v4[0] != netip.MustParseAddr("198.19.0.1") || v4[254] != netip.MustParseAddr("198.19.1.1") {
		t.Errorf("IPv4 VIPs %v ... %v", v4[0], v4[254])
	}
	v6, err := bgpVIPs(3, true)
	if err != nil || len(v6) != 3 || v6[2] != netip.MustParseAddr("2001:db8:ff::3") {
		t.Errorf("IPv6 VIPs %v, %v", v6, err)
	}
	// Outside the lab's LANs: the router only knows them from BGP.
	for _, a := range append(v4, v6...) {
		if labnet.DefaultLAN4.Contains(a) || labnet.DefaultLAN6.Contains(a) {
			t.Errorf("VIP %v inside the LAN", a)
		}
	}
	if _, err := bgpVIPs(1<<16, false); err == nil {
		t.Error("65536 IPv4 VIPs fit in a /16 without .0 and .255")
	}
}

func TestVipdRoutedConfigLoads(t *testing.T) {
	for _, ipv6 := range []bool{false, true} {
		vips, _ := bgpVIPs(300, ipv6)
		peer := netip.MustParseAddr("192.0.2.1")
		if ipv6 {
			peer = netip.MustParseAddr("2001:db8:1::1")
		}
		c := nodeConfig{Node: "a", Iface: "eth0", Priority: priorityA, VIPs: vips, Socket: "/tmp/s.sock",
			StateDir: "/tmp/state-a", VIPsLabel: "BGP peer " + peer.String()}
		check := ""
		if ipv6 {
			check = "test ! -e /tmp/vipd-lab-x/a-check-fails"
		}
		text := vipdRoutedConfig(c, peer, 3*time.Second, check)
		cfg, err := config.Parse([]byte(text))
		if err != nil {
			t.Fatalf("IPv6 %v: %v\n%s", ipv6, err, text)
		}
		if cfg.BGP == nil || cfg.BGP.ASN != bgpNodeASN || len(cfg.BGP.Peers) != 1 || cfg.BGP.Peers[0].Address != peer ||
			cfg.BGP.Peers[0].ASN != bgpRouterASN || cfg.BGP.Peers[0].HoldTime != 3*time.Second {
			t.Errorf("IPv6 %v: bgp %+v", ipv6, cfg.BGP)
		}
		in := cfg.Instances[0]
		if !in.Routed() || int(in.Priority) != priorityA || len(in.VIPs) != 300 || in.VIPs[0] != labnet.HostPrefix(vips[0]) {
			t.Errorf("IPv6 %v: instance %+v", ipv6, in)
		}
		if ipv6 && (len(in.Checks) != 1 || in.Checks[0].Target != check || !in.Checks[0].Fault) {
			t.Errorf("health check %+v, want an exec check of %q with fault: true", in.Checks, check)
		}
		if !ipv6 && len(in.Checks) != 0 {
			t.Errorf("checks %+v without a check asked for", in.Checks)
		}
	}
}

func TestBirdConfigOfLab(t *testing.T) {
	l := &labnet.Lab{
		Router: &labnet.Host{Name: "router", Addr4: netip.MustParsePrefix("192.0.2.1/24"), Addr6: netip.MustParsePrefix("2001:db8:1::1/64")},
		Nodes: []*labnet.Host{
			{Name: "a", Addr4: netip.MustParsePrefix("192.0.2.11/24"), Addr6: netip.MustParsePrefix("2001:db8:1::11/64")},
			{Name: "b", Addr4: netip.MustParsePrefix("192.0.2.12/24"), Addr6: netip.MustParsePrefix("2001:db8:1::12/64")},
		},
	}
	for _, ipv6 := range []bool{false, true} {
		text, err := birdConfig(l, ipv6).Render()
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"router id 192.0.2.1;", "protocol bgp node_a {", "protocol bgp node_b {",
			"local 192.0.2.1 as 65000;", "neighbor 192.0.2.12 as 65001;", "ipv4 { import filter vips4; export none; };"}
		if ipv6 {
			want = []string{"router id 192.0.2.1;", "local 2001:db8:1::1 as 65000;", "neighbor 2001:db8:1::11 as 65001;",
				"ipv6 { import filter vips6; export none; };"}
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("IPv6 %v: config lacks %q:\n%s", ipv6, w, text)
			}
		}
	}
}

func TestIsBGPMessage(t *testing.T) {
	seg := func(src, dst uint16, payload []byte) []byte {
		b := make([]byte, 20, 20+len(payload))
		b[0], b[1], b[2], b[3] = byte(src>>8), byte(src), byte(dst>>8), byte(dst)
		b[12] = 5 << 4
		return append(b, payload...)
	}
	keepalive := append(bytes.Repeat([]byte{0xff}, 16), 0, 19, 4)
	tests := []struct {
		name string
		seg  []byte
		want bool
	}{
		{"keepalive to 179", seg(40000, 179, keepalive), true},
		{"keepalive from 179", seg(179, 40000, keepalive), true},
		{"bare ACK", seg(40000, 179, nil), false},
		{"other port", seg(40000, 80, keepalive), false},
		{"no marker", seg(40000, 179, make([]byte, 19)), false},
		{"short", []byte{0, 1, 2}, false},
		{"bad offset", append(seg(40000, 179, nil)[:12], 0xf0, 0, 0, 0, 0, 0, 0, 0), false},
	}
	for _, tt := range tests {
		if got := isBGPMessage(tt.seg); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// routedReport is a routed lab's report: every VIP back after 2.8 s.
func routedReport(fault Fault) *Report {
	rep := newReport(Options{Mode: ModeBGP, Fault: fault, VIPs: 3}.withDefaults())
	rep.Started = time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)
	r := RunResult{Run: 1, Prefix: "vl-x-0", TakeoverMS: 2790, WatchedMS: 5000, ProbeIntervalMS: 10}
	if fault == PowerOff {
		r.HoldExpiredMS = fp(2610)
	}
	vips, _ := bgpVIPs(3, false)
	for _, a := range vips {
		r.VIPs = append(r.VIPs, VIPOutcome{VIP: a.String(), Recovered: true, OutageMS: 2800, DarkMS: fp(1),
			BackMS: fp(2800), AfterTakeoverMS: fp(10), Verification: "best here"})
	}
	r.finish()
	rep.Impls = []ImplReport{{Name: "vipd", Runs: []RunResult{r}}}
	rep.Impls[0].summarize()
	return rep
}

func TestWriteTextRouted(t *testing.T) {
	var b bytes.Buffer
	if err := routedReport(PowerOff).WriteText(&b, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "routed.txt", b.Bytes())
	out := b.String()
	for _, w := range []string{"routed mode (BGP)", "BGP hold time 3s", "node A powered off at t=0", "routes via B after        2.79s", "hold timer expired after  2.61s",
		"B's route", "best here"} {
		if !strings.Contains(out, w) {
			t.Errorf("text lacks %q:\n%s", w, out)
		}
	}
	for _, no := range []string{"advert", "B master", "fixed by"} {
		if strings.Contains(out, no) {
			t.Errorf("text of a routed lab says %q:\n%s", no, out)
		}
	}
	b.Reset()
	if err := routedReport(SIGTERM).WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	for _, w := range []string{"VIPs routed by BGP: vipd", "hold time 3s · SIGTERM to A&#39;s vipd", "routes via B after",
		"time after SIGTERM to A&#39;s vipd"} {
		if !strings.Contains(svg, w) {
			t.Errorf("SVG lacks %q", w)
		}
	}
	if strings.Contains(svg, "B master") {
		t.Error("SVG of a routed lab says B master")
	}
	if strings.Contains(svg, "hold timer expired") {
		t.Error("SVG of a SIGTERM shows a hold timer expiry")
	}
	b.Reset()
	if err := routedReport(PowerOff).WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "hold timer expired") {
		t.Error("SVG of a power off lacks the hold timer's expiry")
	}
}

package lab

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/labnet"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		ok   bool
	}{
		{"defaults", Options{}, true},
		{"4096 VIPs, 1s adverts", Options{VIPs: 4096, Advert: time.Second}, true},
		{"compare", Options{Impls: []Impl{Vipd, Keepalived}}, true},
		{"sticky fraction 1", Options{Router: labnet.Sticky, StickyFraction: 1}, true},
		{"too many VIPs", Options{VIPs: 4097}, false},
		{"negative VIPs", Options{VIPs: -1}, false},
		{"advert not centiseconds", Options{Advert: 15 * time.Millisecond}, false},
		{"advert too long", Options{Advert: 41 * time.Second}, false},
		{"sticky fraction above 1", Options{StickyFraction: 1.5}, false},
		{"sticky fraction negative", Options{StickyFraction: -0.5}, false},
		{"runs negative", Options{Runs: -1}, false},
		{"watch too short", Options{Watch: 500 * time.Millisecond}, false},
		{"loss above 100", Options{LossPercent: 101}, false},
		{"policer negative", Options{PolicerRate: -3}, false},
		{"unknown implementation", Options{Impls: []Impl{"ucarp"}}, false},
		{"implementation twice", Options{Impls: []Impl{Vipd, Vipd}}, false},
		{"reply-only with IPv6", Options{Router: labnet.ReplyOnly, IPv6: true}, false},
		{"unknown router", Options{Router: labnet.Behaviour(9)}, false},
	}
	for _, tt := range tests {
		err := tt.o.withDefaults().validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrOptions) {
			t.Errorf("%s: %v does not wrap ErrOptions", tt.name, err)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.VIPs != 20 || o.Advert != 100*time.Millisecond || o.StickyFraction != 0.5 || o.Runs != 1 ||
		o.Watch != 10*time.Second || o.ProbeInterval != 10*time.Millisecond || o.AnnounceRate != 0 ||
		len(o.Impls) != 1 || o.Impls[0] != Vipd {
		t.Errorf("defaults = %+v", o)
	}
	if o := (Options{VIPs: 4096}).withDefaults(); o.AnnounceRate != 0 {
		t.Errorf("announce rate for 4096 VIPs = %v, want 0 (the daemon's adaptive default)", o.AnnounceRate)
	}
	if o := (Options{VIPs: 4096, AnnounceRate: 1000}).withDefaults(); o.AnnounceRate != 1000 {
		t.Errorf("an explicit announce rate was overridden: %v", o.AnnounceRate)
	}
}

func TestLAN4(t *testing.T) {
	if got := lan4(155); got != labnet.DefaultLAN4 {
		t.Errorf("lan4(155) = %v", got)
	}
	if got := lan4(156); got != labnet.BenchLAN4 || got.Bits() >= 24 {
		t.Errorf("lan4(156) = %v, want a prefix wider than /24", got)
	}
}

func TestAffected(t *testing.T) {
	count := func(bs []bool) (n int) {
		for _, b := range bs {
			if b {
				n++
			}
		}
		return n
	}
	tests := []struct {
		b     labnet.Behaviour
		n     int
		f     float64
		want  int
		which []int // some indices that must be affected
	}{
		{labnet.Sticky, 20, 0.5, 10, []int{1, 3, 19}},
		{labnet.Sticky, 20, 1, 20, []int{0, 19}},
		{labnet.Sticky, 8, 0.25, 2, []int{3, 7}},
		{labnet.Sticky, 10, 0.1, 1, []int{9}},
		{labnet.Sticky, 3, 0.3, 0, nil},
		{labnet.Sticky, 4096, 0.5, 2048, []int{4095}},
		{labnet.ReplyOnly, 20, 0.5, 20, []int{0}},
		{labnet.Plain, 20, 0.5, 0, nil},
		{labnet.Policer, 20, 0.5, 0, nil},
		{labnet.Lossy, 20, 0.5, 0, nil},
	}
	for _, tt := range tests {
		got := affected(tt.b, tt.n, tt.f)
		if len(got) != tt.n || count(got) != tt.want {
			t.Errorf("affected(%v, %d, %v): %d of %d, want %d", tt.b, tt.n, tt.f, count(got), len(got), tt.want)
		}
		for _, i := range tt.which {
			if !got[i] {
				t.Errorf("affected(%v, %d, %v)[%d] = false", tt.b, tt.n, tt.f, i)
			}
		}
	}
	// Spread evenly: with 0.5, never two neighbours.
	got := affected(labnet.Sticky, 20, 0.5)
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("affected with 0.5 is not alternating at %d: %v", i, got)
		}
	}
}

func TestRouterDescription(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{Router: labnet.Sticky}, "gratuitous ARP ignored for 10 of 20 VIPs"},
		{Options{Router: labnet.Sticky, IPv6: true, VIPs: 4}, "unsolicited NA ignored for 2 of 4 VIPs"},
		{Options{Router: labnet.Policer, PolicerRate: 7}, "7 packets/s"},
		{Options{Router: labnet.Lossy}, "50% of ARP/ND dropped"},
		{Options{Router: labnet.ReplyOnly}, "replies honoured"},
		{Options{}, "plain"},
		{Options{Router: labnet.Pinned, VirtualMAC: true}, "made static once learnt; VIPs on the virtual MAC"},
		{Options{Router: labnet.Pinned}, "VIPs on the nodes' own MACs"},
	}
	for _, tt := range tests {
		if got := tt.o.RouterDescription(); !strings.Contains(got, tt.want) {
			t.Errorf("%v: %q does not say %q", tt.o.Router, got, tt.want)
		}
	}
}

// TestVipdConfigLoads renders node configurations and loads them with the
// daemon's own loader.
func TestVipdConfigLoads(t *testing.T) {
	v4, v6 := labVIPs(t, "198.18.0.100", 4096), labVIPs(t, "2001:db8:1::100", 3)
	tests := []struct {
		name string
		c    nodeConfig
	}{
		{"IPv4 /16", nodeConfig{Node: "a", Iface: "eth0", Priority: priorityA, Advert: time.Second, VIPs: v4, Bits: 16,
			Socket: "/tmp/vipd-lab-x/vipd-a.sock", Rate: 4096, VIPsLabel: "router plain"}},
		{"IPv6 /64", nodeConfig{Node: "b", Iface: "eth0", Priority: priorityB, Advert: 100 * time.Millisecond, VIPs: v6, Bits: 64,
			Socket: "/tmp/s.sock", Rate: 500, VIPsLabel: "router sticky"}},
		{"virtual MAC", nodeConfig{Node: "a", Iface: "eth0", Priority: priorityA, Advert: time.Second, VIPs: v4[:3], Bits: 16,
			Socket: "/tmp/s.sock", VIPsLabel: "router pinned", VirtualMAC: true}},
	}
	for _, tt := range tests {
		cfg, err := config.Parse([]byte(vipdConfig(tt.c)))
		if err != nil {
			t.Fatalf("%s: %v\n%s", tt.name, err, vipdConfig(tt.c))
		}
		if cfg.Node != tt.c.Node || cfg.ControlSocket != tt.c.Socket || cfg.AnnounceRate != tt.c.Rate || len(cfg.Instances) != 1 {
			t.Fatalf("%s: loaded %+v", tt.name, cfg)
		}
		in := cfg.Instances[0]
		if in.VirtualMAC != tt.c.VirtualMAC {
			t.Errorf("%s: virtual_mac %v", tt.name, in.VirtualMAC)
		}
		if in.Interface != "eth0" || int(in.VRID) != vrid || int(in.Priority) != tt.c.Priority || in.AdvertInterval != tt.c.Advert {
			t.Errorf("%s: instance %+v", tt.name, in)
		}
		if len(in.VIPs) != len(tt.c.VIPs) || in.VIPs[0] != netip.PrefixFrom(tt.c.VIPs[0], tt.c.Bits) {
			t.Errorf("%s: %d VIPs, first %v", tt.name, len(in.VIPs), in.VIPs[0])
		}
	}
}

func TestKeepalivedConfig(t *testing.T) {
	vips := labVIPs(t, "192.0.2.100", 3)
	text, err := keepalivedConfig(nodeConfig{Node: "b", Iface: "eth0", Priority: priorityB, Advert: 100 * time.Millisecond, VIPs: vips}).Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"router_id lab-b", "vrrp_version 3", "interface eth0", "virtual_router_id 42", "priority 100",
		"advert_int 0.1", "192.0.2.102/32 dev eth0"} {
		if !strings.Contains(text, want) {
			t.Errorf("keepalived config lacks %q:\n%s", want, text)
		}
	}
}

func labVIPs(t *testing.T, first string, n int) []netip.Addr {
	t.Helper()
	a := netip.MustParseAddr(first)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = a
		a = a.Next()
	}
	return out
}

func TestStatusEvery(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{
		{1, 50 * time.Millisecond},
		{20, 50 * time.Millisecond},
		{511, 50 * time.Millisecond},
		{1024, 100 * time.Millisecond},
		{4096, 400 * time.Millisecond},
		{65536, 400 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := statusEvery(tt.n); got != tt.want {
			t.Errorf("statusEvery(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

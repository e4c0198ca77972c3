package labnet

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestKeepalivedRender(t *testing.T) {
	base := KeepalivedConfig{VRID: 51, Priority: 150}.withDefaults("a", "eth0")
	v4 := netip.MustParseAddr("192.0.2.100")
	v6 := netip.MustParseAddr("2001:db8:1::100")
	tests := []struct {
		name    string
		mod     func(c *KeepalivedConfig)
		want    []string // in order
		notWant []string
		err     bool
	}{
		{
			name: "IPv4",
			mod:  func(c *KeepalivedConfig) { c.VIPs = []netip.Addr{v4} },
			want: []string{
				"global_defs {\n    router_id a\n    vrrp_version 3\n}\n",
				"vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    advert_int 1\n",
				"    virtual_ipaddress {\n        192.0.2.100/32 dev eth0\n    }\n}\n",
			},
			notWant: []string{"native_ipv6", "vrrp_sync_group", "nopreempt", "unicast_peer"},
		},
		{
			name: "dual stack, options",
			mod: func(c *KeepalivedConfig) {
				c.VIPs = []netip.Addr{v6, v4}
				c.Master, c.NoPreempt = true, true
				c.AdvertInt = 250 * time.Millisecond
				c.UnicastPeers = []netip.Addr{netip.MustParseAddr("192.0.2.12"), netip.MustParseAddr("fe80::2")}
				c.Global = []string{"vrrp_garp_master_refresh 10"}
				c.InstanceExtra = []string{"garp_master_delay 1"}
			},
			want: []string{
				"    vrrp_garp_master_refresh 10\n}\n",
				"vrrp_instance VI_1 {\n    state MASTER\n", "advert_int 0.25\n", "    nopreempt\n",
				"    unicast_peer {\n        192.0.2.12\n    }\n", "192.0.2.100/32 dev eth0", "    garp_master_delay 1\n}\n",
				"vrrp_instance VI_1_6 {\n", "    native_ipv6\n", "    unicast_peer {\n        fe80::2\n    }\n",
				"2001:db8:1::100/128 dev eth0", "    garp_master_delay 1\n}\n",
				"vrrp_sync_group VI_1_G {\n    group {\n        VI_1\n        VI_1_6\n    }\n}\n",
			},
		},
		{
			name: "VRRPv2 with a password",
			mod: func(c *KeepalivedConfig) {
				c.VIPs = []netip.Addr{v4}
				c.Version, c.AuthPass = 2, "s3cret"
			},
			want: []string{
				"global_defs {\n    router_id a\n}\n",
				"    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n",
			},
			notWant: []string{"vrrp_version"},
		},
		{name: "VRRPv2 half second", mod: func(c *KeepalivedConfig) {
			c.VIPs, c.Version, c.AdvertInt = []netip.Addr{v4}, 2, 500*time.Millisecond
		}, err: true},
		{name: "auth_pass on VRRPv3", mod: func(c *KeepalivedConfig) { c.VIPs, c.AuthPass = []netip.Addr{v4}, "x" }, err: true},
		{name: "no VIPs", mod: func(c *KeepalivedConfig) {}, err: true},
		{name: "VRID 0", mod: func(c *KeepalivedConfig) { c.VIPs = []netip.Addr{v4}; c.VRID = 0 }, err: true},
		{name: "priority 256", mod: func(c *KeepalivedConfig) { c.VIPs = []netip.Addr{v4}; c.Priority = 256 }, err: true},
		{name: "advert_int not centiseconds", mod: func(c *KeepalivedConfig) { c.VIPs = []netip.Addr{v4}; c.AdvertInt = 15 * time.Millisecond }, err: true},
		{name: "invalid VIP", mod: func(c *KeepalivedConfig) { c.VIPs = []netip.Addr{{}} }, err: true},
	}
	for _, tt := range tests {
		c := base
		tt.mod(&c)
		got, err := c.Render()
		if (err != nil) != tt.err {
			t.Errorf("%s: error %v, want error %v", tt.name, err, tt.err)
			continue
		}
		rest := got
		for _, w := range tt.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: config lacks (in order) %q:\n%s", tt.name, w, got)
				break
			}
			rest = rest[i+len(w):]
		}
		for _, w := range tt.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: config has %q:\n%s", tt.name, w, got)
			}
		}
	}
}

package config

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// The contract, as tools write it.
const bgpContract = `node: a
bgp:
  asn: 65001
  router_id: 198.18.0.11
  peers:
    - address: 198.18.0.1
      asn: 65000
      hold_time: 3s
    - address: 2001:db8::1
      asn: 65000
instances:
  - name: web
    mode: bgp
    interface: eth0
    priority: 150
    vips: [198.18.1.1/32, 2001:db8:1::1/128]
`

func TestParseBGP(t *testing.T) {
	cfg, err := parse(t, bgpContract)
	if err != nil {
		t.Fatal(err)
	}
	want := &BGP{ASN: 65001, RouterID: netip.MustParseAddr("198.18.0.11"), Line: 3, Peers: []BGPPeer{
		{Address: netip.MustParseAddr("198.18.0.1"), ASN: 65000, HoldTime: 3 * time.Second},
		{Address: netip.MustParseAddr("2001:db8::1"), ASN: 65000, HoldTime: DefaultBGPHoldTime},
	}}
	if !reflect.DeepEqual(cfg.BGP, want) {
		t.Errorf("BGP:\n got %+v\nwant %+v", cfg.BGP, want)
	}
	in := defaults("web", "eth0", 0, 12, "198.18.1.1/32", "2001:db8:1::1/128")
	in.Mode, in.Priority = ModeBGP, 150
	if !reflect.DeepEqual(cfg.Instances[0], in) {
		t.Errorf("instance:\n got %+v\nwant %+v", cfg.Instances[0], in)
	}
	if !cfg.Instances[0].Routed() {
		t.Error("Routed() = false")
	}
}

func TestParseBGPErrors(t *testing.T) {
	inst := "instances:\n  - name: web\n    mode: bgp\n    interface: eth0\n    vips: [198.18.1.1/32]\n"
	peers := "bgp:\n  asn: 65001\n  peers:\n    - {address: 198.18.0.1, asn: 65000}\n"
	for _, tt := range []struct {
		name, in string
		want     []wantErr
	}{
		{"no bgp block", inst, []wantErr{{3, "instances[0].mode: mode: bgp needs a top-level bgp: block"}}},
		{"bad mode", "bgp: {asn: 1, peers: [{address: 198.18.0.1, asn: 2}]}\ninstances:\n  - {name: web, mode: ospf, interface: eth0, vrid: 1, vips: [198.18.1.1/32]}\n",
			[]wantErr{{3, "instances[0].mode: must be vrrp or bgp, got ospf"}}},
		{"vrid in bgp mode", peers + inst + "    vrid: 7\n", []wantErr{{10, "instances[0].vrid: is a VRRP setting, and a mode: bgp instance runs no VRRP"}}},
		{"not a host route", peers + "instances:\n  - name: web\n    mode: bgp\n    interface: eth0\n    vips: [198.18.1.1/24]\n",
			[]wantErr{{9, "instances[0].vips[0]: in mode: bgp a VIP is a host route announced to the router: write 198.18.1.1/32"}}},
		{"no IPv6 peer", peers + "instances:\n  - name: web\n    mode: bgp\n    interface: eth0\n    vips: [198.18.1.1/32, 2001:db8:1::1/128]\n",
			[]wantErr{{9, "instances[0].vips[1]: IPv6 VIP 2001:db8:1::1, but bgp.peers has no IPv6 peer"}}},
		{"hold time too short", "bgp:\n  asn: 65001\n  peers:\n    - {address: 198.18.0.1, asn: 65000, hold_time: 1s}\n" + inst,
			[]wantErr{{4, "bgp.peers[0].hold_time: must be 3s..65535s, got 1s (RFC 4271: at least 3s"}}},
		{"hold time fraction", "bgp:\n  asn: 65001\n  peers:\n    - {address: 198.18.0.1, asn: 65000, hold_time: 3500ms}\n" + inst,
			[]wantErr{{4, "bgp.peers[0].hold_time: must be whole seconds"}}},
		{"asn zero", "bgp:\n  asn: 0\n  peers:\n    - {address: 198.18.0.1, asn: 65000}\n" + inst,
			[]wantErr{{2, "bgp.asn: must be 1..4294967295, got 0"}}},
		{"router id v6", "bgp:\n  asn: 1\n  router_id: 2001:db8::1\n  peers:\n    - {address: 198.18.0.1, asn: 65000}\n" + inst,
			[]wantErr{{3, "bgp.router_id: must be an IPv4 address"}}},
		{"no peers", "bgp:\n  asn: 1\n  peers: []\n" + inst, []wantErr{{3, "bgp.peers: must list at least one peer"}}},
		{"duplicate peer", "bgp:\n  asn: 1\n  peers:\n    - {address: 198.18.0.1, asn: 2}\n    - {address: 198.18.0.1, asn: 3}\n" + inst,
			[]wantErr{{5, "bgp.peers[1]: duplicate peer 198.18.0.1 (first at line 4)"}}},
		{"peer with length", "bgp:\n  asn: 1\n  peers:\n    - {address: 198.18.0.1/24, asn: 2}\n" + inst,
			[]wantErr{{4, "bgp.peers[0].address: a peer is an address, without a prefix length"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse(t, tt.in)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg)
			}
			checkErrors(t, err, tt.want)
		})
	}
}

package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vipd/vipd/internal/control"
)

func TestCollectorBGP(t *testing.T) {
	st := control.Status{
		BGP: &control.BGPStatus{ASN: 65001, RouterID: "192.0.2.11", Peers: []control.BGPPeerStatus{
			{Address: "192.0.2.1", ASN: 65000, State: "established", Uptime: control.Duration(90 * time.Second), PrefixesSent: 2},
			{Address: "2001:db8:1::1", ASN: 65000, State: "active"},
		}},
		Instances: []control.InstanceStatus{{Name: "web", Interface: "eth0", Family: "ipv4+ipv6", Mode: "bgp", State: "ANNOUNCING",
			VIPs: []control.VIPStatus{{Address: "198.18.1.1/32", Held: true, Route: "best here"}}}},
	}
	c := newStatusCollector("a", func() control.Status { return st })
	want := `
# HELP vipd_bgp_session_established Whether the BGP session with the peer is established (1) or not (0).
# TYPE vipd_bgp_session_established gauge
vipd_bgp_session_established{peer="192.0.2.1",peer_asn="65000"} 1
vipd_bgp_session_established{peer="2001:db8:1::1",peer_asn="65000"} 0
# HELP vipd_bgp_session_uptime_seconds How long the BGP session with the peer has been established; 0 while it is not.
# TYPE vipd_bgp_session_uptime_seconds gauge
vipd_bgp_session_uptime_seconds{peer="192.0.2.1",peer_asn="65000"} 90
vipd_bgp_session_uptime_seconds{peer="2001:db8:1::1",peer_asn="65000"} 0
# HELP vipd_bgp_prefixes_sent Prefixes advertised to the BGP peer now.
# TYPE vipd_bgp_prefixes_sent gauge
vipd_bgp_prefixes_sent{peer="192.0.2.1",peer_asn="65000"} 2
vipd_bgp_prefixes_sent{peer="2001:db8:1::1",peer_asn="65000"} 0
# HELP vipd_instance_state VRRP state of the instance: 1 for the current state, 0 for the others.
# TYPE vipd_instance_state gauge
vipd_instance_state{family="ipv4+ipv6",iface="eth0",instance="web",state="ANNOUNCING",vrid="0"} 1
vipd_instance_state{family="ipv4+ipv6",iface="eth0",instance="web",state="FAULT",vrid="0"} 0
vipd_instance_state{family="ipv4+ipv6",iface="eth0",instance="web",state="INIT",vrid="0"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "vipd_bgp_session_established",
		"vipd_bgp_session_uptime_seconds", "vipd_bgp_prefixes_sent", "vipd_instance_state"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c, "vipd_vip_route_state"); n != len(RouteStates) {
		t.Errorf("vipd_vip_route_state: %d series, want %d", n, len(RouteStates))
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

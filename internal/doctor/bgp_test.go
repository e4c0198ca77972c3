package doctor

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/control"
)

func TestRoutedCheck(t *testing.T) {
	if r := routedCheck(&control.Status{}); r != nil || r.Problems() != 0 {
		t.Fatalf("no speaker: %+v", r)
	}
	st := &control.Status{
		BGP: &control.BGPStatus{Peers: []control.BGPPeerStatus{
			{Address: "192.0.2.1", ASN: 65000, State: "established"},
			{Address: "2001:db8:1::1", ASN: 65000, State: "active"},
		}},
		Instances: []control.InstanceStatus{
			{Name: "web", Mode: "bgp", State: "ANNOUNCING", VIPs: []control.VIPStatus{
				{Address: "198.18.1.1/32", Route: "best here"},
				{Address: "2001:db8:ff::1/128", Route: "not announced"},
			}},
			{Name: "off", Mode: "bgp", State: "FAULT", VIPs: []control.VIPStatus{{Address: "198.18.1.9/32", Route: "not announced"}}},
			{Name: "l2", State: "MASTER", VIPs: []control.VIPStatus{{Address: "192.0.2.100/24"}}},
		},
	}
	r := routedCheck(st)
	// The IPv6 session down, and the IPv6 VIP of an announcing instance
	// that no router has; a withdrawn instance's VIP is expected.
	if got := r.Problems(); got != 2 {
		t.Errorf("Problems() = %d, want 2: %+v", got, r)
	}
	if len(r.Routes) != 3 {
		t.Errorf("routes %+v, want the 3 routed VIPs only", r.Routes)
	}
	var buf bytes.Buffer
	if err := r.render(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2001:db8:1::1", "DOWN", "2001:db8:ff::1/128", "PROBLEM", "best here"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("render lacks %q:\n%s", want, buf.String())
		}
	}
	insts, err := FromStatus(*st)
	if err != nil || len(insts) != 1 || insts[0].Name != "l2" {
		t.Errorf("FromStatus: %+v %v, want the VRRP instance only", insts, err)
	}
}

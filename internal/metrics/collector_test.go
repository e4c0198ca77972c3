package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vipd/vipd/internal/control"
)

// sampleStatus is two instances: an IPv4 master with two VIPs and an IPv6
// backup with one, not held.
func sampleStatus() control.Status {
	return control.Status{
		Node:    "a",
		Version: "v0.1.0",
		Instances: []control.InstanceStatus{
			{
				Name: "web", Interface: "eth0", VRID: 42, Family: "ipv4", State: "MASTER",
				Priority: 150, EffectivePriority: 140,
				AdvertInterval: control.Duration(100 * time.Millisecond), MasterAdvertInterval: control.Duration(100 * time.Millisecond),
				Master: &control.PeerStatus{Address: "192.0.2.11", Priority: 140, Self: true},
				VIPs: []control.VIPStatus{
					{Address: "192.0.2.100/24", Held: true},
					{Address: "192.0.2.101/24", Held: true, ConflictMAC: "02:00:00:00:00:99"},
				},
				Counters: control.Counters{
					AdvertsSent: 1000, AdvertsReceived: 12, Transitions: 2, AddressMismatch: 1,
					Drops:          map[string]uint64{"ttl": 3, "link_unknown_vrid": 5},
					LastTransition: time.Unix(1700000000, 500_000_000),
				},
			},
			{
				Name: "web6", Interface: "eth0", VRID: 43, Family: "ipv6", State: "BACKUP",
				Priority: 100, EffectivePriority: 100,
				AdvertInterval: control.Duration(time.Second), MasterAdvertInterval: control.Duration(2 * time.Second),
				VIPs: []control.VIPStatus{{Address: "2001:db8::64/64"}},
			},
		},
	}
}

const sampleExposition = `
# HELP vipd_info Information about the vipd process; always 1.
# TYPE vipd_info gauge
vipd_info{node="a",version="v0.1.0"} 1
# HELP vipd_instance_state VRRP state of the instance: 1 for the current state, 0 for the others.
# TYPE vipd_instance_state gauge
vipd_instance_state{family="ipv4",iface="eth0",instance="web",state="BACKUP",vrid="42"} 0
vipd_instance_state{family="ipv4",iface="eth0",instance="web",state="FAULT",vrid="42"} 0
vipd_instance_state{family="ipv4",iface="eth0",instance="web",state="INIT",vrid="42"} 0
vipd_instance_state{family="ipv4",iface="eth0",instance="web",state="MASTER",vrid="42"} 1
vipd_instance_state{family="ipv6",iface="eth0",instance="web6",state="BACKUP",vrid="43"} 1
vipd_instance_state{family="ipv6",iface="eth0",instance="web6",state="FAULT",vrid="43"} 0
vipd_instance_state{family="ipv6",iface="eth0",instance="web6",state="INIT",vrid="43"} 0
vipd_instance_state{family="ipv6",iface="eth0",instance="web6",state="MASTER",vrid="43"} 0
# HELP vipd_instance_priority Configured VRRP priority of the instance.
# TYPE vipd_instance_priority gauge
vipd_instance_priority{family="ipv4",iface="eth0",instance="web",vrid="42"} 150
vipd_instance_priority{family="ipv6",iface="eth0",instance="web6",vrid="43"} 100
# HELP vipd_instance_effective_priority VRRP priority the instance advertises now, after health-check adjustments.
# TYPE vipd_instance_effective_priority gauge
vipd_instance_effective_priority{family="ipv4",iface="eth0",instance="web",vrid="42"} 140
vipd_instance_effective_priority{family="ipv6",iface="eth0",instance="web6",vrid="43"} 100
# HELP vipd_instance_master_priority Priority advertised by the current master, this node included; absent when no master is known.
# TYPE vipd_instance_master_priority gauge
vipd_instance_master_priority{family="ipv4",iface="eth0",instance="web",vrid="42"} 140
# HELP vipd_instance_advert_interval_seconds Configured advertisement interval of the instance.
# TYPE vipd_instance_advert_interval_seconds gauge
vipd_instance_advert_interval_seconds{family="ipv4",iface="eth0",instance="web",vrid="42"} 0.1
vipd_instance_advert_interval_seconds{family="ipv6",iface="eth0",instance="web6",vrid="43"} 1
# HELP vipd_instance_master_advert_interval_seconds Advertisement interval learnt from the current master (RFC 5798 Master_Adver_Interval).
# TYPE vipd_instance_master_advert_interval_seconds gauge
vipd_instance_master_advert_interval_seconds{family="ipv4",iface="eth0",instance="web",vrid="42"} 0.1
vipd_instance_master_advert_interval_seconds{family="ipv6",iface="eth0",instance="web6",vrid="43"} 2
# HELP vipd_instance_last_transition_timestamp_seconds Unix time of the instance's last state change; absent before the first one.
# TYPE vipd_instance_last_transition_timestamp_seconds gauge
vipd_instance_last_transition_timestamp_seconds{family="ipv4",iface="eth0",instance="web",vrid="42"} 1.7000000005e+09
# HELP vipd_transitions_total State changes of the instance.
# TYPE vipd_transitions_total counter
vipd_transitions_total{family="ipv4",iface="eth0",instance="web",vrid="42"} 2
vipd_transitions_total{family="ipv6",iface="eth0",instance="web6",vrid="43"} 0
# HELP vipd_adverts_sent_total VRRP advertisements sent by the instance.
# TYPE vipd_adverts_sent_total counter
vipd_adverts_sent_total{family="ipv4",iface="eth0",instance="web",vrid="42"} 1000
vipd_adverts_sent_total{family="ipv6",iface="eth0",instance="web6",vrid="43"} 0
# HELP vipd_adverts_received_total VRRP advertisements received by the instance.
# TYPE vipd_adverts_received_total counter
vipd_adverts_received_total{family="ipv4",iface="eth0",instance="web",vrid="42"} 12
vipd_adverts_received_total{family="ipv6",iface="eth0",instance="web6",vrid="43"} 0
# HELP vipd_drops_total VRRP advertisements discarded, by drop reason; reasons starting with link_ are counted per interface and shown on each of its instances.
# TYPE vipd_drops_total counter
vipd_drops_total{family="ipv4",iface="eth0",instance="web",reason="link_unknown_vrid",vrid="42"} 5
vipd_drops_total{family="ipv4",iface="eth0",instance="web",reason="ttl",vrid="42"} 3
# HELP vipd_address_mismatch_total Advertisements whose address list differs from the configured one (RFC 5798 section 7.1: logged, not dropped).
# TYPE vipd_address_mismatch_total counter
vipd_address_mismatch_total{family="ipv4",iface="eth0",instance="web",vrid="42"} 1
vipd_address_mismatch_total{family="ipv6",iface="eth0",instance="web6",vrid="43"} 0
# HELP vipd_vips_configured Virtual addresses configured on the instance.
# TYPE vipd_vips_configured gauge
vipd_vips_configured{family="ipv4",iface="eth0",instance="web",vrid="42"} 2
vipd_vips_configured{family="ipv6",iface="eth0",instance="web6",vrid="43"} 1
# HELP vipd_vips_held Virtual addresses of the instance present on its interface.
# TYPE vipd_vips_held gauge
vipd_vips_held{family="ipv4",iface="eth0",instance="web",vrid="42"} 2
vipd_vips_held{family="ipv6",iface="eth0",instance="web6",vrid="43"} 0
# HELP vipd_vip_held Whether the virtual address is present on the interface (1) or not (0).
# TYPE vipd_vip_held gauge
vipd_vip_held{family="ipv4",iface="eth0",instance="web",vip="192.0.2.100",vrid="42"} 1
vipd_vip_held{family="ipv4",iface="eth0",instance="web",vip="192.0.2.101",vrid="42"} 1
vipd_vip_held{family="ipv6",iface="eth0",instance="web6",vip="2001:db8::64",vrid="43"} 0
# HELP vipd_vip_conflict Whether another host answers for the virtual address while this node holds it (1) or not (0).
# TYPE vipd_vip_conflict gauge
vipd_vip_conflict{family="ipv4",iface="eth0",instance="web",vip="192.0.2.100",vrid="42"} 0
vipd_vip_conflict{family="ipv4",iface="eth0",instance="web",vip="192.0.2.101",vrid="42"} 1
vipd_vip_conflict{family="ipv6",iface="eth0",instance="web6",vip="2001:db8::64",vrid="43"} 0
`

func TestCollectorExposition(t *testing.T) {
	c := newStatusCollector("a", sampleStatus)
	if err := testutil.CollectAndCompare(c, strings.NewReader(sampleExposition)); err != nil {
		t.Error(err)
	}
}

func TestCollectorEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		st    control.Status
		names []string
		want  string
	}{
		{
			name:  "no instances: only vipd_info",
			st:    control.Status{Version: "dev"},
			names: nil,
			want: `
# HELP vipd_info Information about the vipd process; always 1.
# TYPE vipd_info gauge
vipd_info{node="n1",version="dev"} 1
`,
		},
		{
			name: "unknown state string: every state 0",
			st: control.Status{Instances: []control.InstanceStatus{
				{Name: "x", Interface: "lo", VRID: 1, Family: "ipv4", State: "BOGUS"},
			}},
			names: []string{"vipd_instance_state"},
			want: `
# HELP vipd_instance_state VRRP state of the instance: 1 for the current state, 0 for the others.
# TYPE vipd_instance_state gauge
vipd_instance_state{family="ipv4",iface="lo",instance="x",state="BACKUP",vrid="1"} 0
vipd_instance_state{family="ipv4",iface="lo",instance="x",state="FAULT",vrid="1"} 0
vipd_instance_state{family="ipv4",iface="lo",instance="x",state="INIT",vrid="1"} 0
vipd_instance_state{family="ipv4",iface="lo",instance="x",state="MASTER",vrid="1"} 0
`,
		},
		{
			name: "repeated instance name and VIP: first kept, scrape still works",
			st: control.Status{Instances: []control.InstanceStatus{
				{Name: "x", Interface: "lo", VRID: 1, Family: "ipv4", State: "MASTER", Priority: 200,
					VIPs: []control.VIPStatus{{Address: "192.0.2.1/32", Held: true}, {Address: "192.0.2.1/24"}}},
				{Name: "x", Interface: "lo", VRID: 2, Family: "ipv4", State: "BACKUP", Priority: 100},
			}},
			names: []string{"vipd_instance_priority", "vipd_vips_configured", "vipd_vips_held", "vipd_vip_held"},
			want: `
# HELP vipd_instance_priority Configured VRRP priority of the instance.
# TYPE vipd_instance_priority gauge
vipd_instance_priority{family="ipv4",iface="lo",instance="x",vrid="1"} 200
# HELP vipd_vips_configured Virtual addresses configured on the instance.
# TYPE vipd_vips_configured gauge
vipd_vips_configured{family="ipv4",iface="lo",instance="x",vrid="1"} 1
# HELP vipd_vips_held Virtual addresses of the instance present on its interface.
# TYPE vipd_vips_held gauge
vipd_vips_held{family="ipv4",iface="lo",instance="x",vrid="1"} 1
# HELP vipd_vip_held Whether the virtual address is present on the interface (1) or not (0).
# TYPE vipd_vip_held gauge
vipd_vip_held{family="ipv4",iface="lo",instance="x",vip="192.0.2.1",vrid="1"} 1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.st
			c := newStatusCollector("n1", func() control.Status { return st })
			if err := testutil.CollectAndCompare(c, strings.NewReader(tt.want), tt.names...); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCollectorVerificationHook checks the exposition of
// vipd_vip_verification_state through the hook that control.VIPStatus will
// feed, and that the hook exposes nothing today.
func TestCollectorVerificationHook(t *testing.T) {
	if s, ok := vipVerification(control.VIPStatus{Address: "192.0.2.100/24", Held: true}); ok {
		t.Errorf("vipVerification = %q, true; want false until control.VIPStatus carries a verification state", s)
	}
	if n := testutil.CollectAndCount(newStatusCollector("a", sampleStatus), "vipd_vip_verification_state"); n != 0 {
		t.Errorf("vipd_vip_verification_state: %d series, want 0 without verification data", n)
	}

	c := newStatusCollector("a", sampleStatus)
	c.verification = func(v control.VIPStatus) (string, bool) {
		switch v.Address {
		case "192.0.2.100/24":
			return "verified", true
		case "192.0.2.101/24":
			return "stale", true
		}
		return "", false
	}
	const want = `
# HELP vipd_vip_verification_state Verification state of the virtual address: 1 for the current state, 0 for the others.
# TYPE vipd_vip_verification_state gauge
vipd_vip_verification_state{family="ipv4",iface="eth0",instance="web",state="stale",vip="192.0.2.100",vrid="42"} 0
vipd_vip_verification_state{family="ipv4",iface="eth0",instance="web",state="unknown",vip="192.0.2.100",vrid="42"} 0
vipd_vip_verification_state{family="ipv4",iface="eth0",instance="web",state="unverifiable",vip="192.0.2.100",vrid="42"} 0
vipd_vip_verification_state{family="ipv4",iface="eth0",instance="web",state="verified",vip="192.0.2.100",vrid="42"} 1
vipd_vip_verification_state{family="ipv4",iface="eth0",instance="web",state="stale",vip="192.0.2.101",vrid="42"} 1
vipd_vip_verification_state{family="ipv4",iface="eth0",instance="web",state="unknown",vip="192.0.2.101",vrid="42"} 0
vipd_vip_verification_state{family="ipv4",iface="eth0",instance="web",state="unverifiable",vip="192.0.2.101",vrid="42"} 0
vipd_vip_verification_state{family="ipv4",iface="eth0",instance="web",state="verified",vip="192.0.2.101",vrid="42"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "vipd_vip_verification_state"); err != nil {
		t.Error(err)
	}
}

func TestCollectorLint(t *testing.T) {
	c := newStatusCollector("a", sampleStatus)
	c.verification = func(control.VIPStatus) (string, bool) { return "unknown", true }
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestVIPLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.100/24", "192.0.2.100"},
		{"192.0.2.100", "192.0.2.100"},
		{"2001:db8::64/64", "2001:db8::64"},
		{"2001:DB8:0::64", "2001:db8::64"},
		{"not-an-address", "not-an-address"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := VIPLabel(tt.in); got != tt.want {
			t.Errorf("VIPLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

package verify

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/announce/announcetest"
)

func TestStepPackets(t *testing.T) {
	ours := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x12}
	theirs := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	v4, t4 := netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.1")
	v6, t6 := netip.MustParseAddr("2001:db8:1::100"), netip.MustParseAddr("fe80::1")
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for _, tc := range []struct {
		name      string
		step      Step
		vip, tgt  netip.Addr
		targetMAC net.HardwareAddr
		dsts      []net.HardwareAddr // Ethernet destination of each frame; nil: nothing sent
	}{
		{"v4 gratuitous", StepGratuitous, v4, t4, theirs, []net.HardwareAddr{bcast, bcast}},
		{"v4 directed", StepDirected, v4, t4, theirs, []net.HardwareAddr{theirs}},
		{"v4 directed, MAC unknown", StepDirected, v4, t4, nil, []net.HardwareAddr{bcast}},
		{"v4 unicast", StepUnicast, v4, t4, theirs, []net.HardwareAddr{theirs}},
		{"v4 unicast, MAC unknown", StepUnicast, v4, t4, nil, nil},
		{"v6 gratuitous", StepGratuitous, v6, t6, theirs, []net.HardwareAddr{{0x33, 0x33, 0, 0, 0, 1}}},
		{"v6 directed", StepDirected, v6, t6, theirs, []net.HardwareAddr{theirs}},
		{"v6 directed, MAC unknown", StepDirected, v6, t6, nil, []net.HardwareAddr{{0x33, 0x33, 0xff, 0, 0, 1}}},
		{"v6 unicast", StepUnicast, v6, t6, theirs, []net.HardwareAddr{theirs}},
		{"v6 unicast, MAC unknown", StepUnicast, v6, t6, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkts, err := stepPackets(tc.step, ours, tc.vip, tc.tgt, tc.targetMAC)
			if err != nil {
				t.Fatal(err)
			}
			if len(pkts) != len(tc.dsts) {
				t.Fatalf("%d frames, want %d", len(pkts), len(tc.dsts))
			}
			if len(pkts) == 0 {
				return
			}
			var kinds []announce.Kind
			for i, p := range pkts {
				got, err := announcetest.Parse(p.Frame)
				if err != nil {
					t.Fatal(err)
				}
				kinds = append(kinds, got.Kind)
				if !bytes.Equal(got.DstMAC, tc.dsts[i]) {
					t.Errorf("frame %d to %v, want %v", i, got.DstMAC, tc.dsts[i])
				}
				if got.VIP != tc.vip {
					t.Errorf("frame %d speaks for %v, want %v", i, got.VIP, tc.vip)
				}
				if !bytes.Equal(p.Frame[6:12], ours) {
					t.Errorf("frame %d from %v", i, net.HardwareAddr(p.Frame[6:12]))
				}
				if tc.step != StepGratuitous && got.Target != tc.tgt {
					t.Errorf("frame %d targets %v, want %v", i, got.Target, tc.tgt)
				}
			}
			if tc.step == StepUnicast && tc.vip.Is6() && pkts[0].Frame[14+40+4]&0x40 == 0 {
				t.Error("the unicast NA has Solicited clear: the upstream's entry would stay STALE")
			}
			if want := tc.step.Kinds(tc.vip.Is6()); !slices.Equal(kinds, want) {
				t.Errorf("kinds %v, Step.Kinds says %v", kinds, want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		s      Step
		v4, v6 string
	}{
		{StepNone, "", ""},
		{StepGratuitous, "gratuitous_arp", "unsolicited_na"},
		{StepDirected, "directed_request", "neighbor_solicit"},
		{StepUnicast, "unicast_reply", "unicast_na"},
		{Step(9), "Step(9)", "Step(9)"},
	} {
		if got := tc.s.Name(false); got != tc.v4 {
			t.Errorf("%v.Name(v4) = %q, want %q", tc.s, got, tc.v4)
		}
		if got := tc.s.Name(true); got != tc.v6 {
			t.Errorf("%v.Name(v6) = %q, want %q", tc.s, got, tc.v6)
		}
	}
	for s, want := range map[State]string{Unknown: "unknown", Verified: "verified", Stale: "stale", Unverifiable: "unverifiable", 7: "State(7)"} {
		if s.String() != want {
			t.Errorf("State %d = %q, want %q", s, s.String(), want)
		}
	}
}

package watch

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mdlayher/arp"
)

// garpFrom is a gratuitous ARP request for vip4 from hw.
func garpFrom(t *testing.T, hw []byte) []byte {
	zero := make([]byte, 6)
	return arpFrame(t, ethBcast, hw, arp.OperationRequest, hw, vip4, zero, vip4)
}

// A master that resigned answers our probes and sends its last
// gratuitous ARP for a moment: within the grace that is no conflict; a
// MAC that keeps claiming after it is.
func TestHandoverGrace(t *testing.T) {
	tests := []struct {
		name   string
		from   []byte
		claims []time.Duration
		want   bool
	}{
		{"resigning master within the grace", otherMAC, []time.Duration{ms(5), ms(1005), ms(2005)}, false},
		{"resigning master that keeps the VIP", otherMAC, []time.Duration{ms(5), ms(3005), ms(3600)}, true},
		{"a third MAC during the grace", ownerMAC, []time.Duration{ms(5), ms(1005)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			var fx effects
			h.d.expectHandover(h.now, mustMAC(t, otherMAC), &fx)
			h.hold(vip4)
			h.probe(vip4)
			for _, at := range tt.claims {
				h.at(at).tick()
				h.frame(garpFrom(t, tt.from))
			}
			got := slices.Contains(h.kinds(), ReportConflict)
			if got != tt.want {
				t.Fatalf("conflict reported: %v, want %v (reports %v)", got, tt.want, h.kinds())
			}
		})
	}
}

// Claims a resigning master made before the handover was known are
// forgotten: with its grace, two claims 600 ms apart are not a conflict.
func TestHandoverForgetsEarlierClaims(t *testing.T) {
	h := newHarness(t, Config{})
	h.hold(vip4)
	h.frame(garpFrom(t, otherMAC))
	h.at(ms(100))
	var fx effects
	h.d.expectHandover(h.now, mustMAC(t, otherMAC), &fx)
	if r := h.at(ms(600)).frame(garpFrom(t, otherMAC)); r != DropHandover {
		t.Fatalf("claim in the grace: %v, want %v", r, DropHandover)
	}
	h.at(time.Minute).tick()
	if slices.Contains(h.kinds(), ReportConflict) {
		t.Fatalf("conflict reported: %v", h.kinds())
	}
	if len(h.d.handover) != 0 {
		t.Fatalf("handover entries after the grace: %v", h.d.handover)
	}
}

// A preempted master (rolling restart: the preferred node is back and
// takes its VIPs) releases them while its takeover probes still run: the
// new master's gratuitous rounds must not become a conflict.
func TestReleaseEndsProbes(t *testing.T) {
	h := newHarness(t, Config{})
	h.hold(vip4)
	h.probe(vip4)
	h.at(ms(700))
	h.frame(garpFrom(t, ownerMAC)) // the preferring node's first round, just before we hear it
	h.hold()
	h.watch(map[netip.Addr]Owner{vip4: {Node: "b", MAC: ownerMAC}})
	if h.d.guarded(vip4) {
		t.Fatal("a VIP released to another owner is still guarded")
	}
	h.at(ms(1800))
	if r := h.frame(garpFrom(t, ownerMAC)); r != DropNoClaim {
		t.Fatalf("the new owner's second round: %v, want %v", r, DropNoClaim)
	}
	h.at(time.Minute).tick()
	if slices.Contains(h.kinds(), ReportConflict) {
		t.Fatalf("conflict reported: %v", h.kinds())
	}
	if st := h.d.snapshotStats(); st.Probes != 1 {
		t.Errorf("%d probes sent, want 1 (the run ended with the release)", st.Probes)
	}
}

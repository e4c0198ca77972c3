package watch

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/vipd/vipd/internal/announce"
)

// probeReply is what a Linux host holding vip4 answers an ARP probe: a
// reply to the prober's MAC, sender vip4 at mac, target IP 0.0.0.0.
func probeReply(t *testing.T, from net.HardwareAddr) []byte {
	return arpFrame(t, ourMAC, from, arp.OperationReply, from, vip4, ourMAC, netip.IPv4Unspecified())
}

// dadReply is what a Linux host holding vip6 answers a DAD probe: an NA
// to all nodes with the Override flag and its MAC.
func dadReply(t *testing.T, from net.HardwareAddr) []byte {
	return naFrame(t, allNodesMAC, from, vip6, allNodes, vip6, false, from)
}

func TestProbeSchedule(t *testing.T) {
	h := newHarness(t, Config{})
	h.probe(vip6, vip4, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("ff02::1"))
	next := h.tick()
	if len(h.sends) != 2 || !next.Equal(timeZero.Add(time.Second)) {
		t.Fatalf("at 0: %d probes, next %v", len(h.sends), next.Sub(timeZero))
	}
	for _, at := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		next = h.at(at).tick()
	}
	want := []time.Duration{0, 0, time.Second, time.Second, 2 * time.Second, 2 * time.Second}
	if !slices.Equal(h.sentAt, want) {
		t.Fatalf("probes at %v, want %v", h.sentAt, want)
	}
	for i, s := range h.sends {
		if s.repair {
			t.Errorf("probe %d marked as a repair", i)
		}
		wantVIP := vip4 // IPv4 first: a stable order
		if i%2 == 1 {
			wantVIP = vip6
		}
		if s.pkt.VIP != wantVIP {
			t.Errorf("probe %d for %v, want %v", i, s.pkt.VIP, wantVIP)
		}
	}
	checkFrame := func(b []byte, want []byte) {
		t.Helper()
		if !bytes.Equal(b, want) {
			t.Errorf("probe\n%x\nwant\n%x", b, want)
		}
	}
	checkFrame(h.sends[0].pkt.Frame, mustFrame(probe(mustMAC(t, ourMAC), vip4)))
	checkFrame(h.sends[1].pkt.Frame, mustFrame(probe(mustMAC(t, ourMAC), vip6)))
	// Replies count until ProbeWait after the last probe.
	if !next.Equal(timeZero.Add(4 * time.Second)) {
		t.Fatalf("next %v, want the end of the wait at 4s", next.Sub(timeZero))
	}
	if !h.d.guarded(vip4) {
		t.Fatal("vip4 not guarded while waiting for replies")
	}
	h.at(4 * time.Second).tick()
	if h.d.guarded(vip4) || h.d.guarded(vip6) {
		t.Fatal("still guarded after the wait")
	}
	if st := h.d.snapshotStats(); st.Probes != 6 {
		t.Errorf("stats: %d probes, want 6", st.Probes)
	}
}

func TestConflictProbe(t *testing.T) {
	tests := []struct {
		name   string
		vip    netip.Addr
		reply  func(*testing.T, net.HardwareAddr) []byte
		offset []time.Duration // reply times
		want   bool
	}{
		{"IPv4 holder answers every probe", vip4, probeReply, []time.Duration{ms(5), ms(1005), ms(2005)}, true},
		{"IPv6 holder answers every probe", vip6, dadReply, []time.Duration{ms(5), ms(1005), ms(2005)}, true},
		{"ex-master answers the first probe, then lets go", vip4, probeReply, []time.Duration{ms(5)}, false},
		{"two answers too close together", vip4, probeReply, []time.Duration{ms(5), ms(100)}, false},
		{"answer after the wait", vip4, probeReply, []time.Duration{ms(5), ms(4500)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.probe(tt.vip)
			for _, at := range tt.offset {
				for _, step := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
					if at >= step && h.now.Sub(timeZero) < step {
						h.at(step).tick()
					}
				}
				h.at(at)
				if r := h.frame(tt.reply(t, otherMAC)); r != 0 && tt.want {
					t.Fatalf("reply at %v: %v", at, r)
				}
			}
			h.at(time.Hour).tick()
			got := slices.Contains(h.kinds(), ReportConflict)
			if got != tt.want {
				t.Fatalf("conflict reported: %v, want %v (reports %v)", got, tt.want, h.kinds())
			}
			if !tt.want {
				return
			}
			var c Conflict
			for _, r := range h.reports {
				if r.Kind == ReportConflict {
					c = r.Conflict
				}
			}
			if c.VIP != tt.vip || !bytes.Equal(c.MAC, otherMAC) || c.Count != 2 ||
				!c.First.Equal(timeZero.Add(ms(5))) || !c.Last.Equal(timeZero.Add(ms(1005))) {
				t.Errorf("conflict %+v", c)
			}
			// Probing is over and the VIP is not held: the conflict ends.
			if k := h.kinds(); k[len(k)-1] != ReportConflictEnded {
				t.Errorf("reports %v, want the conflict ended", k)
			}
		})
	}
}

func TestConflictPassive(t *testing.T) {
	zeroMAC := make(net.HardwareAddr, 6)
	tests := []struct {
		name  string
		frame func(t *testing.T) []byte
		want  DropReason // 0: a claim
	}{
		{"gratuitous ARP request", func(t *testing.T) []byte {
			return arpFrame(t, ethBcast, otherMAC, arp.OperationRequest, otherMAC, vip4, zeroMAC, vip4)
		}, 0},
		{"ARP request from the VIP", func(t *testing.T) []byte {
			return arpFrame(t, ethBcast, otherMAC, arp.OperationRequest, otherMAC, vip4, zeroMAC, routerIP)
		}, 0},
		{"ARP reply from the VIP to the router", func(t *testing.T) []byte {
			return arpFrame(t, routerMAC, otherMAC, arp.OperationReply, otherMAC, vip4, routerMAC, routerIP)
		}, 0},
		{"NA with another MAC", func(t *testing.T) []byte { return dadReply(t, otherMAC) }, 0},
		{"NA without option from another MAC", func(t *testing.T) []byte {
			return naFrame(t, allNodesMAC, otherMAC, vip6, allNodes, vip6, false, nil)
		}, 0},
		{"NS from the VIP", func(t *testing.T) []byte {
			return nsFrame(t, allNodesMAC, otherMAC, vip6, announce.SolicitedNode(routerIP6), routerIP6, otherMAC)
		}, 0},
		{"our own frame", func(t *testing.T) []byte {
			return arpFrame(t, ethBcast, ourMAC, arp.OperationRequest, ourMAC, vip4, zeroMAC, vip4)
		}, DropOwnFrame},
		{"another watcher's repair naming us", func(t *testing.T) []byte {
			return arpFrame(t, routerMAC, otherMAC, arp.OperationReply, ourMAC, vip4, routerMAC, routerIP)
		}, DropNoClaim},
		{"another watcher's NA repair naming us", func(t *testing.T) []byte {
			return naFrame(t, routerMAC, otherMAC, vip6, routerIP6, vip6, true, ourMAC)
		}, DropNoClaim},
		{"another host probing", func(t *testing.T) []byte {
			return arpFrame(t, ethBcast, otherMAC, arp.OperationRequest, otherMAC, netip.IPv4Unspecified(), zeroMAC, vip4)
		}, DropOtherProbe},
		{"another host's DAD", func(t *testing.T) []byte {
			return nsFrame(t, allNodesMAC, otherMAC, netip.IPv6Unspecified(), announce.SolicitedNode(vip6), vip6, nil)
		}, DropOtherProbe},
		{"ARP for an address we do not hold", func(t *testing.T) []byte {
			return arpFrame(t, ethBcast, otherMAC, arp.OperationRequest, otherMAC, vip4b, zeroMAC, vip4b)
		}, DropNoClaim},
		{"ordinary ARP", func(t *testing.T) []byte {
			return arpFrame(t, ethBcast, routerMAC, arp.OperationRequest, routerMAC, routerIP, zeroMAC, ourIP)
		}, DropNoClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.hold(vip4, vip6)
			b := tt.frame(t)
			if r := h.frame(b); r != tt.want {
				t.Fatalf("first: %v, want %v", r, tt.want)
			}
			if len(h.reports) != 0 {
				t.Fatalf("one claim reported: %v", h.kinds())
			}
			h.at(ms(600)).frame(b)
			conflict := slices.Contains(h.kinds(), ReportConflict)
			if conflict != (tt.want == 0) {
				t.Fatalf("second claim after 600ms: reports %v", h.kinds())
			}
			if tt.want == 0 && len(h.d.conflictRows()) != 1 {
				t.Errorf("conflicts %+v", h.d.conflictRows())
			}
		})
	}
}

func TestConflictLifecycle(t *testing.T) {
	garp := func(t *testing.T) []byte {
		return arpFrame(t, ethBcast, otherMAC, arp.OperationRequest, otherMAC, vip4, make(net.HardwareAddr, 6), vip4)
	}
	t.Run("stray claims far apart are no conflict", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.hold(vip4)
		h.at(0).frame(garp(t))
		h.at(11 * time.Second).frame(garp(t)) // past ConflictWindow: starts over
		h.at(20 * time.Second).tick()
		if len(h.reports) != 0 || len(h.d.conflictRows()) != 0 {
			t.Fatalf("reports %v, conflicts %v", h.kinds(), h.d.conflictRows())
		}
		if len(h.d.conflicts) != 1 || h.d.conflicts[conflictKey{vip4, mustMAC(t, otherMAC)}].count != 1 {
			t.Fatalf("candidate %+v", h.d.conflicts)
		}
		h.at(21 * time.Second).tick()
		if len(h.d.conflicts) != 0 {
			t.Fatalf("candidate kept past the window: %+v", h.d.conflicts)
		}
	})
	t.Run("confirmed once, rechecked, ends when the other MAC is silent", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.hold(vip4)
		for _, at := range []time.Duration{0, ms(500), ms(900), 5 * time.Second} {
			h.at(at).frame(garp(t))
		}
		if want := []ReportKind{ReportConflict}; !slices.Equal(h.kinds(), want) {
			t.Fatalf("reports %v, want %v", h.kinds(), want)
		}
		rows := h.d.conflictRows()
		if len(rows) != 1 || rows[0].Count != 4 || !rows[0].Last.Equal(timeZero.Add(5*time.Second)) {
			t.Fatalf("conflicts %+v", rows)
		}
		next := h.tick()
		if want := timeZero.Add(5*time.Second + 3*time.Second); !next.Equal(want) {
			t.Fatalf("next %v, want the recheck at %v", next.Sub(timeZero), want.Sub(timeZero))
		}
		// The recheck: three probes 1 s apart, then 2 s of listening.
		for at := 8 * time.Second; at <= 12*time.Second; at += time.Second {
			h.at(at).tick()
			h.tick()
		}
		if st := h.d.snapshotStats(); st.Probes != 3 {
			t.Fatalf("%d recheck probes, want 3", st.Probes)
		}
		if want := []ReportKind{ReportConflict, ReportConflictEnded}; !slices.Equal(h.kinds(), want) {
			t.Fatalf("reports %v, want %v (the other MAC stayed silent)", h.kinds(), want)
		}
	})
	t.Run("confirmed, rechecked, stays while the other MAC answers", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.hold(vip4)
		h.at(0).frame(garp(t))
		h.at(ms(600)).frame(garp(t))
		for at := time.Second; at <= 60*time.Second; at += 500 * time.Millisecond {
			h.at(at).tick()
			if p := h.d.probing[vip4]; p != nil && p.sent > 0 {
				h.frame(probeReply(t, otherMAC)) // a hung ex-master answers every probe
			}
			h.tick()
		}
		if want := []ReportKind{ReportConflict}; !slices.Equal(h.kinds(), want) {
			t.Fatalf("reports %v, want %v", h.kinds(), want)
		}
		if len(h.d.conflictRows()) != 1 {
			t.Fatalf("conflicts %+v", h.d.conflictRows())
		}
	})
	t.Run("ends when the VIP is released", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.hold(vip4, vip4b)
		h.at(0).frame(garp(t))
		h.at(time.Second).frame(garp(t))
		h.hold(vip4b)
		if want := []ReportKind{ReportConflict, ReportConflictEnded}; !slices.Equal(h.kinds(), want) {
			t.Fatalf("reports %v, want %v", h.kinds(), want)
		}
		if len(h.d.conflictRows()) != 0 {
			t.Fatalf("conflicts %+v", h.d.conflictRows())
		}
	})
	t.Run("ends when the VIP is handed to another owner while still probed", func(t *testing.T) {
		// A takeover found a second owner; within the probe run the VIP
		// goes to another node. The WatchSet sets held first (the VIP is
		// still probed: guarded), then watched (probing stops): the
		// conflict must end there, not 10 minutes later.
		h := newHarness(t, Config{})
		h.hold(vip4)
		h.probe(vip4)
		h.at(ms(5)).frame(probeReply(t, otherMAC))
		h.at(time.Second).tick()
		h.at(ms(1005)).frame(probeReply(t, otherMAC))
		if want := []ReportKind{ReportConflict}; !slices.Equal(h.kinds(), want) {
			t.Fatalf("reports %v, want %v", h.kinds(), want)
		}
		h.at(ms(1500)).hold()
		h.watch(map[netip.Addr]Owner{vip4: {Node: "192.0.2.12", MAC: otherMAC}})
		if want := []ReportKind{ReportConflict, ReportConflictEnded}; !slices.Equal(h.kinds(), want) {
			t.Fatalf("reports %v, want %v", h.kinds(), want)
		}
		if len(h.d.conflictRows()) != 0 {
			t.Fatalf("conflicts %+v", h.d.conflictRows())
		}
	})
}

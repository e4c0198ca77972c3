package watch

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

// harness drives a detector along a made-up timeline.
type harness struct {
	t       *testing.T
	d       *detector
	now     time.Time
	reports []Report
	sends   []send
	sentAt  []time.Duration
}

func newHarness(t *testing.T, cfg Config) *harness {
	return &harness{t: t, d: newDetector(cfg, mustMAC(t, ourMAC), "eth0"), now: timeZero}
}

func (h *harness) at(d time.Duration) *harness {
	h.t.Helper()
	if n := timeZero.Add(d); n.Before(h.now) {
		h.t.Fatalf("time goes back: %v", d)
	}
	h.now = timeZero.Add(d)
	return h
}

func (h *harness) collect(fx effects) {
	h.reports = append(h.reports, fx.reports...)
	for _, s := range fx.sends {
		h.sends = append(h.sends, s)
		h.sentAt = append(h.sentAt, h.now.Sub(timeZero))
	}
}

func (h *harness) frame(b []byte) DropReason {
	var fx effects
	r := h.d.handle(h.now, b, &fx)
	h.collect(fx)
	return r
}

func (h *harness) tick() time.Time {
	var fx effects
	next := h.d.tick(h.now, &fx)
	h.collect(fx)
	return next
}

func (h *harness) watch(vips map[netip.Addr]Owner) {
	var fx effects
	h.d.setWatched(h.now, vips, &fx)
	h.collect(fx)
}

func (h *harness) hold(vips ...netip.Addr) {
	var fx effects
	h.d.setHeld(h.now, vips, &fx)
	h.collect(fx)
}

func (h *harness) probe(vips ...netip.Addr) {
	var fx effects
	h.d.probe(h.now, vips, &fx)
	h.collect(fx)
}

func (h *harness) kinds() []ReportKind {
	var ks []ReportKind
	for _, r := range h.reports {
		ks = append(ks, r.Kind)
	}
	return ks
}

var ownerB = Owner{Node: "b", MAC: ownerMAC}

// stale is a misdirected packet: from the router, for vip4, to our MAC.
func stale(t *testing.T) []byte { return ipFrame(t, ourMAC, routerMAC, clientIP, vip4) }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestMisdirectedThreshold(t *testing.T) {
	tests := []struct {
		name     string
		packets  []time.Duration
		reportAt int // index of the packet that is reported; -1 none
	}{
		{"three over one second", []time.Duration{0, ms(500), ms(1000)}, 2},
		{"three fast, then one after a second", []time.Duration{0, ms(100), ms(200), ms(999), ms(1000)}, 4},
		{"two over five seconds", []time.Duration{0, 5 * time.Second}, -1},
		{"trickle slower than the episode gap", []time.Duration{0, ms(10500), ms(21000), ms(31600)}, -1},
		{"gap inside, then enough", []time.Duration{0, ms(10500), ms(11000), ms(11500)}, 3},
		{"one packet", []time.Duration{0}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.watch(map[netip.Addr]Owner{vip4: ownerB})
			got := -1
			for i, at := range tt.packets {
				h.at(at)
				if r := h.frame(stale(t)); r != 0 {
					t.Fatalf("packet %d dropped: %v", i, r)
				}
				if len(h.reports) > 0 && got < 0 {
					got = i
				}
			}
			if got != tt.reportAt {
				t.Fatalf("reported at packet %d, want %d (reports %v)", got, tt.reportAt, h.kinds())
			}
			if got < 0 {
				return
			}
			if len(h.reports) != 1 || h.reports[0].Kind != ReportMisdirected {
				t.Fatalf("reports %v, want one misdirected", h.kinds())
			}
			m := h.reports[0].Misdirected
			if m.VIP != vip4 || !bytes.Equal(m.SrcMAC, routerMAC) || m.SrcIP != clientIP || !m.Reported ||
				m.Owner.Node != "b" || !bytes.Equal(m.Owner.MAC, ownerMAC) {
				t.Errorf("report %+v", m)
			}
			if m.Packets < 3 || m.Last.Sub(m.First) < time.Second {
				t.Errorf("report below threshold: %d packets over %v", m.Packets, m.Last.Sub(m.First))
			}
		})
	}
}

func TestMisdirectedRepairPacing(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []time.Duration
	}{
		{"defaults: 1 s doubling", Config{}, []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}},
		{"capped at 3 s", Config{MaxRepairInterval: 3 * time.Second},
			[]time.Duration{1, 2, 4, 7, 10, 13, 16, 19}},
		{"interval below locktime is raised", Config{RepairInterval: ms(100), MaxRepairInterval: ms(100)},
			[]time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want[0] == 1 { // written in seconds
				for i := range want {
					want[i] *= time.Second
				}
			}
			h := newHarness(t, tt.cfg)
			h.watch(map[netip.Addr]Owner{vip4: ownerB})
			for at := time.Duration(0); at <= 20*time.Second; at += ms(100) {
				h.at(at).frame(stale(t))
			}
			if !slices.Equal(h.sentAt, want) {
				t.Fatalf("repairs at %v, want %v", h.sentAt, want)
			}
			for i, s := range h.sends {
				checkRepairARP(t, s, ownerMAC, clientIP)
				if s.repairs != uint64(i+1) {
					t.Errorf("repair %d counted as %d", i+1, s.repairs)
				}
			}
			rows := h.d.misdirectedRows()
			if len(rows) != 1 || rows[0].Repairs != uint64(len(want)) || rows[0].Packets != 201 {
				t.Errorf("rows %+v", rows)
			}
			if len(h.reports) != 1 {
				t.Errorf("reports %v, want one", h.kinds())
			}
		})
	}
}

// checkRepairARP checks a repair: unicast reply from our MAC to the
// router's, sender = vip4 at owner, target tpa.
func checkRepairARP(t *testing.T, s send, owner net.HardwareAddr, tpa netip.Addr) {
	t.Helper()
	if !s.repair {
		t.Fatalf("not a repair: %+v", s)
	}
	var f ethernet.Frame
	if err := f.UnmarshalBinary(s.pkt.Frame); err != nil {
		t.Fatal(err)
	}
	var a arp.Packet
	if err := a.UnmarshalBinary(f.Payload); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Source, ourMAC) || !bytes.Equal(f.Destination, routerMAC) || a.Operation != arp.OperationReply ||
		!bytes.Equal(a.SenderHardwareAddr, owner) || a.SenderIP != vip4 || !bytes.Equal(a.TargetHardwareAddr, routerMAC) ||
		a.TargetIP != tpa {
		t.Errorf("repair %v → %v: %+v", f.Source, f.Destination, a)
	}
}

func TestMisdirectedEpisodes(t *testing.T) {
	h := newHarness(t, Config{})
	h.watch(map[netip.Addr]Owner{vip4: ownerB})
	for at := time.Duration(0); at <= 2*time.Second; at += ms(500) {
		h.at(at).frame(stale(t))
	}
	if want := []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(h.sentAt, want) {
		t.Fatalf("repairs at %v, want %v", h.sentAt, want)
	}
	// Quiet: the episode ends EpisodeGap after the last packet.
	next := h.at(5 * time.Second).tick()
	if want := timeZero.Add(12 * time.Second); !next.Equal(want) {
		t.Fatalf("next tick %v, want %v", next.Sub(timeZero), want.Sub(timeZero))
	}
	h.at(12 * time.Second).tick()
	if want := []ReportKind{ReportMisdirected, ReportMisdirectedEnded}; !slices.Equal(h.kinds(), want) {
		t.Fatalf("reports %v, want %v", h.kinds(), want)
	}
	end := h.reports[1].Misdirected
	if end.Repairs != 2 || end.Packets != 5 {
		t.Errorf("end report %+v", end)
	}
	// The row stays for status until Forget.
	if rows := h.d.misdirectedRows(); len(rows) != 1 {
		t.Fatalf("rows after the episode: %+v", rows)
	}
	// A new episode: reported again, and repaired at once (backoff reset).
	for at := 20 * time.Second; at <= 21*time.Second; at += ms(500) {
		h.at(at).frame(stale(t))
	}
	if want := []ReportKind{ReportMisdirected, ReportMisdirectedEnded, ReportMisdirected}; !slices.Equal(h.kinds(), want) {
		t.Fatalf("reports %v, want %v", h.kinds(), want)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 21 * time.Second}; !slices.Equal(h.sentAt, want) {
		t.Fatalf("repairs at %v, want %v", h.sentAt, want)
	}
	if rows := h.d.misdirectedRows(); len(rows) != 1 || rows[0].Packets != 3 || rows[0].Repairs != 1 {
		t.Fatalf("rows of the second episode: %+v", rows)
	}
	// Forgotten Forget after the last packet.
	h.at(21*time.Second + 10*time.Minute).tick()
	if rows := h.d.misdirectedRows(); len(rows) != 0 {
		t.Fatalf("rows after Forget: %+v", rows)
	}
	if next := h.tick(); !next.IsZero() {
		t.Errorf("next tick %v with nothing left", next)
	}
}

func TestMisdirectedOwner(t *testing.T) {
	ownerC := Owner{Node: "c", MAC: otherMAC}
	h := newHarness(t, Config{})
	h.watch(map[netip.Addr]Owner{vip4: {Node: "b"}}) // MAC not known yet
	for at := time.Duration(0); at <= time.Second; at += ms(500) {
		h.at(at).frame(stale(t))
	}
	if len(h.reports) != 1 || len(h.sends) != 0 {
		t.Fatalf("reports %v, sends %d: want a report and no repair", h.kinds(), len(h.sends))
	}
	// The owner's MAC becomes known: the next packet is repaired.
	h.at(ms(1200)).watch(map[netip.Addr]Owner{vip4: ownerB})
	h.at(ms(1500)).frame(stale(t))
	h.at(ms(2000)).frame(stale(t))
	if want := []time.Duration{ms(1500)}; !slices.Equal(h.sentAt, want) {
		t.Fatalf("repairs at %v, want %v", h.sentAt, want)
	}
	checkRepairARP(t, h.sends[0], ownerMAC, clientIP)
	// The owner changes within the backoff: repaired at once for the new one.
	h.at(ms(2100)).watch(map[netip.Addr]Owner{vip4: ownerC})
	h.at(ms(2200)).frame(stale(t))
	if want := []time.Duration{ms(1500), ms(2200)}; !slices.Equal(h.sentAt, want) {
		t.Fatalf("repairs at %v, want %v", h.sentAt, want)
	}
	checkRepairARP(t, h.sends[1], otherMAC, clientIP)
	// Traffic from the owner itself is reported but never "repaired".
	h2 := newHarness(t, Config{})
	h2.watch(map[netip.Addr]Owner{vip4: ownerB})
	for at := time.Duration(0); at <= time.Second; at += ms(500) {
		h2.at(at).frame(ipFrame(t, ourMAC, ownerMAC, clientIP, vip4))
	}
	if len(h2.reports) != 1 || len(h2.sends) != 0 {
		t.Errorf("from the owner: reports %v, sends %d", h2.kinds(), len(h2.sends))
	}
	// The VIP is no longer watched (we took it over): the episode ends.
	h.at(ms(2300)).watch(nil)
	if k := h.kinds(); k[len(k)-1] != ReportMisdirectedEnded || len(h.d.misdirectedRows()) != 0 {
		t.Errorf("after unwatching: reports %v, rows %v", k, h.d.misdirectedRows())
	}
}

func TestMisdirectedSources(t *testing.T) {
	h := newHarness(t, Config{})
	h.watch(map[netip.Addr]Owner{vip4: ownerB})
	h.at(0).frame(ipFrame(t, ourMAC, routerMAC, clientIP, vip4))
	h.at(ms(500)).frame(ipFrame(t, ourMAC, routerMAC, client2IP, vip4))
	h.at(ms(1000)).frame(ipFrame(t, ourMAC, routerMAC, client2IP, vip4))
	h.at(ms(1100)).frame(ipFrame(t, ourMAC, routerMAC, clientIP, vip4))
	if len(h.reports) != 1 || h.reports[0].Sources != 2 || h.reports[0].Misdirected.SrcIP != client2IP {
		t.Fatalf("reports %+v: want one, for the flow, naming the packet that crossed the threshold", h.reports)
	}
	if len(h.sends) != 1 {
		t.Fatalf("%d repairs, want one for both sources", len(h.sends))
	}
	rows := h.d.misdirectedRows()
	if len(rows) != 2 || rows[0].SrcIP != clientIP || rows[0].Packets != 2 || rows[1].SrcIP != client2IP ||
		rows[1].Packets != 2 || rows[0].Repairs != 1 || rows[1].Repairs != 1 {
		t.Errorf("rows %+v", rows)
	}
	if !rows[0].First.Equal(timeZero) || !rows[0].Last.Equal(timeZero.Add(ms(1100))) {
		t.Errorf("row times %v..%v", rows[0].First, rows[0].Last)
	}
}

func TestMisdirectedDrops(t *testing.T) {
	h := newHarness(t, Config{})
	h.watch(map[netip.Addr]Owner{vip4: ownerB, vip6: ownerB, vip4b: ownerB})
	h.hold(vip4b) // held and watched at once: held wins
	tests := []struct {
		name  string
		frame []byte
		want  DropReason
	}{
		{"watched", stale(t), 0},
		{"watched IPv6", ipFrame(t, ourMAC, routerMAC, client6IP, vip6), 0},
		{"our own address", ipFrame(t, ourMAC, routerMAC, clientIP, ourIP), DropNotWatched},
		{"held", ipFrame(t, ourMAC, routerMAC, clientIP, vip4b), DropNotWatched},
		{"to another MAC", ipFrame(t, otherMAC, routerMAC, clientIP, vip4), DropNotForUs},
		{"broadcast", ipFrame(t, ethBcast, routerMAC, clientIP, vip4), DropNotForUs},
		{"from us", ipFrame(t, ourMAC, ourMAC, clientIP, vip4), DropOwnFrame},
		{"router NUD probe", nsFrame(t, ourMAC, routerMAC, routerIP6, vip6, vip6, routerMAC), DropNoClaim},
		{"router ARP probe", arpFrame(t, ourMAC, routerMAC, arp.OperationRequest, routerMAC, routerIP, make(net.HardwareAddr, 6), vip4), DropNoClaim},
	}
	for _, tt := range tests {
		if got := h.frame(tt.frame); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	st := h.d.snapshotStats()
	if st.Frames != uint64(len(tests)) || st.Misdirected != 2 || st.Dropped[DropNotWatched] != 2 || st.Dropped[DropNotForUs] != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestMisdirectedTableFull(t *testing.T) {
	h := newHarness(t, Config{MaxFlows: 2, MaxSources: 1})
	vips := []netip.Addr{vip4, vip4b, netip.MustParseAddr("192.0.2.103")}
	owners := map[netip.Addr]Owner{}
	for _, v := range vips {
		owners[v] = ownerB
	}
	h.watch(owners)
	if r := h.at(0).frame(ipFrame(t, ourMAC, routerMAC, clientIP, vips[0])); r != 0 {
		t.Fatal(r)
	}
	if r := h.at(0).frame(ipFrame(t, ourMAC, routerMAC, clientIP, vips[1])); r != 0 {
		t.Fatal(r)
	}
	if r := h.at(ms(10)).frame(ipFrame(t, ourMAC, routerMAC, clientIP, vips[2])); r != DropTableFull {
		t.Fatalf("third flow: %v, want %v", r, DropTableFull)
	}
	// A second source of a full flow counts for the flow, without a row.
	if r := h.at(ms(20)).frame(ipFrame(t, ourMAC, routerMAC, client2IP, vips[0])); r != 0 {
		t.Fatalf("second source: %v", r)
	}
	if rows := h.d.misdirectedRows(); len(rows) != 2 || h.d.flows[flowKey{vips[0], mustMAC(t, routerMAC)}].packets != 2 {
		t.Fatalf("rows %+v", rows)
	}
	// Once the first flows went quiet, a new one makes room.
	if r := h.at(11 * time.Second).frame(ipFrame(t, ourMAC, routerMAC, clientIP, vips[2])); r != 0 {
		t.Fatalf("after the episodes ended: %v", r)
	}
}

func TestRepairTarget(t *testing.T) {
	tests := []struct {
		name     string
		vip      netip.Addr
		learn    []byte // a frame from the router before the traffic
		src      netip.Addr
		wantDst  netip.Addr
		wantSoli bool
	}{
		{"IPv4 learned from the router's ARP", vip4,
			arpFrame(t, ethBcast, routerMAC, arp.OperationRequest, routerMAC, routerIP, make(net.HardwareAddr, 6), vip4),
			clientIP, routerIP, false},
		{"IPv4 unknown: the packet's source", vip4, nil, clientIP, clientIP, false},
		{"IPv6 learned from the router's NUD probe", vip6,
			nsFrame(t, ourMAC, routerMAC, routerIP6, vip6, vip6, routerMAC),
			client6IP, routerIP6, true},
		{"IPv6 unknown: all nodes", vip6, nil, client6IP, allNodes, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.watch(map[netip.Addr]Owner{tt.vip: ownerB})
			if tt.learn != nil {
				h.frame(tt.learn)
			}
			for at := time.Duration(0); at <= time.Second; at += ms(500) {
				h.at(at).frame(ipFrame(t, ourMAC, routerMAC, tt.src, tt.vip))
			}
			if len(h.sends) != 1 {
				t.Fatalf("%d repairs", len(h.sends))
			}
			p := h.sends[0].pkt
			if p.Target != tt.wantDst || !bytes.Equal(p.DstMAC, routerMAC) {
				t.Errorf("repair to %v at %v, want %v at %v", p.Target, p.DstMAC, tt.wantDst, net.HardwareAddr(routerMAC))
			}
			if tt.vip.Is4() {
				checkRepairARP(t, h.sends[0], ownerMAC, tt.wantDst)
				return
			}
			m, err := ndp.ParseMessage(p.Frame[ethHeaderLen+ipv6HdrLen:])
			if err != nil {
				t.Fatal(err)
			}
			na := m.(*ndp.NeighborAdvertisement)
			if na.Solicited != tt.wantSoli || !na.Override || na.TargetAddress != tt.vip ||
				!bytes.Equal(na.Options[0].(*ndp.LinkLayerAddress).Addr, ownerMAC) {
				t.Errorf("na %+v", na)
			}
		})
	}
}

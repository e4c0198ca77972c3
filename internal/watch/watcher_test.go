package watch

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
)

func TestWatcherMisdirected(t *testing.T) {
	r := newRig(t, true)
	r.w.SetWatched(map[netip.Addr]Owner{vip4: ownerB})
	want, err := bpf.Assemble(filter(mustMAC(t, ourMAC), []netip.Addr{vip4}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.conn.lastFilter(); !slicesEqualRaw(got, want) {
		t.Fatalf("socket filter not updated for the watched VIP")
	}
	for range 3 {
		r.feed(t, stale(t))
		r.clock.Advance(ms(500))
	}
	rep := r.report(t)
	if rep.Kind != ReportMisdirected || rep.Iface != "eth0" || rep.Misdirected.VIP != vip4 ||
		!bytes.Equal(rep.Misdirected.SrcMAC, routerMAC) || rep.Misdirected.SrcIP != clientIP {
		t.Fatalf("report %+v", rep)
	}
	pkts := r.pacer.wait(t, 1)
	checkRepairARP(t, send{pkt: pkts[0], repair: true}, ownerMAC, clientIP)
	if r.pacer.keys[0] != "watch/eth0" {
		t.Errorf("pacer key %q", r.pacer.keys[0])
	}
	// Through the pacer onto the watcher's own socket, to the router.
	r.conn.mu.Lock()
	if len(r.conn.written) != 1 || r.conn.dsts[0].(*packet.Addr).HardwareAddr.String() != routerMAC.String() {
		t.Errorf("written %d frames to %v", len(r.conn.written), r.conn.dsts)
	}
	r.conn.mu.Unlock()
	rows := r.w.Misdirected()
	if len(rows) != 1 || rows[0].Packets != 3 || rows[0].Repairs != 1 {
		t.Errorf("rows %+v", rows)
	}
	log := r.logged()
	for _, s := range []string{
		"level=WARN",
		`msg="watch: an upstream still sends a VIP's traffic here; told it the owner's MAC" iface=eth0 vip=192.0.2.101 src_mac=0a:00:00:00:00:01`,
		"src_ip=198.51.100.10",
		"owner=b owner_mac=02:00:00:00:00:0b",
		"watch: repair sent",
	} {
		if !strings.Contains(log, s) {
			t.Errorf("log lacks %q:\n%s", s, log)
		}
	}
	// Quiet for EpisodeGap: the Run loop's timer ends the episode.
	r.armed(t, timeZero.Add(11*time.Second))
	r.clock.Advance(11 * time.Second)
	if rep := r.report(t); rep.Kind != ReportMisdirectedEnded || rep.Misdirected.Repairs != 1 {
		t.Fatalf("report %+v", rep)
	}
	st := r.w.Stats()
	if st.Frames != 3 || st.Misdirected != 3 || st.Repairs != 1 || st.SendErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestWatcherProbeConflict(t *testing.T) {
	r := newRig(t, true)
	r.w.SetHeld([]netip.Addr{vip4})
	r.w.Probe([]netip.Addr{vip4})
	r.pacer.wait(t, 1) // the first probe leaves at once
	r.feed(t, probeReply(t, otherMAC))
	r.armed(t, timeZero.Add(time.Second))
	r.clock.Advance(time.Second)
	r.pacer.wait(t, 2) // the second, from the Run loop's timer
	r.feed(t, probeReply(t, otherMAC))
	rep := r.report(t)
	if rep.Kind != ReportConflict || rep.Conflict.VIP != vip4 || !bytes.Equal(rep.Conflict.MAC, otherMAC) || rep.Conflict.Count != 2 {
		t.Fatalf("report %+v", rep)
	}
	if c := r.w.Conflicts(); len(c) != 1 || c[0].Count != 2 {
		t.Fatalf("conflicts %+v", c)
	}
	if !strings.Contains(r.logged(), "level=ERROR") || !strings.Contains(r.logged(), `msg="watch: duplicate owner: another host claims a VIP held here" iface=eth0 vip=192.0.2.101 mac=02:00:00:00:00:0c`) {
		t.Errorf("log:\n%s", r.logged())
	}
	r.armed(t, timeZero.Add(2*time.Second))
	r.clock.Advance(time.Second)
	pkts := r.pacer.wait(t, 3)
	for i, p := range pkts {
		if !bytes.Equal(p.Frame, mustFrame(probe(mustMAC(t, ourMAC), vip4))) {
			t.Errorf("probe %d: %x", i, p.Frame)
		}
	}
	// Releasing the VIP ends the conflict once probing is over.
	r.w.SetHeld(nil)
	r.armed(t, timeZero.Add(4*time.Second))
	r.clock.Advance(2 * time.Second)
	if rep := r.report(t); rep.Kind != ReportConflictEnded {
		t.Fatalf("report %+v", rep)
	}
}

func TestWatcherWithoutPacer(t *testing.T) {
	r := newRig(t, false)
	r.w.Probe([]netip.Addr{vip6})
	r.conn.mu.Lock()
	defer r.conn.mu.Unlock()
	if len(r.conn.written) != 1 || !bytes.Equal(r.conn.written[0], mustFrame(probe(mustMAC(t, ourMAC), vip6))) {
		t.Fatalf("written %x", r.conn.written)
	}
	if got := r.conn.dsts[0].(*packet.Addr).HardwareAddr.String(); got != "33:33:ff:00:01:01" {
		t.Errorf("written to %s", got)
	}
}

func TestWatcherStops(t *testing.T) {
	t.Run("cancel", func(t *testing.T) {
		r := newRig(t, true)
		r.cancel()
		r.stopped(t)
	})
	t.Run("close", func(t *testing.T) {
		r := newRig(t, true)
		if err := r.w.Close(); err != nil {
			t.Fatal(err)
		}
		r.stopped(t)
		if len(r.pacer.cancelled) != 1 || r.pacer.cancelled[0] != "watch/eth0" {
			t.Errorf("pacer cancelled %v", r.pacer.cancelled)
		}
	})
	t.Run("read error", func(t *testing.T) {
		r := newRig(t, true)
		r.conn.errs <- errors.New("boom")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.clock.WaitTimers(ctx, 1); err != nil {
			t.Fatal(err)
		}
		// The reader backs off on the clock, then reads on.
		deadline := time.Now().Add(5 * time.Second)
		for r.w.Stats().ReadErrors != 1 {
			if time.Now().After(deadline) {
				t.Fatal("read error not counted")
			}
			runtime.Gosched()
		}
		r.clock.Advance(errBackoff)
		r.feed(t, stale(t))
		if !strings.Contains(r.logged(), "watch: read failed") {
			t.Errorf("log:\n%s", r.logged())
		}
	})
}

func TestNewRejectsBadMAC(t *testing.T) {
	for _, hw := range []net.HardwareAddr{nil, {1, 2, 3}, {0, 0, 0, 0, 0, 0}, {0x01, 0, 0x5e, 0, 0, 1}} {
		_, err := New(&net.Interface{Name: "eth0", HardwareAddr: hw}, newFakeConn(), Deps{})
		if !errors.Is(err, ErrHardwareAddr) {
			t.Errorf("MAC %v: %v, want ErrHardwareAddr", hw, err)
		}
	}
}

func TestHandleFrameWithoutRun(t *testing.T) {
	w, err := New(&net.Interface{Name: "eth0", HardwareAddr: ourMAC}, newFakeConn(), Deps{Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetWatched(map[netip.Addr]Owner{netip.MustParseAddr("::ffff:192.0.2.101"): ownerB}) // mapped: unmapped
	if r := w.HandleFrame(stale(t)); r != 0 {
		t.Errorf("misdirected frame: %v", r)
	}
	if r := w.HandleFrame(ipFrame(t, ourMAC, routerMAC, clientIP, ourIP)); r != DropNotWatched {
		t.Errorf("own traffic: %v", r)
	}
	if r := w.HandleFrame([]byte{1, 2, 3}); r != DropShortFrame {
		t.Errorf("short: %v", r)
	}
	st := w.Stats()
	if st.Frames != 3 || st.Dropped[DropShortFrame] != 1 || len(st.Dropped) != len(DropReasons()) {
		t.Errorf("stats %+v", st)
	}
}

func TestWatcherRepairTargetFromNeighbors(t *testing.T) {
	var asked []string
	var mu sync.Mutex
	neighbors := func(hw net.HardwareAddr) []netip.Addr {
		mu.Lock()
		asked = append(asked, hw.String())
		mu.Unlock()
		if !bytes.Equal(hw, routerMAC) {
			return nil
		}
		return []netip.Addr{netip.MustParseAddr("fe80::1"), routerIP6, netip.MustParseAddr("::ffff:192.0.2.1")}
	}
	r := newRig(t, true, func(d *Deps) { d.Neighbors = neighbors })
	r.w.SetWatched(map[netip.Addr]Owner{vip4: ownerB, vip6: ownerB})
	for range 3 {
		r.feed(t, stale(t))
		r.feed(t, ipFrame(t, ourMAC, routerMAC, client6IP, vip6))
		r.clock.Advance(ms(500))
	}
	pkts := r.pacer.wait(t, 2)
	for _, p := range pkts {
		want := routerIP6
		if p.VIP.Is4() {
			want = routerIP
			checkRepairARP(t, send{pkt: p, repair: true}, ownerMAC, routerIP)
		}
		if p.Target != want {
			t.Errorf("repair for %v to %v, want %v", p.VIP, p.Target, want)
		}
	}
	// Learned: the next repairs do not ask again.
	r.armed(t, timeZero.Add(11*time.Second))
	r.clock.Advance(ms(1000))
	r.feed(t, stale(t))
	r.feed(t, ipFrame(t, ourMAC, routerMAC, client6IP, vip6))
	pkts = r.pacer.wait(t, 4)
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 {
		t.Errorf("neighbour table asked %d times (%v), want once per family", len(asked), asked)
	}
	if pkts[2].Target != routerIP && pkts[3].Target != routerIP {
		t.Errorf("later repairs to %v, %v", pkts[2].Target, pkts[3].Target)
	}
}

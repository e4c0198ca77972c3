package announce_test

import (
	"net/netip"
	"time"

	"testing"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/clock/clocktest"
)

// BenchmarkBuildAnnouncements4096 builds the frames of one round for 4096
// VIPs, half IPv4 (request and reply each) and half IPv6 (one NA each).
func BenchmarkBuildAnnouncements4096(b *testing.B) {
	vips := append(vips4(2048), vips6(2048)...)
	b.ReportAllocs()
	for b.Loop() {
		pkts, err := announce.Announcements(ourMAC, vips)
		if err != nil {
			b.Fatal(err)
		}
		if len(pkts) != 3*2048 {
			b.Fatalf("%d packets", len(pkts))
		}
	}
}

// BenchmarkPacerRound4096 schedules and sends one round for 4096 VIPs
// through the pacer into a discarding sender.
func BenchmarkPacerRound4096(b *testing.B) {
	vips := append(vips4(2048), vips6(2048)...)
	b.ReportAllocs()
	for b.Loop() {
		clk := clocktest.NewClock(t0)
		p := announce.NewPacer(1e9, 1<<20, clk, discard())
		p.Announce("a", nopSender{}, ourMAC, vips, announce.Schedule{Count: 1})
		if next := p.Poll(clk.Now()); !next.IsZero() {
			b.Fatalf("round not done in one Poll")
		}
		if n := p.Stats().Sent[announce.KindUnsolicitedNA]; n != 2048 {
			b.Fatalf("%d NAs sent", n)
		}
	}
}

type nopSender struct{}

func (nopSender) Send([]byte) error { return nil }

// BenchmarkPacerAdaptiveTakeover4096 is a takeover of 4096 IPv4 VIPs with
// a directed request to one target, through the adaptive pacer on a fake
// clock: the time the pacer needs to decide every frame (ns/op), and, as a
// metric, when on the fake clock the first round was out.
func BenchmarkPacerAdaptiveTakeover4096(b *testing.B) {
	vips := vips4(4096)
	targets := []announce.Target{{Addr: netip.MustParseAddr("192.0.2.1"), MAC: peerMAC}}
	b.ReportAllocs()
	var firstOut time.Duration
	for b.Loop() {
		clk := clocktest.NewClock(t0)
		p := announce.NewPacer(0, 0, clk, discard())
		done := false
		p.Announce("a", nopSender{}, ourMAC, vips, announce.Schedule{Count: 1, Targets: targets, FirstRound: func() { done = true }})
		for !done {
			next := p.Poll(clk.Now())
			if done {
				break
			}
			if next.IsZero() {
				b.Fatal("pacer idle before the first round was out")
			}
			clk.Advance(next.Sub(clk.Now()))
		}
		firstOut = clk.Now().Sub(t0)
	}
	b.ReportMetric(float64(firstOut.Milliseconds()), "ms-first-round")
}

// BenchmarkPacerCongestion measures the adaptive rate's decisions: a
// Congestion report and the next Poll.
func BenchmarkPacerCongestion(b *testing.B) {
	clk := clocktest.NewClock(t0)
	p := announce.NewPacer(0, 0, clk, discard())
	b.ReportAllocs()
	for b.Loop() {
		clk.Advance(announce.CutGap)
		p.Congestion()
		p.Poll(clk.Now())
	}
}

// BenchmarkPacerOutcome measures a repair's outcome, half of them written
// before the last cut (ignored), and the next Poll.
func BenchmarkPacerOutcome(b *testing.B) {
	clk := clocktest.NewClock(t0)
	p := announce.NewPacer(0, 0, clk, discard())
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		clk.Advance(announce.CutGap / 4)
		k++
		p.Outcome(clk.Now().Add(-time.Duration(k%2)*time.Hour), true)
		p.Poll(clk.Now())
	}
}

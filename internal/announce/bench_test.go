package announce_test

import (
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

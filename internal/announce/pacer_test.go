package announce_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/announce/announcetest"
	"github.com/vipd/vipd/internal/clock/clocktest"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// rig drives a Pacer through Poll on a fake clock: no goroutines, no
// sleeps, whole timelines in microseconds.
type rig struct {
	t   *testing.T
	clk *clocktest.Clock
	p   *announce.Pacer
}

func newRig(t *testing.T, rate float64, burst int) *rig {
	clk := clocktest.NewClock(t0)
	return &rig{t: t, clk: clk, p: announce.NewPacer(rate, burst, clk, discard())}
}

func (r *rig) recorder() *announcetest.Recorder {
	return &announcetest.Recorder{Now: r.clk.Now}
}

// runUntil polls at every deadline the pacer asks for up to and including
// until, then leaves the clock at until (or where the pacer went idle if
// that is later... it never is: the clock only moves forward to deadlines
// not after until).
func (r *rig) runUntil(until time.Time) {
	r.t.Helper()
	for i := 0; ; i++ {
		if i > 10_000_000 {
			r.t.Fatal("pacer does not settle")
		}
		next := r.p.Poll(r.clk.Now())
		if next.IsZero() || next.After(until) {
			if d := until.Sub(r.clk.Now()); d > 0 {
				r.clk.Advance(d)
			}
			return
		}
		if !next.After(r.clk.Now()) {
			r.t.Fatalf("Poll at %v asked to be called again at %v", r.clk.Now().Sub(t0), next.Sub(t0))
		}
		r.clk.Advance(next.Sub(r.clk.Now()))
	}
}

// runIdle polls until the pacer has nothing scheduled.
func (r *rig) runIdle() {
	r.t.Helper()
	for i := 0; ; i++ {
		if i > 10_000_000 {
			r.t.Fatal("pacer does not go idle")
		}
		next := r.p.Poll(r.clk.Now())
		if next.IsZero() {
			return
		}
		r.clk.Advance(next.Sub(r.clk.Now()))
	}
}

type sentPkt struct {
	at time.Duration // since t0
	announce.Packet
}

func decode(t *testing.T, rec *announcetest.Recorder) []sentPkt {
	t.Helper()
	var out []sentPkt
	for _, s := range rec.Sent() {
		p, err := announcetest.Parse(s.Frame)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sentPkt{at: s.At.Sub(t0), Packet: p})
	}
	return out
}

func vips4(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{198, 51, byte(100 + i/250), byte(1 + i%250)})
	}
	return out
}

func vips6(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
	}
	return out
}

func TestPacerDefaultSchedule(t *testing.T) {
	r := newRig(t, 1000, 50)
	rec := r.recorder()
	vips := []netip.Addr{vip4, vip6, netip.MustParseAddr("198.51.100.7")}
	r.p.Announce("vi1", rec, ourMAC, vips, announce.Schedule{})
	r.runIdle()
	type line struct {
		at   time.Duration
		kind announce.Kind
		vip  netip.Addr
	}
	// The first round takes turns (every VIP's first frame before any
	// VIP's second); the second, DefaultInterval later, is due in the
	// order the VIPs finished the first and sends each VIP's frames
	// together.
	const iv = announce.DefaultInterval
	want := []line{
		{0, announce.KindGratuitousRequest, vip4},
		{0, announce.KindUnsolicitedNA, vip6},
		{0, announce.KindGratuitousRequest, vips[2]},
		{0, announce.KindGratuitousReply, vip4},
		{0, announce.KindGratuitousReply, vips[2]},
		{iv, announce.KindUnsolicitedNA, vip6},
		{iv, announce.KindGratuitousRequest, vip4},
		{iv, announce.KindGratuitousReply, vip4},
		{iv, announce.KindGratuitousRequest, vips[2]},
		{iv, announce.KindGratuitousReply, vips[2]},
	}
	got := decode(t, rec)
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		g := line{got[i].at, got[i].Kind, got[i].VIP}
		if g != want[i] {
			t.Errorf("frame %d = %+v, want %+v", i, g, want[i])
		}
	}
	st := r.p.Stats()
	for k, n := range map[announce.Kind]uint64{
		announce.KindGratuitousRequest: 4, announce.KindGratuitousReply: 4, announce.KindUnsolicitedNA: 2,
		announce.KindUnicastNA: 0,
	} {
		if st.Sent[k] != n {
			t.Errorf("Stats.Sent[%s] = %d, want %d", k, st.Sent[k], n)
		}
	}
	if len(st.Sent) != len(announce.Kinds()) {
		t.Errorf("Stats.Sent has %d kinds, want all %d", len(st.Sent), len(announce.Kinds()))
	}
}

// checkRate fails if any stretch of frames beats the token bucket: k
// frames within d need d >= (k-burst)/rate.
func checkRate(t *testing.T, got []sentPkt, rate float64, burst int) {
	t.Helper()
	per := time.Duration(float64(time.Second) / rate)
	for j := range got {
		for i := 0; i <= j; i++ {
			k := j - i + 1
			if k <= burst {
				break
			}
			if need := time.Duration(k-burst) * per; got[j].at-got[i].at < need {
				t.Fatalf("frames %d..%d (%d) within %v, the bucket allows that many in no less than %v",
					i, j, k, got[j].at-got[i].at, need)
			}
		}
	}
}

// 1000 IPv4 VIPs at 500 packets/s: a round of 2000 frames takes about 4 s
// of fake time, and no VIP hears from us twice within Interval.
func TestPacerThousandVIPs(t *testing.T) {
	const rate, burst, n = 500, 50, 1000
	r := newRig(t, rate, burst)
	rec := r.recorder()
	vips := vips4(n)
	r.p.Announce("big", rec, ourMAC, vips, announce.DefaultSchedule())
	r.runIdle()
	got := decode(t, rec)
	if len(got) != 2*2*n {
		t.Fatalf("%d frames, want %d", len(got), 4*n)
	}
	checkRate(t, got, rate, burst)

	firstRoundEnd := got[2*n-1].at
	// (2000 - 50 burst) / 500 per second = 3.9 s.
	if firstRoundEnd < 3800*time.Millisecond || firstRoundEnd > 4*time.Second {
		t.Errorf("first round ended at %v, want about 3.9s", firstRoundEnd)
	}
	type times struct{ req, rep []time.Duration }
	per := make(map[netip.Addr]*times)
	for i, g := range got {
		if (i < 2*n) != (g.at <= firstRoundEnd) {
			t.Fatalf("frame %d at %v: rounds overlap", i, g.at)
		}
		tm := per[g.VIP]
		if tm == nil {
			tm = &times{}
			per[g.VIP] = tm
		}
		switch g.Kind {
		case announce.KindGratuitousRequest:
			tm.req = append(tm.req, g.at)
		case announce.KindGratuitousReply:
			tm.rep = append(tm.rep, g.at)
		default:
			t.Fatalf("frame %d is %s", i, g.Kind)
		}
	}
	if len(per) != n {
		t.Fatalf("%d VIPs announced, want %d", len(per), n)
	}
	for vip, tm := range per {
		if len(tm.req) != 2 || len(tm.rep) != 2 {
			t.Fatalf("%s: %d requests and %d replies, want 2 and 2", vip, len(tm.req), len(tm.rep))
		}
		// Round 2 starts no earlier than Interval after round 1 ended,
		// and never within Linux's 1 s locktime of round 1.
		if gap := tm.req[1] - tm.rep[0]; gap < announce.DefaultInterval {
			t.Errorf("%s: second round %v after the first ended, want >= %v", vip, gap, announce.DefaultInterval)
		}
		if gap := tm.req[1] - tm.req[0]; gap < time.Second {
			t.Errorf("%s: two requests %v apart", vip, gap)
		}
		// The first round takes turns: every VIP's request before any
		// reply. Later rounds send request and reply together.
		if tm.req[0] > got[n-1].at || tm.rep[0] < got[n].at {
			t.Errorf("%s: first round's request at %v, reply at %v: want all requests (until %v) before the replies", vip, tm.req[0], tm.rep[0], got[n-1].at)
		}
		if d := tm.rep[1] - tm.req[1]; d > 10*time.Millisecond {
			t.Errorf("%s: second round's reply %v after its request", vip, d)
		}
	}
}

func TestPacerCancel(t *testing.T) {
	r := newRig(t, 500, 50)
	rec, other := r.recorder(), r.recorder()
	r.p.Announce("a", rec, ourMAC, vips4(1000), announce.DefaultSchedule())
	r.p.Announce("b", other, ourMAC, vips6(3), announce.DefaultSchedule())
	directed, err := announce.DirectedARPRequest(ourMAC, vip4, peerMAC, peer4)
	if err != nil {
		t.Fatal(err)
	}
	r.runUntil(t0.Add(time.Second))
	before := rec.Len()
	if before == 0 || before >= 2000 {
		t.Fatalf("%d frames after 1s, want part of the first round", before)
	}
	// Queue one-offs for both keys, then cancel a: its schedule and its
	// queued packets go; b's stay.
	for range 10 {
		if err := r.p.SendNow("a", rec, directed); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.p.SendNow("b", other, directed); err != nil {
		t.Fatal(err)
	}
	r.p.Cancel("a")
	r.runIdle()
	if got := rec.Len(); got != before {
		t.Errorf("%d frames sent for a after Cancel", got-before)
	}
	// b: 3 NAs in each of 2 rounds, plus its one-off.
	if got := other.Len(); got != 7 {
		t.Errorf("b sent %d frames, want 7", got)
	}
	if next := r.p.Poll(r.clk.Now()); !next.IsZero() {
		t.Errorf("after Cancel and the end of b, Poll wants to run again at %v", next.Sub(t0))
	}
	r.p.Cancel("never-started") // no-op
}

// blockingSender blocks every Send until released.
type blockingSender struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (b *blockingSender) Send([]byte) error {
	b.entered <- struct{}{}
	<-b.release
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
	return nil
}

// Cancel returns only once the frame being written for that key is out,
// and nothing of that key is written after it returns.
func TestPacerCancelWaitsForInflight(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := newRig(t, 1000, 50)
	s := &blockingSender{entered: make(chan struct{}), release: make(chan struct{})}
	r.p.Announce("a", s, ourMAC, vips4(10), announce.DefaultSchedule())
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		r.p.Poll(r.clk.Now())
	}()
	select {
	case <-s.entered:
	case <-ctx.Done():
		t.Fatal("no Send")
	}
	cancelled := make(chan struct{})
	go func() {
		r.p.Cancel("a")
		close(cancelled)
	}()
	select {
	case <-cancelled:
		t.Fatal("Cancel returned while a frame of its key was being written")
	case <-time.After(50 * time.Millisecond):
		// Not a sleep to wait for something: the negative window in which
		// Cancel must stay blocked.
	}
	close(s.release)
	select {
	case <-cancelled:
	case <-ctx.Done():
		t.Fatal("Cancel did not return after the write finished")
	}
	select {
	case <-polled:
	case <-s.entered:
		t.Fatal("a frame was written after Cancel returned")
	case <-ctx.Done():
		t.Fatal("Poll did not return")
	}
	if s.n != 1 {
		t.Errorf("%d frames written, want 1", s.n)
	}
}

func TestPacerRefresh(t *testing.T) {
	r := newRig(t, 500, 50)
	rec := r.recorder()
	sch := announce.Schedule{Count: 2, Interval: 1100 * time.Millisecond, Refresh: 30 * time.Second}
	r.p.Announce("a", rec, ourMAC, []netip.Addr{vip4}, sch)
	r.runUntil(t0.Add(100 * time.Second))
	var reqs []time.Duration
	for _, g := range decode(t, rec) {
		if g.Kind == announce.KindGratuitousRequest {
			reqs = append(reqs, g.at)
		}
	}
	want := []time.Duration{0, 1100 * time.Millisecond, 31100 * time.Millisecond, 61100 * time.Millisecond, 91100 * time.Millisecond}
	if fmt.Sprint(reqs) != fmt.Sprint(want) {
		t.Errorf("rounds at %v, want %v", reqs, want)
	}
	if rec.Len() != 2*len(want) {
		t.Errorf("%d frames, want %d", rec.Len(), 2*len(want))
	}
	r.p.Cancel("a")
	r.runUntil(t0.Add(200 * time.Second))
	if rec.Len() != 2*len(want) {
		t.Errorf("refresh went on after Cancel: %d frames", rec.Len())
	}
}

// A Refresh below Interval is raised to Interval.
func TestPacerRefreshAtLeastInterval(t *testing.T) {
	r := newRig(t, 500, 50)
	rec := r.recorder()
	sch := announce.Schedule{Count: 1, Interval: 2 * time.Second, Refresh: time.Millisecond}
	r.p.Announce("a", rec, ourMAC, []netip.Addr{vip6}, sch)
	r.runUntil(t0.Add(7 * time.Second))
	var at []time.Duration
	for _, g := range decode(t, rec) {
		at = append(at, g.at)
	}
	if want := "[0s 2s 4s 6s]"; fmt.Sprint(at) != want {
		t.Errorf("NAs at %v, want %s", at, want)
	}
}

// When a round takes longer than Refresh, refresh rounds do not pile up:
// each VIP has one pending round, sent at least Refresh after its last.
func TestPacerRefreshSlowerThanRound(t *testing.T) {
	const rate, burst, n = 100, 10, 2000
	r := newRig(t, rate, burst)
	rec := r.recorder()
	sch := announce.Schedule{Count: 1, Interval: 1100 * time.Millisecond, Refresh: 5 * time.Second}
	r.p.Announce("a", rec, ourMAC, vips6(n), sch)
	const span = 200 * time.Second
	r.runUntil(t0.Add(span))
	got := decode(t, rec)
	checkRate(t, got[:min(len(got), 3000)], rate, burst)
	// The link stays busy: the bucket's worth of frames, no less.
	if want := int(span.Seconds()*rate) + burst; len(got) != want && len(got) != want+1 {
		t.Errorf("%d frames in %v, want %d", len(got), span, want)
	}
	last := make(map[netip.Addr]time.Duration)
	count := make(map[netip.Addr]int)
	for _, g := range got {
		if prev, ok := last[g.VIP]; ok && g.at-prev < sch.Refresh {
			t.Fatalf("%s refreshed %v after its last NA", g.VIP, g.at-prev)
		}
		last[g.VIP] = g.at
		count[g.VIP]++
	}
	// Every VIP gets its turn: a round takes 20 s, so 10 rounds, give or
	// take the one in progress.
	for vip, c := range count {
		if c < 9 || c > 11 {
			t.Errorf("%s announced %d times in %v, want about 10", vip, c, span)
		}
	}
	if len(count) != n {
		t.Errorf("%d VIPs announced, want %d", len(count), n)
	}
}

// A small instance becoming master while a big one is mid-round is not
// stuck behind it: schedules take turns.
func TestPacerTakesTurns(t *testing.T) {
	r := newRig(t, 500, 50)
	big, small := r.recorder(), r.recorder()
	r.p.Announce("big", big, ourMAC, vips4(1000), announce.DefaultSchedule())
	r.runUntil(t0.Add(500 * time.Millisecond))
	r.p.Announce("small", small, ourMAC, []netip.Addr{vip4, vip6}, announce.DefaultSchedule())
	r.runUntil(t0.Add(time.Second))
	got := decode(t, small)
	if len(got) != 3 {
		t.Fatalf("small sent %d frames by 1s, want its first round of 3", len(got))
	}
	// Three frames, alternating with big's, at 2 ms each.
	if end := got[2].at; end > 500*time.Millisecond+6*2*time.Millisecond {
		t.Errorf("small's first round ended at %v, want within a few packets of 500ms", end)
	}
}

// A fresh master's rounds go before another instance's refresh rounds.
func TestPacerFreshBeforeRefresh(t *testing.T) {
	r := newRig(t, 100, 1)
	old, fresh := r.recorder(), r.recorder()
	sch := announce.Schedule{Count: 1, Interval: time.Second, Refresh: time.Second}
	r.p.Announce("old", old, ourMAC, vips6(500), sch)
	// Round 1 of old takes 5 s; after that old is refreshing.
	r.runUntil(t0.Add(6 * time.Second))
	r.p.Announce("fresh", fresh, ourMAC, vips6(20), announce.DefaultSchedule())
	start := r.clk.Now().Sub(t0)
	r.runUntil(t0.Add(7 * time.Second))
	got := decode(t, fresh)
	if len(got) < 20 {
		t.Fatalf("fresh sent %d frames, want its first round of 20", len(got))
	}
	// 20 frames at 100/s back to back: 190-200 ms.
	if end := got[19].at - start; end > 200*time.Millisecond {
		t.Errorf("fresh's first round took %v, want back to back at full rate (<= 200ms)", end)
	}
}

func TestPacerAnnounceReplaces(t *testing.T) {
	r := newRig(t, 500, 50)
	rec := r.recorder()
	first := vips4(500)
	r.p.Announce("a", rec, ourMAC, first, announce.DefaultSchedule())
	r.runUntil(t0.Add(200 * time.Millisecond))
	before := rec.Len()
	second := []netip.Addr{vip6}
	r.p.Announce("a", rec, ourMAC, second, announce.DefaultSchedule())
	r.runIdle()
	got := decode(t, rec)[before:]
	if len(got) != 2 {
		t.Fatalf("%d frames after the new schedule, want 2", len(got))
	}
	for _, g := range got {
		if g.VIP != vip6 {
			t.Errorf("frame for %s after its schedule was replaced", g.VIP)
		}
	}
	// An empty list stops the schedule.
	r.p.Announce("a", rec, ourMAC, first, announce.DefaultSchedule())
	r.p.Announce("a", rec, ourMAC, nil, announce.DefaultSchedule())
	n := rec.Len()
	r.runIdle()
	if rec.Len() != n {
		t.Errorf("%d frames after an empty Announce", rec.Len()-n)
	}
}

// Announce leaves out (and logs) what it cannot announce; an invalid MAC
// or a nil Sender leaves the key without a schedule.
func TestPacerAnnounceInvalid(t *testing.T) {
	clk := clocktest.NewClock(t0)
	h := &recordHandler{}
	p := announce.NewPacer(500, 50, clk, slog.New(h))
	rec := &announcetest.Recorder{Now: clk.Now}
	vips := []netip.Addr{vip4, {}, netip.MustParseAddr("ff02::2"), vip6}
	p.Announce("a", rec, ourMAC, vips, announce.Schedule{Count: 1})
	if n := h.count(slog.LevelError); n != 2 {
		t.Errorf("%d errors logged, want 2 (one per bad VIP)", n)
	}
	p.Poll(clk.Now())
	var got []string
	for _, s := range rec.Sent() {
		pk := announcetest.MustParse(s.Frame)
		got = append(got, pk.Kind.String()+" "+pk.VIP.String())
	}
	want := "[gratuitous_request 192.0.2.100 unsolicited_na 2001:db8::100 gratuitous_reply 192.0.2.100]" // the first round takes turns
	if fmt.Sprint(got) != want {
		t.Errorf("sent %v, want %s", got, want)
	}

	for name, call := range map[string]func(){
		"nil MAC":    func() { p.Announce("b", rec, nil, []netip.Addr{vip6}, announce.DefaultSchedule()) },
		"nil Sender": func() { p.Announce("b", nil, ourMAC, []netip.Addr{vip6}, announce.DefaultSchedule()) },
	} {
		p.Announce("b", rec, ourMAC, vips4(100), announce.DefaultSchedule())
		before, errs := rec.Len(), h.count(slog.LevelError)
		call()
		if h.count(slog.LevelError) != errs+1 {
			t.Errorf("%s: no error logged", name)
		}
		clk.Advance(time.Hour)
		p.Poll(clk.Now())
		if rec.Len() != before {
			t.Errorf("%s: %d frames sent; the previous schedule should be gone", name, rec.Len()-before)
		}
	}
}

func TestPacerDuplicateVIPs(t *testing.T) {
	r := newRig(t, 500, 50)
	rec := r.recorder()
	vips := []netip.Addr{vip4, netip.MustParseAddr("::ffff:192.0.2.100"), vip6, vip6}
	r.p.Announce("a", rec, ourMAC, vips, announce.Schedule{Count: 1})
	r.runIdle()
	if rec.Len() != 3 {
		t.Errorf("%d frames, want 3 (each VIP once)", rec.Len())
	}
}

func TestPacerSendNow(t *testing.T) {
	r := newRig(t, 500, 2)
	rec, one := r.recorder(), r.recorder()
	r.p.Announce("a", rec, ourMAC, vips4(10), announce.Schedule{Count: 1})
	na, err := announce.UnicastNA(ourMAC, vip6, peerMAC, peer6)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := announce.NeighborSolicitation(ourMAC, vip6, peerMAC, peer6)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.p.SendNow("b", one, na, ns); err != nil {
		t.Fatal(err)
	}
	r.runIdle()
	// A first round goes first (a takeover's critical path), then the
	// one-offs, paced like the rest.
	got := decode(t, one)
	if len(got) != 2 || got[0].Kind != announce.KindUnicastNA || got[1].Kind != announce.KindNeighborSolicit {
		t.Fatalf("one-offs = %v", got)
	}
	sched := decode(t, rec)
	if last := sched[len(sched)-1].at; last > got[0].at {
		t.Errorf("first-round frame at %v after a one-off (%v)", last, got[0].at)
	}
	all := append(decode(t, one), decode(t, rec)...)
	var last time.Duration
	for _, f := range all {
		last = max(last, f.at)
	}
	// Burst 2 at 0, then one every 2 ms: the 22nd at 40 ms.
	if len(all) != 22 || last != 40*time.Millisecond {
		t.Errorf("%d frames, last at %v; want 22, the last at 40ms", len(all), last)
	}
	st := r.p.Stats()
	if st.Sent[announce.KindUnicastNA] != 1 || st.Sent[announce.KindNeighborSolicit] != 1 {
		t.Errorf("Stats.Sent = %v", st.Sent)
	}

	if err := r.p.SendNow("b", one, announce.Packet{Kind: announce.KindUnicastNA}); !errors.Is(err, announce.ErrPacket) {
		t.Errorf("empty frame: err = %v, want ErrPacket", err)
	}
	if err := r.p.SendNow("b", one, announce.Packet{Frame: na.Frame}); !errors.Is(err, announce.ErrPacket) {
		t.Errorf("zero kind: err = %v, want ErrPacket", err)
	}
	many := make([]announce.Packet, announce.MaxQueued)
	for i := range many {
		many[i] = na
	}
	if err := r.p.SendNow("b", one, many...); err != nil {
		t.Fatal(err)
	}
	if err := r.p.SendNow("b", one, na); !errors.Is(err, announce.ErrQueueFull) {
		t.Errorf("beyond MaxQueued: err = %v, want ErrQueueFull", err)
	}
}

// recordHandler keeps log records.
type recordHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r)
	h.mu.Unlock()
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordHandler) count(level slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.recs {
		if r.Level == level {
			n++
		}
	}
	return n
}

func TestPacerSendErrors(t *testing.T) {
	clk := clocktest.NewClock(t0)
	h := &recordHandler{}
	p := announce.NewPacer(1000, 100, clk, slog.New(h))
	rec := &announcetest.Recorder{Now: clk.Now}
	rec.SetErr(errors.New("network is down"))
	p.Announce("a", rec, ourMAC, vips4(10), announce.Schedule{Count: 1})
	p.Poll(clk.Now())
	st := p.Stats()
	if st.Failed[announce.KindGratuitousRequest] != 10 || st.Failed[announce.KindGratuitousReply] != 10 {
		t.Errorf("Stats.Failed = %v, want 10 of each form", st.Failed)
	}
	if st.Sent[announce.KindGratuitousRequest] != 0 {
		t.Errorf("Stats.Sent = %v, want none", st.Sent)
	}
	if n := h.count(slog.LevelWarn); n != 1 {
		t.Errorf("%d warnings for 20 failures, want 1", n)
	}
	rec.SetErr(nil)
	p.Announce("a", rec, ourMAC, vips4(1), announce.Schedule{Count: 1})
	p.Poll(clk.Now())
	if n := h.count(slog.LevelInfo); n != 1 {
		t.Errorf("%d info records after recovery, want 1", n)
	}
	if rec.Len() != 2 {
		t.Errorf("%d frames recorded, want 2", rec.Len())
	}
}

func TestPacerZeroScheduleIsDefault(t *testing.T) {
	r := newRig(t, announce.DefaultRate, 0) // a fixed rate: burst 50
	rec := r.recorder()
	r.p.Announce("a", rec, ourMAC, vips4(100), announce.Schedule{})
	r.runIdle()
	got := decode(t, rec)
	if len(got) != 400 {
		t.Fatalf("%d frames, want 400", len(got))
	}
	checkRate(t, got, announce.DefaultRate, announce.DefaultBurst)
	// 400 frames, 50 at once then 2 ms each... with the 1.1 s pause
	// between rounds: round 1 ends at 150*2ms = 300ms. It takes turns
	// (the requests, then the replies): VIP 0's reply is frame 100, at
	// 51*2ms = 102ms, so its round 2 is due at 1.202s, the bucket is full
	// again by then.
	if g := got[199].at; g != 300*time.Millisecond {
		t.Errorf("round 1 ended at %v, want 300ms", g)
	}
	if g := got[200].at; g != 1202*time.Millisecond {
		t.Errorf("round 2 started at %v, want 1.202s", g)
	}
}

// Run drives the pacer with the injected clock and stops with its context.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clk := clocktest.NewClock(t0)
	p := announce.NewPacer(500, 50, clk, discard())
	rec := &announcetest.Recorder{Now: clk.Now}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(runCtx)
	}()
	defer func() {
		stop()
		select {
		case <-done:
		case <-ctx.Done():
			t.Error("Run did not return after its context was cancelled")
		}
	}()

	// Run is idle; Announce wakes it.
	p.Announce("a", rec, ourMAC, []netip.Addr{vip4, vip6}, announce.DefaultSchedule())
	if err := rec.Wait(ctx, 3); err != nil {
		t.Fatal(err)
	}
	// It then waits for round 2, 1.1 s away in fake time.
	if err := clk.WaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if at, _ := clk.Next(); at.Sub(t0) != announce.DefaultInterval {
		t.Errorf("Run sleeps until %v, want %v", at.Sub(t0), announce.DefaultInterval)
	}
	if rec.Len() != 3 {
		t.Fatalf("%d frames before the interval passed, want 3", rec.Len())
	}
	clk.Advance(announce.DefaultInterval)
	if err := rec.Wait(ctx, 6); err != nil {
		t.Fatal(err)
	}
	for i, s := range rec.Sent() {
		want := t0
		if i >= 3 {
			want = t0.Add(announce.DefaultInterval)
		}
		if !s.At.Equal(want) {
			t.Errorf("frame %d at %v, want %v", i, s.At.Sub(t0), want.Sub(t0))
		}
	}
}

// TestPacerAdaptive: rate 0 starts at full speed, is cut when most
// announced VIPs are found stale (not when half are), and calls
// FirstRound once the first round of every VIP left.
func TestPacerAdaptive(t *testing.T) {
	r := newRig(t, 0, 0)
	rec := r.recorder()
	var firstAt []time.Duration
	sch := announce.Schedule{Count: 1, FirstRound: func() { firstAt = append(firstAt, r.clk.Now().Sub(t0)) }}
	r.p.Announce("a", rec, ourMAC, vips4(1000), sch)
	r.runIdle()
	got := decode(t, rec)
	if len(got) != 2000 {
		t.Fatalf("%d frames, want 2000", len(got))
	}
	checkRate(t, got, announce.AutoMaxRate, announce.AutoBurst)
	// 256 at once, then 50 µs each: the 2000th at 87.2 ms.
	if last := got[len(got)-1].at; last > 90*time.Millisecond {
		t.Errorf("first round of 1000 VIPs ended at %v, want full speed", last)
	}
	if len(firstAt) != 1 || firstAt[0] != got[len(got)-1].at {
		t.Fatalf("FirstRound called at %v, want once, when the last frame left (%v)", firstAt, got[len(got)-1].at)
	}
	// The verifier finds 30 of 32 VIPs stale: a policer's pattern,
	// judged when the window closes, CutGap later.
	for i := range 32 {
		if i < 30 {
			r.p.Congestion()
		} else {
			r.p.Delivered()
		}
	}
	if rate := r.p.Rate(); rate != announce.AutoMaxRate {
		t.Fatalf("rate %v before the window closed", rate)
	}
	r.clk.Advance(announce.CutGap)
	r.p.Delivered()                                                            // 30 of 33 lost
	if rate, want := r.p.Rate(), float64(announce.DefaultRate); rate != want { // 20000*3/33, and a first cut to at least DefaultRate
		t.Fatalf("rate after 30 of 33 stale: %v, want %v", rate, want)
	}
	rate := r.p.Rate()
	// Half stale, later: a lossy path's pattern; the rate stays.
	r.clk.Advance(announce.CutGap)
	for range 16 {
		r.p.Congestion()
		r.p.Delivered()
	}
	r.clk.Advance(announce.CutGap)
	r.p.Delivered()
	if got := r.p.Rate(); got != rate {
		t.Fatalf("rate after half stale: %v, want %v", got, rate)
	}
}

func TestPacerFixedRateIgnoresCongestion(t *testing.T) {
	r := newRig(t, 500, 50)
	r.p.Congestion()
	if rate := r.p.Rate(); rate != 500 {
		t.Fatalf("rate %v", rate)
	}
}

// TestPacerDirectedFirstRound: with targets, the first round of each VIP
// starts with an ordinary request to each target (what a router that
// ignores gratuitous ARP learns from); later rounds are gratuitous only.
func TestPacerDirectedFirstRound(t *testing.T) {
	r := newRig(t, 0, 0)
	rec := r.recorder()
	gw4, gw6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	sch := announce.Schedule{Count: 2, Interval: time.Second, Targets: []announce.Target{{Addr: gw4, MAC: peerMAC}, {Addr: gw6}}}
	r.p.Announce("a", rec, ourMAC, []netip.Addr{vip4, vip6}, sch)
	r.runIdle()
	var kinds []announce.Kind
	for _, f := range decode(t, rec) {
		kinds = append(kinds, f.Kind)
	}
	want := []announce.Kind{
		// Round 1 takes turns: vip4's directed request, vip6's
		// solicitation, then their gratuitous forms (small: both).
		announce.KindDirectedRequest, announce.KindNeighborSolicit,
		announce.KindGratuitousRequest, announce.KindUnsolicitedNA,
		announce.KindGratuitousReply,
		// Round 2, in the order they finished round 1.
		announce.KindUnsolicitedNA, announce.KindGratuitousRequest, announce.KindGratuitousReply,
	}
	if !slices.Equal(kinds, want) {
		t.Fatalf("frames %v\nwant   %v", kinds, want)
	}
}

// TestPacerWaitReady: a Wait schedule sends nothing until Ready names its
// VIPs, then their first round at once; FirstRound waits for all of them.
func TestPacerWaitReady(t *testing.T) {
	r := newRig(t, 0, 0)
	rec := r.recorder()
	vs := vips4(4)
	var first int
	r.p.Announce("a", rec, ourMAC, vs, announce.Schedule{Count: 1, Wait: true, FirstRound: func() { first++ }})
	r.runUntil(t0.Add(time.Second))
	if rec.Len() != 0 {
		t.Fatalf("%d frames before Ready", rec.Len())
	}
	r.p.Ready("a", vs[:2])
	r.p.Ready("a", vs[:1]) // again: ignored
	r.runUntil(t0.Add(2 * time.Second))
	if rec.Len() != 4 || first != 0 {
		t.Fatalf("after Ready of 2: %d frames, FirstRound called %d times", rec.Len(), first)
	}
	r.p.Ready("a", vs[2:])
	r.runIdle()
	if rec.Len() != 8 || first != 1 {
		t.Fatalf("after Ready of all: %d frames, FirstRound called %d times", rec.Len(), first)
	}
}

// TestPacerLargeFirstRoundIsLighter: beyond 1024 VIPs the first round
// carries the directed request and the gratuitous request only.
func TestPacerLargeFirstRoundIsLighter(t *testing.T) {
	r := newRig(t, 0, 0)
	rec := r.recorder()
	sch := announce.Schedule{Count: 1, Targets: []announce.Target{{Addr: netip.MustParseAddr("192.0.2.1"), MAC: peerMAC}}}
	r.p.Announce("a", rec, ourMAC, vips4(1025), sch)
	r.runIdle()
	if n := rec.Len(); n != 2*1025 {
		t.Fatalf("%d frames for 1025 VIPs, want 2050 (directed and gratuitous request each)", n)
	}
}

// TestPacerFirstRoundTakesTurns: a Repeat schedule sends a small first
// round MaxFirstPasses times, every VIP's k-th frame before any VIP's
// (k+1)-th, also for VIPs released by Ready while the others are already
// sending; a large one once.
func TestPacerFirstRoundTakesTurns(t *testing.T) {
	r := newRig(t, 0, 0)
	rec := r.recorder()
	vs := vips4(4)
	sch := announce.Schedule{Count: 1, Wait: true, Repeat: true, Targets: []announce.Target{{Addr: netip.MustParseAddr("192.0.2.1"), MAC: peerMAC}}}
	r.p.Announce("a", rec, ourMAC, vs, sch)
	r.p.Ready("a", vs[:2])
	r.p.Poll(r.clk.Now()) // VIPs 0 and 1 write their whole first round
	r.p.Ready("a", vs[2:])
	r.runIdle()
	got := decode(t, rec)
	// 3 frames (directed request, gratuitous request and reply) × 3
	// passes × 4 VIPs.
	if len(got) != 36 {
		t.Fatalf("%d frames, want 36", len(got))
	}
	seen := map[netip.Addr]int{}
	var order []int
	for _, g := range got[18:] { // after Ready of VIPs 2 and 3
		seen[g.VIP]++
		order = append(order, seen[g.VIP])
	}
	if !slices.IsSorted(order) {
		t.Errorf("VIPs 2 and 3 did not take turns: frame numbers %v", order)
	}
	for _, v := range vs {
		if n := seen[v]; v.Less(vs[2]) && n != 0 || !v.Less(vs[2]) && n != 9 {
			t.Errorf("%v: %d frames after the second Ready", v, n)
		}
	}

	big := newRig(t, 0, 0)
	rec = big.recorder()
	big.p.Announce("a", rec, ourMAC, vips4(1000), announce.Schedule{Count: 1, Repeat: true})
	big.runIdle()
	if n := rec.Len(); n != 2000 {
		t.Fatalf("1000 VIPs: %d frames, want one pass of 2000", n)
	}
}

// TestPacerBurstFollowsRate: once the adaptive pacer slowed down for a
// policer, a backlog after a pause leaves at the new rate in small bursts
// (BurstSpan's worth), not in a burst of AutoBurst that the policer would
// drop.
func TestPacerBurstFollowsRate(t *testing.T) {
	r := newRig(t, 0, 0)
	rec := r.recorder()
	for range 100 {
		r.p.Congestion()
	}
	r.clk.Advance(announce.CutGap)
	r.p.Congestion()
	rate := r.p.Rate()
	if rate != announce.DefaultRate {
		t.Fatalf("rate %v after a policer's window, want %v", rate, announce.DefaultRate)
	}
	r.clk.Advance(time.Second) // idle (less than RaiseAfter): the bucket is full
	for _, v := range vips4(200) {
		req, _, err := announce.GratuitousARP(ourMAC, v)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.p.SendNow("v", rec, req); err != nil {
			t.Fatal(err)
		}
	}
	start := r.clk.Now().Sub(t0)
	r.runIdle()
	got := decode(t, rec)
	if len(got) != 200 {
		t.Fatalf("%d frames, want 200", len(got))
	}
	burst := int(rate * announce.BurstSpan.Seconds()) // 25 at 500/s
	at0 := 0
	for _, p := range got {
		if p.at == start {
			at0++
		}
	}
	if at0 != burst {
		t.Errorf("%d frames at once after the pause, want the burst of %v/s: %d", at0, rate, burst)
	}
	checkRate(t, got, rate, burst)
}

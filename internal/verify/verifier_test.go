package verify_test

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/announce"
	"github.com/vipd/vipd/internal/announce/announcetest"
	"github.com/vipd/vipd/internal/clock/clocktest"
	"github.com/vipd/vipd/internal/testutil"
	"github.com/vipd/vipd/internal/verify"
	"github.com/vipd/vipd/internal/verify/verifytest"
)

var (
	start    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gw       = netip.MustParseAddr("192.0.2.1")
	gwMAC    = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	ourMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x12}
	primary  = netip.MustParseAddr("192.0.2.12")
	testVIPs = []netip.Addr{
		netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101"),
		netip.MustParseAddr("192.0.2.102"), netip.MustParseAddr("192.0.2.103"),
	}
)

// router is the test's upstream: it answers echoes to VIPs whose entry is
// ours, ignores gratuitous ARP for the sticky ones and learns from a
// directed request.
type router struct {
	mu     sync.Mutex // guards ours
	ours   map[netip.Addr]bool
	sticky map[netip.Addr]bool
	rec    announcetest.Recorder
}

func (r *router) Answer(src, dst netip.Addr) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return dst == gw && (src == primary || r.ours[src])
}

func (r *router) Send(frame []byte) error {
	p, err := announcetest.Parse(frame)
	if err != nil {
		return err
	}
	r.mu.Lock()
	switch {
	case p.Kind == announce.KindDirectedRequest && p.Target == gw:
		r.ours[p.VIP] = true
	case (p.Kind == announce.KindGratuitousRequest || p.Kind == announce.KindGratuitousReply) && !r.sticky[p.VIP]:
		r.ours[p.VIP] = true
	}
	r.mu.Unlock()
	return r.rec.Send(frame)
}

// records collects log records.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *records) Enabled(context.Context, slog.Level) bool { return true }
func (h *records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h *records) WithAttrs(as []slog.Attr) slog.Handler { return &withAttrs{h, as} }
func (h *records) WithGroup(string) slog.Handler         { return h }

type withAttrs struct {
	h  *records
	as []slog.Attr
}

func (w *withAttrs) Enabled(context.Context, slog.Level) bool { return true }
func (w *withAttrs) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(w.as...)
	return w.h.Handle(ctx, r)
}
func (w *withAttrs) WithAttrs(as []slog.Attr) slog.Handler {
	return &withAttrs{w.h, append(slices.Clone(w.as), as...)}
}
func (w *withAttrs) WithGroup(string) slog.Handler { return w }

// find returns the attributes of the records with message msg.
func (h *records) find(msg string) []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, r := range h.recs {
		if r.Message != msg {
			continue
		}
		m := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.String()
			return true
		})
		out = append(out, m)
	}
	return out
}

// syncPacer sends at once, from the caller's goroutine, so that the
// Verifier's goroutine is the only one moving.
type syncPacer struct{}

func (syncPacer) SendNow(_ string, s announce.Sender, pkts ...announce.Packet) error {
	for _, p := range pkts {
		_ = s.Send(p.Frame)
	}
	return nil
}
func (syncPacer) Cancel(string) {}

// idler reports when a Verifier's goroutine has nothing left to do.
type idler chan struct{}

func (c idler) hook() {
	select {
	case c <- struct{}{}:
	default:
	}
}

// drive waits until the Verifier is idle and advances the fake clock to its
// next timer, until cond holds; it fails the test after five real seconds
// or when nothing is left to happen.
func drive(t *testing.T, clock *clocktest.Clock, idle idler, cond func() bool) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case <-idle:
		case <-timeout:
			t.Fatal("verifier never idle")
		}
		if cond() {
			return
		}
		at, ok := clock.Next()
		if !ok {
			t.Fatal("condition not reached and no timer pending")
		}
		clock.Advance(max(at.Sub(clock.Now()), 0))
	}
}

func allState(v *verify.Verifier, s verify.State) func() bool {
	return func() bool {
		for _, st := range v.Status() {
			if st.State != s {
				return false
			}
		}
		return true
	}
}

func TestVerifierTakeover(t *testing.T) {
	baseline := runtime.NumGoroutine()
	clock := clocktest.NewClock(start)
	r := &router{ours: map[netip.Addr]bool{}, sticky: map[netip.Addr]bool{testVIPs[1]: true, testVIPs[3]: true}}
	prober := &verifytest.Prober{Answer: r.Answer}
	logs := &records{}
	ctx, cancel := context.WithCancel(context.Background())
	idle := make(idler, 1)

	var chMu sync.Mutex
	var changes []verify.VIPStatus
	sentByKind := map[string]int{}
	allVerified := 0
	v := verify.New(verify.Config{
		Instance: "vi_1", Interface: "eth0", IfIndex: 2, MAC: ourMAC,
		Primary4: primary, VIPs: testVIPs, Targets: []netip.Addr{gw},
	}, verify.Deps{
		Prober: prober, Pacer: syncPacer{}, Sender: r, Clock: clock,
		Neighbors: verifytest.Neighbors{gw: gwMAC},
		Logger:    slog.New(testutil.NoDuplicateKeys(t, logs)).With("instance", "vi_1"), // as the daemon gives it
		OnEvent: func(e verify.Event) {
			chMu.Lock()
			defer chMu.Unlock()
			switch e := e.(type) {
			case verify.StateChanged:
				if e.From == e.Status.State {
					t.Errorf("StateChanged without a change: %+v", e)
				}
				changes = append(changes, e.Status)
			case verify.RemediationSent:
				sentByKind[e.Kind.String()] += e.Frames
			case verify.AllVerified:
				allVerified++
			}
		},
	})
	verify.SetIdleHook(v, idle.hook)
	if st := v.Status(); len(st) != 4 || st[0].State != verify.Unknown {
		t.Fatalf("before start: %+v", st)
	}
	// The daemon's own takeover announcement reaches the router first.
	for _, vip := range testVIPs {
		req, rep, _ := announce.GratuitousARP(ourMAC, vip)
		_ = r.Send(req.Frame)
		_ = r.Send(rep.Frame)
	}
	v.Start(ctx)
	drive(t, clock, idle, allState(v, verify.Verified))
	if took := clock.Now().Sub(start); took > time.Second {
		t.Errorf("all verified %v after takeover (fake clock), want < 1s", took)
	}

	for i, st := range v.Status() {
		want, attempts := "", 0
		if i%2 == 1 {
			want, attempts = "directed_request", 2
		}
		if st.FixedBy != want || st.Attempts != attempts || st.Target != gw || !slices.Equal(st.TargetMAC, gwMAC) || st.LastVerified.IsZero() {
			t.Errorf("%v: %+v, want fixed by %q after %d attempts", st.VIP, st, want, attempts)
		}
	}
	stats := v.Stats()
	for k, want := range map[string]uint64{"gratuitous_request": 2, "gratuitous_reply": 2, "directed_request": 2, "unicast_reply": 0, "send_failed": 0} {
		if stats[k] != want {
			t.Errorf("Stats[%q] = %d, want %d", k, stats[k], want)
		}
	}
	if stats["probes_sent"] < 6 || stats["probes_answered"] < 4 || stats["primary_probes_sent"] < 1 {
		t.Errorf("probe stats %v", stats)
	}
	steps := logs.find("verify: remediation step")
	if len(steps) != 4 {
		t.Fatalf("%d remediation logs, want 4", len(steps))
	}
	for _, m := range steps {
		if m["instance"] != "vi_1" || m["target"] != gw.String() || m["step"] == "" || m["vip"] == "" {
			t.Errorf("remediation log without its keys: %v", m)
		}
	}
	if got := logs.find("verify: target delivers the VIP elsewhere"); len(got) != 2 {
		t.Errorf("%d stale logs, want 2", len(got))
	}
	chMu.Lock()
	nChanges := len(changes)
	for k, n := range sentByKind {
		if uint64(n) != stats[k] {
			t.Errorf("RemediationSent events report %d %s frames, Stats %d", n, k, stats[k])
		}
	}
	if len(sentByKind) != 3 || allVerified != 1 {
		t.Errorf("events: frames by kind %v, AllVerified %d times; want 3 kinds, once", sentByKind, allVerified)
	}
	chMu.Unlock()
	// Each VIP: Unknown → Verified, or Unknown → Stale → Verified.
	if nChanges != 6 {
		t.Errorf("%d StateChanged events, want 6", nChanges)
	}

	// A second takeover: everything starts over and, the router now
	// knowing every VIP, is verified without remediation.
	v.Start(ctx)
	drive(t, clock, idle, func() bool {
		for _, st := range v.Status() {
			if st.State != verify.Verified || st.FixedBy != "" || st.Attempts != 0 {
				return false
			}
		}
		return true
	})

	v.Stop()
	for _, st := range v.Status() {
		if st.State != verify.Unknown {
			t.Errorf("after Stop: %v is %v", st.VIP, st.State)
		}
	}
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > baseline {
		t.Errorf("%d goroutines after Stop, %d before", n, baseline)
	}
}

// TestVerifierCheckOnlyUnverifiable: a target that answers nothing makes
// every pair unverifiable, and check-only mode sends no frame.
func TestVerifierCheckOnlyUnverifiable(t *testing.T) {
	clock := clocktest.NewClock(start)
	prober := &verifytest.Prober{Answer: func(src, dst netip.Addr) bool { return false }}
	var rec announcetest.Recorder
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v := verify.New(verify.Config{
		Instance: "vi_2", IfIndex: 2, MAC: ourMAC, Primary4: primary,
		VIPs: testVIPs[:2], Targets: []netip.Addr{gw}, CheckOnly: true,
	}, verify.Deps{Prober: prober, Pacer: syncPacer{}, Sender: &rec, Clock: clock})
	idle := make(idler, 1)
	verify.SetIdleHook(v, idle.hook)
	v.Start(ctx)
	drive(t, clock, idle, allState(v, verify.Unverifiable))
	v.Stop()
	if rec.Len() != 0 {
		t.Errorf("%d frames sent", rec.Len())
	}
	for _, e := range prober.Echoes() {
		if e.IfIndex != 2 || e.Dst != gw {
			t.Errorf("echo %+v", e)
		}
	}
}

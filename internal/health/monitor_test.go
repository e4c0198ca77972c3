package health_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/clock/clocktest"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/health/healthtest"
)

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// deadline is a context for waiting on the monitor's goroutines: a test
// that would hang fails instead.
func deadline(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// run starts m and registers a cleanup that stops it and checks that Run
// returns.
func run(t *testing.T, m *health.Monitor) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		m.Run(ctx)
		close(done)
	}()
	stop = func() {
		t.Helper()
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// changes collects OnChange calls.
type changes struct{ ch chan health.Status }

func newChanges() *changes { return &changes{ch: make(chan health.Status, 100)} }

func (c *changes) on(s health.Status) { c.ch <- s }

func (c *changes) next(t *testing.T, ctx context.Context) health.Status {
	t.Helper()
	select {
	case s := <-c.ch:
		return s
	case <-ctx.Done():
		t.Fatal("no OnChange call")
	}
	return health.Status{}
}

func (c *changes) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-c.ch:
		t.Fatalf("unexpected OnChange: %+v", s)
	default:
	}
}

func next(t *testing.T, ctx context.Context, p *healthtest.Prober, name string) *healthtest.Call {
	t.Helper()
	c, err := p.Next(ctx)
	if err != nil {
		t.Fatalf("waiting for a run of %s: %v", name, err)
	}
	if c.Check.Name != name {
		t.Fatalf("run of %s, want %s", c.Check.Name, name)
	}
	return c
}

func TestMonitorRiseFallOverTime(t *testing.T) {
	ctx := deadline(t)
	clock := clocktest.NewClock(start)
	pa, pb := healthtest.NewProber(), healthtest.NewProber()
	got := newChanges()
	checks := []config.Check{
		{Name: "a", Type: "tcp", Target: "h:1", Interval: 2 * time.Second, Timeout: time.Second, Rise: 2, Fall: 2, Weight: -50},
		{Name: "b", Type: "exec", Target: "true", Interval: 5 * time.Second, Timeout: time.Second, Rise: 1, Fall: 1, Fault: true},
	}
	m := health.NewMonitor(checks, health.Deps{
		Clock:    clock,
		Probers:  map[string]health.ProbeFunc{"tcp": pa.Func(), "exec": pb.Func()},
		OnChange: got.on,
	})

	// Before any run: both pending, which counts as failing.
	s := m.Status()
	if len(s.Checks) != 2 || !s.Checks[0].Pending || !s.Checks[1].Pending || s.Checks[0].Name != "a" || s.Checks[1].Type != "exec" {
		t.Fatalf("initial status %+v", s)
	}
	if p, f := health.Effective(150, s); p != 100 || !f {
		t.Fatalf("initial Effective = %d, %v; want 100, true", p, f)
	}
	run(t, m)

	c := next(t, ctx, pa, "a")
	if d, ok := c.Ctx.Deadline(); !ok || time.Until(d) > time.Second {
		t.Errorf("run context deadline %v, %v; want within the 1s timeout", d, ok)
	}
	c.Reply(nil)
	s = got.next(t, ctx)
	if a := s.Checks[0]; !a.Healthy || a.Pending || !a.Since.Equal(start) || !s.Checks[1].Pending || !s.Fault {
		t.Fatalf("after a's first pass: %+v", s)
	}
	select {
	case <-m.Ready():
		t.Fatal("Ready before b ran")
	default:
	}
	next(t, ctx, pb, "b").Reply(nil)
	s = got.next(t, ctx)
	if s.Fault || s.PriorityDelta != 0 {
		t.Fatalf("after b's first pass: %+v", s)
	}
	select {
	case <-m.Ready():
	case <-ctx.Done():
		t.Fatal("Ready not closed after every check ran")
	}

	// Each loop waits one interval (the fake runs take no time).
	if err := clock.WaitTimers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if p := slices.Sorted(slices.Values(clock.Pending())); !slices.Equal(p, []time.Duration{2 * time.Second, 5 * time.Second}) {
		t.Fatalf("timers %v, want 2s and 5s", p)
	}

	// a fails once: fall is 2, no change yet.
	clock.Advance(2 * time.Second)
	next(t, ctx, pa, "a").Reply(errors.New("connection refused"))
	if err := clock.WaitTimers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if a := m.Status().Checks[0]; !a.Healthy || a.Failures != 1 || a.LastErr != "connection refused" {
		t.Fatalf("after one failure: %+v", a)
	}
	got.none(t)

	// The second failure in a row flips it.
	clock.Advance(2 * time.Second)
	next(t, ctx, pa, "a").Reply(errors.New("connection refused"))
	s = got.next(t, ctx)
	if a := s.Checks[0]; a.Healthy || a.Failures != 2 || !a.Since.Equal(start.Add(4*time.Second)) || s.PriorityDelta != -50 {
		t.Fatalf("after two failures: %+v", s)
	}
	if p, f := health.Effective(150, s); p != 100 || f {
		t.Errorf("Effective = %d, %v; want 100, false", p, f)
	}

	// b (5s) runs between a's runs; it fails once: fall 1 → FAULT.
	clock.Advance(time.Second)
	next(t, ctx, pb, "b").Reply(errors.New("exit status 1"))
	s = got.next(t, ctx)
	if !s.Fault || s.Checks[1].Healthy {
		t.Fatalf("after b failed: %+v", s)
	}

	// a passes twice (rise 2) and is healthy again.
	clock.Advance(time.Second)
	next(t, ctx, pa, "a").Reply(nil)
	if err := clock.WaitTimers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	got.none(t)
	clock.Advance(2 * time.Second)
	next(t, ctx, pa, "a").Reply(nil)
	s = got.next(t, ctx)
	if a := s.Checks[0]; !a.Healthy || a.Successes != 2 || a.Runs != 5 || a.RunFailures != 2 || s.PriorityDelta != 0 {
		t.Fatalf("after two passes: %+v", s)
	}
}

func TestMonitorTimeout(t *testing.T) {
	tests := []struct {
		name  string
		probe health.ProbeFunc
		want  string
	}{
		{"prober honours the context", func(ctx context.Context, _ config.Check) error {
			<-ctx.Done()
			return ctx.Err()
		}, "health: timed out after 20ms: context deadline exceeded"},
		{"prober passes too late", func(ctx context.Context, _ config.Check) error {
			<-ctx.Done()
			return nil
		}, "health: timed out after 20ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := deadline(t)
			got := newChanges()
			m := health.NewMonitor([]config.Check{{Name: "slow", Type: "tcp", Interval: time.Hour, Timeout: 20 * time.Millisecond, Rise: 1, Fall: 1, Fault: true}},
				health.Deps{Clock: clocktest.NewClock(start), Probers: map[string]health.ProbeFunc{"tcp": tt.probe}, OnChange: got.on})
			run(t, m)
			s := got.next(t, ctx)
			c := s.Checks[0]
			if c.Healthy || c.LastErr != tt.want || !s.Fault {
				t.Fatalf("status %+v, want failing with %q", c, tt.want)
			}
		})
	}
}

func TestMonitorUnknownType(t *testing.T) {
	ctx := deadline(t)
	got := newChanges()
	m := health.NewMonitor([]config.Check{{Name: "x", Type: "ping", Interval: time.Hour, Timeout: time.Second, Rise: 1, Fall: 1, Weight: -1}},
		health.Deps{Clock: clocktest.NewClock(start), OnChange: got.on})
	run(t, m)
	if c := got.next(t, ctx).Checks[0]; c.Healthy || c.LastErr != `health: no prober for check type "ping"` {
		t.Fatalf("status %+v", c)
	}
}

func TestMonitorStopsWhileRunning(t *testing.T) {
	ctx := deadline(t)
	p := healthtest.NewProber()
	m := health.NewMonitor([]config.Check{{Name: "a", Type: "tcp", Interval: time.Hour, Timeout: time.Hour, Rise: 1, Fall: 1, Weight: -1}},
		health.Deps{Clock: clocktest.NewClock(start), Probers: map[string]health.ProbeFunc{"tcp": p.Func()}})
	stop := run(t, m)
	next(t, ctx, p, "a") // a run in progress, never answered
	stop()
	// A run cut short by shutdown is not a result.
	if c := m.Status().Checks[0]; !c.Pending || c.Runs != 0 {
		t.Errorf("status after stop %+v, want pending, no runs", c)
	}
}

func TestMonitorNoChecks(t *testing.T) {
	m := health.NewMonitor(nil, health.Deps{})
	select {
	case <-m.Ready():
	default:
		t.Error("Ready not closed without checks")
	}
	if s := m.Status(); len(s.Checks) != 0 || s.Fault || s.PriorityDelta != 0 {
		t.Errorf("Status %+v", s)
	}
	run(t, m)()
}

// TestMonitorOnChangeCoalesced checks that OnChange calls do not overlap
// and that changes during a call are delivered in one later call with the
// latest status.
func TestMonitorOnChangeCoalesced(t *testing.T) {
	ctx := deadline(t)
	clock := clocktest.NewClock(start)
	p := healthtest.NewProber()
	var (
		mu      sync.Mutex
		active  int
		overlap bool
	)
	entered := make(chan health.Status)
	release := make(chan struct{})
	onChange := func(s health.Status) {
		mu.Lock()
		active++
		overlap = overlap || active > 1
		mu.Unlock()
		entered <- s
		<-release
		mu.Lock()
		active--
		mu.Unlock()
	}
	checks := []config.Check{
		{Name: "a", Type: "tcp", Interval: time.Second, Timeout: time.Second, Rise: 1, Fall: 1, Weight: -10},
		{Name: "b", Type: "tcp", Interval: time.Second, Timeout: time.Second, Rise: 1, Fall: 1, Weight: -20},
	}
	m := health.NewMonitor(checks, health.Deps{Clock: clock, Probers: map[string]health.ProbeFunc{"tcp": p.Func()}, OnChange: onChange})
	run(t, m)

	answer := func(err error) {
		t.Helper()
		c, e := p.Next(ctx)
		if e != nil {
			t.Fatal(e)
		}
		c.Reply(err)
	}
	// First change: the call blocks in onChange.
	answer(nil)
	var first health.Status
	select {
	case first = <-entered:
	case <-ctx.Done():
		t.Fatal("no OnChange")
	}
	// Second and third changes while the call is held.
	answer(errors.New("down"))
	select {
	case <-m.Ready():
	case <-ctx.Done():
		t.Fatal("not ready")
	}
	// Wait until both loops are waiting on their timers: both results
	// are recorded.
	if err := clock.WaitTimers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	close(release)
	var second health.Status
	select {
	case second = <-entered:
	case <-ctx.Done():
		t.Fatal("no second OnChange")
	}
	if second.Checks[0].Pending || second.Checks[1].Pending {
		t.Errorf("second call has a stale status: %+v", second)
	}
	if first.Checks[0].Pending && first.Checks[1].Pending {
		t.Errorf("first call saw no change: %+v", first)
	}
	select {
	case s := <-entered:
		t.Errorf("a third call: %+v", s)
	default:
	}
	mu.Lock()
	defer mu.Unlock()
	if overlap {
		t.Error("OnChange calls overlapped")
	}
}

// TestMonitorRealTCP runs a tcp check with the real clock and prober
// against a loopback listener, through pass → fail → pass.
func TestMonitorRealTCP(t *testing.T) {
	ctx := deadline(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	got := newChanges()
	m := health.NewMonitor([]config.Check{{Name: "port", Type: "tcp", Target: addr,
		Interval: 20 * time.Millisecond, Timeout: 20 * time.Millisecond, Rise: 2, Fall: 2, Weight: -50}},
		health.Deps{OnChange: got.on})
	run(t, m)
	if s := got.next(t, ctx); !s.Checks[0].Healthy {
		t.Fatalf("listening: %+v", s)
	}
	ln.Close()
	s := got.next(t, ctx)
	if c := s.Checks[0]; c.Healthy || c.Failures < 2 || !strings.Contains(c.LastErr, "refused") {
		t.Fatalf("closed: %+v", c)
	}
	if p, _ := health.Effective(150, s); p != 100 {
		t.Errorf("Effective = %d, want 100", p)
	}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken again meanwhile: %v", addr, err)
	}
	defer ln2.Close()
	if s := got.next(t, ctx); !s.Checks[0].Healthy || s.Checks[0].Successes < 2 {
		t.Fatalf("listening again: %+v", s)
	}
}

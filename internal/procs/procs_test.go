package procs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/clock/clocktest"
)

type fakeProcs struct {
	mu  sync.Mutex
	n   int
	log []int
}

func (f *fakeProcs) set(n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.n
	if n > 0 {
		f.n = n
		f.log = append(f.log, n)
	}
	return old
}

func (f *fakeProcs) get() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGovernor(t *testing.T) {
	c := clocktest.NewClock(time.Unix(1000, 0))
	f := &fakeProcs{n: 4}
	g := New(Config{Quiet: 10 * time.Second, Clock: c, Set: f.set})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Run(ctx); close(done) }()

	// At rest for less than the quiet period: still all processors.
	waitFor(t, "the quiet timer", func() bool { return len(c.Pending()) == 1 })
	c.Advance(9 * time.Second)
	if g.Low() || f.get() != 4 {
		t.Fatalf("after 9 s of rest: low=%v procs=%d, want all 4", g.Low(), f.get())
	}
	// Work postpones the drop by a whole quiet period.
	g.Busy()
	c.Advance(2 * time.Second)
	waitFor(t, "the postponed timer", func() bool { return len(c.Pending()) == 1 })
	if g.Low() {
		t.Fatal("dropped 2 s after work")
	}
	c.Advance(8 * time.Second)
	waitFor(t, "the drop", func() bool { return g.Low() && f.get() == 1 })
	// Lowered: no timer pending (the daemon at rest is not woken by it).
	if p := c.Pending(); len(p) != 0 {
		t.Errorf("timers pending while lowered: %v", p)
	}
	// The first sign of work raises at once, before Busy returns.
	g.Busy()
	if g.Low() || f.get() != 4 {
		t.Fatalf("after Busy: low=%v procs=%d, want 4", g.Low(), f.get())
	}
	waitFor(t, "the next quiet timer", func() bool { return len(c.Pending()) == 1 })
	c.Advance(10 * time.Second)
	waitFor(t, "the second drop", func() bool { return g.Low() })
	// Stopping restores all processors.
	cancel()
	<-done
	if g.Low() || f.get() != 4 {
		t.Errorf("after Run returned: low=%v procs=%d, want 4", g.Low(), f.get())
	}
	want := []int{1, 4, 1, 4}
	if len(f.log) != len(want) {
		t.Fatalf("GOMAXPROCS set to %v, want %v", f.log, want)
	}
	for i := range want {
		if f.log[i] != want[i] {
			t.Fatalf("GOMAXPROCS set to %v, want %v", f.log, want)
		}
	}
}

func TestGovernorNothingToGovern(t *testing.T) {
	one := &fakeProcs{n: 1}
	if g := New(Config{Set: one.set}); g != nil {
		t.Error("New with one processor: want nil")
	}
	t.Setenv("GOMAXPROCS", "2")
	if g := New(Config{}); g != nil {
		t.Error("New with GOMAXPROCS in the environment: want nil")
	}
	var g *Governor // a nil Governor does nothing
	g.Busy()
	g.Run(context.Background())
	if g.Low() {
		t.Error("nil Governor low")
	}
}

package present

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/clock"
)

// maxSeen bounds the added addresses remembered between two
// reconciliations (a flood of events on a busy interface); beyond it an
// add is confirmed by the kernel's snapshot only.
const maxSeen = 8192

// loop is a Presenter's goroutine and what its methods hand to it: a
// wake-up, and the addresses the kernel reported added. The goroutine
// reconciles, then waits for the next wake-up or for the time the last
// pass asked to run again, until a pass says stop.
type loop struct {
	clk  clock.Clock
	wake chan struct{}
	done chan struct{}

	mu      sync.Mutex // guards the fields below
	started bool
	seen    []netip.Prefix // reported added since the last reconciliation
}

func newLoop(clk clock.Clock) *loop {
	return &loop{clk: clk, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// start runs the goroutine, once: reconcile is a pass, which returns when
// it must run again (zero: on the next wake-up) or stop; then, if not
// nil, runs after the last pass, before wait returns.
func (l *loop) start(reconcile func(now time.Time) (next time.Time, stop bool), then func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return
	}
	l.started = true
	go func() {
		defer close(l.done)
		if then != nil {
			defer then()
		}
		l.run(reconcile)
	}()
}

func (l *loop) run(reconcile func(now time.Time) (time.Time, bool)) {
	for {
		now := l.clk.Now()
		next, stop := reconcile(now)
		if stop {
			return
		}
		var t clock.Timer
		var fire <-chan time.Time
		if !next.IsZero() {
			t = l.clk.NewTimer(max(next.Sub(now), 0))
			fire = t.C()
		}
		select {
		case <-l.wake:
		case <-fire:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// notify wakes the goroutine; added are addresses the kernel reported
// added (see Presenter.Reconcile).
func (l *loop) notify(added ...netip.Prefix) {
	if len(added) > 0 {
		l.mu.Lock()
		if len(l.seen) < maxSeen {
			l.seen = append(l.seen, added...)
		}
		l.mu.Unlock()
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// takeSeen returns the addresses reported added since it was last called.
func (l *loop) takeSeen() []netip.Prefix {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := l.seen
	l.seen = nil
	return seen
}

// wait returns once the goroutine has stopped (at once if it never
// started), or ctx ends.
func (l *loop) wait(ctx context.Context) {
	l.mu.Lock()
	started := l.started
	l.mu.Unlock()
	if !started {
		return
	}
	select {
	case <-l.done:
	case <-ctx.Done():
	}
}

// Package procs runs the daemon on one processor while it is at rest and
// on all of them while it works.
//
// At rest a master's only work is its advertisement every interval, and a
// backup's is reading the master's. With several Ps (GOMAXPROCS), every
// hand-over between two goroutines — the timer's reader to the instance's
// loop, the socket's reader to the instance — makes the runtime wake a
// second thread to look for work that is not there: two or three thread
// wake-ups per advertisement where one would do. Measured in the lab
// (sudo vipd lab --idle 30s --vips 20 --compare keepalived, 100 ms
// adverts), one P takes vipd's backup from about 0.30 % to 0.17 % of a
// core. A takeover of thousands of VIPs, on the other hand, wants every
// core: announcements, kernel address changes and verification run side
// by side.
//
// A Governor therefore lowers GOMAXPROCS to one after a quiet period with
// no sign of work, and raises it back to what it was at the first sign
// (Busy), before the work runs. The daemon calls Busy when an instance
// changes state or acts on the wire beyond its periodic advertisement, and
// when its Presenter reports. An operator who sets GOMAXPROCS in the
// environment keeps it: the Governor then does nothing.
package procs

import (
	"context"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/clock"
)

// DefaultQuiet is how long the daemon must be at rest before it drops to
// one processor.
const DefaultQuiet = 2 * time.Second

// Governor sets GOMAXPROCS to one at rest and back to its initial value on
// Busy. Create it with New; Busy may be called from any goroutine, and Run
// runs its loop. A nil *Governor does nothing.
type Governor struct {
	high  int
	quiet time.Duration
	clock clock.Clock
	set   func(int) int // runtime.GOMAXPROCS

	raised chan struct{}

	mu   sync.Mutex // guards the fields below
	last time.Time  // of the last Busy
	low  bool
}

// Config is what New needs; zero fields take defaults.
type Config struct {
	// Quiet is the rest before dropping to one processor (DefaultQuiet).
	Quiet time.Duration
	// Clock defaults to clock.System().
	Clock clock.Clock
	// Set replaces runtime.GOMAXPROCS, for tests.
	Set func(int) int
}

// New returns a Governor, or nil when there is nothing to govern: one
// processor only, or GOMAXPROCS set in the environment.
func New(cfg Config) *Governor {
	if cfg.Set == nil {
		if os.Getenv("GOMAXPROCS") != "" {
			return nil
		}
		cfg.Set = runtime.GOMAXPROCS
	}
	if cfg.Quiet <= 0 {
		cfg.Quiet = DefaultQuiet
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System()
	}
	high := cfg.Set(0)
	if high <= 1 {
		return nil
	}
	return &Governor{high: high, quiet: cfg.Quiet, clock: cfg.Clock, set: cfg.Set,
		raised: make(chan struct{}, 1), last: cfg.Clock.Now()}
}

// Busy marks work: it raises GOMAXPROCS at once if it was lowered, and
// postpones the next drop by the quiet period.
func (g *Governor) Busy() {
	if g == nil {
		return
	}
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.last = now
	if g.low {
		g.set(g.high)
		g.low = false
		select {
		case g.raised <- struct{}{}:
		default:
		}
	}
}

// Low reports whether GOMAXPROCS is lowered.
func (g *Governor) Low() bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.low
}

// Run lowers GOMAXPROCS after each quiet period until ctx is done, and then
// restores it.
func (g *Governor) Run(ctx context.Context) {
	if g == nil {
		return
	}
	defer g.Busy() // what the daemon does on its way out is work
	for {
		// High: wait until the last Busy is a quiet period old.
		for {
			g.mu.Lock()
			due := g.last.Add(g.quiet)
			g.mu.Unlock()
			d := due.Sub(g.clock.Now())
			if d <= 0 {
				break
			}
			t := g.clock.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
		}
		g.mu.Lock()
		if g.clock.Now().Before(g.last.Add(g.quiet)) {
			g.mu.Unlock()
			continue // a Busy came in between
		}
		g.set(1)
		g.low = true
		g.mu.Unlock()
		// Low: no timer at all until Busy raises it again. (A Busy that
		// came in between left its signal: the select passes at once.)
		select {
		case <-ctx.Done():
			return
		case <-g.raised:
		}
	}
}

// Package healthtest provides fakes for testing code that uses package
// health: a manual Clock and a Prober whose every run the test answers.
package healthtest

import (
	"context"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/health"
)

// Clock is a health.Clock that moves only when told to. The zero value is
// not usable; call NewClock.
type Clock struct {
	mu      sync.Mutex // guards the fields below
	now     time.Time
	timers  []*timer
	changed chan struct{} // closed and replaced when a timer is added
}

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock reaches Now()+d.
func (c *Clock) NewTimer(d time.Duration) health.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{clock: c, at: c.now.Add(d), d: d, ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	close(c.changed)
	c.changed = make(chan struct{})
	return t
}

// Advance moves the clock by d and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.ch <- c.now
	}
	clear(c.timers[len(kept):])
	c.timers = kept
}

// Pending returns the durations the pending timers were created with, in
// creation order.
func (c *Clock) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	ds := make([]time.Duration, len(c.timers))
	for i, t := range c.timers {
		ds[i] = t.d
	}
	return ds
}

// WaitTimers blocks until at least n timers are pending or ctx is done.
func (c *Clock) WaitTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		have, changed := len(c.timers), c.changed
		c.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

type timer struct {
	clock *Clock
	at    time.Time
	d     time.Duration
	ch    chan time.Time
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.timers {
		if p == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Call is one run of a check, waiting for the test's answer.
type Call struct {
	Check config.Check
	// Ctx is the run's context, with the check's timeout.
	Ctx   context.Context
	reply chan error
}

// Reply ends the run: nil passes, an error fails.
func (c *Call) Reply(err error) { c.reply <- err }

// Prober is a health.ProbeFunc source whose runs are answered by the test.
// The zero value is not usable; call NewProber.
type Prober struct {
	calls chan *Call
}

// NewProber returns a Prober.
func NewProber() *Prober { return &Prober{calls: make(chan *Call)} }

// Func returns the ProbeFunc to put in health.Deps.Probers. A run blocks
// until the test answers it with Call.Reply, or until its context is done
// (then it returns the context's error).
func (p *Prober) Func() health.ProbeFunc {
	return func(ctx context.Context, c config.Check) error {
		call := &Call{Check: c, Ctx: ctx, reply: make(chan error, 1)}
		select {
		case p.calls <- call:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case err := <-call.reply:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Next returns the next run, or ctx's error if none starts before ctx is
// done.
func (p *Prober) Next(ctx context.Context) (*Call, error) {
	select {
	case c := <-p.calls:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Package clocktest provides a manual clock.Clock for tests: time moves
// only when the test calls Advance, and the test can see and wait for the
// timers the code under test sets.
package clocktest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/clock"
)

// Clock is a clock.Clock that moves only by Advance. Create it with
// NewClock; it is safe for concurrent use.
type Clock struct {
	mu      sync.Mutex // guards the fields below
	now     time.Time
	timers  []*timer      // pending, in creation order
	changed chan struct{} // closed and replaced when a timer is created
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when Advance reaches Now()+d. A
// timer with d <= 0 has fired already and is never pending.
func (c *Clock) NewTimer(d time.Duration) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{clock: c, at: c.now.Add(d), d: d, ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
	return t
}

// Advance moves the clock forward by d and fires the timers due by then.
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

// Pending returns the durations the pending timers (neither fired nor
// stopped) were created with, in creation order.
func (c *Clock) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	ds := make([]time.Duration, len(c.timers))
	for i, t := range c.timers {
		ds[i] = t.d
	}
	return ds
}

// Next returns the deadline of the earliest pending timer; ok is false if
// there is none.
func (c *Clock) Next() (at time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.timers {
		if !ok || t.at.Before(at) {
			at, ok = t.at, true
		}
	}
	return at, ok
}

// WaitTimers blocks until at least n timers are pending or ctx is done.
func (c *Clock) WaitTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		have := len(c.timers)
		if have >= n {
			c.mu.Unlock()
			return nil
		}
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("clocktest: %d of %d timers pending: %w", have, n, ctx.Err())
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
	for i, o := range c.timers {
		if o == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

var _ clock.Clock = (*Clock)(nil)

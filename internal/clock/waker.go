package clock

import "time"

// A Waker is the one timer of a long-lived loop, armed again for each
// deadline instead of made anew. Its channel may fire spuriously (a firing
// that raced with Set): the loop must check its deadlines on each firing,
// as a level-triggered loop does anyway.
//
// On Linux, the system clock's Waker is a timerfd, armed and read with raw
// system calls: an idle daemon whose only wake-ups are its own deadlines
// then costs one thread wake-up per deadline, where a Go timer also wakes
// the runtime's monitor thread (see waker_linux.go).
type Waker interface {
	// C is the channel to receive from after Set. It may change with
	// Set: read it again after each Set.
	C() <-chan time.Time
	// Set arms the Waker to fire after d (at once if d <= 0), replacing
	// the previous arming and dropping a firing not yet received.
	Set(d time.Duration)
	// Stop disarms it.
	Stop()
	// Close releases it; the Waker must not be used afterwards.
	Close() error
}

// NewWaker returns a Waker on c: a timerfd for the system clock on Linux
// (falling back to a Go timer if the kernel refuses one), timers of c
// otherwise.
func NewWaker(c Clock) Waker {
	if _, ok := c.(system); ok {
		if w, err := newFDWaker(); err == nil {
			return w
		}
	}
	return &timerWaker{c: c}
}

// timerWaker is a Waker made of c's timers: a test's clock, or the system
// clock where there is no timerfd.
type timerWaker struct {
	c Clock
	t Timer
}

func (w *timerWaker) C() <-chan time.Time {
	if w.t == nil {
		return nil
	}
	return w.t.C()
}

func (w *timerWaker) Set(d time.Duration) {
	w.Stop()
	w.t = w.c.NewTimer(max(d, 0))
}

func (w *timerWaker) Stop() {
	if w.t != nil {
		w.t.Stop()
		w.t = nil
	}
}

func (w *timerWaker) Close() error {
	w.Stop()
	return nil
}
